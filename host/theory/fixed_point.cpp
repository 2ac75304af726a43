// Newton fixed points of the ODEs and their eigenvalues. See fixed_point.h.
#include "theory/fixed_point.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "theory/eigen.h"
#include "theory/generalisation_error.h"
#include "theory/least_squares.h"
#include "theory/neutral_modes.h"
#include "theory/ode.h"

namespace tsgd {

namespace {

// Central differences: J_ij = (f_i(y + h_j e_j) - f_i(y - h_j e_j)) / (2 h_j).
std::vector<double> jacobian(OdeSystem& sys, const std::vector<double>& y, double fd_step) {
  const int n = sys.dimension();
  std::vector<double> J(static_cast<std::size_t>(n) * n), yp(y), fp(n), fm(n);
  for (int j = 0; j < n; ++j) {
    const double h = fd_step * std::max(1.0, std::abs(y[j]));
    yp[j] = y[j] + h;
    sys.rhs(yp.data(), fp.data());
    yp[j] = y[j] - h;
    sys.rhs(yp.data(), fm.data());
    yp[j] = y[j];
    for (int i = 0; i < n; ++i)
      J[static_cast<std::size_t>(i) * n + j] = (fp[i] - fm[i]) / (2.0 * h);
  }
  return J;
}

double max_abs(const std::vector<double>& v) {
  double m = 0.0;
  for (double x : v) m = std::max(m, std::abs(x));
  return std::isfinite(m) ? m : std::numeric_limits<double>::infinity();
}

double norm2(const std::vector<double>& v) {
  double s = 0.0;
  for (double x : v) s += x * x;
  return std::isfinite(s) ? std::sqrt(s) : std::numeric_limits<double>::infinity();
}

}  // namespace

std::vector<double> ode_jacobian(const PointParams& p, const OrderParameters& state,
                                 double fd_step) {
  OdeSystem sys(p, state);
  std::vector<double> y(sys.dimension());
  sys.pack(state, y.data());
  return jacobian(sys, y, fd_step);
}

namespace {

// Where a Newton iteration ended: the state, F there, and whether it met its criterion
// (max |F| <= tolerance for the plain one, max |(I - P) F| for the restricted one).
struct NewtonEnd {
  std::vector<double> y, f;
  int iterations = 0;
  bool done = false;
  std::string message;
};

// The plain iteration: minimum-norm steps J^+ F, backtracking on |F|.
NewtonEnd plain_newton(OdeSystem& sys, const std::vector<double>& y0,
                       const FixedPointSettings& st) {
  const int n = sys.dimension();
  NewtonEnd e;
  e.y = y0;
  e.f.resize(n);
  sys.rhs(e.y.data(), e.f.data());
  std::vector<double> ytry(n), ftry(n);
  for (int it = 0; it < st.max_iterations; ++it) {
    if (max_abs(e.f) <= st.tolerance) break;
    const std::vector<double> J = jacobian(sys, e.y, st.fd_step);
    std::vector<double> minus_f(n);
    for (int i = 0; i < n; ++i) minus_f[i] = -e.f[i];
    const std::vector<double> step = least_squares(J, n, minus_f, kStepRcond);
    // Backtracking: halve the step until |F| decreases (at most 30 halvings).
    const double f0 = norm2(e.f);
    double lambda = 1.0;
    bool accepted = false;
    for (int k = 0; k < 30 && !accepted; ++k, lambda *= 0.5) {
      for (int i = 0; i < n; ++i) ytry[i] = e.y[i] + lambda * step[i];
      sys.rhs(ytry.data(), ftry.data());
      if (norm2(ftry) < f0) accepted = true;
    }
    e.iterations = it + 1;
    if (!accepted) {
      e.message = "Newton stalled: no step along J^+ F reduces the residual";
      break;
    }
    e.y.swap(ytry);
    e.f.swap(ftry);
  }
  e.done = max_abs(e.f) <= st.tolerance;
  if (!e.done && e.message.empty())
    e.message = "Newton did not converge in " + std::to_string(st.max_iterations) + " iterations";
  return e;
}

// (I - P) F.
std::vector<double> off_neutral(const SpectralSplit& split, const std::vector<double>& f) {
  std::vector<double> out = matrix_times(split.neutral_projector, f);
  for (std::size_t i = 0; i < f.size(); ++i) out[i] = f[i] - out[i];
  return out;
}

// The iteration restricted to the modes that are not neutral (fixed_point.h): steps
// -G F with P and G rebuilt at every iterate, backtracking on |(I - P) F| with that
// iterate's P. No neutral mode at y0: not done, and no message.
NewtonEnd restricted_newton(OdeSystem& sys, const std::vector<double>& y0,
                            const FixedPointSettings& st) {
  const int n = sys.dimension();
  NewtonEnd e;
  e.y = y0;
  e.f.resize(n);
  sys.rhs(e.y.data(), e.f.data());
  std::vector<double> ytry(n), ftry(n);
  for (int it = 0; it <= st.max_iterations; ++it) {
    const SpectralSplit split = split_spectrum(jacobian(sys, e.y, st.fd_step), n, kNeutralCut);
    if (split.neutral_eigenvalues.empty()) {
      if (it > 0) e.message = "the neutral modes vanished at iteration " + std::to_string(it);
      return e;
    }
    if (!split.failure.empty()) {
      // Before any step: no neutral treatment was possible, nothing to add.
      if (it > 0) e.message = split.failure;
      return e;
    }
    const std::vector<double> g = off_neutral(split, e.f);
    if (max_abs(g) <= std::max(st.tolerance, 1e-8 * max_abs(e.f))) {
      e.done = true;
      return e;
    }
    if (it == st.max_iterations) break;
    const std::vector<double> step = matrix_times(split.other_inverse, e.f);
    const double g0 = norm2(g);
    double lambda = 1.0;
    bool accepted = false;
    for (int k = 0; k < 30 && !accepted; ++k, lambda *= 0.5) {
      for (int i = 0; i < n; ++i) ytry[i] = e.y[i] - lambda * step[i];
      sys.rhs(ytry.data(), ftry.data());
      if (norm2(off_neutral(split, ftry)) < g0) accepted = true;
    }
    e.iterations = it + 1;
    if (!accepted) {
      e.message = "stalled: no step along -G F reduces the residual off the neutral modes";
      return e;
    }
    e.y.swap(ytry);
    e.f.swap(ftry);
  }
  e.message = "did not converge in " + std::to_string(st.max_iterations) + " iterations";
  return e;
}

std::string short_number(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", x);
  return buf;
}

// The neutral modes at the result's state, at its cut (J: the Jacobian there).
void report_neutral_modes(const std::vector<double>& J, const std::vector<double>& f,
                          FixedPointResult& out) {
  const int n = static_cast<int>(f.size());
  const SpectralSplit split = split_spectrum(J, n, out.neutral_cut);
  out.neutral_eigenvalues = split.neutral_eigenvalues;
  if (!split.failure.empty()) return;
  if (split.neutral_eigenvalues.empty()) {
    out.neutral_drift = 0.0;
    out.off_neutral_residual = max_abs(f);
    return;
  }
  out.off_neutral_residual = max_abs(off_neutral(split, f));
  out.neutral_drift = max_abs(matrix_times(split.neutral_projector, f));
  if (out.restricted && !out.converged)
    out.message = "not a fixed point: stationary except along " +
                  std::to_string(split.neutral_eigenvalues.size()) +
                  " neutral mode(s) (|eigenvalue| <= " + short_number(kNeutralCut) +
                  " of the largest) where the state drifts at max |dy/dalpha| = " +
                  short_number(out.neutral_drift) + "; the linearised fixed point along them is " +
                  short_number(max_abs(matrix_times(split.neutral_inverse, f))) + " away";
}

// The plain iteration from Y0; where it does not converge, the restricted one from Y0
// (fixed_point.h) and the plain one again from its end. The restricted end replaces the
// plain one unless the plain iteration brought max |F| below kKeepPlain times the drift
// the restricted end reports: then it removed the drift, i.e. it moved along the slow
// modes to (nearly) a fixed point, and is kept. Measured: 2e-12 against 1.2e-6 (erf, K =
// 5, a fixed point 0.06 away along the slow modes), and 0.15 to 1.2 where the plain
// iteration only wandered along a drift (linear both-layer, erf both-layer at short alpha).
constexpr double kKeepPlain = 1e-3;

NewtonEnd newton(OdeSystem& sys, const std::vector<double>& y0, const FixedPointSettings& st,
                 bool* restricted_end) {
  NewtonEnd plain = plain_newton(sys, y0, st);
  *restricted_end = false;
  if (plain.done) return plain;
  NewtonEnd restricted = restricted_newton(sys, y0, st);
  if (!restricted.done) {
    if (!restricted.message.empty())
      plain.message += "; Newton restricted to the non-neutral modes: " + restricted.message;
    return plain;
  }
  // From the fast modes' rest the plain iteration may reach a fixed point along the
  // slow ones after all.
  NewtonEnd again = plain_newton(sys, restricted.y, st);
  if (again.done) {
    again.iterations += plain.iterations + restricted.iterations;
    return again;
  }
  if (max_abs(plain.f) <= kKeepPlain * max_abs(restricted.f)) return plain;
  restricted.iterations += plain.iterations;
  *restricted_end = true;
  return restricted;
}

}  // namespace

FixedPointResult find_fixed_point(const PointParams& p, const OrderParameters& start,
                                  const FixedPointSettings& st) {
  OdeSystem sys(p, start);
  const int n = sys.dimension();
  std::vector<double> y0(n);
  sys.pack(start, y0.data());
  FixedPointResult out;
  const NewtonEnd end = newton(sys, y0, st, &out.restricted);
  if (out.restricted) out.neutral_cut = kNeutralCut;
  out.iterations = end.iterations;
  out.residual = max_abs(end.f);
  out.converged = out.residual <= st.tolerance;
  out.message = out.converged ? "" : end.message;
  out.state = start;
  sys.unpack(end.y.data(), out.state);
  out.eg = generalisation_error(out.state, p.student_activation, p.teacher_activation);
  // eps_g >= 0 up to rounding: at a perfect fixed point it is 0 to ~1e-16.
  out.physical = sys.invalid_reason(end.y.data()).empty() && out.eg >= -1e-12;
  const std::vector<double> J = jacobian(sys, end.y, st.fd_step);
  try {
    out.eigenvalues = eigenvalues(J, n);
    out.max_real_eigenvalue = -std::numeric_limits<double>::infinity();
    for (const auto& z : out.eigenvalues)
      out.max_real_eigenvalue = std::max(out.max_real_eigenvalue, z.real());
  } catch (const std::runtime_error& e) {
    out.message += (out.message.empty() ? "" : "; ") + std::string(e.what());
  }
  report_neutral_modes(J, end.f, out);
  return out;
}

namespace {

// Classes of identical students at a state: w_k = w_l, i.e. Q_kk + Q_ll - 2 Q_kl = 0,
// with equal second layers (otherwise their updates differ and they do not stay
// identical). The ODE preserves identical units (they receive identical updates), so
// the states where each class stays identical form an invariant manifold; the noise's
// F1 is tangent to it too.
std::vector<int> identical_unit_classes(const OrderParameters& s) {
  std::vector<int> cls(s.K, -1);
  int next = 0;
  for (int k = 0; k < s.K; ++k) {
    if (cls[k] >= 0) continue;
    cls[k] = next;
    for (int l = k + 1; l < s.K; ++l) {
      const double scale = 1.0 + s.q(k, k) + s.q(l, l);
      const double distance = s.q(k, k) + s.q(l, l) - 2.0 * s.q(k, l);
      if (cls[l] < 0 && std::abs(distance) <= 1e-10 * scale &&
          std::abs(s.v[k] - s.v[l]) <= 1e-10 * (1.0 + std::abs(s.v[k])))
        cls[l] = next;
    }
    ++next;
  }
  return cls;
}

// The manifold where each class of identical units stays identical, in the packed
// coordinates of OdeSystem (Q_ik for i <= k, R_in, v_i when both layers are trained):
// coordinate j of the manifold moves every packed coordinate i with index[i] = j
// together (Q by the pair of classes, R by (class, teacher), v by class); the
// manifold's F is the mean of theirs.
struct IdenticalUnitsManifold {
  std::vector<int> index;
  std::vector<double> members;  // packed coordinates per manifold coordinate
  int dimension = 0;

