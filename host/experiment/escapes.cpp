// See escapes.h.
#include "experiment/escapes.h"

#include <cmath>

namespace tsgd {

namespace {

bool usable(double alpha, double eg) { return alpha > 0 && eg > 0 && std::isfinite(eg); }

// The log-log slopes by central differences; NaN where a neighbour is not usable.
std::vector<double> log_slopes(const std::vector<double>& a, const std::vector<double>& e) {
  const std::size_t n = std::min(a.size(), e.size());
  std::vector<double> s(n, NAN);
  for (std::size_t j = 1; j + 1 < n; ++j)
    if (usable(a[j - 1], e[j - 1]) && usable(a[j], e[j]) && usable(a[j + 1], e[j + 1]))
      s[j] = (std::log(e[j + 1]) - std::log(e[j - 1])) / std::log(a[j + 1] / a[j - 1]);
  return s;
}

// Whether E falls below a tenth of VALUE after record J.
bool left_downwards(const std::vector<double>& e, std::size_t j, double value) {
  for (std::size_t i = j + 1; i < e.size(); ++i)
    if (e[i] < 0.1 * value) return true;
  return false;
}

}  // namespace

std::optional<double> plateau_value(const std::vector<double>& alpha,
                                    const std::vector<double>& eg) {
  const std::vector<double> s = log_slopes(alpha, eg);
  std::optional<double> best;
  double best_slope = kPlateauSlope;
  // NaN compares false: a record next to an unusable one is never a candidate.
  for (std::size_t j = 1; j + 1 < s.size(); ++j)
    if (s[j] > best_slope && s[j] >= s[j - 1] && s[j] >= s[j + 1] && left_downwards(eg, j, eg[j])) {
      best = eg[j];
      best_slope = s[j];
    }
  return best;
}

EscapeThreshold escape_threshold(std::optional<double> given, const std::vector<double>& ode_alpha,
                                 const std::vector<double>& ode_eg) {
  if (given) return {*given, "record.escape_eg"};
  if (const auto plateau = plateau_value(ode_alpha, ode_eg)) return {0.1 * *plateau, "ODE plateau"};
  return {kDefaultEscapeEg, "default"};
}

std::optional<double> escape_alpha(const std::vector<double>& alpha, const std::vector<double>& eg,
                                   double threshold) {
  for (std::size_t j = 0; j < alpha.size() && j < eg.size(); ++j)
    if (eg[j] < threshold) return alpha[j];
  return std::nullopt;
}

}  // namespace tsgd
