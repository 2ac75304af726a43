// The CPU engine (engines/cpu_engine.h) beyond the shared engine tests
// (test_engine.cpp): the thread count does not change a bit.
#include <gtest/gtest.h>

#include <vector>

#include "engines/cpu_engine.h"
#include "tests/support/engine_factories.h"

using namespace tsgd;
using tsgd::testing::bitwise_equal;

TEST(CpuEngine, ThreadCountDoesNotChangeResults) {
  std::vector<RunSpec> runs;
  for (int i = 0; i < 12; ++i) {
    RunSpec r{i, static_cast<std::uint64_t>(i / 3), PointParams{}};
    r.params.N = 100;
    r.params.K = 2 + i % 3;
    r.params.lr = 0.3 + 0.1 * i;
    runs.push_back(r);
  }
  std::vector<std::vector<OrderParameters>> results;
  for (int threads : {1, 2, 5}) {
    auto engine = make_cpu_engine(Precision::float64, threads);
    engine->load(runs);
    engine->advance(500);
    results.emplace_back();
    engine->order_parameters(results.back());
  }
  for (std::size_t r = 0; r < runs.size(); ++r) {
    EXPECT_TRUE(bitwise_equal(results[0][r], results[1][r])) << r;
    EXPECT_TRUE(bitwise_equal(results[0][r], results[2][r])) << r;
  }
}
