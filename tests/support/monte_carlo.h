// Seeded Monte Carlo for the tests of the Gaussian integrals and the
// generalisation error: portable standard normals and running moments.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>

namespace tsgd::testing {

// Standard normals by Box-Muller on std::mt19937_64 (portable, unlike
// std::normal_distribution whose algorithm is implementation-defined).
class Gaussian {
 public:
  explicit Gaussian(std::uint64_t seed) : rng_(seed) {}
  double operator()() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    // u1 in (0, 1] so that log(u1) is finite.
    const double u1 = (static_cast<double>(rng_() >> 11) + 1.0) * 0x1.0p-53;
    const double u2 = static_cast<double>(rng_() >> 11) * 0x1.0p-53;
    const double r = std::sqrt(-2.0 * std::log(u1));
    spare_ = r * std::sin(2.0 * 3.14159265358979323846 * u2);
    has_spare_ = true;
    return r * std::cos(2.0 * 3.14159265358979323846 * u2);
  }

 private:
  std::mt19937_64 rng_;
  double spare_ = 0.0;
  bool has_spare_ = false;
};

// Running mean and standard error.
struct Moments {
  double sum = 0, sum2 = 0;
  long n = 0;
  void add(double x) {
    sum += x;
    sum2 += x * x;
    ++n;
  }
  double mean() const { return sum / n; }
  double standard_error() const {
    const double m = mean();
    return std::sqrt((sum2 / n - m * m) / (n - 1));
  }
};

}  // namespace tsgd::testing
