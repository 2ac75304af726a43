// The ReLU I4 path integral of docs/theory.md §4.3(b) for four distinct unit-variance
// fields: its 73 tanh-sinh nodes and the fast, vectorised integrand that the ODE's
// right-hand side spends nearly all of its ReLU time in (integrals.cpp routes the
// general case here after scaling to unit variances and merging collinear c, d).
//
// The fast integrand evaluates the same F(t) as the reference one in integrals.cpp
// (detail::relu_i4_quadrature_reference), regrouped: the 12 orthant probabilities of
// the four H terms and the kappa term take only 5 distinct angles (the 2 x 2
// conditional covariances given two of the fields), so each node needs 5 arctangents
// instead of 13, and they are computed by a branch-free atan2 that the compiler
// vectorises across the nodes.
#pragma once

#include <array>

namespace tsgd {

// The nodes on u in (0,1), h = 1/12, kh in [-3, 3], with t = 1 - u^2:
//   u_k = (1 + tanh(pi/2 sinh(kh))) / 2 = 1 / (1 + exp(-pi sinh(kh)))
//   w_k = h (pi/2) cosh(kh) 2 u_k (1 - u_k) * 2 u_k    (du times dt/du = 2u)
// 1 - t = u^2 is kept exactly (t rounds to 1 at the smallest u, where fields nearly
// coincide).
struct ReluNodes {
  static constexpr int kCount = 73;
  std::array<double, kCount> t{}, one_minus_t{}, weight{};
  ReluNodes();
};
const ReluNodes& relu_nodes();

// J = <step(a) step(b) relu(c) relu(d)> for unit-variance fields with the correlations
// r_xy (in [-1, 1], |r_cd| < 1): kappa(1,1,r_cd)/4 + int_0^1 F(t) dt on the nodes above.
double relu_i4_unit(double rab, double rac, double rad, double rbc, double rbd, double rcd);

}  // namespace tsgd
