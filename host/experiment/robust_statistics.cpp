// See robust_statistics.h.
#include "experiment/robust_statistics.h"

#include <algorithm>
#include <cmath>

namespace tsgd {

double sorted_quantile(const std::vector<double>& sorted, double p) {
  const double h = static_cast<double>(sorted.size() - 1) * p;
  const std::size_t lo = static_cast<std::size_t>(std::floor(h));
  if (lo + 1 >= sorted.size()) return sorted.back();
  return sorted[lo] + (h - static_cast<double>(lo)) * (sorted[lo + 1] - sorted[lo]);
}

std::size_t median_interval_rank(std::size_t n) {
  // P(Bin(n, 1/2) <= k - 1) = I_{1/2}(n - k + 1, k), increasing in k; the
  // largest k with 2 P <= 1 - level, by bisection on [1, n / 2].
  const double tail = 0.5 * (1.0 - kConfidenceLevel);
  const auto below = [n](std::size_t k) {
    return incomplete_beta(static_cast<double>(n - k + 1), static_cast<double>(k), 0.5);
  };
  if (n < 2 || below(1) > tail) return 0;
  std::size_t good = 1, bad = n / 2 + 1;  // below(good) <= tail < below(bad)
  while (bad - good > 1) {
    const std::size_t mid = good + (bad - good) / 2;
    (below(mid) <= tail ? good : bad) = mid;
  }
  return good;
}

RobustSummary summarise_robust(std::vector<double> values) {
  RobustSummary r;
  r.n = values.size();
  if (values.empty()) return r;
  std::sort(values.begin(), values.end());
  r.q1 = sorted_quantile(values, 0.25);
  r.median = sorted_quantile(values, 0.5);
  r.q3 = sorted_quantile(values, 0.75);
  if (const std::size_t k = median_interval_rank(values.size()); k > 0) {
    r.median_lo = values[k - 1];
    r.median_hi = values[values.size() - k];
  }
  const bool positive = values.front() > 0 && std::isfinite(values.back());
  if (!positive) return r;
  std::vector<double> logs(values.size());
  std::transform(values.begin(), values.end(), logs.begin(), [](double x) { return std::log(x); });
  const SampleSummary s = summarise(logs);
  r.gmean = std::exp(s.mean);
  r.gmean_lo = std::exp(s.lo);
  r.gmean_hi = std::exp(s.hi);
  return r;
}

}  // namespace tsgd
