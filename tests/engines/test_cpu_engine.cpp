// The CPU engine (engines/cpu_engine.h) beyond the shared engine tests
// (test_engine.cpp): neither the thread count nor the grouping of runs
// changes a bit.
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

TEST(CpuEngine, EveryRunIsBitwiseItselfAloneAndInAnyGroup) {
  // The engine groups the runs of a seed (one draw for all of them) and
  // splits a seed's group by the thread count; rows of several runs share a
  // pass over the inputs, and a pass decays all its rows when one of them
  // decays (w_keep = 1 multiplies exactly). None of it may change a bit of
  // any run (docs/architecture.md contract 1): each run alone on one thread
  // against all of them together on 1, 2 and 3 threads.
  std::vector<RunSpec> runs;
  for (int i = 0; i < 14; ++i) {
    RunSpec r{i, static_cast<std::uint64_t>(i < 10 ? 4 : 5), PointParams{}};
    r.params.N = 90;
    r.params.K = 1 + i % 4;
    r.params.M = 1 + i % 3;
    r.params.lr = 0.2 + 0.05 * i;
    r.params.sigma = 0.1 * (i % 2);
    r.params.weight_decay = i % 3 == 1 ? 0.4 : 0.0;
    r.params.train = i % 4 == 2 ? TrainMode::both_layers : TrainMode::first_layer;
    r.params.teacher_activation = i % 5 == 3 ? Activation::relu : Activation::erf;
    r.params.batch_size = i >= 12 ? 2 : 1;  // seed 5: two mini-batch runs
    runs.push_back(r);
  }
  std::vector<OrderParameters> alone(runs.size());
  for (std::size_t r = 0; r < runs.size(); ++r) {
    auto engine = make_cpu_engine(Precision::float32, 1);
    engine->load({runs[r]});
    engine->advance(120);
    engine->advance(1);  // a call of one step: the update without the next fields
    std::vector<OrderParameters> op;
    engine->order_parameters(op);
    alone[r] = op[0];
  }
  for (int threads : {1, 2, 3}) {
    auto engine = make_cpu_engine(Precision::float32, threads);
    engine->load(runs);
    engine->advance(120);
    engine->advance(1);
    std::vector<OrderParameters> together;
    engine->order_parameters(together);
    for (std::size_t r = 0; r < runs.size(); ++r)
      EXPECT_TRUE(bitwise_equal(together[r], alone[r])) << "threads " << threads << " run " << r;
  }
  EXPECT_FALSE(bitwise_equal(alone[0], alone[1]));  // different runs: the comparison can fail
}
