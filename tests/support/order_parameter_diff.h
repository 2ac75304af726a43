// The largest absolute difference between two runs' order parameters (Q, R, T,
// v, v*), for the engine-agreement tests; a NaN anywhere is no agreement
// (HUGE_VAL), and a size mismatch fails the calling test.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/model.h"

namespace tsgd::testing {

inline double max_difference(const OrderParameters& a, const OrderParameters& b) {
  double d = 0;
  auto cmp = [&](const std::vector<double>& x, const std::vector<double>& y) {
    EXPECT_EQ(x.size(), y.size());
    for (std::size_t i = 0; i < x.size() && i < y.size(); ++i) {
      const double e = std::abs(x[i] - y[i]);
      d = std::isnan(e) ? HUGE_VAL : std::max(d, e);
    }
  };
  cmp(a.Q, b.Q);
  cmp(a.R, b.R);
  cmp(a.T, b.T);
  cmp(a.v, b.v);
  cmp(a.vstar, b.vstar);
  return d;
}

}  // namespace tsgd::testing
