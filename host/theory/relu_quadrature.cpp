// The ReLU I4 path integral (docs/theory.md §4.3(b)): nodes and the fast integrand.
// See relu_quadrature.h.
#include "theory/relu_quadrature.h"

#include <cmath>

#include "theory/constants.h"
#include "theory/vector_math.h"

namespace tsgd {

namespace {

// A variance at or below this is a degenerate field: its Stein terms are skipped,
// as in integrals.cpp's relu_h.
constexpr double kTinyVariance = 1e-300;

// P2 = P(x>0, y>0) = (pi - atan2(sqrt(max(AB - c^2, 0)), c)) / (2 pi) for a 2 x 2
// covariance known up to a positive factor (the angle does not depend on it). Clamping
// c into [-sqrt(AB), sqrt(AB)] (integrals.cpp's relu_p2) changes only |c| where the
// determinant is clamped to 0, where the angle is 0 or pi by the sign of c alone; a
// degenerate A or B makes c = 0 there too, as the clamp does.
inline double orthant2(double A, double B, double c) {
  const double ab = (A > 0.0 ? A : 0.0) * (B > 0.0 ? B : 0.0);
  c = ab > 0.0 ? c : 0.0;
  const double det = ab - c * c;
  return (kPi - atan2_upper(std::sqrt(det > 0.0 ? det : 0.0), c)) * (0.5 / kPi);
}

// A conditional variance S_ww with sqrt(S_ww) and 1 / sqrt(S_ww), both 0 for a degenerate
// field (relu_h skips its term).
struct Spread {
  double root, inv_root;
  explicit Spread(double sww)
      : root(sww > kTinyVariance ? std::sqrt(sww) : 0.0),
        inv_root(sww > kTinyVariance ? 1.0 / root : 0.0) {}
};

// S_zw / sqrt(S_ww) with S_zw clamped to the PSD bound sqrt(S_zz S_ww) (relu_h's clamp).
inline double stein_ratio(double szw, const Spread& z, const Spread& w) {
  const double r = szw * w.inv_root;
  return r > z.root ? z.root : (r < -z.root ? -z.root : r);
}

// 1 - (t r)^2 = (1 - r^2) + r^2 (1 - t)(1 + t): no cancellation when |r| = 1 and t -> 1.
inline double one_minus_sq(double r, double t, double omt) {
  return (1.0 - r * r) + r * r * omt * (1.0 + t);
}

// R_xy - R_xu R_yu on the path, (x,y) a scaled pair and u the conditioning field, R_. = t r_.:
//   t r_xy - t^2 r_xu r_yu = t [(r_xy - r_xu r_yu) + r_xu r_yu (1 - t)]   (x, y, u all scaled)
inline double cond_scaled(double rxy, double rxu, double ryu, double t, double omt) {
  return t * ((rxy - rxu * ryu) + rxu * ryu * omt);
}

}  // namespace

ReluNodes::ReluNodes() {
  const double h = 1.0 / 12.0;
  for (int i = 0; i < kCount; ++i) {
    const double x = (i - 36) * h;
    const double y = 0.5 * kPi * std::sinh(x);
    const double u = 1.0 / (1.0 + std::exp(-2.0 * y));
    const double one_minus_u = 1.0 / (1.0 + std::exp(2.0 * y));
    const double du = h * 0.5 * kPi * std::cosh(x) * 2.0 * u * one_minus_u;
    one_minus_t[i] = u * u;
    t[i] = 1.0 - u * u;
    weight[i] = du * 2.0 * u;
  }
}

const ReluNodes& relu_nodes() {
  static const ReluNodes nodes;  // thread-safe one-time initialisation
  return nodes;
}

// F(t) of docs/theory.md §4.3(b), regrouped by angle. With S^a the covariance of (b,c,d)
// given a and S^b that of (a,c,d) given b (unit fields on the path R(t)), the four
// H terms are sums of S_zw / sqrt(2 pi S_ww) P2(. | u, w) over w, and P2(. | u, w) takes
// five distinct values: (c,d | a,b), (b,d | a,c), (b,c | a,d), (a,d | b,c), (a,c | b,d).
// Collecting their factors:
//   2 pi F = r_ab / sqrt(1 - R_ab^2) 2 pi kappa(S^{ab}) + P2(c,d|a,b) [(r_ac S^a_bd + r_ad S^a_bc)
//            / sqrt(S^a_bb) + (r_bc S^b_ad + r_bd S^b_ac) / sqrt(S^b_aa)]
//          + P2(b,d|a,c) [r_ac S^a_cd / sqrt(S^a_cc) + r_ad sqrt(S^a_cc)]
//          + P2(b,c|a,d) [r_ac sqrt(S^a_dd) + r_ad S^a_cd / sqrt(S^a_dd)]
//          + P2(a,d|b,c) [r_bc S^b_cd / sqrt(S^b_cc) + r_bd sqrt(S^b_cc)]
//          + P2(a,c|b,d) [r_bc sqrt(S^b_dd) + r_bd S^b_cd / sqrt(S^b_dd)]
// and the 2 x 2 conditional given (u, w) is S^u's Schur complement, scaled by S^u_ww:
//   (x, y | u, w) ~ [[S_xx S_ww - S_xw^2, S_xy S_ww - S_xw S_yw], [., S_yy S_ww - S_yw^2]].
// kappa's angle is that of P2(c,d|a,b): kappa(A,B,c) = [sqrt(AB - c^2) + 2 pi c P2] / (2 pi).
double relu_i4_unit(double rab, double rac, double rad, double rbc, double rbd, double rcd) {
  const ReluNodes& nodes = relu_nodes();
  double f[ReluNodes::kCount];
  for (int k = 0; k < ReluNodes::kCount; ++k) {
    const double t = nodes.t[k], omt = nodes.one_minus_t[k];
    const double Rab = t * rab, Rac = t * rac, Rad = t * rad, Rbc = t * rbc, Rbd = t * rbd;
    const double ab = one_minus_sq(rab, t, omt);  // S^a_bb = S^b_aa = 1 - R_ab^2
    // S^a over (b, c, d) and S^b over (a, c, d).
    const double a_cc = one_minus_sq(rac, t, omt), a_dd = one_minus_sq(rad, t, omt);
    const double a_bc = cond_scaled(rbc, rab, rac, t, omt),
                 a_bd = cond_scaled(rbd, rab, rad, t, omt);
    const double a_cd = rcd - Rac * Rad;
    const double b_cc = one_minus_sq(rbc, t, omt), b_dd = one_minus_sq(rbd, t, omt);
    const double b_ac = cond_scaled(rac, rab, rbc, t, omt),
                 b_ad = cond_scaled(rad, rab, rbd, t, omt);
    const double b_cd = rcd - Rbc * Rbd;

    const Spread sab(ab), sacc(a_cc), sadd(a_dd), sbcc(b_cc), sbdd(b_dd);

    // (c, d) given a = b = 0 (reference form), kappa and its orthant probability.
    const double inv_ab = sab.inv_root * sab.inv_root;
    const double scc = 1.0 - (Rac * Rac + Rbc * Rbc - 2.0 * Rab * Rac * Rbc) * inv_ab;
    const double sdd = 1.0 - (Rad * Rad + Rbd * Rbd - 2.0 * Rab * Rad * Rbd) * inv_ab;
    const double scd = rcd - (Rac * Rad + Rbc * Rbd - Rab * (Rac * Rbd + Rbc * Rad)) * inv_ab;
    const double kA = scc < 1.0 ? (scc > 0.0 ? scc : 0.0) : 1.0;
    const double kB = sdd < 1.0 ? (sdd > 0.0 ? sdd : 0.0) : 1.0;
    const double kbound = std::sqrt(kA * kB);
    const double kc = scd > kbound ? kbound : (scd < -kbound ? -kbound : scd);
    const double kdet = kA * kB - kc * kc;
    const double kroot = std::sqrt(kdet > 0.0 ? kdet : 0.0);
    const double p_cd = (kPi - atan2_upper(kroot, kc)) * (0.5 / kPi);
    const double two_pi_kappa = kroot + 2.0 * kPi * kc * p_cd;

    const double p_bd =
        orthant2(ab * a_cc - a_bc * a_bc, a_dd * a_cc - a_cd * a_cd, a_bd * a_cc - a_bc * a_cd);
    const double p_bc =
        orthant2(ab * a_dd - a_bd * a_bd, a_cc * a_dd - a_cd * a_cd, a_bc * a_dd - a_bd * a_cd);
    const double p_ad =
        orthant2(ab * b_cc - b_ac * b_ac, b_dd * b_cc - b_cd * b_cd, b_ad * b_cc - b_ac * b_cd);
    const double p_ac =
        orthant2(ab * b_dd - b_ad * b_ad, b_cc * b_dd - b_cd * b_cd, b_ac * b_dd - b_ad * b_cd);

    const double coef_cd = rac * stein_ratio(a_bd, sadd, sab) + rad * stein_ratio(a_bc, sacc, sab) +
                           rbc * stein_ratio(b_ad, sbdd, sab) + rbd * stein_ratio(b_ac, sbcc, sab);
    const double coef_bd = rac * stein_ratio(a_cd, sadd, sacc) + rad * sacc.root;
    const double coef_bc = rac * sadd.root + rad * stein_ratio(a_cd, sacc, sadd);
    const double coef_ad = rbc * stein_ratio(b_cd, sbdd, sbcc) + rbd * sbcc.root;
    const double coef_ac = rbc * sbdd.root + rbd * stein_ratio(b_cd, sbcc, sbdd);

    const double two_pi_f = rab * sab.inv_root * two_pi_kappa * (0.5 / kPi) + coef_cd * p_cd +
                            coef_bd * p_bd + coef_bc * p_bc + coef_ad * p_ad + coef_ac * p_ac;
    f[k] = nodes.weight[k] * two_pi_f;
  }
  double integral = 0.0;  // in node order, as the reference sums
  for (int k = 0; k < ReluNodes::kCount; ++k) integral += f[k];
  const double root = std::sqrt(1.0 - rcd * rcd);
  const double j0 = 0.25 * (root + rcd * (kPi - std::atan2(root, rcd))) * (0.5 / kPi);
  return j0 + integral * (0.5 / kPi);
}

}  // namespace tsgd
