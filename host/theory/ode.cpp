// Order-parameter ODEs and their integrators. See ode.h and MATH.md §2.
#include "theory/ode.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

#include "theory/generalisation_error.h"
#include "core/initial_weights.h"

namespace tsgd {

namespace {

constexpr double kTwoOverPi = 0.63661977236758134308;
constexpr double kFourOverPi2 = 0.40528473456935108578;  // 4 / pi^2

double clamp_unit(double x) { return x > 1.0 ? 1.0 : (x < -1.0 ? -1.0 : x); }

std::string shape_error(const char* what, int rows, int cols, int want_rows, int want_cols) {
  std::ostringstream s;
  s << what << " is " << rows << " x " << cols << ", expected " << want_rows << " x " << want_cols;
  return s.str();
}

}  // namespace

// ---- support ---------------------------------------------------------------------------

std::string ode_unsupported_reason(const PointParams& p) {
  if (p.K < 1 || p.M < 1) return "the ODE needs K >= 1 and M >= 1";
  if (p.batch_size < 1) return "the ODE needs batch_size >= 1";
  if (p.student_activation == Activation::sign)
    return "the ODE has no sign student: g' = 2 delta makes J2 and I4 infinite and SGD "
           "never moves a sign unit (MATH.md §4.5)";
  if (p.teacher_activation == Activation::sign)
    return "the ODE has no sign teacher: its averages with the student's activation (I3, I4) are "
           "not implemented; a sign teacher is supported by the simulation and the generalisation "
           "error only";
  if (p.student_activation != p.teacher_activation)
    return std::string("the ODE needs the same student and teacher activation (student ") +
           to_string(p.student_activation) + ", teacher " + to_string(p.teacher_activation) +
           "): the mixed averages I3 and I4 are not implemented; disable ode for this point";
  return {};
}

// ---- OdeSystem -------------------------------------------------------------------------

OdeSystem::OdeSystem(const PointParams& p, const OrderParameters& constants)
    : p_(p), constants_(constants) {
  const std::string reason = ode_unsupported_reason(p);
  if (!reason.empty()) throw std::invalid_argument(reason);
  if (constants.K != p.K || constants.M != p.M ||
      constants.Q.size() != static_cast<std::size_t>(p.K) * p.K ||
      constants.R.size() != static_cast<std::size_t>(p.K) * p.M ||
      constants.T.size() != static_cast<std::size_t>(p.M) * p.M ||
      constants.v.size() != static_cast<std::size_t>(p.K) ||
      constants.vstar.size() != static_cast<std::size_t>(p.M)) {
    std::ostringstream s;
    s << "ODE state has K = " << constants.K << ", M = " << constants.M
      << " (or inconsistent array sizes); the grid point has K = " << p.K << ", M = " << p.M;
    throw std::invalid_argument(s.str());
  }
  K_ = p.K;
  M_ = p.M;
  n_ = K_ + M_;
  nq_ = K_ * (K_ + 1) / 2;
  both_ = p.train == TrainMode::both_layers;
  dim_ = nq_ + K_ * M_ + (both_ ? K_ : 0);
  g_ = p.student_activation;
  C_.assign_fields(constants);  // fills T once; Q and R are overwritten per evaluation
  s_.assign(n_, 0.0);
  for (int m = 0; m < M_; ++m) s_[K_ + m] = -constants.vstar[m];
  for (int i = 0; i < K_; ++i) s_[i] = constants.v[i];
  A_.assign(static_cast<std::size_t>(K_) * n_, 0.0);
  buf1_.assign(n_, 0.0);
  buf2_.assign(n_, 0.0);
  buf3_.assign(n_, 0.0);
  buf4_.assign(n_, 0.0);
  scratch_ = constants;
}

void OdeSystem::pack(const OrderParameters& op, double* y) const {
  int j = 0;
  for (int i = 0; i < K_; ++i)
    for (int k = i; k < K_; ++k) y[j++] = op.q(i, k);
  for (int i = 0; i < K_; ++i)
    for (int m = 0; m < M_; ++m) y[j++] = op.r(i, m);
  if (both_)
    for (int i = 0; i < K_; ++i) y[j++] = op.v[i];
}

void OdeSystem::unpack(const double* y, OrderParameters& op) const {
  if (op.K != K_ || op.M != M_ || op.Q.size() != static_cast<std::size_t>(K_) * K_ ||
      op.R.size() != static_cast<std::size_t>(K_) * M_ ||
      op.v.size() != static_cast<std::size_t>(K_))
    op.resize(K_, M_);
  int j = 0;
  for (int i = 0; i < K_; ++i)
    for (int k = i; k < K_; ++k) {
      op.Q[i * K_ + k] = y[j];
      op.Q[k * K_ + i] = y[j];
      ++j;
    }
  for (int i = 0; i < K_ * M_; ++i) op.R[i] = y[j++];
  for (int i = 0; i < K_; ++i) op.v[i] = both_ ? y[j++] : constants_.v[i];
  op.T = constants_.T;
  op.vstar = constants_.vstar;
}

// C = [[Q, R], [R^T, T]] (T was filled at construction) and s = (v, -v*).
void OdeSystem::load_covariance(const double* y) {
  int j = 0;
  for (int i = 0; i < K_; ++i)
    for (int k = i; k < K_; ++k) C_.set(i, k, y[j++]);
  for (int i = 0; i < K_; ++i)
    for (int m = 0; m < M_; ++m) C_.set(i, K_ + m, y[j++]);
  if (both_)
    for (int i = 0; i < K_; ++i) s_[i] = y[j++];
}

void OdeSystem::rhs(const double* y, double* dy) {
  load_covariance(y);
  if (g_ == Activation::erf)
    rhs_erf(dy);
  else
    rhs_generic(dy);
  // Weight decay, the terms that do not depend on the activation.
  const double kw = p_.weight_decay, kv = p_.weight_decay2;
  if (kw != 0.0) {
    for (int j = 0; j < nq_; ++j) dy[j] -= 2.0 * kw * y[j];        // -2 kappa_w Q_ik
    for (int j = nq_; j < nq_ + K_ * M_; ++j) dy[j] -= kw * y[j];  // -kappa_w R_in
  }
  if (both_ && kv != 0.0)
    for (int j = nq_ + K_ * M_; j < dim_; ++j) dy[j] -= kv * y[j];  // -kappa_v v_i
}

// Generic path: every average through integrals.h, by index (coincident indices reach
// the ReLU closed forms). Used for relu, linear and quad.
void OdeSystem::rhs_generic(double* dy) {
  const double ew = p_.lr, ev = p_.lr2;
  const double ew2 = p_.lr * p_.lr / p_.batch_size;  // mini-batch: eta_w^2 -> eta_w^2 / B
  const double sigma2 = p_.sigma * p_.sigma;
  const Covariance& C = C_;
  // A(i,b) = sum_p s_p I3(i,b,p) for every student i and field b.
  for (int i = 0; i < K_; ++i)
    for (int b = 0; b < n_; ++b) {
      double a = 0.0;
      for (int q = 0; q < n_; ++q) a += s_[q] * I3(g_, C, i, b, q);
      A_[i * n_ + b] = a;
    }
  int j = 0;
  for (int i = 0; i < K_; ++i)
    for (int k = i; k < K_; ++k) {
      // sum_{p,q} s_p s_q I4(i,k,p,q), symmetric in (p,q): p <= q with weight 2 off the diagonal.
      double i4 = 0.0;
      for (int q = 0; q < n_; ++q) {
        i4 += s_[q] * s_[q] * I4(g_, C, i, k, q, q);
        for (int r = q + 1; r < n_; ++r) i4 += 2.0 * s_[q] * s_[r] * I4(g_, C, i, k, q, r);
      }
      dy[j++] = -ew * s_[i] * A_[i * n_ + k] - ew * s_[k] * A_[k * n_ + i] +
                ew2 * s_[i] * s_[k] * (i4 + sigma2 * J2(g_, C, i, k));
    }
  for (int i = 0; i < K_; ++i)
    for (int m = 0; m < M_; ++m) dy[j++] = -ew * s_[i] * A_[i * n_ + K_ + m];
  if (both_)
    for (int i = 0; i < K_; ++i) {
      double sum = 0.0;
      for (int q = 0; q < n_; ++q) sum += s_[q] * I2(g_, C, i, q);
      dy[j++] = -ev * sum;
    }
}

// erf fast path (MATH.md §4.1), with d_p = 1 + C_pp:
//   I3(a,b,c) = (2/pi) [C_bc d_a - C_ab C_ac] / [d_a sqrt(d_a d_c - C_ac^2)], so with
//     u_c = s_c / sqrt(d_a d_c - C_ac^2) and X_a = sum_c u_c C_ac,
//     A(a,b) = sum_c s_c I3(a,b,c) = (2/pi) [ sum_c u_c C_bc - C_ab X_a / d_a ].
//   I4(a,b,c,d) = (4/pi^2) asin(L0(c,d) / sqrt(L1(c) L1(d))) / sqrt(L4), with
//     L4 = d_a d_b - C_ab^2,  x_c = C_ac, y_c = C_bc,
//     L1(c) = L4 d_c - y_c^2 d_a - x_c^2 d_b + 2 C_ab x_c y_c,
//     L0(c,d) = L4 C_cd - d_a y_c y_d - d_b x_c x_d + C_ab (x_c y_d + x_d y_c).
//   J2(a,b) = (2/pi) / sqrt(L4),   I2(a,p) = (2/pi) asin(C_ap / sqrt(d_a d_p)).
// Per evaluation: K n^2 for the I3 sums, and n(n+1)/2 asin per student pair.
void OdeSystem::rhs_erf(double* dy) {
  const double ew = p_.lr, ev = p_.lr2;
  const double ew2 = p_.lr * p_.lr / p_.batch_size;
  const double sigma2 = p_.sigma * p_.sigma;
  const int n = n_;
  const double* c = C_.data();
  double* d = buf1_.data();
  double* u = buf2_.data();
  for (int q = 0; q < n; ++q) d[q] = 1.0 + c[q * n + q];

  for (int a = 0; a < K_; ++a) {
    const double* ca = c + a * n;
    double x = 0.0;
    for (int q = 0; q < n; ++q) {
      u[q] = s_[q] / std::sqrt(std::max(d[a] * d[q] - ca[q] * ca[q], 1e-300));
      x += u[q] * ca[q];
    }
    const double x_over_d = x / d[a];
    for (int b = 0; b < n; ++b) {
      const double* cb = c + b * n;
      double sum = 0.0;
      for (int q = 0; q < n; ++q) sum += u[q] * cb[q];
      A_[a * n + b] = kTwoOverPi * (sum - ca[b] * x_over_d);
    }
  }

  double* x = buf2_.data();  // x_c = C_ac (u is no longer needed)
  double* yv = buf3_.data();
  double* r = buf4_.data();
  int j = 0;
  for (int a = 0; a < K_; ++a)
    for (int b = a; b < K_; ++b) {
      const double cab = c[a * n + b];
      const double l4 = std::max(d[a] * d[b] - cab * cab, 1e-300);
      for (int q = 0; q < n; ++q) {
        x[q] = c[a * n + q];
        yv[q] = c[b * n + q];
        const double l1 =
            l4 * d[q] - yv[q] * yv[q] * d[a] - x[q] * x[q] * d[b] + 2.0 * cab * x[q] * yv[q];
        r[q] = 1.0 / std::sqrt(std::max(l1, 1e-300));
      }
      double sum = 0.0;  // sum_{p,q} s_p s_q asin(...)
      for (int q = 0; q < n; ++q) {
        const double* cq = c + q * n;
        // diagonal term, then q < t with weight 2
        double row = 0.5 * s_[q] *
                     std::asin(clamp_unit((l4 * cq[q] - d[a] * yv[q] * yv[q] - d[b] * x[q] * x[q] +
                                           2.0 * cab * x[q] * yv[q]) *
                                          r[q] * r[q]));
        for (int t = q + 1; t < n; ++t) {
          const double l0 = l4 * cq[t] - d[a] * yv[q] * yv[t] - d[b] * x[q] * x[t] +
                            cab * (x[q] * yv[t] + x[t] * yv[q]);
          row += s_[t] * std::asin(clamp_unit(l0 * r[q] * r[t]));
        }
        sum += 2.0 * s_[q] * row;
      }
      const double inv_sqrt_l4 = 1.0 / std::sqrt(l4);
      const double i4 = kFourOverPi2 * inv_sqrt_l4 * sum;
      const double j2 = kTwoOverPi * inv_sqrt_l4;
      dy[j++] = -ew * s_[a] * A_[a * n + b] - ew * s_[b] * A_[b * n + a] +
                ew2 * s_[a] * s_[b] * (i4 + sigma2 * j2);
    }
  for (int i = 0; i < K_; ++i)
    for (int m = 0; m < M_; ++m) dy[j++] = -ew * s_[i] * A_[i * n + K_ + m];
  if (both_)
    for (int i = 0; i < K_; ++i) {
      double sum = 0.0;
      for (int q = 0; q < n; ++q)
        sum += s_[q] * std::asin(clamp_unit(c[i * n + q] / std::sqrt(d[i] * d[q])));
      dy[j++] = -ev * kTwoOverPi * sum;
    }
}

double OdeSystem::generalisation_error(const double* y) {
  unpack(y, scratch_);
  return tsgd::generalisation_error(scratch_, p_.student_activation, p_.teacher_activation);
}

std::string OdeSystem::invalid_reason(const double* y) {
  for (int j = 0; j < dim_; ++j)
    if (!std::isfinite(y[j])) return "non-finite order parameter";
  load_covariance(y);
  // Rounding slack: the integrals clamp violations of this size (MATH.md §5), and an
  // accurate trajectory that approaches the boundary (a student converging onto a
  // teacher) only crosses it by its truncation error, ~rtol.
  double scale = 0.0;
  for (int q = 0; q < n_; ++q) scale = std::max(scale, std::abs(C_(q, q)));
  const double eps = 1e-12 * std::max(scale, 1.0);
  for (int q = 0; q < n_; ++q) {
    if (C_(q, q) < -eps) {
      std::ostringstream s;
      s << "negative variance " << (q < K_ ? "Q" : "T") << "_" << (q < K_ ? q : q - K_) << ","
        << (q < K_ ? q : q - K_) << " = " << C_(q, q);
      return s.str();
    }
    for (int t = q + 1; t < n_; ++t) {
      const double bound = std::sqrt(std::max(C_(q, q), 0.0) * std::max(C_(t, t), 0.0));
      if (std::abs(C_(q, t)) > (1.0 + 1e-6) * bound + eps) {
        std::ostringstream s;
        s << "indefinite state: |C_" << q << t << "| = " << std::abs(C_(q, t)) << " > sqrt(C_" << q
          << q << " C_" << t << t << ") = " << bound << " (fields: students 0.." << K_ - 1
          << ", then teachers)";
        return s.str();
      }
    }
  }
  return {};
}

void ode_rhs(const PointParams& p, const OrderParameters& state, OrderParameters& derivative) {
  OdeSystem sys(p, state);
  std::vector<double> y(sys.dimension()), dy(sys.dimension());
  sys.pack(state, y.data());
  sys.rhs(y.data(), dy.data());
  derivative.resize(p.K, p.M);
  sys.unpack(dy.data(), derivative);
  std::fill(derivative.T.begin(), derivative.T.end(), 0.0);
  std::fill(derivative.vstar.begin(), derivative.vstar.end(), 0.0);
  if (p.train == TrainMode::first_layer) std::fill(derivative.v.begin(), derivative.v.end(), 0.0);
}

void ode_rhs_generic(const PointParams& p, const OrderParameters& state,
                     OrderParameters& derivative) {
  OdeSystem sys(p, state);
  std::vector<double> y(sys.dimension()), dy(sys.dimension());
  sys.pack(state, y.data());
  sys.load_covariance(y.data());
  sys.rhs_generic(dy.data());
  const double kw = p.weight_decay, kv = p.weight_decay2;
  const int nq = sys.nq_, nr = p.K * p.M;
  for (int j = 0; j < nq; ++j) dy[j] -= 2.0 * kw * y[j];
  for (int j = nq; j < nq + nr; ++j) dy[j] -= kw * y[j];
  for (int j = nq + nr; j < sys.dimension(); ++j) dy[j] -= kv * y[j];
  derivative.resize(p.K, p.M);
  sys.unpack(dy.data(), derivative);
  std::fill(derivative.T.begin(), derivative.T.end(), 0.0);
  std::fill(derivative.vstar.begin(), derivative.vstar.end(), 0.0);
  if (p.train == TrainMode::first_layer) std::fill(derivative.v.begin(), derivative.v.end(), 0.0);
}

// ---- Dormand-Prince 5(4) -----------------------------------------------------------------

namespace {

// Butcher tableau of Dormand & Prince (1980), FSAL, with the 5th-order solution
// propagated; e = b5 - b4 for the error estimate; d = Hairer's dense output (DOPRI5).
constexpr double c2 = 1.0 / 5, c3 = 3.0 / 10, c4 = 4.0 / 5, c5 = 8.0 / 9;
constexpr double a21 = 1.0 / 5;
constexpr double a31 = 3.0 / 40, a32 = 9.0 / 40;
constexpr double a41 = 44.0 / 45, a42 = -56.0 / 15, a43 = 32.0 / 9;
constexpr double a51 = 19372.0 / 6561, a52 = -25360.0 / 2187, a53 = 64448.0 / 6561,
                 a54 = -212.0 / 729;
constexpr double a61 = 9017.0 / 3168, a62 = -355.0 / 33, a63 = 46732.0 / 5247, a64 = 49.0 / 176,
                 a65 = -5103.0 / 18656;
constexpr double a71 = 35.0 / 384, a73 = 500.0 / 1113, a74 = 125.0 / 192, a75 = -2187.0 / 6784,
                 a76 = 11.0 / 84;
constexpr double e1 = 71.0 / 57600, e3 = -71.0 / 16695, e4 = 71.0 / 1920, e5 = -17253.0 / 339200,
                 e6 = 22.0 / 525, e7 = -1.0 / 40;
constexpr double d1 = -12715105075.0 / 11282082432, d3 = 87487479700.0 / 32700410799,
                 d4 = -10690763975.0 / 1880347072, d5 = 701980252875.0 / 199316789632,
                 d6 = -1453857185.0 / 822651844, d7 = 69997945.0 / 29380423;

enum class StepperStatus { finished, stopped, underflow };

// Integrates y' = f(t, y) from t0 to the last record time. accept(t, y) is called after
// every accepted step and returns false to stop; emit(index, t, y) is called for each
// record in (t0, t_end], in order (records at t0 are the caller's).
template <class F, class Accept, class Emit>
StepperStatus dopri5(F&& f, int dim, double t0, std::vector<double>& y,
                     const std::vector<double>& records, std::size_t first, double rtol,
                     double atol, detail::GenericOdeStats& stats, Accept&& accept, Emit&& emit,
                     double* t_stop = nullptr) {
  if (first >= records.size()) return StepperStatus::finished;
  const double t_end = records.back();
  const std::size_t nd = static_cast<std::size_t>(dim);
  std::vector<double> k1(nd), k2(nd), k3(nd), k4(nd), k5(nd), k6(nd), k7(nd), yt(nd), y1(nd),
      err(nd), rc1(nd), rc2(nd), rc3(nd), rc4(nd), rc5(nd), yr(nd);
  auto scaled_norm = [&](const std::vector<double>& v, const std::vector<double>& ya,
                         const std::vector<double>& yb) {
    double s = 0.0;
    for (std::size_t i = 0; i < nd; ++i) {
      const double sc = atol + rtol * std::max(std::abs(ya[i]), std::abs(yb[i]));
      s += (v[i] / sc) * (v[i] / sc);
    }
    return std::sqrt(s / std::max<std::size_t>(nd, 1));
  };

  double t = t0;
  f(t, y.data(), k1.data());
  ++stats.evaluations;
  // Initial step (Hairer, Norsett & Wanner, "Solving ODEs I", II.4):
  //   h0 = 0.01 |y0| / |f0|, h1 = (0.01 / max(|f0|, |f1 - f0| / h0))^(1/5), h = min(100 h0, h1).
  double h;
  {
    const double dn0 = scaled_norm(y, y, y), dn1 = scaled_norm(k1, y, y);
    double h0 = (dn0 < 1e-5 || dn1 < 1e-5) ? 1e-6 : 0.01 * dn0 / dn1;
    h0 = std::min(h0, t_end - t);
    for (std::size_t i = 0; i < nd; ++i) yt[i] = y[i] + h0 * k1[i];
    f(t + h0, yt.data(), k2.data());
    ++stats.evaluations;
    for (std::size_t i = 0; i < nd; ++i) err[i] = (k2[i] - k1[i]) / h0;
    const double dn2 = scaled_norm(err, y, y);
    const double dmax = std::max(dn1, dn2);
    const double h1 = dmax <= 1e-15 ? std::max(1e-6, h0 * 1e-3) : std::pow(0.01 / dmax, 0.2);
    h = std::min(100.0 * h0, h1);
    if (!(h > 0.0) || !std::isfinite(h)) h = 1e-6;
  }

  // Step-size control of DOPRI5: PI controller with Lund stabilisation.
  constexpr double kSafe = 0.9, kBeta = 0.04, kExpo1 = 0.2 - kBeta * 0.75;
  constexpr double kFacMaxInv = 0.1 /* growth <= 10 */, kFacMinInv = 5.0 /* shrink >= 0.2 */;
  double facold = 1e-4;
  bool last_rejected = false;
  std::size_t next = first;
  while (next < records.size()) {
    // Records within rounding of the current time (t_end - t below 1e-14 relative) take
    // the current state: a step that short would only add rounding error.
    if (t_end - t <= 1e-14 * std::max(1.0, std::abs(t))) {
      for (; next < records.size(); ++next) emit(next, records[next], y.data());
      return StepperStatus::finished;
    }
    if (t + h > t_end) h = t_end - t;
    if (h <= 1e-14 * std::max(1.0, std::abs(t))) {  // shrunk by rejections: a blow-up
      if (t_stop) *t_stop = t;
      return StepperStatus::underflow;
    }
    for (std::size_t i = 0; i < nd; ++i) yt[i] = y[i] + h * a21 * k1[i];
    f(t + c2 * h, yt.data(), k2.data());
    for (std::size_t i = 0; i < nd; ++i) yt[i] = y[i] + h * (a31 * k1[i] + a32 * k2[i]);
    f(t + c3 * h, yt.data(), k3.data());
    for (std::size_t i = 0; i < nd; ++i)
      yt[i] = y[i] + h * (a41 * k1[i] + a42 * k2[i] + a43 * k3[i]);
    f(t + c4 * h, yt.data(), k4.data());
    for (std::size_t i = 0; i < nd; ++i)
      yt[i] = y[i] + h * (a51 * k1[i] + a52 * k2[i] + a53 * k3[i] + a54 * k4[i]);
    f(t + c5 * h, yt.data(), k5.data());
    for (std::size_t i = 0; i < nd; ++i)
      yt[i] = y[i] + h * (a61 * k1[i] + a62 * k2[i] + a63 * k3[i] + a64 * k4[i] + a65 * k5[i]);
    f(t + h, yt.data(), k6.data());
    for (std::size_t i = 0; i < nd; ++i)
      y1[i] = y[i] + h * (a71 * k1[i] + a73 * k3[i] + a74 * k4[i] + a75 * k5[i] + a76 * k6[i]);
    f(t + h, y1.data(), k7.data());
    stats.evaluations += 6;
    for (std::size_t i = 0; i < nd; ++i)
      err[i] = h * (e1 * k1[i] + e3 * k3[i] + e4 * k4[i] + e5 * k5[i] + e6 * k6[i] + e7 * k7[i]);
    double e = scaled_norm(err, y, y1);
    if (!std::isfinite(e)) e = 1e10;  // a stage left the domain (NaN): reject and shrink
    const double fac11 = std::pow(e, kExpo1);
    if (e <= 1.0) {
      // Accepted.
      double fac = fac11 / std::pow(facold, kBeta);
      fac = std::max(kFacMaxInv, std::min(kFacMinInv, fac / kSafe));
      double hnew = h / fac;
      if (last_rejected) hnew = std::min(hnew, h);
      facold = std::max(e, 1e-4);
      ++stats.steps;
      const double t1 = (t + h >= t_end) ? t_end : t + h;
      if (!accept(t1, y1.data())) return StepperStatus::stopped;
      // Dense output on [t, t1] for the records inside:
      //   y(t + theta h) = rc1 + theta (rc2 + (1-theta) (rc3 + theta (rc4 + (1-theta) rc5)))
      if (next < records.size() && records[next] <= t1) {
        for (std::size_t i = 0; i < nd; ++i) {
          const double ydiff = y1[i] - y[i];
          const double bspl = h * k1[i] - ydiff;
          rc1[i] = y[i];
          rc2[i] = ydiff;
          rc3[i] = bspl;
          rc4[i] = ydiff - h * k7[i] - bspl;
          rc5[i] =
              h * (d1 * k1[i] + d3 * k3[i] + d4 * k4[i] + d5 * k5[i] + d6 * k6[i] + d7 * k7[i]);
        }
        while (next < records.size() && records[next] <= t1) {
          if (records[next] >= t1) {
            emit(next, records[next], y1.data());
          } else {
            const double theta = (records[next] - t) / h, theta1 = 1.0 - theta;
            for (std::size_t i = 0; i < nd; ++i)
              yr[i] = rc1[i] +
                      theta * (rc2[i] + theta1 * (rc3[i] + theta * (rc4[i] + theta1 * rc5[i])));
            emit(next, records[next], yr.data());
          }
          ++next;
        }
      }
      y.swap(y1);
      k1.swap(k7);  // FSAL
      t = t1;
      h = hnew;
      last_rejected = false;
    } else {
      h /= std::min(kFacMinInv, fac11 / kSafe);
      ++stats.rejected;
      last_rejected = true;
    }
  }
  return StepperStatus::finished;
}

}  // namespace

namespace detail {
std::vector<std::vector<double>> dopri5_generic(
    void (*f)(double t, const double* y, double* dy, void* ctx), void* ctx, int dim, double t0,
    std::vector<double> y0, const std::vector<double>& record_t, double rtol, double atol,
    GenericOdeStats* stats) {
  std::vector<std::vector<double>> out;
  std::size_t first = 0;
  while (first < record_t.size() && record_t[first] <= t0) {
    out.push_back(y0);
    ++first;
  }
  GenericOdeStats local;
  dopri5([&](double t, const double* y, double* dy) { f(t, y, dy, ctx); }, dim, t0, y0, record_t,
         first, rtol, atol, local, [](double, const double*) { return true; },
         [&](std::size_t, double, const double* y) { out.emplace_back(y, y + dim); });
  if (stats) *stats = local;
  return out;
}
}  // namespace detail

// ---- integrate_ode ------------------------------------------------------------------------

OdeResult integrate_ode(const PointParams& p, const OrderParameters& initial,
                        const std::vector<double>& record_alpha, const OdeSettings& s) {
  for (std::size_t i = 0; i < record_alpha.size(); ++i) {
    if (!(record_alpha[i] >= 0.0) || !std::isfinite(record_alpha[i]))
      throw std::invalid_argument("ODE record times must be finite and >= 0");
    if (i > 0 && record_alpha[i] < record_alpha[i - 1])
      throw std::invalid_argument("ODE record times must be sorted");
  }
  if (s.method == OdeMethod::adaptive && !(s.rtol > 0.0 && s.atol > 0.0))
    throw std::invalid_argument("ode.rtol and ode.atol must be > 0");
  if (s.method != OdeMethod::adaptive && !(s.dt > 0.0))
    throw std::invalid_argument("ode.dt must be > 0");

  OdeSystem sys(p, initial);  // throws for unsupported points and wrong shapes
  const int dim = sys.dimension();
  OdeResult result;
  result.alpha.reserve(record_alpha.size());
  result.eg.reserve(record_alpha.size());
  result.states.reserve(record_alpha.size());

  std::vector<double> y(dim);
  sys.pack(initial, y.data());

  // Validity after a step: a state the integrals accept and eps_g <= diverge_eg.
  auto check = [&](double t, const double* state) {
    std::string reason = sys.invalid_reason(state);
    if (reason.empty()) {
      const double eg = sys.generalisation_error(state);
      if (!std::isfinite(eg))
        reason = "non-finite generalisation error";
      else if (eg > s.diverge_eg) {
        std::ostringstream o;
        o << "generalisation error " << eg << " > ode.diverge_eg = " << s.diverge_eg;
        reason = o.str();
      }
    }
    if (reason.empty()) return true;
    result.diverged = true;
    result.diverged_alpha = t;
    result.diverged_reason = reason;
    return false;
  };
  auto emit = [&](std::size_t, double t, const double* state) {
    result.alpha.push_back(t);
    result.states.emplace_back();
    sys.unpack(state, result.states.back());
    result.eg.push_back(tsgd::generalisation_error(result.states.back(), p.student_activation,
                                                   p.teacher_activation));
  };

  if (!check(0.0, y.data())) return result;  // invalid initial state: diverged at alpha = 0
  std::size_t first = 0;
  while (first < record_alpha.size() && record_alpha[first] <= 0.0) emit(first++, 0.0, y.data());
  if (first == record_alpha.size()) return result;

  auto f = [&](double, const double* state, double* dy) { sys.rhs(state, dy); };

  if (s.method == OdeMethod::adaptive) {
    detail::GenericOdeStats stats;
    double t_stop = 0.0;
    const StepperStatus status =
        dopri5(f, dim, 0.0, y, record_alpha, first, s.rtol, s.atol, stats, check, emit, &t_stop);
    result.steps = stats.steps;
    result.rejected_steps = stats.rejected;
    result.rhs_evaluations = stats.evaluations;
    if (status == StepperStatus::underflow && !result.diverged) {
      result.diverged = true;
      result.diverged_alpha = t_stop;
      result.diverged_reason =
          "step size underflow: the solution leaves the domain of the equations (blow-up)";
    }
    return result;
  }

  // Fixed step: grid alpha_j = j dt (computed, not accumulated), one step
  //   Euler: y += dt f(y)
  //   RK4:   k1 = f(y), k2 = f(y + dt/2 k1), k3 = f(y + dt/2 k2), k4 = f(y + dt k3),
  //          y += dt/6 (k1 + 2 k2 + 2 k3 + k4).
  const bool rk4 = s.method == OdeMethod::rk4;
  std::vector<double> k1(dim), k2(dim), k3(dim), k4(dim), yt(dim), ypart(dim);
  auto step = [&](const std::vector<double>& from, double dt, std::vector<double>& to) {
    f(0.0, from.data(), k1.data());
    if (!rk4) {
      for (int i = 0; i < dim; ++i) to[i] = from[i] + dt * k1[i];
      result.rhs_evaluations += 1;
      return;
    }
    for (int i = 0; i < dim; ++i) yt[i] = from[i] + 0.5 * dt * k1[i];
    f(0.0, yt.data(), k2.data());
    for (int i = 0; i < dim; ++i) yt[i] = from[i] + 0.5 * dt * k2[i];
    f(0.0, yt.data(), k3.data());
    for (int i = 0; i < dim; ++i) yt[i] = from[i] + dt * k3[i];
    f(0.0, yt.data(), k4.data());
    for (int i = 0; i < dim; ++i)
      to[i] = from[i] + dt / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
    result.rhs_evaluations += 4;
  };
  const double dt = s.dt;
  long j = 0;  // y is the state at alpha = j dt
  for (std::size_t next = first; next < record_alpha.size(); ++next) {
    const double target = record_alpha[next];
    // Grid steps while the next grid point does not pass the record (a relative
    // 1e-12 lets a record that sits on the grid up to rounding land on it).
    while (static_cast<double>(j + 1) * dt <= target * (1.0 + 1e-12)) {
      step(y, dt, y);
      ++j;
      ++result.steps;
      if (!check(static_cast<double>(j) * dt, y.data())) return result;
    }
    const double gap = target - static_cast<double>(j) * dt;
    if (gap > 1e-12 * std::max(1.0, target)) {
      step(y, gap, ypart);  // off-grid partial step to the record
      ++result.steps;
      if (!check(target, ypart.data())) return result;
      emit(next, target, ypart.data());
    } else {
      emit(next, target, y.data());
    }
  }
  return result;
}

// ---- initial states ------------------------------------------------------------------------

namespace {

// Expected value of a second-layer weight of initial_weights.cpp: uniform -> value,
// flip_half -> the last floor(units/2) negated, gaussian -> no expectation (throws).
double expected_second_layer(SecondLayerInit init, double value, int unit, int units,
                             const char* which) {
  switch (init) {
    case SecondLayerInit::uniform:
      return value;
    case SecondLayerInit::flip_half:
      return unit >= units - units / 2 ? -value : value;
    case SecondLayerInit::gaussian:
      throw std::invalid_argument(
          std::string("ode.init: the expected initial state is undefined for a gaussian ") + which +
          " (its mean, 0, is not a state any run starts from); use ode.init = "
          "\"measured\" or an explicit state");
  }
  return value;
}

[[noreturn]] void random_student_v(const PointParams& p) {
  throw std::invalid_argument(
      std::string("ode.init: the expected initial state is undefined with both layers trained "
                  "and init \"") +
      to_string(p.init) +
      "\": the student second layer starts random (s G or G/sqrt(K)), and its mean, 0, is a "
      "fixed point no run starts from; use ode.init = \"measured\" or an explicit state");
}

}  // namespace

OrderParameters expected_initial_state(const PointParams& p) {
  const int K = p.K, M = p.M;
  if (K < 1 || M < 1) throw std::invalid_argument("ode.init: K and M must be >= 1");
  if ((p.init == InitKind::informed || p.init == InitKind::denoise) && K < M)
    throw std::invalid_argument("ode.init: informed and denoise initialisations need K >= M");
  OrderParameters op;
  op.resize(K, M);
  const double s2 = p.init_scale * p.init_scale;
  for (int n = 0; n < M; ++n) {
    op.T[n * M + n] = 1.0;  // teacher rows ~ N(0, I_N): T = W* W*^T / N -> I
    op.vstar[n] = output_scale(p.output_scaling, M) *
                  expected_second_layer(p.teacher_v_init, p.teacher_v, n, M, "teacher_v_init");
  }
  const bool both = p.train == TrainMode::both_layers;
  std::vector<int> copies(M, 0);
  for (int k = 0; k < K; ++k) copies[k % M] += 1;
  for (int k = 0; k < K; ++k) {
    // The first-layer rule (and "large" init's second layer).
    auto first_layer_v = [&] {
      return output_scale(p.output_scaling, K) *
             expected_second_layer(p.student_v_init, p.student_v, k, K, "student_v_init");
    };
    switch (p.init) {
      case InitKind::large:  // w = G: Q = I, R = 0
        op.Q[k * K + k] = 1.0;
        op.v[k] = first_layer_v();
        break;
      case InitKind::small:  // w = s G: Q = s^2 I
        op.Q[k * K + k] = s2;
        if (both) random_student_v(p);
        op.v[k] = first_layer_v();
        break;
      case InitKind::mixed:  // w = G / sqrt(N): Q = I / N
        op.Q[k * K + k] = 1.0 / p.N;
        if (both) random_student_v(p);
        op.v[k] = first_layer_v();
        break;
      case InitKind::informed:  // k < M: w = w*_k + s G; else s G
        if (k < M) {
          op.Q[k * K + k] = 1.0 + s2;
          op.R[k * M + k] = 1.0;
          op.v[k] = both ? op.vstar[k] : first_layer_v();
        } else {
          op.Q[k * K + k] = s2;
          if (both) random_student_v(p);
          op.v[k] = first_layer_v();
        }
        break;
      case InitKind::denoise: {  // w = w*_(k mod M) + s G, v = v*_m / copies(m)
        const int m = k % M;
        for (int l = 0; l < K; ++l)
          op.Q[k * K + l] = (l % M == m ? 1.0 : 0.0) + (l == k ? s2 : 0.0);
        op.R[k * M + m] = 1.0;
        op.v[k] = op.vstar[m] / copies[m];
        break;
      }
    }
  }
  return op;
}

OrderParameters explicit_initial_state(const OdeExplicitState& st, const PointParams& p) {
  const int K = p.K, M = p.M;
  auto fail = [](const std::string& key, const std::string& why) {
    throw std::invalid_argument("ode.init." + key + ": " + why);
  };
  auto check_matrix = [&](const std::vector<std::vector<double>>& a, const char* key, int rows,
                          int cols) {
    const int got_cols = a.empty() ? 0 : static_cast<int>(a[0].size());
    bool ok = static_cast<int>(a.size()) == rows;
    for (const auto& row : a) ok = ok && static_cast<int>(row.size()) == cols;
    if (!ok) fail(key, shape_error(key, static_cast<int>(a.size()), got_cols, rows, cols));
    for (const auto& row : a)
      for (double x : row)
        if (!std::isfinite(x)) fail(key, "non-finite entry");
  };
  check_matrix(st.Q, "Q", K, K);
  check_matrix(st.R, "R", K, M);
  check_matrix(st.T, "T", M, M);
  if (static_cast<int>(st.v.size()) != K)
    fail("v", "has " + std::to_string(st.v.size()) + " entries, expected K = " + std::to_string(K));
  if (!st.teacher_v.empty() && static_cast<int>(st.teacher_v.size()) != M)
    fail("teacher_v", "has " + std::to_string(st.teacher_v.size()) +
                          " entries, expected M = " + std::to_string(M));
  for (double x : st.v)
    if (!std::isfinite(x)) fail("v", "non-finite entry");
  for (double x : st.teacher_v)
    if (!std::isfinite(x)) fail("teacher_v", "non-finite entry");
  auto check_symmetric = [&](const std::vector<std::vector<double>>& a, const char* key) {
    const int n = static_cast<int>(a.size());
    for (int i = 0; i < n; ++i) {
      if (a[i][i] < 0.0) fail(key, "negative diagonal entry (a squared norm)");
      for (int k = i + 1; k < n; ++k)
        if (std::abs(a[i][k] - a[k][i]) > 1e-12 * (std::abs(a[i][k]) + std::abs(a[k][i]) + 1e-300))
          fail(key, "not symmetric");
    }
  };
  check_symmetric(st.Q, "Q");
  check_symmetric(st.T, "T");
  // Overlaps of real weight vectors obey Cauchy-Schwarz (1e-9 relative: rounding of
  // hand-typed or computed values).
  auto cauchy_schwarz = [&](double c, double a, double b, const char* key, int i, int k) {
    if (std::abs(c) > (1.0 + 1e-9) * std::sqrt(a * b))
      fail(key, "entry (" + std::to_string(i) + ", " + std::to_string(k) +
                    ") exceeds sqrt of the product of the two squared norms: not the "
                    "overlaps of real weight vectors");
  };
  for (int i = 0; i < K; ++i) {
    for (int k = i + 1; k < K; ++k) cauchy_schwarz(st.Q[i][k], st.Q[i][i], st.Q[k][k], "Q", i, k);
    for (int m = 0; m < M; ++m) cauchy_schwarz(st.R[i][m], st.Q[i][i], st.T[m][m], "R", i, m);
  }
  for (int n = 0; n < M; ++n)
    for (int m = n + 1; m < M; ++m) cauchy_schwarz(st.T[n][m], st.T[n][n], st.T[m][m], "T", n, m);
  OrderParameters op;
  op.resize(K, M);
  for (int i = 0; i < K; ++i) {
    for (int k = 0; k < K; ++k) op.Q[i * K + k] = st.Q[i][k];
    for (int m = 0; m < M; ++m) op.R[i * M + m] = st.R[i][m];
    op.v[i] = st.v[i];
  }
  for (int n = 0; n < M; ++n) {
    for (int m = 0; m < M; ++m) op.T[n * M + m] = st.T[n][m];
    op.vstar[n] = st.teacher_v.empty()
                      ? output_scale(p.output_scaling, M) *
                            expected_second_layer(p.teacher_v_init, p.teacher_v, n, M,
                                                  "teacher_v_init (give ode.init.teacher_v)")
                      : st.teacher_v[n];
  }
  return op;
}

}  // namespace tsgd
