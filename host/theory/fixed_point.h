// Fixed points of the order-parameter ODEs (ode.h) by Newton's method, and their
// linear stability from the eigenvalues of the Jacobian.
//
// Newton runs on the independent variables of OdeSystem (Q_ik for i <= k, R, and v
// when both layers are trained) with a central finite-difference Jacobian. The step
// is the minimum-norm least-squares solution J^+ F (singular values below 1e-8 of the
// largest dropped), because many fixed points are not isolated: in a linear network
// the differences between students are conserved, so the fixed points form a
// manifold and J is singular along it. A backtracking line search on |F| keeps the
// iteration from overshooting far from the fixed point.
//
// Neutral modes. Some states are stationary in every mode but a few slow ones, along
// which the state keeps drifting: in a linear network with both layers trained the
// gradient flow conserves Q/eta_w - v v^T/eta_v (rescaling w_k by c and v_k by 1/c
// leaves the output alone), and the O(eta^2) term of dQ moves it at exactly
//   d/dalpha (Q/eta_w - v v^T/eta_v) = eta_w (2 eps_g + sigma^2) v v^T / B,
// which vanishes only at v = 0 or at sigma = eps_g = 0: with label noise (and no weight
// decay) there is no fixed point, only a slow drift (eigenvalues ~eta^2 sigma^2, 1e-7 to
// 1e-3 of the largest), along which the plain Newton step wanders and stalls.
//
// So where the plain iteration does not converge, Newton restarts from `start`
// restricted to the other modes. The neutral modes are the eigenvalues with |lambda| <=
// kNeutralCut max |lambda| (neutral_modes.h; with a gap of kNeutralGap to the others),
// the step is -G F (G: the other modes' inverse), and it stops when max |(I - P) F| <=
// max(tolerance, 1e-8 max |F|), P being the spectral projector onto the neutral modes
// (1e-8: P is rebuilt from the finite-difference Jacobian at every iterate and moves by
// ~1e-10 relative there). Its end is the state the ODE relaxes to on the other modes,
// and from which it moves along the neutral ones at dy/dalpha = P F (`neutral_drift`);
// it differs from the ODE's own state there by the first order in |lambda_neutral| /
// |lambda_other|. The plain iteration then runs once more from that end (a slow mode
// may lead to a fixed point after all). The result is the restricted end, unless the
// first plain iteration got max |F| below 1e-3 of its drift (it was reaching a fixed
// point along the slow modes: its end is kept). `iterations` counts the steps of the
// iterations whose end is reported and of those before it.
//
// "Neutral" is a rate, not a symmetry: any mode that slow counts, e.g. the slow
// specialisation of erf students far from convergence, which does have a fixed point
// along it (the message gives the distance the linearisation puts it at). Either way
// `converged` means a fixed point, max |F| <= tolerance, the neutral modes included: a
// drift above it is not a fixed point, however slow.
#pragma once

#include <complex>
#include <limits>
#include <string>
#include <vector>

#include "core/model.h"

