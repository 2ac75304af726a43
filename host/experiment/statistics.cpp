#include "experiment/statistics.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>
#include <string>

namespace tsgd {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kEps = std::numeric_limits<double>::epsilon();
constexpr double kSqrt2 = 1.414213562373095048801688724209698079;
constexpr double kSqrt2Pi = 2.506628274631000502415765284811045253;

// Beyond this many degrees of freedom the Student t distribution is the
// normal one in double precision: the quantiles differ by a relative
// (z^2 + 1) / (4 dof) < 1e-27 even at z = 37 (p = 1e-300), and the formulas
// below would overflow as dof approaches the largest double.
constexpr double kNormalDof = 1e30;

// Remainder of Stirling's series, lgamma(x) - [(x - 1/2) ln x - x + ln(2 pi) / 2],
// for x >= 10: sum_k B_2k / (2k (2k - 1) x^(2k - 1)). The first omitted term
// (B_16) is below 3e-17 at x = 10.
double stirling_remainder(double x) {
  const double r = 1.0 / x;
  const double r2 = r * r;
  return r * (1.0 / 12 +
              r2 * (-1.0 / 360 +
                    r2 * (1.0 / 1260 +
                          r2 * (-1.0 / 1680 +
                                r2 * (1.0 / 1188 + r2 * (-691.0 / 360360 + r2 * (1.0 / 156)))))));
}

// ln B(a, b) = lgamma(a) + lgamma(b) - lgamma(a + b). When the larger
// argument l is large, lgamma(l) - lgamma(s + l) is taken from Stirling's
// series in a form without cancellation, so ln B(dof/2, 1/2) stays accurate
// to ~1e-16 absolute for any dof (plain lgamma differences lose
// |lgamma(l)| * eps, i.e. 1e-9 at dof = 1e6).
double log_beta(double a, double b) {
  const double s = std::min(a, b);
  const double l = std::max(a, b);
  if (l < 10.0) return std::lgamma(s) + std::lgamma(l) - std::lgamma(s + l);
  // lgamma(l) - lgamma(s + l)
  //   = -s ln l - (s + l - 1/2) log1p(s / l) + s + S(l) - S(s + l)
  const double difference = -s * std::log(l) - (s + l - 0.5) * std::log1p(s / l) + s +
                            (stirling_remainder(l) - stirling_remainder(s + l));
  return std::lgamma(s) + difference;
}

// Continued fraction for I_x(a, b) (Abramowitz & Stegun 26.5.8, the one in
// Numerical Recipes' betacf):
//   I_x(a, b) = x^a y^b / (a B(a, b)) * h,   h = 1 / (1 + d1/(1 + d2/(1 + ...))),
//   d_2m+1 = -(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1)),
//   d_2m   = m (b - m) x / ((a + 2m - 1)(a + 2m)).
// It converges quickly for x < (a + 1) / (a + b + 2). When a is large that
// allows x close to 1, where every 1 + d_odd ~ 1 - x cancels (the plain
// recurrence loses eps * a / t^2 relative in the Student t tail: 1e-5 at
// dof = 1e12). So the fraction is used in its even contraction
//   1 + d1/(1 + d2 - d2 d3/(1 + d3 + d4 - d4 d5/(1 + d5 + d6 - ...))),
// in which each 1 + d_odd appears whole and is written, for x > 1/2, with
// y = 1 - x and no cancellation:
//   (a + 2m)(a + 2m + 1)(1 + d_2m+1)
//     = a (1 - b) + m (2a - b + 2) + 3 m^2 + (a + m)(a + b + m) y.
// With R the tail after d1, h = R / (R + d1) = (1 + d2 + T) / ((1 + d1) + d2 + T),
// T = -d2 d3 / (1 + d3 + d4 - d4 d5 / (...)), evaluated by the modified Lentz
// method.
double beta_continued_fraction(double a, double b, double x, double y) {
  constexpr double tiny = 1e-300;
  constexpr int max_iterations = 100000;
  const auto d_even = [&](double m) {  // d_2m, m >= 1
    return m * (b - m) / (a + 2.0 * m - 1.0) * (x / (a + 2.0 * m));
  };
  const auto d_odd = [&](double m) {  // d_2m+1, m >= 0
    return -((a + m) / (a + 2.0 * m)) * ((a + b + m) / (a + 2.0 * m + 1.0)) * x;
  };
  const auto one_plus_d_odd = [&](double m) {  // 1 + d_2m+1, m >= 0
    if (x <= 0.5) return 1.0 + d_odd(m);
    return (a * (1.0 - b) + m * (2.0 * a - b + 2.0) + 3.0 * m * m) / (a + 2.0 * m) /
               (a + 2.0 * m + 1.0) +
           ((a + m) / (a + 2.0 * m)) * ((a + b + m) / (a + 2.0 * m + 1.0)) * y;
  };
  // Partial numerators alpha_k = -d_2k-2 d_2k-1 and denominators
  // beta_k = 1 + d_2k-1 + d_2k of the contraction, k >= 2.
  const auto alpha = [&](double k) { return -d_even(k - 1.0) * d_odd(k - 1.0); };
  const auto beta = [&](double k) { return one_plus_d_odd(k - 1.0) + d_even(k); };

  // U = beta_2 + alpha_3 / (beta_3 + alpha_4 / (...)), by modified Lentz.
  double u = beta(2.0);
  if (std::fabs(u) < tiny) u = tiny;
  double c = u;
  double d = 0.0;
  bool converged = false;
  for (int k = 3; k < max_iterations; ++k) {
    const double alpha_k = alpha(k);
    const double beta_k = beta(k);
    d = beta_k + alpha_k * d;
    if (std::fabs(d) < tiny) d = tiny;
    c = beta_k + alpha_k / c;
    if (std::fabs(c) < tiny) c = tiny;
    d = 1.0 / d;
    const double delta = c * d;
    u *= delta;
    if (std::fabs(delta - 1.0) <= kEps) {
      converged = true;
      break;
    }
  }
  if (!converged)
    throw std::runtime_error(
        "incomplete beta: continued fraction did not converge (a=" + std::to_string(a) +
        ", b=" + std::to_string(b) + ", x=" + std::to_string(x) + ")");
  const double tail = alpha(2.0) / u;  // T
  const double d2 = d_even(1.0);
  return (1.0 + d2 + tail) / (one_plus_d_odd(0.0) + d2 + tail);
}

// I_x(a, b) and its complement 1 - I_x(a, b) = I_y(b, a). The caller gives
// x and y = 1 - x separately, with their logarithms, so that neither loses
// accuracy by a subtraction. Of the pair, the one computed by the continued
// fraction is accurate relatively; the other is 1 minus it.
struct BetaPair {
  double value;
  double complement;
};

BetaPair incomplete_beta_pair(double a, double b, double x, double y, double log_x, double log_y) {
  // Decided on the logarithms: x itself may underflow while x^a y^b is fine.
  if (log_x == -std::numeric_limits<double>::infinity()) return {0.0, 1.0};
  if (log_y == -std::numeric_limits<double>::infinity()) return {1.0, 0.0};
  const double log_front = a * log_x + b * log_y - log_beta(a, b);
  if (x < (a + 1.0) / (a + b + 2.0)) {
    const double direct = std::exp(log_front) * beta_continued_fraction(a, b, x, y) / a;
    return {direct, 1.0 - direct};
  }
  const double direct = std::exp(log_front) * beta_continued_fraction(b, a, y, x) / b;
  return {1.0 - direct, direct};
}

// The Student t distribution at |t|, through x = dof / (dof + t^2):
// P(T > |t|) = I_x(dof/2, 1/2) / 2 and P(0 < T < |t|) = I_y(1/2, dof/2) / 2.
struct StudentTPoint {
  double tail;     // P(T > |t|)
  double centre;   // P(0 < T < |t|) = 1/2 - tail
  double pdf;      // density at t
  double log_pdf;  // its logarithm, finite where the density underflows
};

StudentTPoint student_t_point(double t, double dof) {
  // r = |t| / sqrt(dof), x = 1 / (1 + r^2), y = r^2 / (1 + r^2),
  // log1p_r2 = ln(1 + r^2), written so that neither r nor r^2 can overflow.
  const double abs_t = std::fabs(t);
  const double sqrt_dof = std::sqrt(dof);
  double x, y, log_r, log1p_r2;
  if (abs_t <= sqrt_dof) {
    const double r = abs_t / sqrt_dof;
    const double r2 = r * r;
    x = 1.0 / (1.0 + r2);
    y = r2 / (1.0 + r2);
    log_r = std::log(r);
    log1p_r2 = std::log1p(r2);
  } else {
    const double inverse_r = sqrt_dof / abs_t;
    const double s2 = inverse_r * inverse_r;
    x = s2 / (1.0 + s2);
    y = 1.0 / (1.0 + s2);
    log_r = std::log(abs_t) - 0.5 * std::log(dof);
    log1p_r2 = 2.0 * log_r + std::log1p(s2);
  }
  const double a = 0.5 * dof;
  const double log_b = log_beta(a, 0.5);
  StudentTPoint point;
  if (abs_t == 0.0) {
    point.tail = 0.5;
    point.centre = 0.0;
  } else {
    const BetaPair pair = incomplete_beta_pair(a, 0.5, x, y, -log1p_r2, 2.0 * log_r - log1p_r2);
    point.tail = 0.5 * pair.value;
    point.centre = 0.5 * pair.complement;
  }
  // f(t) = (1 + t^2/dof)^(-(dof+1)/2) / (sqrt(dof) B(dof/2, 1/2))
  point.log_pdf = -0.5 * (dof + 1.0) * log1p_r2 - 0.5 * std::log(dof) - log_b;
  point.pdf = std::exp(point.log_pdf);
  return point;
}

void check_probability(double p, const char* function) {
  if (!(p > 0.0 && p < 1.0))
    throw std::invalid_argument(std::string(function) + ": probability " + std::to_string(p) +
                                " is not in (0, 1)");
}

void check_dof(double dof, const char* function) {
  if (!(dof > 0.0))
    throw std::invalid_argument(std::string(function) + ": degrees of freedom " +
                                std::to_string(dof) + " must be > 0");
}

// Acklam's rational approximation of the normal quantile (relative error
// < 1.15e-9), for 0 < p <= 1/2.
double acklam_lower(double p) {
  static constexpr double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                                 -2.759285104469687e+02, 1.383577518672690e+02,
                                 -3.066479806614716e+01, 2.506628277459239e+00};
  static constexpr double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                                 -1.556989798598866e+02, 6.680131188771972e+01,
                                 -1.328068155288572e+01};
  static constexpr double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                                 -2.400758277161838e+00, -2.549732539343734e+00,
                                 4.374664141464968e+00,  2.938163982698783e+00};
  static constexpr double d[] = {7.784695709041462e-03, 3.224671290700398e-01,
                                 2.445134137142996e+00, 3.754408661907416e+00};
  constexpr double p_low = 0.02425;
  if (p < p_low) {
    const double q = std::sqrt(-2.0 * std::log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
           ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
  }
  const double q = p - 0.5;
  const double r = q * q;
  return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
         (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0);
}

