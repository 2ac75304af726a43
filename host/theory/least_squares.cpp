// The minimum-norm least-squares step of Newton's iteration. See least_squares.h.
#include "theory/least_squares.h"

#include "theory/eigen.h"

namespace tsgd {

namespace {

// The SVD A = U S V^T, then x = sum_j v_j (u_j . b) / sigma_j over the singular values
// sigma_j > rcond * max sigma, sigma_j > 0; the others are taken as zero. Up to
// kJacobiSvdMax unknowns Eigen's two-sided Jacobi SVD (its sweeps stop at off-diagonal
// entries below 2 eps max sigma, so every singular value is accurate to ~eps max sigma);
// above, where its sweeps cost 8.3 s at n = 592 (K = 32, M = 2), the divide-and-conquer
// SVD (0.46 s there; singular values within 5e-12 of Jacobi's on a random matrix of that
// size). The shipped configurations (n <= 95) keep their bits. The sum is written out
// rather than left to solve(), whose threshold keeps sigma_j >= rcond * max (and drops
// subnormal ones).
constexpr int kJacobiSvdMax = 128;

template <class Svd>
void add_minimum_norm(const Svd& svd, const Eigen::Map<const Eigen::VectorXd>& b, double rcond,
                      Eigen::Map<Eigen::VectorXd>& x) {
  const Eigen::VectorXd& sigma = svd.singularValues();  // decreasing, >= 0
  for (int j = 0; j < static_cast<int>(sigma.size()); ++j) {
    if (!(sigma(j) > rcond * sigma(0)) || sigma(j) == 0.0) break;
    x += (svd.matrixU().col(j).dot(b) / sigma(j)) * svd.matrixV().col(j);
  }
}

}  // namespace

std::vector<double> least_squares(const std::vector<double>& a, int n, const std::vector<double>& b,
                                  double rcond) {
  std::vector<double> x(n, 0.0);
  const Eigen::Map<const RowMajorMatrix> A(a.data(), n, n);
  if (n == 0 || !A.allFinite()) return x;
  const Eigen::Map<const Eigen::VectorXd> bv(b.data(), n);
  Eigen::Map<Eigen::VectorXd> xv(x.data(), n);
  const unsigned options = Eigen::ComputeFullU | Eigen::ComputeFullV;
  if (n <= kJacobiSvdMax) {
    // Square: no QR preconditioning (Eigen would skip it for a square matrix anyway).
    add_minimum_norm(Eigen::JacobiSVD<Eigen::MatrixXd, Eigen::NoQRPreconditioner>(A, options), bv,
                     rcond, xv);
  } else {
    add_minimum_norm(Eigen::BDCSVD<Eigen::MatrixXd>(A, options), bv, rcond, xv);
  }
  return x;
}

}  // namespace tsgd
