// The neutral modes of the ODE's Jacobian at a state and the spectral projector onto
// them, for Newton's method restricted to the other modes (fixed_point.h).
//
// A mode is neutral when its eigenvalue is small next to the largest: |lambda_j| <=
// cut * max |lambda|. With J = sum_j lambda_j r_j l_j^T (right eigenvectors r_j, left
// l_j, l_j . r_k = delta_jk) the spectral projector onto the neutral modes along the
// others is P = sum_{neutral} r_j l_j^T; the others' inverse G = sum_{others} r_j l_j^T /
// lambda_j solves J x = (I - P) b within the other modes (J G = G J = I - P). This is
// the projector the dynamics defines: near a state where (I - P) F = 0 the fast modes
// have relaxed and the ODE moves along the neutral modes only, at dy/dalpha = P F. (The
// SVD's split, by singular vectors, is a different one when J is not normal: it puts
// the state elsewhere on the fast modes, by the drift over the fast rates.)
#pragma once

#include <complex>
#include <string>
#include <vector>

namespace tsgd {

struct SpectralSplit {
  int n = 0;
  std::vector<std::complex<double>> neutral_eigenvalues;  // |lambda| <= cut * max |lambda|
  // Row-major n x n, real (conjugate pairs fall on the same side of the cut); empty
  // when `failure` is set.
  std::vector<double> neutral_projector;  // P
  std::vector<double> other_inverse;      // G
  // sum over the neutral modes with |lambda_j| above the finite-difference noise (1e-10
  // max |lambda|) of r_j l_j^T / lambda_j: N F is where the linearisation puts a fixed
  // point along them, relative to the state (a step N F of order the state itself: none
  // nearby).
  std::vector<double> neutral_inverse;
  // Why P and G are not given: no eigen-decomposition, no gap between the neutral and the
  // other eigenvalues (the smallest other |lambda| must be at least kNeutralGap times the
  // largest neutral one), or eigenvectors too ill-conditioned for P to be a projector.
  std::string failure;
};

// The other modes' smallest |lambda| over the neutral modes' largest must be at least
// this: a mode near the cut belongs to neither side.
constexpr double kNeutralGap = 2.0;

// A (row-major, n x n, finite) split at relative CUT.
SpectralSplit split_spectrum(const std::vector<double>& a, int n, double cut);

// y = M x for a row-major n x n matrix.
std::vector<double> matrix_times(const std::vector<double>& m, const std::vector<double>& x);

}  // namespace tsgd