// Normal quantile for 0 < p <= 1/2 (so x <= 0).
double normal_quantile_lower(double p) {
  if (p == 0.5) return 0.0;
  double x = acklam_lower(p);
  // One Halley step on Phi(x) - p (cubic convergence: 1e-9 -> rounding).
  // Near the centre the residual is written as erf(x/sqrt2)/2 - (p - 1/2),
  // where p - 1/2 is exact for p >= 1/4 (Sterbenz), so that it stays
  // accurate relative to x as x -> 0.
  const double residual =
      p >= 0.25 ? 0.5 * std::erf(x / kSqrt2) - (p - 0.5) : 0.5 * std::erfc(-x / kSqrt2) - p;
  const double u = residual * kSqrt2Pi * std::exp(0.5 * x * x);
  if (std::isfinite(u)) x -= u / (1.0 + 0.5 * x * u);
  return x;
}

}  // namespace

double incomplete_beta(double a, double b, double x) {
  if (!(a > 0.0 && b > 0.0)) throw std::invalid_argument("incomplete_beta: a and b must be > 0");
  if (!(x >= 0.0 && x <= 1.0)) throw std::invalid_argument("incomplete_beta: x must be in [0, 1]");
  const double y = 1.0 - x;
  return incomplete_beta_pair(a, b, x, y, std::log(x), std::log1p(-x)).value;
}

