// Statistics over seeds that a few stuck or outlying runs do not mislead
// (issue 15 point 2): quartiles, a distribution-free interval for the median,
// the geometric mean with an interval on the log scale (both positive for a
// positive quantity, unlike mean +- t sem), and escape times from a plateau.
//
// Deterministic like statistics.h: no resampling, the same input gives bitwise
// the same output whatever its order (values are sorted first).
#pragma once

#include <cstddef>
#include <limits>
#include <vector>

#include "experiment/statistics.h"

namespace tsgd {

struct RobustSummary {
  std::size_t n = 0;
  double q1 = std::numeric_limits<double>::quiet_NaN();      // 25% quantile
  double median = std::numeric_limits<double>::quiet_NaN();  // 50% quantile
  double q3 = std::numeric_limits<double>::quiet_NaN();      // 75% quantile
  // Distribution-free interval for the median: order statistics x_(k) and
  // x_(n+1-k) with the largest k whose coverage 1 - 2 P(Bin(n, 1/2) < k) is at
  // least kConfidenceLevel (so the coverage is >= 95%, not = 95%). NaN for
  // n < 6, where even [min, max] covers less than 95%.
  double median_lo = std::numeric_limits<double>::quiet_NaN();
  double median_hi = std::numeric_limits<double>::quiet_NaN();
  // exp(mean of ln x) and exp(mean of ln x -+ t sem of ln x): the geometric
  // mean and a Student-t interval on the log scale. NaN when a value is not
  // positive and finite (the interval also when n < 2).
  double gmean = std::numeric_limits<double>::quiet_NaN();
  double gmean_lo = std::numeric_limits<double>::quiet_NaN();
  double gmean_hi = std::numeric_limits<double>::quiet_NaN();
};

// The P-quantile (0 <= P <= 1) of SORTED (ascending, non-empty) by linear
// interpolation between order statistics: x[h] with h = (n - 1) P, the
// definition of R's type 7 and of numpy's and pandas' default.
double sorted_quantile(const std::vector<double>& sorted, double p);

// The 1-based rank k of the lower end of the distribution-free interval for
// the median of n values at kConfidenceLevel (see RobustSummary), 0 if n < 6.
std::size_t median_interval_rank(std::size_t n);

// VALUES in any order; NaN values are the caller's to exclude (they sort last
// and make every field but n meaningless).
RobustSummary summarise_robust(std::vector<double> values);

}  // namespace tsgd
