// The order-parameter ODEs' right-hand side. See ode_system.h and docs/theory.md §2.
#include "theory/ode_system.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

#include "theory/constants.h"
#include "theory/generalisation_error.h"
#include "theory/vector_math.h"

namespace tsgd {

// ---- support ---------------------------------------------------------------------------

std::string ode_unsupported_reason(const PointParams& p) {
  if (p.K < 1 || p.M < 1) return "the ODE needs K >= 1 and M >= 1";
  if (p.batch_size < 1) return "the ODE needs batch_size >= 1";
  if (p.student_activation == Activation::sign)
    return "the ODE has no sign student: g' = 2 delta makes J2 and I4 infinite and SGD "
           "never moves a sign unit (docs/theory.md §4.5)";
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
  field_ = FieldActivations{p.student_activation, p.teacher_activation, K_};
  C_.assign_fields(constants);  // fills T once; Q and R are overwritten per evaluation
  s_.assign(n_, 0.0);
  for (int m = 0; m < M_; ++m) s_[K_ + m] = -constants.vstar[m];
  for (int i = 0; i < K_; ++i) s_[i] = constants.v[i];
  A_.assign(static_cast<std::size_t>(K_) * n_, 0.0);
  buf1_.assign(n_, 0.0);
  buf2_.assign(n_, 0.0);
  for (int a = 0; a < K_; ++a)
    for (int b = a; b < K_; ++b) {
      pair_a_.push_back(a);
      pair_b_.push_back(b);
    }
  const int packed = n_ * (n_ + 1) / 2;
  pair_weight_.assign(packed, 0.0);
  threads_ = std::max(1, omp_get_max_threads());
  // The padding of term to a multiple of 8 stays 0: the 8 partial sums read it.
  erf_scratch_.assign(threads_, ErfScratch{std::vector<double>(n_, 0.0),
                                           std::vector<double>((packed + 7) / 8 * 8, 0.0)});
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
  if (g_ == Activation::erf && p_.teacher_activation == Activation::erf)
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

// Generic path: every average by index through mixed_integrals.h, which takes the closed
// forms of integrals.h for matched activations (coincident indices reach the ReLU closed
// forms) and the reduction of docs/theory.md §4.6 for a student-teacher mix. Used for relu,
// linear and quad, and for every mixed pair.
void OdeSystem::rhs_generic(double* dy) {
  const double ew = p_.lr, ev = p_.lr2;
  const double ew2 = p_.lr * p_.lr / p_.batch_size;  // mini-batch: eta_w^2 -> eta_w^2 / B
  const double sigma2 = p_.sigma * p_.sigma;
  const Covariance& C = C_;
  // A(i,b) = sum_p s_p I3(i,b,p) for every student i and field b.
  for (int i = 0; i < K_; ++i)
    for (int b = 0; b < n_; ++b) {
      double a = 0.0;
      for (int q = 0; q < n_; ++q) a += s_[q] * I3_fields(g_, C, i, b, field_(q), q);
      A_[i * n_ + b] = a;
    }
  int j = 0;
  for (int i = 0; i < K_; ++i)
    for (int k = i; k < K_; ++k) {
      // sum_{p,q} s_p s_q I4(i,k,p,q), symmetric in (p,q): p <= q with weight 2 off the diagonal.
      double i4 = 0.0;
      for (int q = 0; q < n_; ++q) {
        i4 += s_[q] * s_[q] * I4_fields(g_, C, i, k, field_(q), q, field_(q), q);
        for (int r = q + 1; r < n_; ++r)
          i4 += 2.0 * s_[q] * s_[r] * I4_fields(g_, C, i, k, field_(q), q, field_(r), r);
      }
      dy[j++] = -ew * s_[i] * A_[i * n_ + k] - ew * s_[k] * A_[k * n_ + i] +
                ew2 * s_[i] * s_[k] * (i4 + sigma2 * J2(g_, C, i, k));
    }
  for (int i = 0; i < K_; ++i)
    for (int m = 0; m < M_; ++m) dy[j++] = -ew * s_[i] * A_[i * n_ + K_ + m];
  if (both_)
    for (int i = 0; i < K_; ++i) {
      double sum = 0.0;
      for (int q = 0; q < n_; ++q) sum += s_[q] * I2_fields(C, g_, i, field_(q), q);
      dy[j++] = -ev * sum;
    }
}

// erf fast path (docs/theory.md §4.1), with d_p = 1 + C_pp:
//   I3(a,b,c) = (2/pi) [C_bc d_a - C_ab C_ac] / [d_a sqrt(d_a d_c - C_ac^2)], so with
//     u_c = s_c / sqrt(d_a d_c - C_ac^2) and X_a = sum_c u_c C_ac,
//     A(a,b) = sum_c s_c I3(a,b,c) = (2/pi) [ sum_c u_c C_bc - C_ab X_a / d_a ].
//   I4(a,b,c,d) = (4/pi^2) asin(L0(c,d) / sqrt(L1(c) L1(d))) / sqrt(L4), with
//     L4 = d_a d_b - C_ab^2,  x_c = C_ac, y_c = C_bc,
//     L1(c) = L4 d_c - y_c^2 d_a - x_c^2 d_b + 2 C_ab x_c y_c,
//     L0(c,d) = L4 C_cd - d_a y_c y_d - d_b x_c x_d + C_ab (x_c y_d + x_d y_c).
//   J2(a,b) = (2/pi) / sqrt(L4),   I2(a,p) = (2/pi) asin(C_ap / sqrt(d_a d_p)).
// Per evaluation: K n^2 for the I3 sums, and n(n+1)/2 arcsines per student pair, which
// dominate at large K (K^2 n^2 / 4): they are vectorised (erf_i4_sum) and the pairs are
// spread over threads_ threads.
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

  // sum_{p,q} s_p s_q asin(...) over q <= t with weight 2 off the diagonal.
  for (int q = 0, o = 0; q < n; ++q)
    for (int t = q; t < n; ++t) pair_weight_[o++] = (t == q ? 1.0 : 2.0) * s_[q] * s_[t];
  // Threads from 1e5 arcsines per evaluation (K = 32, M = 2 has 3.1e5, ~0.8 ms on one
  // core): a parallel region per evaluation pays off only when the other cores are idle
  // (docs/benchmarks.md: on a loaded 2-core machine it lost 5x at K = 32 with the default
  // spinning wait), so smaller systems, whose evaluations are shorter, never use it.
  const bool parallel = nq_ * (n * (n + 1) / 2) >= 100000 && threads_ > 1 && !omp_in_parallel();
  auto pair_row = [&](int j, ErfScratch& scratch) {
    const int a = pair_a_[j], b = pair_b_[j];
    const double cab = c[a * n + b];
    const double l4 = std::max(d[a] * d[b] - cab * cab, 1e-300);
    const double sum = erf_i4_sum(a, b, l4, scratch);
    const double inv_sqrt_l4 = 1.0 / std::sqrt(l4);
    const double i4 = kFourOverPi2 * inv_sqrt_l4 * sum;
    const double j2 = kTwoOverPi * inv_sqrt_l4;
    dy[j] = -ew * s_[a] * A_[a * n + b] - ew * s_[b] * A_[b * n + a] +
            ew2 * s_[a] * s_[b] * (i4 + sigma2 * j2);
  };
  if (parallel) {
#pragma omp parallel for schedule(static) num_threads(threads_)
    for (int j = 0; j < nq_; ++j) pair_row(j, erf_scratch_[omp_get_thread_num()]);
  } else {  // not even a team of one: its start costs as much as a small system's rhs
    for (int j = 0; j < nq_; ++j) pair_row(j, erf_scratch_[0]);
  }
  int j = nq_;
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

// sum_{q <= t} w_qt asin(L0(q,t) / sqrt(L1(q) L1(t))) for the student pair (a, b), with
// L4 = l4 and the weights pair_weight_ (formulas above rhs_erf). The arcsines of a row
// are computed together by the branch-free asin (vectorised over t), then summed in
// eight interleaved partial sums: a fixed order, so every thread count and every
// vector width gives the same bits.
double OdeSystem::erf_i4_sum(int a, int b, double l4, ErfScratch& w) const {
  const int n = n_;
  const double* c = C_.data();
  const double* d = buf1_.data();
  const double* x = c + a * n;  // x_q = C_aq
  const double* y = c + b * n;  // y_q = C_bq
  const double da = d[a], db = d[b], cab = c[a * n + b];
  double* r = w.r.data();
  for (int q = 0; q < n; ++q) {
    const double l1 = l4 * d[q] - y[q] * y[q] * da - x[q] * x[q] * db + 2.0 * cab * x[q] * y[q];
    r[q] = 1.0 / std::sqrt(std::max(l1, 1e-300));
  }
  double* term = w.term.data();
  const double* weight = pair_weight_.data();
  for (int q = 0, o = 0; q < n; o += n - q, ++q) {
    const double* cq = c + q * n;
    const double xq = x[q], yq = y[q], rq = r[q];
    for (int t = q; t < n; ++t) {
      const double l0 =
          l4 * cq[t] - da * yq * y[t] - db * xq * x[t] + cab * (xq * y[t] + x[t] * yq);
      term[o + t - q] = clamp_unit(l0 * rq * r[t]);
    }
  }
  // The arcsines over the whole packed triangle at once: one long vectorised loop
  // instead of n short ones.
  const int packed = n * (n + 1) / 2;
  for (int o = 0; o < packed; ++o) term[o] = weight[o] * asin_branchless(term[o]);
  double partial[8] = {};
  const int padded = static_cast<int>(w.term.size());
  for (int o = 0; o < padded; o += 8)
    for (int l = 0; l < 8; ++l) partial[l] += term[o + l];
  return ((partial[0] + partial[1]) + (partial[2] + partial[3])) +
         ((partial[4] + partial[5]) + (partial[6] + partial[7]));
}

double OdeSystem::generalisation_error(const double* y) {
  unpack(y, scratch_);
  return tsgd::generalisation_error(scratch_, p_.student_activation, p_.teacher_activation);
}

std::string OdeSystem::invalid_reason(const double* y) {
  for (int j = 0; j < dim_; ++j)
    if (!std::isfinite(y[j])) return "non-finite order parameter";
  load_covariance(y);
  // Rounding slack: the integrals clamp violations of this size (docs/theory.md §5), and an
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

}  // namespace tsgd