double student_t_cdf(double t, double dof) {
  check_dof(dof, "student_t_cdf");
  if (std::isnan(t)) return kNaN;
  if (dof > kNormalDof) return normal_cdf(t);
  if (t == 0.0) return 0.5;
  const StudentTPoint point = student_t_point(t, dof);
  if (t < 0.0) return point.tail;
  return point.tail < 0.25 ? 1.0 - point.tail : 0.5 + point.centre;
}

double student_t_pdf(double t, double dof) {
  check_dof(dof, "student_t_pdf");
  if (std::isnan(t)) return kNaN;
  if (dof > kNormalDof) return std::exp(-0.5 * t * t) / kSqrt2Pi;
  return student_t_point(t, dof).pdf;
}

double student_t_quantile(double p, double dof) {
  check_probability(p, "student_t_quantile");
  check_dof(dof, "student_t_quantile");
  if (dof > kNormalDof) return normal_quantile(p);
  if (p == 0.5) return 0.0;

  // Solve for t = |quantile| > 0 with P(T > t) = q, or equivalently
  // P(0 < T < t) = c = 1/2 - q. Both are exact where they are used: 1 - p
  // for p >= 1/2, and |p - 1/2| for p in [1/4, 3/4] (Sterbenz), the only
  // range in which the iteration uses c.
  const bool upper = p > 0.5;
  const double q = upper ? 1.0 - p : p;
  const double c = upper ? p - 0.5 : 0.5 - p;
  const bool in_tail = q < 0.25;

  // Starting point: the smaller of the Cornish-Fisher expansion around the
  // normal quantile (good for large dof) and the power-law tail
  // P(T > t) ~ C dof^((dof-1)/2) t^-dof (good for small dof, small q), which
  // overestimates t. Newton below converges from either.
  const double z = -normal_quantile_lower(q);
  const double z2 = z * z;
  double t =
      z + z * (z2 + 1.0) / (4.0 * dof) + z * ((5.0 * z2 + 16.0) * z2 + 3.0) / (96.0 * dof * dof);
  if (in_tail) {
    const double log_coefficient = -log_beta(0.5 * dof, 0.5) - 0.5 * std::log(dof);
    const double log_power_law =
        (log_coefficient + 0.5 * (dof - 1.0) * std::log(dof) - std::log(q)) / dof;
    if (log_power_law < std::log(t)) t = std::exp(log_power_law);
  }

  // For dof < 1 or a tiny q the quantile can lie beyond the largest double
  // (for dof >= 1, P(T > DBL_MAX) < 2e-309).
  constexpr double t_max = std::numeric_limits<double>::max();
  if (in_tail && (dof < 1.0 || q < 1e-300) && student_t_point(t_max, dof).tail >= q)
    return upper ? std::numeric_limits<double>::infinity()
                 : -std::numeric_limits<double>::infinity();
  if (!(t > 0.0 && t < t_max)) t = 1.0;

  // Safeguarded Newton: [lo, hi] always brackets the root; a step that leaves
  // the bracket (or is not finite) is replaced by bisection. In the tail the
  // iteration is on ln P(T > t) as a function of ln t, which is close to
  // linear for heavy tails and tames the far tail; near the centre it is on
  // P(0 < T < t) - c directly.
  double lo = 0.0;
  double hi = t_max;
  constexpr int max_iterations = 200;
  for (int iteration = 0; iteration < max_iterations; ++iteration) {
    const StudentTPoint point = student_t_point(t, dof);
    const bool below_root = in_tail ? point.tail > q : point.centre < c;
    if (in_tail ? point.tail == q : point.centre == c) break;
    (below_root ? lo : hi) = t;

    double next;
    if (in_tail) {
      // u = ln t, g(u) = ln tail - ln q, g'(u) = -t pdf / tail (in logs:
      // the density underflows long before the tail does).
      const double log_tail = std::log(point.tail);
      const double g = log_tail - std::log(q);
      next = t * std::exp(g * std::exp(log_tail - std::log(t) - point.log_pdf));
    } else {
      next = t - (point.centre - c) / point.pdf;
    }
    // Newton converges quadratically: after a relative step below 1e-13 the
    // remaining error is far under the rounding of the distribution function.
    // (Tested before the bracket, which rounding can make exclude the last
    // tiny step.)
    if (std::isfinite(next) && std::fabs(next - t) <= 1e-13 * t) {
      t = next;
      break;
    }
    if (!(std::isfinite(next) && next > lo && next < hi)) {
      // Bisection in ln t: the bracket may span hundreds of decades.
      const double lo_positive = lo > 0.0 ? lo : std::numeric_limits<double>::min();
      next = std::exp(0.5 * (std::log(lo_positive) + std::log(hi)));
    }
    t = next;
    if (hi - lo <= 4.0 * kEps * lo) break;
  }
  return upper ? t : -t;
}