namespace tsgd {

// The minimum-norm step drops singular values of J below this fraction of the largest:
// well above the finite-difference noise (~1e-10 relative), well below the smallest
// physical rates of interest relative to the fastest (eta^2 sigma^2 vs eta).
constexpr double kStepRcond = 1e-8;
// Neutral modes for the restricted Newton: |lambda| <= 3e-3 max |lambda|. The linear
// both-layer drift's eigenvalues are 1e-7 (eta = sigma = 0.01) to 1.2e-3 (eta = sigma =
// 0.5) of the largest, its other modes 7.7e-3 and above (K = 1..4, M = 1, 2), so the cut
// sits in that gap with a factor 2.5 either side.
constexpr double kNeutralCut = 3e-3;

struct FixedPointSettings {
  int max_iterations = 50;
  // Converged when max_j |dy_j/dalpha| <= tolerance.
  double tolerance = 1e-13;
  // Relative finite-difference step of the Jacobian: h_j = fd_step max(1, |y_j|).
  // Central differences: truncation ~h^2, rounding ~1e-16 / h; 1e-6 balances them.
  double fd_step = 1e-6;
};

struct FixedPointResult {
  bool converged = false;
  int iterations = 0;
  double residual = std::numeric_limits<double>::quiet_NaN();  // max |dy/dalpha| at `state`
  OrderParameters state;
  double eg = std::numeric_limits<double>::quiet_NaN();
  // True when `state` is a possible state (the ODE's validity check passes) with eps_g >= 0;
  // Newton also finds algebraic fixed points that no run can reach.
  bool physical = false;
  // Eigenvalues of the Jacobian at `state`; the fixed point is linearly stable when
  // max_real_eigenvalue < 0 (zero real parts: marginal directions, e.g. conserved
  // quantities, show up as |Re| of the order of the finite-difference error, ~1e-9).
  std::vector<std::complex<double>> eigenvalues;
  double max_real_eigenvalue = std::numeric_limits<double>::quiet_NaN();
  // The neutral modes at `state` (neutral_modes.h): the eigenvalues with |lambda| <=
  // neutral_cut max |lambda|, neutral_cut being kStepRcond when the plain iteration
  // produced `state` (the modes its minimum-norm step leaves alone: conserved
  // quantities, symmetries) and kNeutralCut when the restricted one did (`restricted`).
  double neutral_cut = kStepRcond;
  bool restricted = false;
  std::vector<std::complex<double>> neutral_eigenvalues;
  // max |P F| (how fast the state moves along the neutral modes) and max |(I - P) F|
  // (the residual off them); NaN where P could not be formed (SpectralSplit::failure).
  double neutral_drift = std::numeric_limits<double>::quiet_NaN();
  double off_neutral_residual = std::numeric_limits<double>::quiet_NaN();
  std::string message;  // why Newton stopped when it did not converge
};

// Linear stability from the largest real part of the Jacobian's eigenvalues:
// stable when it is below -kMarginalEigenvalue, unstable above
// +kMarginalEigenvalue, marginal in between. Marginal directions are the zero
// modes of conserved quantities and symmetries (the differences between the
// students of a linear network, rescalings): their eigenvalues are zero up
// to the finite-difference Jacobian's error (~1e-9; exactly ~1e-17 for a
// linear right-hand side), and the dynamics neither restores nor amplifies
// them. A fixed point whose only non-negative directions are marginal is as
// stable as the ODE can tell.
constexpr double kMarginalEigenvalue = 1e-7;
enum class Stability { stable, marginal, unstable, unknown };
Stability stability_of(const FixedPointResult& r);  // unknown without eigenvalues
const char* to_string(Stability s);
// A converged fixed point that nothing moves away from: stable or marginal.
inline bool attracts(const FixedPointResult& r) {
  const Stability s = stability_of(r);
  return r.converged && (s == Stability::stable || s == Stability::marginal);
}

// Newton from `start` (e.g. the end state of an ODE integration). Throws
// std::invalid_argument as OdeSystem does for an unsupported point.
FixedPointResult find_fixed_point(const PointParams& p, const OrderParameters& start,
                                  const FixedPointSettings& settings = {});

// Linear response of the stationary state to label noise. The right-hand side is
// affine in sigma^2 (the eta_w^2 sigma^2 J2 term of dQ/dalpha): F(y) = F0(y) + sigma^2 F1(y).
// At a noise-free fixed point y0 (F0(y0) = 0) the fixed point with noise is
// y0 + sigma^2 delta + O(sigma^4), with J delta = -F1(y0), J = dF0/dy at y0, so
//   eps* = eps_g(y0) + sigma^2 d eps_g/dsigma^2 + O(sigma^4),
//   d eps_g/dsigma^2 = grad eps_g(y0) . delta,
// exact in eta (the paper's eq. (10) is this first order for the erf SCM). delta is
// J's minimum-norm least-squares solution (singular values below 1e-8 of the largest
// dropped: the marginal directions of fixed_point.h); the derivative is taken one-sided
// along delta (states along +delta are valid: the noise pushes into the interior of the
// positive semi-definite states where y0 lies on their boundary).
struct NoiseResponse {
  double eg0 = 0.0;          // eps_g(y0)
  double deg_dsigma2 = 0.0;  // d eps*/d sigma^2 at sigma = 0
  double residual = 0.0;     // |J delta + F1| / |F1|: above ~1e-6, the noise drives a marginal mode
  double f0_residual = 0.0;  // max |F0(y0)|: how far y0 is from a noise-free fixed point
  // Largest real part of the eigenvalues of J on the manifold of identical units: the
  // noise-free fixed point attracts (to first order) when it is below kMarginalEigenvalue.
  double max_real_eigenvalue = std::numeric_limits<double>::quiet_NaN();
  // Why deg_dsigma2 is NaN: a state along delta was invalid or eps_g not finite there
  // (e.g. at a fixed point that repels, where delta points out of the valid states).
  std::string derivative_failure;
};
// P's sigma is ignored (the response is at sigma = 0). Throws std::invalid_argument as
// OdeSystem does, std::runtime_error when the noise-free state is invalid or the noise
// separates units that are identical there.
NoiseResponse noise_response(const PointParams& p, const OrderParameters& noise_free_state,
                             double fd_step = 1e-6);

// Jacobian d(dy/dalpha)/dy of OdeSystem's right-hand side at `state` by central
// differences, row-major dim x dim with dim = OdeSystem::dimension().
std::vector<double> ode_jacobian(const PointParams& p, const OrderParameters& state,
                                 double fd_step = 1e-6);

// Eigenvalues of a general real n x n matrix (row-major), by Eigen's EigenSolver:
// Householder reduction to Hessenberg form, then the Francis double-shift QR algorithm
// to the real Schur form. Complex eigenvalues come in conjugate pairs, (a + ib, a - ib).
// No balancing: an eigenvalue's error is ~1e-16 |A| times its condition number, which
// suits the ODE's Jacobians (entries of one scale); a matrix whose rows and columns
// differ in scale by orders of magnitude loses accuracy unless balanced first.
// Throws std::invalid_argument when a is not n x n, std::runtime_error for a non-finite
// entry or when QR does not converge.
std::vector<std::complex<double>> eigenvalues(std::vector<double> a, int n);

}  // namespace tsgd
