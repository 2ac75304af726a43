// The order-parameter ODEs of online SGD (docs/theory.md §2, Goldt et al. eq. (9)):
// the right-hand side of one grid point, and which points it can integrate.
//
// State: the independent order parameters y = (Q_ik for i <= k, row by row; R_in
// row-major; v_i when both layers are trained). Q is stored once per pair, so it is
// symmetric by construction after every step. T and v* are constant (dT/dalpha = 0),
// and so is v when only the first layer is trained.
//
// Right-hand side in signed-weight form, s_p = v_p for students, -v*_n for teachers,
// eta_w = lr, eta_v = lr2, kappa_w = weight_decay, kappa_v = weight_decay2, B = batch:
//   dR_in/da = -eta_w v_i sum_p s_p I3(i,n,p) - kappa_w R_in
//   dQ_ik/da = -eta_w v_i sum_p s_p I3(i,k,p) - eta_w v_k sum_p s_p I3(k,i,p)
//              + (eta_w^2/B) v_i v_k [ sum_{p,q} s_p s_q I4(i,k,p,q) + sigma^2 J2(i,k) ]
//              - 2 kappa_w Q_ik
//   dv_i/da  = -eta_v sum_p s_p I2(i,p) - kappa_v v_i          (both layers only)
#pragma once

#include <string>
#include <vector>

#include "core/model.h"
#include "theory/integrals.h"
#include "theory/mixed_integrals.h"

namespace tsgd {

// Empty if the ODE can integrate this grid point, else why not (for the config
// validator): K, M, batch_size >= 1 and a student activation other than sign. The
// teacher's is free (sign included), chosen independently of the student's: eq. (9)
// needs g' of the student only (mixed_integrals.h).
std::string ode_unsupported_reason(const PointParams& p);

// The ODE system of one grid point, with its workspace: rhs() allocates nothing.
// Not thread-safe (one system per thread); cheap to construct. The erf right-hand side
// of a large student (K of tens) spreads its student pairs over the OpenMP threads
// available at construction, unless it is already inside a parallel region.
class OdeSystem {
 public:
  // `constants` supplies K, M, T, v* and, with only the first layer trained, v.
  // Throws std::invalid_argument if ode_unsupported_reason(p) is not empty or the
  // shapes of `constants` differ from p.K, p.M.
  OdeSystem(const PointParams& p, const OrderParameters& constants);

  int dimension() const { return dim_; }
  const PointParams& params() const { return p_; }
  void pack(const OrderParameters& op, double* y) const;
  // Writes Q (both triangles), R, v, T and v* (T, v* and a fixed v from the constants).
  void unpack(const double* y, OrderParameters& op) const;

  // dy/dalpha at y.
  void rhs(const double* y, double* dy);
  // eps_g at y (closed form, no allocation).
  double generalisation_error(const double* y);
  // Empty if y is a state the integrals accept, else the reason: a non-finite entry,
  // a negative variance, or |C_pq| > sqrt(C_pp C_qq) for some pair of fields, each
  // beyond a rounding slack (1e-6 relative, 1e-12 absolute on the diagonal's scale).
  std::string invalid_reason(const double* y);

 private:
  void load_covariance(const double* y);
  void rhs_erf(double* dy);
  struct ErfScratch {
    std::vector<double> r;     // 1 / sqrt(L1(q)) of one student pair
    std::vector<double> term;  // the pair's weighted arcsines, packed q <= t, padded to 8
  };
  double erf_i4_sum(int a, int b, double l4, ErfScratch& w) const;
  void rhs_generic(double* dy);
  friend void ode_rhs_generic(const PointParams&, const OrderParameters&, OrderParameters&);

  PointParams p_;
  int K_ = 0, M_ = 0, n_ = 0, nq_ = 0, dim_ = 0;
  bool both_ = false;
  Activation g_ = Activation::erf;  // the student's
  FieldActivations field_;          // each field's: students g_, teachers the teacher's
  OrderParameters constants_;
  // Workspace, refilled at every evaluation.
  Covariance C_;                     // [[Q, R], [R^T, T]]
  std::vector<double> s_;            // signed second-layer weights, students then teachers
  std::vector<double> A_;            // A(i,b) = sum_p s_p I3(i,b,p), K x n
  std::vector<double> buf1_, buf2_;  // per-field scratch (erf fast path)
  // erf eta^2 term: the student pairs (a, b), a <= b, in the order of y; the weights
  // (2 - [q == t]) s_q s_t of the field pairs q <= t, packed row by row; one scratch per
  // thread (threads_, fixed at construction: every pair is summed by one thread in a
  // fixed order, so the result does not depend on the number of threads).
  std::vector<int> pair_a_, pair_b_;
  std::vector<double> pair_weight_;
  int threads_ = 1;
  std::vector<ErfScratch> erf_scratch_;
  OrderParameters scratch_;
};

// The derivative of every order parameter at `state` (dT = 0, dv* = 0, dv = 0 with
// only the first layer trained). Allocates: for tests and tools, not inner loops.
void ode_rhs(const PointParams& p, const OrderParameters& state, OrderParameters& derivative);

// The same right-hand side through the generic per-index integrals of integrals.h,
// bypassing the erf fast path (for tests of that path).
void ode_rhs_generic(const PointParams& p, const OrderParameters& state,
                     OrderParameters& derivative);

}  // namespace tsgd
