// See steppers.h.
#include "theory/steppers.h"

#include <algorithm>
#include <cmath>

namespace tsgd {

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

// Step-size control of DOPRI5: PI controller with Lund stabilisation.
constexpr double kSafe = 0.9, kBeta = 0.04, kExpo1 = 0.2 - kBeta * 0.75;
constexpr double kFacMaxInv = 0.1 /* growth <= 10 */, kFacMinInv = 5.0 /* shrink >= 0.2 */;

class Dopri5 {
 public:
  Dopri5(const OdeFunction& f, int dim, double rtol, double atol, OdeStats& stats)
      : f_(f), nd_(static_cast<std::size_t>(dim)), rtol_(rtol), atol_(atol), stats_(stats) {
    for (std::vector<double>* v : {&k1_, &k2_, &k3_, &k4_, &k5_, &k6_, &k7_, &yt_, &y1_, &err_,
                                   &rc1_, &rc2_, &rc3_, &rc4_, &rc5_, &yr_})
      v->resize(nd_);
  }

  StepperStatus run(double t0, std::vector<double>& y, const std::vector<double>& records,
                    std::size_t first, const StepCheck& check, const RecordEmit& emit,
                    double* t_stop);

 private:
  // RMS of v in units of atol + rtol max(|ya|, |yb|).
  double scaled_norm(const std::vector<double>& v, const std::vector<double>& ya,
                     const std::vector<double>& yb) const {
    double s = 0.0;
    for (std::size_t i = 0; i < nd_; ++i) {
      const double sc = atol_ + rtol_ * std::max(std::abs(ya[i]), std::abs(yb[i]));
      s += (v[i] / sc) * (v[i] / sc);
    }
    return std::sqrt(s / std::max<std::size_t>(nd_, 1));
  }
  double initial_step(double t, const std::vector<double>& y, double t_end);
  double attempt(double t, double h, const std::vector<double>& y);
  void emit_dense(double t, double h, double t1, const std::vector<double>& y,
                  const std::vector<double>& records, std::size_t& next, const RecordEmit& emit);

