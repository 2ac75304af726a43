// Statistics over seeds (docs/architecture.md contract 4): mean, sample standard
// deviation, standard error and a Student-t 95% confidence interval of a
// sample, plus the distribution functions they need, written from scratch
// (regularised incomplete beta by Lentz's continued fraction, log-gamma).
//
// Everything here is serial and deterministic: the same input in the same
// order gives bitwise the same output. Non-finite values are not filtered
// here; the caller excludes diverged runs before summarising (they propagate
// as NaN if passed in).
#pragma once

#include <cstddef>
#include <limits>
#include <vector>

namespace tsgd {

// Summary of a sample of n values. Entries that are undefined are NaN:
// std, sem, lo and hi when n < 2; everything (but n) when n == 0.
struct SampleSummary {
  std::size_t n = 0;
  double mean = std::numeric_limits<double>::quiet_NaN();
  double std = std::numeric_limits<double>::quiet_NaN();  // sample std, divisor n - 1
  double sem = std::numeric_limits<double>::quiet_NaN();  // standard error, std / sqrt(n)
  double lo = std::numeric_limits<double>::quiet_NaN();   // mean - t_{0.975, n-1} sem
  double hi = std::numeric_limits<double>::quiet_NaN();   // mean + t_{0.975, n-1} sem
};

// Two-pass summary with the corrected-sum refinement of the mean; values may
// be null when n == 0.
SampleSummary summarise(const double* values, std::size_t n);
SampleSummary summarise(const std::vector<double>& values);

// Confidence level of SampleSummary::lo/hi (two-sided).
inline constexpr double kConfidenceLevel = 0.95;

// Regularised incomplete beta function I_x(a, b) for a, b > 0, 0 <= x <= 1.
// Relative accuracy ~1e-14 for the smaller of I and 1 - I.
double incomplete_beta(double a, double b, double x);

// Student t distribution with dof > 0 (real) degrees of freedom.
double student_t_cdf(double t, double dof);
double student_t_pdf(double t, double dof);
// Inverse of student_t_cdf for 0 < p < 1; relative accuracy ~1e-13 (tested
// to 1e-12 for dof >= 1). dof = +infinity (in fact any dof > 1e30) gives the normal quantile.
// Throws std::invalid_argument outside the domain.
double student_t_quantile(double p, double dof);

// Standard normal distribution; normal_quantile is accurate to ~1e-15
// relative for 0 < p < 1 (Acklam's rational approximation refined by one
// Halley step on erfc). Throws std::invalid_argument outside (0, 1).
double normal_cdf(double x);
double normal_quantile(double p);

}  // namespace tsgd
