// The spectral split of a Jacobian into neutral and other modes. See neutral_modes.h.
#include "theory/neutral_modes.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "theory/eigen.h"

namespace tsgd {

namespace {

std::vector<double> to_vector(const Eigen::MatrixXd& m) {
  std::vector<double> out(static_cast<std::size_t>(m.rows()) * m.cols());
  Eigen::Map<RowMajorMatrix>(out.data(), m.rows(), m.cols()) = m;
  return out;
}

// How far P is from a projector and G from the other modes' inverse, relative to |P|:
// rounding gives ~1e-16 cond(V); eigenvectors of a (nearly) defective cluster give O(1).
double split_error(const RowMajorMatrix& A, const Eigen::MatrixXd& P, const Eigen::MatrixXd& G) {
  const Eigen::Index n = A.rows();
  const Eigen::MatrixXd I = Eigen::MatrixXd::Identity(n, n);
  const double idempotent = (P * P - P).cwiseAbs().maxCoeff();
  const double inverse = (A * G + P - I).cwiseAbs().maxCoeff();
  return std::max(idempotent, inverse) / std::max(1.0, P.cwiseAbs().maxCoeff());
}

}  // namespace

SpectralSplit split_spectrum(const std::vector<double>& a, int n, double cut) {
  SpectralSplit out;
  out.n = n;
  const Eigen::Map<const RowMajorMatrix> A(a.data(), n, n);
  if (n == 0 || !A.allFinite()) {
    out.failure = "the Jacobian is not finite";
    return out;
  }
  const Eigen::EigenSolver<Eigen::MatrixXd> solver(A, /*computeEigenvectors=*/true);
  if (solver.info() != Eigen::Success) {
    out.failure = "no eigen-decomposition of the Jacobian";
    return out;
  }
  const Eigen::VectorXcd& lambda = solver.eigenvalues();
  const double largest = lambda.cwiseAbs().maxCoeff();
  std::vector<bool> neutral(n);
  double neutral_max = 0.0, other_min = std::numeric_limits<double>::infinity();
  for (int j = 0; j < n; ++j) {
    const double size = std::abs(lambda(j));
    neutral[j] = size <= cut * largest;
    if (neutral[j]) {
      out.neutral_eigenvalues.push_back(lambda(j));
      neutral_max = std::max(neutral_max, size);
    } else {
      other_min = std::min(other_min, size);
    }
  }
  if (out.neutral_eigenvalues.empty()) return out;
  if (other_min < kNeutralGap * neutral_max) {
    out.failure = "no gap between the neutral and the other eigenvalues";
    return out;
  }
  const Eigen::MatrixXcd V = solver.eigenvectors();
  const Eigen::FullPivLU<Eigen::MatrixXcd> lu(V);
  if (!lu.isInvertible()) {
    out.failure = "the eigenvectors are not independent (a defective Jacobian)";
    return out;
  }
  const Eigen::MatrixXcd W = lu.inverse();  // row j: l_j^T
  Eigen::MatrixXcd P = Eigen::MatrixXcd::Zero(n, n), G = P, N = P;
  for (int j = 0; j < n; ++j) {
    const Eigen::MatrixXcd rl = V.col(j) * W.row(j);
    if (!neutral[j])
      G += rl / lambda(j);
    else {
      P += rl;
      // Eigenvalues at the finite-difference noise (~1e-10 relative) are zero modes.
      if (std::abs(lambda(j)) > 1e-10 * largest) N += rl / lambda(j);
    }
  }
  // Conjugate pairs are on the same side of the cut: the sums are real up to rounding.
  const Eigen::MatrixXd Pr = P.real(), Gr = G.real();
  const double error = split_error(A, Pr, Gr);
  // 1e-6: well above rounding with eigenvectors of condition number up to ~1e9, well
  // below the O(1) of a defective cluster.
  if (!(error <= 1e-6)) {
    out.failure = "the eigenvectors are too ill-conditioned to separate the neutral modes";
    return out;
  }
  out.neutral_projector = to_vector(Pr);
  out.other_inverse = to_vector(Gr);
  out.neutral_inverse = to_vector(N.real());
  return out;
}

std::vector<double> matrix_times(const std::vector<double>& m, const std::vector<double>& x) {
  const int n = static_cast<int>(x.size());
  std::vector<double> y(n, 0.0);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) y[i] += m[static_cast<std::size_t>(i) * n + j] * x[j];
  return y;
}

}  // namespace tsgd