  const OdeFunction& f_;
  std::size_t nd_;
  double rtol_, atol_;
  OdeStats& stats_;
  std::vector<double> k1_, k2_, k3_, k4_, k5_, k6_, k7_, yt_, y1_, err_, rc1_, rc2_, rc3_, rc4_,
      rc5_, yr_;
};

// Initial step (Hairer, Norsett & Wanner, "Solving ODEs I", II.4), with k1 = f(t, y):
//   h0 = 0.01 |y0| / |f0|, h1 = (0.01 / max(|f0|, |f1 - f0| / h0))^(1/5), h = min(100 h0, h1).
double Dopri5::initial_step(double t, const std::vector<double>& y, double t_end) {
  const double dn0 = scaled_norm(y, y, y), dn1 = scaled_norm(k1_, y, y);
  double h0 = (dn0 < 1e-5 || dn1 < 1e-5) ? 1e-6 : 0.01 * dn0 / dn1;
  h0 = std::min(h0, t_end - t);
  for (std::size_t i = 0; i < nd_; ++i) yt_[i] = y[i] + h0 * k1_[i];
  f_(t + h0, yt_.data(), k2_.data());
  ++stats_.evaluations;
  for (std::size_t i = 0; i < nd_; ++i) err_[i] = (k2_[i] - k1_[i]) / h0;
  const double dn2 = scaled_norm(err_, y, y);
  const double dmax = std::max(dn1, dn2);
  const double h1 = dmax <= 1e-15 ? std::max(1e-6, h0 * 1e-3) : std::pow(0.01 / dmax, 0.2);
  const double h = std::min(100.0 * h0, h1);
  return (!(h > 0.0) || !std::isfinite(h)) ? 1e-6 : h;
}

// The six new stages of a step of size h from (t, y), k1 given: y1, k7 = f(t + h, y1)
// and the error estimate; returns its scaled norm (1e10 when a stage left the domain).
double Dopri5::attempt(double t, double h, const std::vector<double>& y) {
  const std::size_t nd = nd_;
  const std::vector<double>&k1 = k1_, &k2 = k2_, &k3 = k3_, &k4 = k4_, &k5 = k5_, &k6 = k6_,
        &k7 = k7_;
  for (std::size_t i = 0; i < nd; ++i) yt_[i] = y[i] + h * a21 * k1[i];
  f_(t + c2 * h, yt_.data(), k2_.data());
  for (std::size_t i = 0; i < nd; ++i) yt_[i] = y[i] + h * (a31 * k1[i] + a32 * k2[i]);
  f_(t + c3 * h, yt_.data(), k3_.data());
  for (std::size_t i = 0; i < nd; ++i)
    yt_[i] = y[i] + h * (a41 * k1[i] + a42 * k2[i] + a43 * k3[i]);
  f_(t + c4 * h, yt_.data(), k4_.data());
  for (std::size_t i = 0; i < nd; ++i)
    yt_[i] = y[i] + h * (a51 * k1[i] + a52 * k2[i] + a53 * k3[i] + a54 * k4[i]);
  f_(t + c5 * h, yt_.data(), k5_.data());
  for (std::size_t i = 0; i < nd; ++i)
    yt_[i] = y[i] + h * (a61 * k1[i] + a62 * k2[i] + a63 * k3[i] + a64 * k4[i] + a65 * k5[i]);
  f_(t + h, yt_.data(), k6_.data());
  for (std::size_t i = 0; i < nd; ++i)
    y1_[i] = y[i] + h * (a71 * k1[i] + a73 * k3[i] + a74 * k4[i] + a75 * k5[i] + a76 * k6[i]);
  f_(t + h, y1_.data(), k7_.data());
  stats_.evaluations += 6;
  for (std::size_t i = 0; i < nd; ++i)
    err_[i] = h * (e1 * k1[i] + e3 * k3[i] + e4 * k4[i] + e5 * k5[i] + e6 * k6[i] + e7 * k7[i]);
  const double e = scaled_norm(err_, y, y1_);
  return std::isfinite(e) ? e : 1e10;  // a stage left the domain (NaN): reject and shrink
}

// Dense output on [t, t1] for the records inside:
//   y(t + theta h) = rc1 + theta (rc2 + (1-theta) (rc3 + theta (rc4 + (1-theta) rc5)))
void Dopri5::emit_dense(double t, double h, double t1, const std::vector<double>& y,
                        const std::vector<double>& records, std::size_t& next,
                        const RecordEmit& emit) {
  if (next >= records.size() || records[next] > t1) return;
  for (std::size_t i = 0; i < nd_; ++i) {
    const double ydiff = y1_[i] - y[i];
    const double bspl = h * k1_[i] - ydiff;
    rc1_[i] = y[i];
    rc2_[i] = ydiff;
    rc3_[i] = bspl;
    rc4_[i] = ydiff - h * k7_[i] - bspl;
    rc5_[i] =
        h * (d1 * k1_[i] + d3 * k3_[i] + d4 * k4_[i] + d5 * k5_[i] + d6 * k6_[i] + d7 * k7_[i]);
  }
  for (; next < records.size() && records[next] <= t1; ++next) {
    if (records[next] >= t1) {
      emit(next, records[next], y1_.data());
      continue;
    }
    const double theta = (records[next] - t) / h, theta1 = 1.0 - theta;
    for (std::size_t i = 0; i < nd_; ++i)
      yr_[i] =
          rc1_[i] + theta * (rc2_[i] + theta1 * (rc3_[i] + theta * (rc4_[i] + theta1 * rc5_[i])));
    emit(next, records[next], yr_.data());
  }
}

StepperStatus Dopri5::run(double t0, std::vector<double>& y, const std::vector<double>& records,
                          std::size_t first, const StepCheck& check, const RecordEmit& emit,
                          double* t_stop) {
  if (first >= records.size()) return StepperStatus::finished;
  const double t_end = records.back();
  double t = t0;
  f_(t, y.data(), k1_.data());
  ++stats_.evaluations;
  double h = initial_step(t, y, t_end);
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
    const double e = attempt(t, h, y);
    const double fac11 = std::pow(e, kExpo1);
    if (e > 1.0) {  // rejected
      h /= std::min(kFacMinInv, fac11 / kSafe);
      ++stats_.rejected;
      last_rejected = true;
      continue;
    }
    double fac = fac11 / std::pow(facold, kBeta);
    fac = std::max(kFacMaxInv, std::min(kFacMinInv, fac / kSafe));
    double hnew = h / fac;
    if (last_rejected) hnew = std::min(hnew, h);
    facold = std::max(e, 1e-4);
    ++stats_.steps;
    const double t1 = (t + h >= t_end) ? t_end : t + h;
    if (!check(t1, y1_.data())) return StepperStatus::stopped;
    emit_dense(t, h, t1, y, records, next, emit);
    y.swap(y1_);
    k1_.swap(k7_);  // FSAL
    t = t1;
    h = hnew;
    last_rejected = false;
  }
  return StepperStatus::finished;
}

}  // namespace

