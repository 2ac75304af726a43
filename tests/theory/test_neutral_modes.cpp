// Neutral modes (theory/neutral_modes.h): the spectral split of known matrices.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <string>
#include <vector>

#include "theory/eigen.h"
#include "theory/neutral_modes.h"

namespace tsgd {
namespace {

std::vector<double> to_vector(const Eigen::MatrixXd& m) {
  std::vector<double> out(static_cast<std::size_t>(m.rows()) * m.cols());
  Eigen::Map<RowMajorMatrix>(out.data(), m.rows(), m.cols()) = m;
  return out;
}

Eigen::MatrixXd from_vector(const std::vector<double>& v, int n) {
  return Eigen::Map<const RowMajorMatrix>(v.data(), n, n);
}

// A non-orthogonal, well-conditioned basis: I + 0.3 (a fixed pattern).
Eigen::MatrixXd basis(int n) {
  Eigen::MatrixXd S = Eigen::MatrixXd::Identity(n, n);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) S(i, j) += 0.3 * std::sin(1.0 + 3.0 * i + 7.0 * j);
  return S;
}

TEST(NeutralModes, SplitOfANonNormalMatrix) {
  // A = S D S^-1, D: a fast pair -0.2 +- 0.7i (a 2 x 2 block), fast -1 and +0.5, a slow
  // -2e-5 and a zero. At cut 1e-3 the slow mode and the zero are neutral (max |lambda| = 1).
  const int n = 6;
  Eigen::MatrixXd D = Eigen::MatrixXd::Zero(n, n);
  D(0, 0) = D(1, 1) = -0.2;
  D(0, 1) = -0.7;
  D(1, 0) = 0.7;
  D(2, 2) = -1.0;
  D(3, 3) = 0.5;
  D(4, 4) = -2e-5;
  D(5, 5) = 0.0;
  const Eigen::MatrixXd S = basis(n), Sinv = S.inverse();
  const Eigen::MatrixXd A = S * D * Sinv;
  const SpectralSplit split = split_spectrum(to_vector(A), n, 1e-3);
  ASSERT_TRUE(split.failure.empty()) << split.failure;
  ASSERT_EQ(split.neutral_eigenvalues.size(), 2u);
  std::vector<double> re;
  for (const auto& z : split.neutral_eigenvalues) re.push_back(z.real());
  std::sort(re.begin(), re.end());
  // Eigenvalues of a matrix with cond(S) ~ 3: errors ~1e-16 |A| cond(S)^2; 1e-13 is ample.
  EXPECT_NEAR(re[0], -2e-5, 1e-13);
  EXPECT_NEAR(re[1], 0.0, 1e-13);
  // The exact split: P = S E S^-1 with E selecting the neutral coordinates; G inverts D on
  // the others; N inverts the slow mode (the zero is below the noise floor: left out).
  Eigen::MatrixXd E = Eigen::MatrixXd::Zero(n, n), Dinv = E, Ninv = E;
  E(4, 4) = E(5, 5) = 1.0;
  Dinv.topLeftCorner(2, 2) = D.topLeftCorner(2, 2).inverse();
  Dinv(2, 2) = -1.0;
  Dinv(3, 3) = 2.0;
  Ninv(4, 4) = 1.0 / -2e-5;
  const double tol = 1e-11;  // rounding of the eigenvectors (~1e-15) times |1/lambda| <= 5e4
  EXPECT_LT((from_vector(split.neutral_projector, n) - S * E * Sinv).cwiseAbs().maxCoeff(), tol);
  EXPECT_LT((from_vector(split.other_inverse, n) - S * Dinv * Sinv).cwiseAbs().maxCoeff(), tol);
  EXPECT_LT((from_vector(split.neutral_inverse, n) - S * Ninv * Sinv).cwiseAbs().maxCoeff(),
            1e-6);  // 1/lambda = 5e4 times the eigenvector rounding
  // The same matrix at cut 1e-6: only the zero is neutral.
  EXPECT_EQ(split_spectrum(to_vector(A), n, 1e-6).neutral_eigenvalues.size(), 1u);
  // No neutral mode at all at cut 1e-20: nothing to project.
  const SpectralSplit none = split_spectrum(to_vector(A + 1e-3 * S * E * Sinv), n, 1e-20);
  EXPECT_TRUE(none.neutral_eigenvalues.empty());
  EXPECT_TRUE(none.failure.empty());
}

TEST(NeutralModes, RefusesAnAmbiguousOrDefectiveSplit) {
  // No gap: -1.5e-3 is neutral at cut 2e-3, -2.5e-3 is not, and they are less than a
  // factor kNeutralGap apart.
  const Eigen::MatrixXd S = basis(3);
  Eigen::MatrixXd D = Eigen::MatrixXd::Zero(3, 3);
  D(0, 0) = -1.0;
  D(1, 1) = -1.5e-3;
  D(2, 2) = -2.5e-3;
  const SpectralSplit close = split_spectrum(to_vector(S * D * S.inverse()), 3, 2e-3);
  EXPECT_EQ(close.neutral_eigenvalues.size(), 1u);
  EXPECT_NE(close.failure.find("no gap"), std::string::npos) << close.failure;
  EXPECT_TRUE(close.neutral_projector.empty());
  // A Jordan block at zero: one eigenvector for two neutral eigenvalues, no projector
  // from eigenvectors.
  Eigen::MatrixXd J = Eigen::MatrixXd::Zero(3, 3);
  J(0, 0) = -1.0;
  J(1, 2) = 1.0;
  const SpectralSplit defective = split_spectrum(to_vector(J), 3, 1e-3);
  EXPECT_EQ(defective.neutral_eigenvalues.size(), 2u);
  EXPECT_FALSE(defective.failure.empty());
  EXPECT_TRUE(defective.neutral_projector.empty());
}

}  // namespace
}  // namespace tsgd
