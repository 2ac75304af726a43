// Gaussian integrals of the activations (docs/theory.md §3, §4). See integrals.h.
// A file of formulas: the closed forms of I2, J2, I3, I4 for every activation and
// the ReLU I4 quadrature, each beside its derivation in docs/theory.md §4, in one place so
// that the cases of one average read together (over 500 lines on purpose).
#include "theory/integrals.h"

#include <array>
#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>

#include "theory/constants.h"
#include "theory/relu_quadrature.h"

namespace tsgd {

namespace {

// A variance at or below this is a field that is identically zero.
constexpr double kTinyVariance = 1e-300;

double nonneg(double x) { return x > 0.0 ? x : 0.0; }
// |c| <= sqrt(a b): a covariance entry clamped into the PSD range of its variances.
double clamp_cov(double c, double a, double b) {
  const double bound = std::sqrt(nonneg(a) * nonneg(b));
  return c > bound ? bound : (c < -bound ? -bound : c);
}

[[noreturn]] void no_sgd_integrals(Activation g, const char* what) {
  throw std::invalid_argument(
      std::string(what) + " is undefined for the '" + to_string(g) +
      "' activation (g' = 2 delta: docs/theory.md §4.5); use it as a teacher "
      "for the generalisation error only");
}

// ---- erf, g(x) = erf(x/sqrt2) (docs/theory.md §4.1) --------------------

// I2 = (2/pi) asin( C_ab / sqrt((1+C_aa)(1+C_bb)) )
double erf_i2(double caa, double cbb, double cab) {
  return kTwoOverPi * std::asin(clamp_unit(cab / std::sqrt((1.0 + caa) * (1.0 + cbb))));
}

// J2 = (2/pi) / sqrt( (1+C_aa)(1+C_bb) - C_ab^2 )
double erf_j2(double caa, double cbb, double cab) {
  return kTwoOverPi / std::sqrt(nonneg((1.0 + caa) * (1.0 + cbb) - cab * cab) + 1e-300);
}

// I3 = (2/pi) [C_bc (1+C_aa) - C_ab C_ac] / [(1+C_aa) sqrt((1+C_aa)(1+C_cc) - C_ac^2)]
double erf_i3(const Covariance& C, int a, int b, int c) {
  const double da = 1.0 + C(a, a);
  const double det = nonneg(da * (1.0 + C(c, c)) - C(a, c) * C(a, c)) + 1e-300;
  return kTwoOverPi * (C(b, c) * da - C(a, b) * C(a, c)) / (da * std::sqrt(det));
}

// I4 = (4/pi^2) / sqrt(L4) asin( L0 / sqrt(L1 L2) ), with
//   L4 = (1+C_aa)(1+C_bb) - C_ab^2
//   L0 = L4 C_cd - C_bc C_bd (1+C_aa) - C_ac C_ad (1+C_bb) + C_ab C_ac C_bd + C_ab C_ad C_bc
//   L1 = L4 (1+C_cc) - C_bc^2 (1+C_aa) - C_ac^2 (1+C_bb) + 2 C_ab C_ac C_bc
//   L2 = L4 (1+C_dd) - C_bd^2 (1+C_aa) - C_ad^2 (1+C_bb) + 2 C_ab C_ad C_bd
double erf_i4(const Covariance& C, int a, int b, int c, int d) {
  const double da = 1.0 + C(a, a), db = 1.0 + C(b, b);
  const double cab = C(a, b), cac = C(a, c), cad = C(a, d), cbc = C(b, c), cbd = C(b, d);
  const double l4 = nonneg(da * db - cab * cab) + 1e-300;
  const double l0 = l4 * C(c, d) - cbc * cbd * da - cac * cad * db + cab * (cac * cbd + cad * cbc);
  const double l1 = l4 * (1.0 + C(c, c)) - cbc * cbc * da - cac * cac * db + 2.0 * cab * cac * cbc;
  const double l2 = l4 * (1.0 + C(d, d)) - cbd * cbd * da - cad * cad * db + 2.0 * cab * cad * cbd;
  const double ratio = l0 / std::sqrt(nonneg(l1) * nonneg(l2) + 1e-300);
  return 4.0 / (kPi * kPi) / std::sqrt(l4) * std::asin(clamp_unit(ratio));
}

// ---- quad, g(x) = x^2 (Isserlis, docs/theory.md §4.4) -------------------

double quad_i3(const Covariance& C, int a, int b, int c) {
  // I3 = 2 (C_ab C_cc + 2 C_ac C_bc)
  return 2.0 * (C(a, b) * C(c, c) + 2.0 * C(a, c) * C(b, c));
}

double quad_i4(const Covariance& C, int a, int b, int c, int d) {
  // I4 = 4 [ C_ab C_cc C_dd + 2 C_ab C_cd^2 + 2 C_ac C_bc C_dd + 4 C_ac C_bd C_cd
  //          + 2 C_ad C_bd C_cc + 4 C_ad C_bc C_cd ]
  const double cab = C(a, b), cac = C(a, c), cad = C(a, d), cbc = C(b, c), cbd = C(b, d);
  const double ccc = C(c, c), cdd = C(d, d), ccd = C(c, d);
  return 4.0 * (cab * ccc * cdd + 2.0 * cab * ccd * ccd + 2.0 * cac * cbc * cdd +
                4.0 * cac * cbd * ccd + 2.0 * cad * cbd * ccc + 4.0 * cad * cbc * ccd);
}

// ---- ReLU, g(x) = max(0,x), g'(x) = step(x) (docs/theory.md §3, §4.3) ----

// kappa(A,B,c) = <relu(x) relu(y)> = [ sqrt(AB - c^2) + c (pi - theta) ] / (2 pi),
// theta = atan2( sqrt(max(AB - c^2, 0)), c ) in [0, pi]  (arc-cosine kernel of order 1).
double relu_kappa(double A, double B, double c) {
  A = nonneg(A);
  B = nonneg(B);
  c = clamp_cov(c, A, B);
  const double root = std::sqrt(nonneg(A * B - c * c));
  const double theta = std::atan2(root, c);
  return (root + c * (kPi - theta)) / (2.0 * kPi);
}

// P2(A,B,c) = P(x>0, y>0) = (pi - atan2(sqrt(max(AB - c^2, 0)), c)) / (2 pi).
double relu_p2(double A, double B, double c) {
  A = nonneg(A);
  B = nonneg(B);
  c = clamp_cov(c, A, B);
  return (kPi - std::atan2(std::sqrt(nonneg(A * B - c * c)), c)) / (2.0 * kPi);
}

// Correlation C_xy / sqrt(C_xx C_yy), clamped to [-1, 1] (variances > 0).
double correlation(double cxx, double cyy, double cxy) {
  return clamp_unit(cxy / std::sqrt(cxx * cyy));
}

// P3 = P(x>0, y>0, z>0) = 1/8 + [asin r_xy + asin r_xz + asin r_yz] / (4 pi).
double relu_p3(const Covariance& C, int x, int y, int z) {
  const double rxy = correlation(C(x, x), C(y, y), C(x, y));
  const double rxz = correlation(C(x, x), C(z, z), C(x, z));
  const double ryz = correlation(C(y, y), C(z, z), C(y, z));
  return 0.125 + (std::asin(rxy) + std::asin(rxz) + std::asin(ryz)) / (4.0 * kPi);
}

// B(sxx, szz, sxz) = <step(x) relu(z)> = [ sxz / sqrt(sxx) + sqrt(szz) ] / (2 sqrt(2 pi)).
// When x is degenerate (sxx ~ 0) the first term's limit depends on the direction
// of approach; it is taken as 0 (x independent of z), a measure-zero choice.
double relu_b(double sxx, double szz, double sxz) {
  szz = nonneg(szz);
  const double first = sxx > kTinyVariance ? clamp_cov(sxz, sxx, szz) / std::sqrt(sxx) : 0.0;
  return (first + std::sqrt(szz)) * (0.5 * kInvSqrt2Pi);
}

// Conditional covariance given u = 0:  S^u_xy = C_xy - C_xu C_yu / C_uu, exactly 0 when x
// or y is u itself (computed, it is a rounding residual ~1e-17 whose square root in relu_b
// cost G(a; c, c) 1e-9: tests/theory/test_mixed_integrals.cpp).
double cond(const Covariance& C, int u, int x, int y) {
  if (x == u || y == u) return 0.0;
  return C(x, y) - C(x, u) * C(y, u) / C(u, u);
}

// G(a; c, d) = <step(a) relu(c) relu(d)>, a distinct from c and d (c = d allowed), by
// Stein's lemma on relu(c) = c step(c):
//   = C_ac/sqrt(2 pi C_aa) B(S^a_cc, S^a_dd, S^a_cd) + sqrt(C_cc/(2 pi)) B(S^c_aa, S^c_dd, S^c_ad)
//     + C_cd P3(a, c, d)
double relu_g(const Covariance& C, int a, int c, int d) {
  const double caa = C(a, a), ccc = C(c, c);
  return C(a, c) * kInvSqrt2Pi / std::sqrt(caa) *
             relu_b(cond(C, a, c, c), cond(C, a, d, d), cond(C, a, c, d)) +
         std::sqrt(ccc) * kInvSqrt2Pi *
             relu_b(cond(C, c, a, a), cond(C, c, d, d), cond(C, c, a, d)) +
         C(c, d) * relu_p3(C, a, c, d);
}

// K3(a, b; c) = <step(a) step(b) relu(c)^2>, a, b, c distinct:
//   = C_ca/sqrt(2 pi C_aa) B(S^a_bb, S^a_cc, S^a_bc) + C_cb/sqrt(2 pi C_bb) B(S^b_aa, S^b_cc,
//   S^b_ac)
//     + C_cc P3(a, b, c)
double relu_k3(const Covariance& C, int a, int b, int c) {
  return C(c, a) * kInvSqrt2Pi / std::sqrt(C(a, a)) *
             relu_b(cond(C, a, b, b), cond(C, a, c, c), cond(C, a, b, c)) +
         C(c, b) * kInvSqrt2Pi / std::sqrt(C(b, b)) *
             relu_b(cond(C, b, a, a), cond(C, b, c, c), cond(C, b, a, c)) +
         C(c, c) * relu_p3(C, a, b, c);
}

// H(S) = <step(x) step(y) relu(z)> for a zero-mean 3 x 3 covariance S of (x, y, z)
// = (0, 1, 2), by Stein on relu(z) = z step(z):
//   H = sum_{w in {x,y,z}} S_zw / sqrt(2 pi S_ww) P2(S^w_vv, S^w_v'v', S^w_vv')
// with {v, v'} the other two variables; a term with S_ww ~ 0 is skipped.
double relu_h(const double S[3][3]) {
  double h = 0.0;
  for (int w = 0; w < 3; ++w) {
    const double sww = S[w][w];
    if (sww <= 1e-300) continue;
    const int v = (w == 0) ? 1 : 0;
    const int vp = (w == 2) ? 1 : 2;
    const double szw = clamp_cov(S[2][w], S[2][2], sww);
    const double pvv = S[v][v] - S[w][v] * S[w][v] / sww;
    const double pvpvp = S[vp][vp] - S[w][vp] * S[w][vp] / sww;
    const double pvvp = S[v][vp] - S[w][v] * S[w][vp] / sww;
    h += szw * kInvSqrt2Pi / std::sqrt(sww) * relu_p2(pvv, pvpvp, pvvp);
  }
  return h;
}

// General ReLU I4 = <step(a) step(b) relu(c) relu(d)>, all four fields distinct and of
// positive variance (docs/theory.md §4.3(b)). With R the correlation matrix (a,b,c,d) = (0..3),
// path R(t): unit diagonal, R(t)_cd = r_cd, R(t)_xy = t r_xy for the other five pairs;
// by Price's theorem along the path,
//   J = kappa(1,1,r_cd)/4 + int_0^1 F(t) dt,  I4 = s_c s_d J,
//   F(t) = r_ab / (2 pi sqrt(1 - t^2 r_ab^2)) kappa(S^{ab}_cc, S^{ab}_dd, S^{ab}_cd)
//        + [ r_ac H_a(b,c;d) + r_ad H_a(b,d;c) + r_bc H_b(a,c;d) + r_bd H_b(a,d;c) ] / sqrt(2 pi)
// `reference` selects the integrand as first written (one relu_h per H term, 13
// arctangents per node) instead of the regrouped, vectorised one of relu_quadrature.cpp;
// kept for the test that the two agree.
double relu_i4_general(const Covariance& C, int a, int b, int c, int d, bool reference = false) {
  const int idx[4] = {a, b, c, d};
  double s[4];
  for (int x = 0; x < 4; ++x) s[x] = std::sqrt(C(idx[x], idx[x]));
  double r[4][4];
  for (int x = 0; x < 4; ++x)
    for (int y = 0; y < 4; ++y)
      r[x][y] = x == y ? 1.0 : clamp_unit(C(idx[x], idx[y]) / (s[x] * s[y]));
  const double rab = r[0][1], rac = r[0][2], rad = r[0][3], rbc = r[1][2], rbd = r[1][3],
               rcd = r[2][3];
  // The path keeps r_cd fixed, so when c and d are the same field (r_cd = 1 to rounding)
  // every conditional covariance of the integrand is singular and the Stein terms of
  // c and d lose their split. Such fields are merged instead: relu(c) relu(d) =
  // s_c s_d relu(z)^2 for the unit field z = c/s_c = d/s_d, so I4 = s_c s_d K3(a, b; z).
  // Anti-parallel ones have disjoint supports: relu(c) relu(d) = 0. The merge changes
  // I4 by O(1 - |r_cd|) (kappa is differentiable at r = 1): 1e-12 relative at most.
  constexpr double kCollinear = 1e-12;
  if (rcd >= 1.0 - kCollinear) {
    const double raz = 0.5 * (rac + rad), rbz = 0.5 * (rbc + rbd);
    const Covariance unit(3, {1.0, rab, raz, rab, 1.0, rbz, raz, rbz, 1.0});
    return s[2] * s[3] * relu_k3(unit, 0, 1, 2);
  }
  if (rcd <= -1.0 + kCollinear) return 0.0;
  if (!reference) return s[2] * s[3] * relu_i4_unit(rab, rac, rad, rbc, rbd, rcd);

  const ReluNodes& nodes = relu_nodes();
  double integral = 0.0;
  for (int k = 0; k < ReluNodes::kCount; ++k) {
    const double t = nodes.t[k];
    const double omt = nodes.one_minus_t[k];
    // Path correlations (c,d fixed).
    const double Rab = t * rab, Rac = t * rac, Rad = t * rad, Rbc = t * rbc, Rbd = t * rbd;
    // 1 - t^2 r_ab^2 = (1 - r_ab^2) + r_ab^2 (1 - t)(1 + t): no cancellation when r_ab = +-1.
    const double one_minus_r2 = (1.0 - rab * rab) + rab * rab * omt * (1.0 + t);

    // (c, d) given a = b = 0:
    //   S_xy = R_xy - [R_xa R_ya + R_xb R_yb - r (R_xa R_yb + R_xb R_ya)] / (1 - r^2), r = R_ab.
    const double scc = 1.0 - (Rac * Rac + Rbc * Rbc - 2.0 * Rab * Rac * Rbc) / one_minus_r2;
    const double sdd = 1.0 - (Rad * Rad + Rbd * Rbd - 2.0 * Rab * Rad * Rbd) / one_minus_r2;
    const double scd = rcd - (Rac * Rad + Rbc * Rbd - Rab * (Rac * Rbd + Rbc * Rad)) / one_minus_r2;
    // Conditional variances lie in [0, 1]; clamping keeps rounding noise bounded.
    const double term_ab = rab * kInvSqrt2Pi * kInvSqrt2Pi / std::sqrt(one_minus_r2) *
                           relu_kappa(std::fmin(scc, 1.0), std::fmin(sdd, 1.0), scd);

    // 3 x 3 conditional covariances given one unit-variance field u: S_xy = R_xy - R_xu R_yu.
    // H_a(b,c;d): (x,y,z) = (b,c,d) given a.   H_a(b,d;c): (b,d,c) given a.
    // H_b(a,c;d): (a,c,d) given b.             H_b(a,d;c): (a,d,c) given b.
    auto h_given = [&](double Rux, double Ruy, double Ruz, double Rxy, double Rxz, double Ryz) {
      const double S[3][3] = {{1.0 - Rux * Rux, Rxy - Rux * Ruy, Rxz - Rux * Ruz},
                              {Rxy - Rux * Ruy, 1.0 - Ruy * Ruy, Ryz - Ruy * Ruz},
                              {Rxz - Rux * Ruz, Ryz - Ruy * Ruz, 1.0 - Ruz * Ruz}};
      return relu_h(S);
    };
    const double h_a_bcd = h_given(Rab, Rac, Rad, Rbc, Rbd, rcd);
    const double h_a_bdc = h_given(Rab, Rad, Rac, Rbd, Rbc, rcd);
    const double h_b_acd = h_given(Rab, Rbc, Rbd, Rac, Rad, rcd);
    const double h_b_adc = h_given(Rab, Rbd, Rbc, Rad, Rac, rcd);
    const double f =
        term_ab + kInvSqrt2Pi * (rac * h_a_bcd + rad * h_a_bdc + rbc * h_b_acd + rbd * h_b_adc);
    integral += nodes.weight[k] * f;
  }
  const double j0 = 0.25 * relu_kappa(1.0, 1.0, rcd);
  return s[2] * s[3] * (j0 + integral);
}

// ReLU I4 = <step(a) step(b) relu(c) relu(d)> by index: coincident indices reduce the
// product first (step(x)^2 = step(x), step(x) relu(x) = relu(x)), then route to the
// closed forms of docs/theory.md §4.3(a) or to the quadrature:
//   steps left | c != d              | c == d
//   none       | kappa(C_cc,C_dd,C_cd)| C_cc / 2
//   {x}        | G(x; c, d)          | G(x; c, c)
//   {x, y}     | quadrature          | K3(x, y; c)
double relu_i4(const Covariance& C, int a, int b, int c, int d) {
  for (int x : {a, b, c, d})
    if (C(x, x) <= kTinyVariance) return 0.0;  // a zero field: step(0) = relu(0) = 0
  int steps[2];
  int nsteps = 0;
  for (int x : {a, b}) {
    if (x == c || x == d) continue;
    if (nsteps == 1 && steps[0] == x) continue;
    steps[nsteps++] = x;
  }
  if (c == d) {
    if (nsteps == 0) return 0.5 * C(c, c);
    if (nsteps == 1) return relu_g(C, steps[0], c, c);
    return relu_k3(C, steps[0], steps[1], c);
  }
  if (nsteps == 0) return relu_kappa(C(c, c), C(d, d), C(c, d));
  if (nsteps == 1) return relu_g(C, steps[0], c, d);
  return relu_i4_general(C, a, b, c, d);
}

// ---- sign (teacher only): I2 = (2/pi) asin(rho) ---------------------------------

double sign_i2(double caa, double cbb, double cab) {
  if (caa <= kTinyVariance || cbb <= kTinyVariance) return 0.0;  // sign(0) = 0
  return kTwoOverPi * std::asin(correlation(caa, cbb, cab));
}

// ---- mixed pairs ------------------------------------------------------------------

// E[g(b) | a] for b | a ~ N(mu, s^2), closed forms:
//   erf:    erf(mu / sqrt(2 (1 + s^2)))
//   relu:   mu Phi(mu/s) + s phi(mu/s)        (s = 0: max(mu, 0))
//   linear: mu
//   quad:   mu^2 + s^2
//   sign:   erf(mu / (s sqrt 2))              (s = 0: sign(mu))
double conditional_mean(Activation g, double mu, double s) {
  switch (g) {
    case Activation::erf:
      return std::erf(mu / std::sqrt(2.0 * (1.0 + s * s)));
    case Activation::relu: {
      if (s <= 0.0) return nonneg(mu);
      const double z = mu / s;
      return mu * 0.5 * std::erfc(-z * kInvSqrt2) + s * kInvSqrt2Pi * std::exp(-0.5 * z * z);
    }
    case Activation::linear:
      return mu;
    case Activation::quad:
      return mu * mu + s * s;
    case Activation::sign:
      if (s <= 0.0) return mu > 0.0 ? 1.0 : (mu < 0.0 ? -1.0 : 0.0);
      return std::erf(mu / s * kInvSqrt2);
  }
  return 0.0;
}

// Tanh-sinh nodes on (0, 1): u = (1 + tanh(pi/2 sinh tau)) / 2, h = 1/24,
// tau in [-3.2, 3.2]; the weights are du/dtau h. They cluster double-exponentially
// at both ends, where the ReLU and sign kinks sit after the split at 0.
struct UnitTanhSinh {
  static constexpr int kHalf = 77;  // 3.2 * 24 = 76.8
  static constexpr int kCount = 2 * kHalf + 1;
  std::array<double, kCount> u{}, weight{};
  UnitTanhSinh() {
    const double h = 1.0 / 24.0;
    for (int i = 0; i < kCount; ++i) {
      const double tau = (i - kHalf) * h;
      const double y = 0.5 * kPi * std::sinh(tau);
      u[i] = 1.0 / (1.0 + std::exp(-2.0 * y));
      const double one_minus_u = 1.0 / (1.0 + std::exp(2.0 * y));
      weight[i] = h * 0.5 * kPi * std::cosh(tau) * 2.0 * u[i] * one_minus_u;
    }
  }
};

const UnitTanhSinh& unit_tanh_sinh() {
  static const UnitTanhSinh nodes;  // thread-safe one-time initialisation
  return nodes;
}

// E[ga(a) gb(b)] = int phi(x) ga(sa x) E[gb(b) | a = sa x] dx, split at x = 0 and
// integrated over each half-line up to 12 standard deviations (phi(12)/phi(0) = e^-72,
// far below the rounding of the result). For a ReLU or sign gb the conditional mean
// has a transition of width w = s / |slope| around x = 0 (narrow when a and b are
// nearly collinear); the half-line then gets a breakpoint at 8 w, so that each panel
// sees a smooth integrand at its own scale.
double I2_numerical(Activation ga, Activation gb, double caa, double cbb, double cab) {
  // a = sa x, x ~ N(0,1);  b | a ~ N(mu, s^2) with mu = (C_ab / sa) x, s^2 = C_bb - C_ab^2 / C_aa.
  const double sa = std::sqrt(caa);
  const double slope = cab / sa;
  const double s = std::sqrt(nonneg(cbb - cab * cab / caa));
  constexpr double kEnd = 12.0;
  double breaks[3] = {0.0, kEnd, kEnd};
  int panels = 1;
  if ((gb == Activation::relu || gb == Activation::sign) && std::abs(slope) > 0.0) {
    const double x1 = 8.0 * s / std::abs(slope);
    if (x1 < 0.5 * kEnd) {
      breaks[1] = x1;
      panels = 2;
    }
  }
  const UnitTanhSinh& nodes = unit_tanh_sinh();
  double sum = 0.0;
  for (int p = 0; p < panels; ++p) {
    const double lo = breaks[p], width = breaks[p + 1] - breaks[p];
    for (int i = 0; i < UnitTanhSinh::kCount; ++i) {
      const double x = lo + width * nodes.u[i];
      const double plus = activation(ga, sa * x) * conditional_mean(gb, slope * x, s);
      const double minus = activation(ga, -sa * x) * conditional_mean(gb, -slope * x, s);
      sum += width * nodes.weight[i] * kInvSqrt2Pi * std::exp(-0.5 * x * x) * (plus + minus);
    }
  }
  return sum;
}

}  // namespace

// ---- Covariance -------------------------------------------------------------------

Covariance::Covariance(int n) : n_(n), c_(static_cast<std::size_t>(n) * n, 0.0) {}

Covariance::Covariance(int n, std::vector<double> row_major) : n_(n), c_(std::move(row_major)) {
  if (n < 0 || c_.size() != static_cast<std::size_t>(n) * n)
    throw std::invalid_argument("Covariance: expected " + std::to_string(n) + " x " +
                                std::to_string(n) + " entries, got " + std::to_string(c_.size()));
}

Covariance::Covariance(const OrderParameters& op) { assign_fields(op); }

void Covariance::assign_fields(const OrderParameters& op) {
  const int K = op.K, M = op.M;
  n_ = K + M;
  c_.resize(static_cast<std::size_t>(n_) * n_);
  for (int i = 0; i < K; ++i) {
    for (int k = 0; k < K; ++k) c_[static_cast<std::size_t>(i) * n_ + k] = op.q(i, k);
    for (int m = 0; m < M; ++m) {
      c_[static_cast<std::size_t>(i) * n_ + K + m] = op.r(i, m);
      c_[static_cast<std::size_t>(K + m) * n_ + i] = op.r(i, m);
    }
  }
  for (int n = 0; n < M; ++n)
    for (int m = 0; m < M; ++m) c_[static_cast<std::size_t>(K + n) * n_ + K + m] = op.t(n, m);
}

void Covariance::set(int p, int q, double value) {
  c_[static_cast<std::size_t>(p) * n_ + q] = value;
  c_[static_cast<std::size_t>(q) * n_ + p] = value;
}

// ---- public integrals -----------------------------------------------------------------

double I2_pair(Activation g, double caa, double cbb, double cab) {
  switch (g) {
    case Activation::erf:
      return erf_i2(caa, cbb, cab);
    case Activation::linear:
      return cab;  // I2 = C_ab
    case Activation::relu:
      if (caa <= kTinyVariance || cbb <= kTinyVariance) return 0.0;
      return relu_kappa(caa, cbb, cab);
    case Activation::quad:
      return caa * cbb + 2.0 * cab * cab;  // I2 = C_aa C_bb + 2 C_ab^2
    case Activation::sign:
      return sign_i2(caa, cbb, cab);
  }
  return 0.0;
}

double I2(Activation g, const Covariance& C, int a, int b) {
  return I2_pair(g, C(a, a), C(b, b), C(a, b));
}

double J2(Activation g, const Covariance& C, int a, int b) {
  switch (g) {
    case Activation::erf:
      return erf_j2(C(a, a), C(b, b), C(a, b));
    case Activation::linear:
      return 1.0;
    case Activation::relu:
      // J2 = P(a>0, b>0) = (pi - arccos rho_ab) / (2 pi); step(0) = 0 for a zero field.
      if (C(a, a) <= kTinyVariance || C(b, b) <= kTinyVariance) return 0.0;
      return relu_p2(C(a, a), C(b, b), C(a, b));
    case Activation::quad:
      return 4.0 * C(a, b);  // J2 = 4 C_ab
    case Activation::sign:
      no_sgd_integrals(g, "J2");
  }
  return 0.0;
}

double I3(Activation g, const Covariance& C, int a, int b, int c) {
  switch (g) {
    case Activation::erf:
      return erf_i3(C, a, b, c);
    case Activation::linear:
      return C(b, c);  // I3 = C_bc
    case Activation::relu: {
      // I3 = C_ab sqrt(C_aa C_cc - C_ac^2) / (2 pi C_aa) + C_bc P2(C_aa, C_cc, C_ac)
      // (Stein: C_ab <delta(a) relu(c)> + C_bc <step(a) step(c)>).
      const double caa = C(a, a), ccc = C(c, c);
      if (caa <= kTinyVariance || ccc <= kTinyVariance) return 0.0;
      const double cac = clamp_cov(C(a, c), caa, ccc);
      return C(a, b) * std::sqrt(nonneg(caa * ccc - cac * cac)) / (2.0 * kPi * caa) +
             C(b, c) * relu_p2(caa, ccc, cac);
    }
    case Activation::quad:
      return quad_i3(C, a, b, c);
    case Activation::sign:
      no_sgd_integrals(g, "I3");
  }
  return 0.0;
}

double I4(Activation g, const Covariance& C, int a, int b, int c, int d) {
  switch (g) {
    case Activation::erf:
      return erf_i4(C, a, b, c, d);
    case Activation::linear:
      return C(c, d);  // I4 = C_cd
    case Activation::relu:
      return relu_i4(C, a, b, c, d);
    case Activation::quad:
      return quad_i4(C, a, b, c, d);
    case Activation::sign:
      no_sgd_integrals(g, "I4");
  }
  return 0.0;
}

double I2_mixed(Activation ga, Activation gb, double caa, double cbb, double cab) {
  if (ga == gb) return I2_pair(ga, caa, cbb, cab);
  // g(0) = 0 for every activation: a field of zero variance contributes nothing.
  if (caa <= kTinyVariance || cbb <= kTinyVariance) return 0.0;
  return I2_numerical(ga, gb, caa, cbb, clamp_cov(cab, caa, cbb));
}

namespace detail {
// Exposed for tests: the numerical mixed-pair integral even when ga == gb.
double I2_mixed_numerical(Activation ga, Activation gb, double caa, double cbb, double cab) {
  if (caa <= kTinyVariance || cbb <= kTinyVariance) return 0.0;
  return I2_numerical(ga, gb, caa, cbb, clamp_cov(cab, caa, cbb));
}
// Exposed for tests: the ReLU I4 quadrature of docs/theory.md §4.3(b) on four indices,
// without the routing of coincident indices to the closed forms.
double relu_i4_quadrature(const Covariance& C, int a, int b, int c, int d) {
  for (int x : {a, b, c, d})
    if (C(x, x) <= kTinyVariance) return 0.0;
  return relu_i4_general(C, a, b, c, d);
}
double relu_i4_quadrature_reference(const Covariance& C, int a, int b, int c, int d) {
  for (int x : {a, b, c, d})
    if (C(x, x) <= kTinyVariance) return 0.0;
  return relu_i4_general(C, a, b, c, d, /*reference=*/true);
}
}  // namespace detail

}  // namespace tsgd