StepperStatus dopri5(const OdeFunction& f, int dim, double t0, std::vector<double>& y,
                     const std::vector<double>& records, std::size_t first, double rtol,
                     double atol, OdeStats& stats, const StepCheck& check, const RecordEmit& emit,
                     double* t_stop) {
  Dopri5 stepper(f, dim, rtol, atol, stats);
  return stepper.run(t0, y, records, first, check, emit, t_stop);
}

// Euler: y += dt f(y); RK4: k1 = f(y), k2 = f(y + dt/2 k1), k3 = f(y + dt/2 k2),
// k4 = f(y + dt k3), y += dt/6 (k1 + 2 k2 + 2 k3 + k4).
bool fixed_steps(const OdeFunction& f, int dim, bool rk4, double dt, std::vector<double>& y,
                 const std::vector<double>& records, std::size_t first, OdeStats& stats,
                 const StepCheck& check, const RecordEmit& emit) {
  std::vector<double> k1(dim), k2(dim), k3(dim), k4(dim), yt(dim), ypart(dim);
  auto step = [&](const std::vector<double>& from, double h, std::vector<double>& to) {
    f(0.0, from.data(), k1.data());
    if (!rk4) {
      for (int i = 0; i < dim; ++i) to[i] = from[i] + h * k1[i];
      stats.evaluations += 1;
      return;
    }
    for (int i = 0; i < dim; ++i) yt[i] = from[i] + 0.5 * h * k1[i];
    f(0.0, yt.data(), k2.data());
    for (int i = 0; i < dim; ++i) yt[i] = from[i] + 0.5 * h * k2[i];
    f(0.0, yt.data(), k3.data());
    for (int i = 0; i < dim; ++i) yt[i] = from[i] + h * k3[i];
    f(0.0, yt.data(), k4.data());
    for (int i = 0; i < dim; ++i)
      to[i] = from[i] + h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
    stats.evaluations += 4;
  };
  long j = 0;  // y is the state at t = j dt
  for (std::size_t next = first; next < records.size(); ++next) {
    const double target = records[next];
    // Grid steps while the next grid point does not pass the record (a relative
    // 1e-12 lets a record that sits on the grid up to rounding land on it).
    while (static_cast<double>(j + 1) * dt <= target * (1.0 + 1e-12)) {
      step(y, dt, y);
      ++j;
      ++stats.steps;
      if (!check(static_cast<double>(j) * dt, y.data())) return false;
    }
    const double gap = target - static_cast<double>(j) * dt;
    if (gap > 1e-12 * std::max(1.0, target)) {
      step(y, gap, ypart);  // off-grid partial step to the record
      ++stats.steps;
      if (!check(target, ypart.data())) return false;
      emit(next, target, ypart.data());
    } else {
      emit(next, target, y.data());
    }
  }
  return true;
}

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

}  // namespace tsgd