double normal_cdf(double x) { return 0.5 * std::erfc(-x / kSqrt2); }

double normal_quantile(double p) {
  check_probability(p, "normal_quantile");
  // Work in the lower half, where Phi is accurate relatively; 1 - p is exact
  // for p >= 1/2.
  return p > 0.5 ? -normal_quantile_lower(1.0 - p) : normal_quantile_lower(p);
}

namespace {

// t_{(1 + level)/2, dof}, the half-width of the interval in standard errors.
// Summaries are taken per grid point, record time and observable, almost
// always with the same few seed counts, so small dof come from a table built
// once (thread-safe static initialisation; same values as a direct call).
double interval_quantile(std::size_t dof) {
  constexpr double p = 0.5 + 0.5 * kConfidenceLevel;
  constexpr std::size_t table_size = 257;
  static const std::array<double, table_size> table = [] {
    std::array<double, table_size> quantiles{};
    quantiles[0] = std::numeric_limits<double>::quiet_NaN();
    for (std::size_t k = 1; k < table_size; ++k)
      quantiles[k] = student_t_quantile(p, static_cast<double>(k));
    return quantiles;
  }();
  return dof < table_size ? table[dof] : student_t_quantile(p, static_cast<double>(dof));
}

}  // namespace

SampleSummary summarise(const double* values, std::size_t n) {
  SampleSummary summary;
  summary.n = n;
  if (n == 0) return summary;
  const double count = static_cast<double>(n);

  // Two passes: the plain mean, then the corrected two-pass algorithm
  // (Chan, Golub & LeVeque 1983): with d_i = x_i - mean,
  //   mean' = mean + sum d_i / n,
  //   var   = (sum d_i^2 - (sum d_i)^2 / n) / (n - 1),
  // the second term cancelling the rounding error of the first pass. Serial
  // loops in input order keep the result bitwise reproducible.
  double sum = 0.0;
  for (std::size_t i = 0; i < n; ++i) sum += values[i];
  const double mean = sum / count;
  double sum_deviation = 0.0;
  double sum_squared_deviation = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    const double deviation = values[i] - mean;
    sum_deviation += deviation;
    sum_squared_deviation += deviation * deviation;
  }
  summary.mean = mean + sum_deviation / count;
  if (n < 2) return summary;

  double variance = (sum_squared_deviation - sum_deviation * sum_deviation / count) / (count - 1.0);
  if (variance < 0.0) variance = 0.0;  // rounding only; NaN stays NaN
  summary.std = std::sqrt(variance);
  summary.sem = summary.std / std::sqrt(count);
  const double t = interval_quantile(n - 1);
  summary.lo = summary.mean - t * summary.sem;
  summary.hi = summary.mean + t * summary.sem;
  return summary;
}

SampleSummary summarise(const std::vector<double>& values) {
  return summarise(values.data(), values.size());
}

}  // namespace tsgd
