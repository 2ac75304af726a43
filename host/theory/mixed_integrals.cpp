// The averages of mixed activation pairs by Gaussian integration by parts down to
// orthant probabilities (docs/theory.md §4.6). See mixed_integrals.h.
#include "theory/mixed_integrals.h"

#include <array>
#include <cmath>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <vector>

#include "theory/constants.h"
#include "theory/vector_math.h"

namespace tsgd {

namespace {

constexpr double kTinyVariance = 1e-300;  // a field that is identically zero (integrals.h)
// A step field whose variance a conditioning has reduced below this fraction of its
// unconditioned one is constant (0) given the others: step(0) counts as 1/2.
constexpr double kDegenerate = 1e-13;
// Two step fields with 1 - |corr| below this are one field (or opposite ones): the
// orthant formulas lose their accuracy to the conditioning of the input there.
constexpr double kCollinear = 1e-13;

// ---- the 4-field orthant probability: Plackett's identity along a path ----------------

// Tanh-sinh nodes on u in (0,1), h = 1/(12 2^refine), kh in [-3, 3], t = 1 - u^2
// (relu_quadrature.h's rule, refinable): w = h (pi/2) cosh(kh) 2u(1-u) * 2u.
struct PathNodes {
  std::vector<double> t, one_minus_t, weight;
  explicit PathNodes(int refine) {
    const int half = 36 << refine;
    const double h = 1.0 / (12 << refine);
    for (int i = -half; i <= half; ++i) {
      const double x = i * h;
      const double y = 0.5 * kPi * std::sinh(x);
      const double u = 1.0 / (1.0 + std::exp(-2.0 * y));
      const double one_minus_u = 1.0 / (1.0 + std::exp(2.0 * y));
      one_minus_t.push_back(u * u);
      t.push_back(1.0 - u * u);
      weight.push_back(h * 0.5 * kPi * std::cosh(x) * 2.0 * u * one_minus_u * 2.0 * u);
    }
  }
};

constexpr int kMaxRefine = 3;

const PathNodes& path_nodes(int refine) {
  if (refine < 0 || refine > kMaxRefine)
    throw std::invalid_argument("orthant4: refine must be 0.." + std::to_string(kMaxRefine) +
                                ", got " + std::to_string(refine));
  static const std::array<PathNodes, kMaxRefine + 1> nodes{PathNodes(0), PathNodes(1), PathNodes(2),
                                                           PathNodes(3)};
  return nodes[refine];
}

// P(x>0, y>0) for a 2 x 2 covariance known up to a positive factor.
inline double orthant2_scaled(double A, double B, double c) {
  const double ab = (A > 0.0 ? A : 0.0) * (B > 0.0 ? B : 0.0);
  c = ab > 0.0 ? c : 0.0;
  const double det = ab - c * c;
  return (kPi - atan2_upper(std::sqrt(det > 0.0 ? det : 0.0), c)) * (0.5 / kPi);
}

// 1 - (t r)^2 without cancellation at |r| = 1, t -> 1.
inline double one_minus_sq(double r, double t, double omt) {
  return (1.0 - r * r) + r * r * omt * (1.0 + t);
}

// R_xy - R_xu R_yu on the path R = t r, written so that (1 - t) enters without cancellation.
inline double cond_scaled(double rxy, double rxu, double ryu, double t, double omt) {
  return t * ((rxy - rxu * ryu) + rxu * ryu * omt);
}

// ---- Gaussian integration by parts ------------------------------------------------------

constexpr int kMaxVars = 8;
constexpr int kMaxPoly = 6;
constexpr int kMaxSteps = 6;

// A zero-mean Gaussian vector (the fields of one average, augmented), conditioned on
// some of its entries being 0.
struct Gauss {
  int n = 0;
  double s[kMaxVars][kMaxVars] = {};
  double var0[kMaxVars] = {};  // the unconditioned variances
};

// The monomial x_poly[0] ... x_poly[npoly-1] times step(x_step[0]) ... step(x_step[nstep-1]).
struct Monomial {
  double coef = 1.0;
  int npoly = 0, nstep = 0;
  int poly[kMaxPoly] = {}, step[kMaxSteps] = {};
};

double correlation(const Gauss& G, int x, int y) {
  return clamp_unit(G.s[x][y] / std::sqrt(G.s[x][x] * G.s[y][y]));
}

// Given x_y = 0: S_ij - S_iy S_jy / S_yy.
Gauss condition(const Gauss& G, int y) {
  Gauss H = G;
  const double inv = 1.0 / G.s[y][y];
  for (int i = 0; i < G.n; ++i)
    for (int j = 0; j < G.n; ++j) H.s[i][j] = G.s[i][j] - G.s[i][y] * G.s[j][y] * inv;
  return H;
}

void drop(int* list, int& count, int index) { list[index] = list[--count]; }

// Simplifies the steps of m in place: repeated and collinear steps merged, steps of a
// (conditionally) constant field replaced by 1/2; returns the factor that leaves (0 for
// two opposite steps).
double settle_steps(const Gauss& G, Monomial& m) {
  double factor = 1.0;
  for (int j = 0; j < m.nstep;) {
    const int y = m.step[j];
    if (G.s[y][y] <= kDegenerate * G.var0[y]) {
      factor *= 0.5;
      drop(m.step, m.nstep, j);
    } else {
      ++j;
    }
  }
  for (int i = 0; i < m.nstep; ++i)
    for (int j = i + 1; j < m.nstep;) {
      const double r = m.step[i] == m.step[j] ? 1.0 : correlation(G, m.step[i], m.step[j]);
      if (r <= -1.0 + kCollinear) return 0.0;  // step(x) step(-x) = 0
      if (r >= 1.0 - kCollinear)
        drop(m.step, m.nstep, j);  // step(x)^2 = step(x)
      else
        ++j;
    }
  return factor;
}

// P(all steps > 0), the steps settled (distinct, non-degenerate).
double orthant(const Gauss& G, const Monomial& m, int refine) {
  const int* y = m.step;
  switch (m.nstep) {
    case 0:
      return 1.0;
    case 1:
      return 0.5;
    case 2:  // 1/4 + asin(r) / (2 pi)
      return 0.25 + std::asin(correlation(G, y[0], y[1])) / (2.0 * kPi);
    case 3:  // 1/8 + [asin r01 + asin r02 + asin r12] / (4 pi)
      return 0.125 +
             (std::asin(correlation(G, y[0], y[1])) + std::asin(correlation(G, y[0], y[2])) +
              std::asin(correlation(G, y[1], y[2]))) /
                 (4.0 * kPi);
    case 4: {
      const double r[6] = {correlation(G, y[0], y[1]), correlation(G, y[0], y[2]),
                           correlation(G, y[0], y[3]), correlation(G, y[1], y[2]),
                           correlation(G, y[1], y[3]), correlation(G, y[2], y[3])};
      return detail::orthant4(r, refine);
    }
    default:
      throw std::logic_error("mixed_integrals: an orthant of " + std::to_string(m.nstep) +
                             " fields (at most 4 arise from I2, I3, I4)");
  }
}

// E[monomial] by Stein's lemma on its last polynomial factor x_u:
//   E[x_u F] = sum_w C_uw E[d_w F],
// where d_w of another polynomial factor x_w removes it and d_y of step(x_y) is
// delta(x_y): E[delta(x_y) G] = G's average given x_y = 0 times 1/sqrt(2 pi C_yy).
// Conditioning at 0 keeps the vector zero-mean, so the recursion closes.
double expectation(const Gauss& G, Monomial m, int refine) {
  const double factor = settle_steps(G, m);
  if (factor == 0.0) return 0.0;
  if (m.npoly == 0) return factor * orthant(G, m, refine);
  const int u = m.poly[--m.npoly];
  double sum = 0.0;
  for (int i = 0; i < m.npoly; ++i) {
    const double cuw = G.s[u][m.poly[i]];
    if (cuw == 0.0) continue;
    Monomial rest = m;
    drop(rest.poly, rest.npoly, i);
    sum += cuw * expectation(G, rest, refine);
  }
  for (int j = 0; j < m.nstep; ++j) {
    const int y = m.step[j];
    const double cuy = G.s[u][y];
    if (cuy == 0.0) continue;
    Monomial rest = m;
    drop(rest.step, rest.nstep, j);
    sum += cuy * kInvSqrt2Pi / std::sqrt(G.s[y][y]) * expectation(condition(G, y), rest, refine);
  }
  return factor * sum;
}

// ---- from activations to monomials --------------------------------------------------

// One average: the student derivatives g_s'(x) on `deriv` (0..2 fields), a bare linear
// factor on `linear` (0..1), and activations on `value` (0..2), all field indices of C.
struct Average {
  Activation student = Activation::erf;
  int nderiv = 0, nlinear = 0, nvalue = 0;
  int deriv[2] = {}, linear[1] = {}, value[2] = {};
  Activation g[2] = {};
};

// The field list as local variables, with the covariance of C.
struct Locals {
  Gauss G;
  int field[kMaxVars] = {};
  int var_of(int f) {
    for (int i = 0; i < G.n; ++i)
      if (field[i] == f) return i;
    field[G.n] = f;
    return G.n++;
  }
};

// Absorbs the erf student's g'(x) = sqrt(2/pi) exp(-x^2/2) on the variables p (1 or 2,
// possibly equal) into the covariance: for x ~ N(0, S), E[exp(-|P^T x|^2 / 2) F(x)] =
// det(I + P^T S P)^(-1/2) E'[F] with S' = S - S P (I + P^T S P)^-1 P^T S. Returns the
// prefactor (2/pi)^(np/2) det(I + P^T S P)^(-1/2).
double tilt(Gauss& G, const int* p, int np) {
  const Gauss S = G;
  if (np == 1) {
    const double m = 1.0 + S.s[p[0]][p[0]];
    for (int i = 0; i < S.n; ++i)
      for (int j = 0; j < S.n; ++j) G.s[i][j] = S.s[i][j] - S.s[i][p[0]] * S.s[j][p[0]] / m;
    return std::sqrt(kTwoOverPi / m);
  }
  const int a = p[0], b = p[1];
  const double maa = 1.0 + S.s[a][a], mbb = 1.0 + S.s[b][b], mab = S.s[a][b];
  const double det = maa * mbb - mab * mab;  // >= 1 + C_aa + C_bb for a PSD C
  for (int i = 0; i < S.n; ++i)
    for (int j = 0; j < S.n; ++j) {
      const double ia = S.s[i][a], ib = S.s[i][b], ja = S.s[j][a], jb = S.s[j][b];
      G.s[i][j] = S.s[i][j] - (ia * (mbb * ja - mab * jb) + ib * (maa * jb - mab * ja)) / det;
    }
  return kTwoOverPi / std::sqrt(det);
}

// The terms of one factor: coefficient, polynomial variables, step variables.
struct FactorTerms {
  int count = 0;
  Monomial term[2];
  void add(double coef, std::initializer_list<int> poly, std::initializer_list<int> step) {
    Monomial& t = term[count++];
    t.coef = coef;
    for (int v : poly) t.poly[t.npoly++] = v;
    for (int v : step) t.step[t.nstep++] = v;
  }
};

// g(x_v): relu = x step(x), linear = x, quad = x x, sign = 2 step(x) - 1,
// erf(x/sqrt2) = 2 step(x - z) - 1 (`augmented` the variable x - z).
FactorTerms value_terms(Activation g, int v, int augmented) {
  FactorTerms f;
  switch (g) {
    case Activation::relu:
      f.add(1.0, {v}, {v});
      break;
    case Activation::linear:
      f.add(1.0, {v}, {});
      break;
    case Activation::quad:
      f.add(1.0, {v, v}, {});
      break;
    case Activation::sign:
      f.add(2.0, {}, {v});
      f.add(-1.0, {}, {});
      break;
    case Activation::erf:
      f.add(2.0, {}, {augmented});
      f.add(-1.0, {}, {});
      break;
  }
  return f;
}

// g_s'(x_v) for a non-erf student: relu = step(x), linear = 1, quad = 2x.
FactorTerms derivative_terms(Activation g, int v) {
  FactorTerms f;
  if (g == Activation::relu) f.add(1.0, {}, {v});
  if (g == Activation::linear) f.add(1.0, {}, {});
  if (g == Activation::quad) f.add(2.0, {v}, {});
  return f;
}

Monomial times(const Monomial& x, const Monomial& y) {
  Monomial z = x;
  z.coef *= y.coef;
  for (int i = 0; i < y.npoly; ++i) z.poly[z.npoly++] = y.poly[i];
  for (int i = 0; i < y.nstep; ++i) z.step[z.nstep++] = y.step[i];
  return z;
}

// Builds the local Gaussian (tilted for an erf student, augmented for erf values) and
// the monomials of one average, and sums their expectations.
double reduce(const Covariance& C, const Average& avg, int refine) {
  if (avg.student == Activation::sign)
    throw std::invalid_argument(
        "the averages with g_s' are undefined for a 'sign' student (g' = 2 delta: "
        "docs/theory.md §4.5)");
  for (int i = 0; i < avg.nvalue; ++i)
    if (C(avg.value[i], avg.value[i]) <= kTinyVariance) return 0.0;  // g(0) = 0
  if (avg.student == Activation::relu)
    for (int i = 0; i < avg.nderiv; ++i)
      if (C(avg.deriv[i], avg.deriv[i]) <= kTinyVariance) return 0.0;  // step(0) = 0
  Locals L;
  int dv[2] = {}, lv[1] = {}, vv[2] = {};
  for (int i = 0; i < avg.nderiv; ++i) dv[i] = L.var_of(avg.deriv[i]);
  for (int i = 0; i < avg.nlinear; ++i) lv[i] = L.var_of(avg.linear[i]);
  for (int i = 0; i < avg.nvalue; ++i) vv[i] = L.var_of(avg.value[i]);
  Gauss& G = L.G;
  for (int i = 0; i < G.n; ++i)
    for (int j = 0; j < G.n; ++j) G.s[i][j] = C(L.field[i], L.field[j]);
  double prefactor = 1.0;
  Monomial base;
  if (avg.student == Activation::erf) {
    if (avg.nderiv > 0) prefactor = tilt(G, dv, avg.nderiv);
  } else {
    for (int i = 0; i < avg.nderiv; ++i) {
      const FactorTerms f = derivative_terms(avg.student, dv[i]);
      base = times(base, f.term[0]);
    }
  }
  for (int i = 0; i < avg.nlinear; ++i) base.poly[base.npoly++] = lv[i];
  // erf values: an augmented variable x - z each (independent z per factor).
  int aug[2] = {-1, -1};
  for (int i = 0; i < avg.nvalue; ++i) {
    if (avg.g[i] != Activation::erf) continue;
    const int x = vv[i], z = G.n++;
    for (int j = 0; j < z; ++j) G.s[z][j] = G.s[j][z] = G.s[x][j];
    G.s[z][z] = G.s[x][x] + 1.0;
    aug[i] = z;
  }
  for (int i = 0; i < G.n; ++i) G.var0[i] = G.s[i][i];
  std::vector<Monomial> terms{base};
  for (int i = 0; i < avg.nvalue; ++i) {
    const FactorTerms f = value_terms(avg.g[i], vv[i], aug[i]);
    std::vector<Monomial> next;
    for (const Monomial& t : terms)
      for (int k = 0; k < f.count; ++k) next.push_back(times(t, f.term[k]));
    terms.swap(next);
  }
  double sum = 0.0;
  for (const Monomial& t : terms) sum += t.coef * expectation(G, t, refine);
  return prefactor * sum;
}

}  // namespace

namespace detail {

// P4 = 1/16 + int_0^1 sum_{x<y} r_xy phi2(0,0; t r_xy) P(z>0, w>0 | x = y = 0; R(t)) dt on
// the path R(t) = I + t (R - I) (Plackett's identity: dP/dR_xy = E[delta(x) delta(y) ...]),
// phi2(0,0; r) = 1 / (2 pi sqrt(1 - r^2)). The pair (z, w) given (x, y) is the Schur
// complement of S^x (given x) scaled by S^x_yy: [[S_zz S_yy - S_zy^2, S_zw S_yy - S_zy S_wy],
// [., S_ww S_yy - S_wy^2]], whose orthant probability does not depend on the scale.
double orthant4(const double r[6], int refine) {
  static constexpr int kPair[6][4] = {{0, 1, 2, 3}, {0, 2, 1, 3}, {0, 3, 1, 2},
                                      {1, 2, 0, 3}, {1, 3, 0, 2}, {2, 3, 0, 1}};
  const double R[4][4] = {{1.0, r[0], r[1], r[2]},
                          {r[0], 1.0, r[3], r[4]},
                          {r[1], r[3], 1.0, r[5]},
                          {r[2], r[4], r[5], 1.0}};
  const PathNodes& nodes = path_nodes(refine);
  double integral = 0.0;
  for (std::size_t k = 0; k < nodes.t.size(); ++k) {
    const double t = nodes.t[k], omt = nodes.one_minus_t[k];
    double f = 0.0;
    for (const auto& pair : kPair) {
      const int x = pair[0], y = pair[1], z = pair[2], w = pair[3];
      const double rxy = R[x][y];
      if (rxy == 0.0) continue;
      const double yy = one_minus_sq(rxy, t, omt);
      const double zz = one_minus_sq(R[x][z], t, omt), ww = one_minus_sq(R[x][w], t, omt);
      const double zy = cond_scaled(R[z][y], R[z][x], R[y][x], t, omt);
      const double wy = cond_scaled(R[w][y], R[w][x], R[y][x], t, omt);
      const double zw = cond_scaled(R[z][w], R[z][x], R[w][x], t, omt);
      const double p2 = orthant2_scaled(zz * yy - zy * zy, ww * yy - wy * wy, zw * yy - zy * wy);
      f += rxy / std::sqrt(yy) * p2;
    }
    integral += nodes.weight[k] * f;
  }
  return 0.0625 + integral * (0.5 / kPi);
}

double I2_reduced(const Covariance& C, Activation ga, int a, Activation gb, int b) {
  Average avg;
  avg.nvalue = 2;
  avg.value[0] = a;
  avg.value[1] = b;
  avg.g[0] = ga;
  avg.g[1] = gb;
  avg.student = Activation::linear;  // no derivative factor: the student does not enter
  return reduce(C, avg, 0);
}

double I3_reduced(Activation gs, const Covariance& C, int a, int b, Activation gc, int c) {
  Average avg;
  avg.student = gs;
  avg.nderiv = 1;
  avg.deriv[0] = a;
  avg.nlinear = 1;
  avg.linear[0] = b;
  avg.nvalue = 1;
  avg.value[0] = c;
  avg.g[0] = gc;
  return reduce(C, avg, 0);
}

double I4_reduced(Activation gs, const Covariance& C, int a, int b, Activation gc, int c,
                  Activation gd, int d, int refine) {
  Average avg;
  avg.student = gs;
  avg.nderiv = 2;
  avg.deriv[0] = a;
  avg.deriv[1] = b;
  avg.nvalue = 2;
  avg.value[0] = c;
  avg.value[1] = d;
  avg.g[0] = gc;
  avg.g[1] = gd;
  return reduce(C, avg, refine);
}

}  // namespace detail

double I2_fields(const Covariance& C, Activation ga, int a, Activation gb, int b) {
  if (ga == gb) return I2(ga, C, a, b);
  return detail::I2_reduced(C, ga, a, gb, b);
}

double I3_fields(Activation gs, const Covariance& C, int a, int b, Activation gc, int c) {
  if (gc == gs) return I3(gs, C, a, b, c);
  return detail::I3_reduced(gs, C, a, b, gc, c);
}

double I4_fields(Activation gs, const Covariance& C, int a, int b, Activation gc, int c,
                 Activation gd, int d) {
  if (gc == gs && gd == gs) return I4(gs, C, a, b, c, d);
  return detail::I4_reduced(gs, C, a, b, gc, c, gd, d);
}

}  // namespace tsgd