  IdenticalUnitsManifold(const std::vector<int>& cls, int M, bool both) {
    const int K = static_cast<int>(cls.size());
    int classes = 0;
    for (int c : cls) classes = std::max(classes, c + 1);
    auto pair_index = [&](int a, int b) {
      if (a > b) std::swap(a, b);
      return a * classes - a * (a - 1) / 2 + (b - a);  // upper triangle, row by row
    };
    const int nq = classes * (classes + 1) / 2;
    for (int i = 0; i < K; ++i)
      for (int k = i; k < K; ++k) index.push_back(pair_index(cls[i], cls[k]));
    for (int i = 0; i < K; ++i)
      for (int m = 0; m < M; ++m) index.push_back(nq + cls[i] * M + m);
    if (both)
      for (int i = 0; i < K; ++i) index.push_back(nq + classes * M + cls[i]);
    dimension = nq + classes * M + (both ? classes : 0);
    members.assign(dimension, 0.0);
    for (int j : index) members[j] += 1.0;
  }

  std::vector<double> reduce(const std::vector<double>& full) const {
    std::vector<double> out(dimension, 0.0);
    for (std::size_t i = 0; i < full.size(); ++i) out[index[i]] += full[i];
    for (int j = 0; j < dimension; ++j) out[j] /= members[j];
    return out;
  }
  std::vector<double> expand(const std::vector<double>& reduced) const {
    std::vector<double> out(index.size());
    for (std::size_t i = 0; i < index.size(); ++i) out[i] = reduced[index[i]];
    return out;
  }
};

// Central-difference Jacobian of SYS at Y on the manifold, r x r row-major.
std::vector<double> manifold_jacobian(OdeSystem& sys, const std::vector<double>& y,
                                      const IdenticalUnitsManifold& mf, double fd_step) {
  const int n = sys.dimension(), r = mf.dimension;
  std::vector<double> J(static_cast<std::size_t>(r) * r), yp(n), fp(n), fm(n), diff(n);
  for (int j = 0; j < r; ++j) {
    double scale = 1.0;
    for (int i = 0; i < n; ++i)
      if (mf.index[i] == j) scale = std::max(scale, std::abs(y[i]));
    const double h = fd_step * scale;
    for (int sign : {1, -1}) {
      for (int i = 0; i < n; ++i) yp[i] = y[i] + (mf.index[i] == j ? sign * h : 0.0);
      sys.rhs(yp.data(), sign > 0 ? fp.data() : fm.data());
    }
    for (int i = 0; i < n; ++i) diff[i] = (fp[i] - fm[i]) / (2.0 * h);
    const std::vector<double> column = mf.reduce(diff);
    for (int i = 0; i < r; ++i) J[static_cast<std::size_t>(i) * r + j] = column[i];
  }
  return J;
}

// d eps_g / dt along y + t delta at t = 0, by the one-sided second-order difference
// with steps of ~1e-5 in the largest coordinate: truncation ~h^2 eps'', rounding
// ~1e-16 / h, both ~1e-10 relative. States along +delta are valid: the noise pushes
// into the interior of the positive semi-definite states where y lies on their boundary.
double derivative_along(OdeSystem& sys, const std::vector<double>& y,
                        const std::vector<double>& delta, double eg0) {
  const double dmax = max_abs(delta);
  if (!(dmax > 0)) return 0.0;  // no response at all: eps* = eps_g(y0) to this order
  if (!std::isfinite(dmax)) throw std::runtime_error("the noise response is not finite");
  const double h = 1e-5 / dmax;
  double e[3] = {eg0, 0.0, 0.0};
  std::vector<double> yh(y.size());
  for (int k = 1; k <= 2; ++k) {
    for (std::size_t i = 0; i < y.size(); ++i) yh[i] = y[i] + k * h * delta[i];
    const std::string why = sys.invalid_reason(yh.data());
    if (!why.empty())
      throw std::runtime_error("a state along the noise response is not valid: " + why);
    e[k] = sys.generalisation_error(yh.data());
  }
  const double derivative = (-3.0 * e[0] + 4.0 * e[1] - e[2]) / (2.0 * h);
  if (!std::isfinite(derivative)) throw std::runtime_error("the noise response is not finite");
  return derivative;
}

}  // namespace

NoiseResponse noise_response(const PointParams& p, const OrderParameters& state, double fd_step) {
  PointParams quiet = p, unit = p;
  quiet.sigma = 0.0;
  unit.sigma = 1.0;
  OdeSystem sys0(quiet, state), sys1(unit, state);
  const int n = sys0.dimension();
  std::vector<double> y(n), f0(n), f1(n);
  sys0.pack(state, y.data());
  sys0.rhs(y.data(), f0.data());
  sys1.rhs(y.data(), f1.data());
  // F1 = F(sigma = 1) - F(sigma = 0): exact, the right-hand side is affine in sigma^2.
  for (int i = 0; i < n; ++i) f1[i] -= f0[i];
  NoiseResponse out;
  out.f0_residual = max_abs(f0);
  const std::string invalid = sys0.invalid_reason(y.data());
  if (!invalid.empty()) throw std::runtime_error("noise-free state is not valid: " + invalid);
  out.eg0 = sys0.generalisation_error(y.data());

  // Work on the manifold where identical units stay identical (the paper's
  // perturbation theory around symmetric fixed points: identical superfluous units,
  // copies of one teacher unit). A move of one coordinate alone would separate identical
  // units, leaving the positive semi-definite states; their differences are marginal
  // directions the noise does not drive.
  const IdenticalUnitsManifold mf(identical_unit_classes(state), p.M,
                                  p.train == TrainMode::both_layers);
  const int r = mf.dimension;
  const std::vector<double> f1r = mf.reduce(f1);
  // The noise must be tangent to the manifold (identical units get identical noise).
  double off = 0.0;
  for (int i = 0; i < n; ++i) off = std::max(off, std::abs(f1[i] - f1r[mf.index[i]]));
  if (off > 1e-9 * (1.0 + max_abs(f1)))
    throw std::runtime_error("the noise separates units that are identical at the fixed point");
  const std::vector<double> Jr = manifold_jacobian(sys0, y, mf, fd_step);
  std::vector<double> minus_f1(r);
  for (int i = 0; i < r; ++i) minus_f1[i] = -f1r[i];
  const std::vector<double> delta_r = least_squares(Jr, r, minus_f1, kStepRcond);
  std::vector<double> res(f1r);
  for (int i = 0; i < r; ++i)
    for (int j = 0; j < r; ++j) res[i] += Jr[static_cast<std::size_t>(i) * r + j] * delta_r[j];
  const double f1_norm = norm2(f1r);
  out.residual = f1_norm > 0 ? norm2(res) / f1_norm : 0.0;
  out.max_real_eigenvalue = -std::numeric_limits<double>::infinity();
  for (const auto& z : eigenvalues(Jr, r))
    out.max_real_eigenvalue = std::max(out.max_real_eigenvalue, z.real());
  try {
    out.deg_dsigma2 = derivative_along(sys0, y, mf.expand(delta_r), out.eg0);
  } catch (const std::runtime_error& e) {
    out.deg_dsigma2 = std::numeric_limits<double>::quiet_NaN();
    out.derivative_failure = e.what();
  }
  return out;
}

Stability stability_of(const FixedPointResult& r) {
  if (r.eigenvalues.empty() || std::isnan(r.max_real_eigenvalue)) return Stability::unknown;
  if (r.max_real_eigenvalue < -kMarginalEigenvalue) return Stability::stable;
  if (r.max_real_eigenvalue > kMarginalEigenvalue) return Stability::unstable;
  return Stability::marginal;
}

const char* to_string(Stability s) {
  switch (s) {
    case Stability::stable:
      return "yes";
    case Stability::marginal:
      return "marginal";
    case Stability::unstable:
      return "no";
    case Stability::unknown:
      break;
  }
  return "unknown";
}

// ---- eigenvalues ------------------------------------------------------------------------

std::vector<std::complex<double>> eigenvalues(std::vector<double> m, int n) {
  if (n < 0 || m.size() != static_cast<std::size_t>(n) * n)
    throw std::invalid_argument("eigenvalues: matrix is not n x n");
  std::vector<std::complex<double>> out;
  if (n == 0) return out;
  for (double x : m)
    if (!std::isfinite(x)) throw std::runtime_error("eigenvalues: non-finite matrix entry");
  // Hessenberg reduction and Francis double-shift QR to the real Schur form; the
  // eigenvalues are read off its 1 x 1 and 2 x 2 diagonal blocks.
  const Eigen::EigenSolver<Eigen::MatrixXd> solver(Eigen::Map<const RowMajorMatrix>(m.data(), n, n),
                                                   /*computeEigenvectors=*/false);
  if (solver.info() == Eigen::NoConvergence)
    throw std::runtime_error("eigenvalues: QR iteration did not converge");
  if (solver.info() != Eigen::Success)
    throw std::runtime_error("eigenvalues: an eigenvalue is not finite");
  const Eigen::VectorXcd& z = solver.eigenvalues();
  out.assign(z.data(), z.data() + n);
  return out;
}

}  // namespace tsgd
