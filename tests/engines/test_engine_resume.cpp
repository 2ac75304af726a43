// Engine::weights and Engine::resume on every engine (the checkpoints of
// experiment/checkpoint.h): a batch resumed from its weights and step counter
// goes on bit for bit as the uninterrupted one, frozen runs included; and
// simulate_batch resumed from a checkpointed state gives the trajectories of an
// uninterrupted batch.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <vector>

#include "core/initial_weights.h"
#include "experiment/simulation.h"
#include "tests/support/engine_factories.h"

using namespace tsgd;
using tsgd::testing::bitwise_equal;
using tsgd::testing::EngineFactory;

namespace {

class EngineResumeTest : public ::testing::TestWithParam<EngineFactory> {};

// Runs of several seeds (two sharing one), shapes, batch sizes and both
// training modes, with weight decay and label noise: every state a resume sets.
std::vector<RunSpec> mixed_runs() {
  std::vector<RunSpec> runs;
  for (int i = 0; i < 6; ++i) {
    RunSpec r{i, static_cast<std::uint64_t>(i == 3 ? 7 : 7 + i), PointParams{}};
    r.params.N = 24;
    r.params.K = 1 + i % 3;
    r.params.M = 1 + i % 2;
    r.params.lr = 0.3 + 0.05 * i;
    r.params.lr2 = r.params.lr;
    r.params.sigma = 0.1;
    r.params.batch_size = i == 4 ? 2 : 1;
    r.params.weight_decay = i == 2 ? 0.5 : 0.0;
    r.params.weight_decay2 = r.params.weight_decay;
    r.params.train = i % 2 == 0 ? TrainMode::both_layers : TrainMode::first_layer;
    runs.push_back(r);
  }
  return runs;
}

}  // namespace

TEST_P(EngineResumeTest, ResumedBatchEqualsTheUninterruptedOne) {
  if (GetParam().needs_gpu) TSGD_SKIP_WITHOUT_GPU();
  const std::vector<RunSpec> runs = mixed_runs();
  const std::int64_t first = GetParam().slow ? 5 : 40, rest = GetParam().slow ? 6 : 50;
  auto engine = GetParam().make();
  engine->load(runs);
  engine->advance(first);
  engine->freeze(1);  // as simulate_batch freezes a diverged run
  std::vector<InitialWeights> saved(runs.size());
  std::vector<char> frozen(runs.size(), 0);
  frozen[1] = 1;
  for (std::size_t r = 0; r < runs.size(); ++r) engine->weights(r, saved[r]);
  engine->advance(rest);
  std::vector<OrderParameters> want, got;
  engine->order_parameters(want);

  auto resumed = GetParam().make();
  resumed->load(runs);
  resumed->resume(first, saved, frozen);
  resumed->advance(rest);
  resumed->order_parameters(got);
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t r = 0; r < runs.size(); ++r) {
    EXPECT_TRUE(bitwise_equal(got[r], want[r])) << "run " << r;
    InitialWeights a, b;
    engine->weights(r, a);
    resumed->weights(r, b);
    EXPECT_TRUE(bitwise_equal(a, b)) << "run " << r;
  }
  InitialWeights still;
  resumed->weights(1, still);
  EXPECT_TRUE(bitwise_equal(still, saved[1]));  // frozen: did not move
}

TEST_P(EngineResumeTest, WeightsGiveTheOrderParameters) {
  if (GetParam().needs_gpu) TSGD_SKIP_WITHOUT_GPU();
  const std::vector<RunSpec> runs = mixed_runs();
  auto engine = GetParam().make();
  engine->load(runs);
  engine->advance(GetParam().slow ? 4 : 30);
  std::vector<OrderParameters> ops;
  engine->order_parameters(ops);
  for (std::size_t r = 0; r < runs.size(); ++r) {
    InitialWeights w;
    engine->weights(r, w);
    const int N = runs[r].params.N, K = runs[r].params.K, M = runs[r].params.M;
    ASSERT_EQ(w.w.size(), static_cast<std::size_t>(K) * N);
    ASSERT_EQ(w.wstar.size(), static_cast<std::size_t>(M) * N);
    // The engines sum N = 24 products of O(1) numbers in double (the Gram
    // kernels in their own order): 1e-12 covers the reordering; v is exact.
    for (int i = 0; i < K; ++i) {
      for (int j = 0; j < K; ++j) {
        double q = 0;
        for (int n = 0; n < N; ++n) q += w.w[i * N + n] * w.w[j * N + n];
        EXPECT_NEAR(q / N, ops[r].q(i, j), 1e-12) << r << " Q " << i << j;
      }
      for (int m = 0; m < M; ++m) {
        double q = 0;
        for (int n = 0; n < N; ++n) q += w.w[i * N + n] * w.wstar[m * N + n];
        EXPECT_NEAR(q / N, ops[r].r(i, m), 1e-12) << r << " R " << i << m;
      }
      EXPECT_EQ(w.v[i], ops[r].v[i]);
    }
  }
}

TEST_P(EngineResumeTest, ResumeRefusesAnotherBatch) {
  if (GetParam().needs_gpu) TSGD_SKIP_WITHOUT_GPU();
  const std::vector<RunSpec> runs = mixed_runs();
  auto engine = GetParam().make();
  engine->load(runs);
  std::vector<InitialWeights> saved(runs.size());
  for (std::size_t r = 0; r < runs.size(); ++r) engine->weights(r, saved[r]);
  EXPECT_THROW(engine->resume(3, {saved[0]}, {0}), std::invalid_argument);
  std::swap(saved[0], saved[1]);  // K = 1 and K = 2
  EXPECT_THROW(engine->resume(3, saved, std::vector<char>(runs.size(), 0)), std::invalid_argument);
}

INSTANTIATE_TEST_SUITE_P(Engines, EngineResumeTest,
                         ::testing::ValuesIn(tsgd::testing::engine_factories()),
                         [](const auto& info) { return info.param.name; });

TEST(SimulateBatch, ResumedFromACheckpointEqualsUninterrupted) {
  // A batch whose run 0 diverges (lr far above the stable range, ReLU student:
  // eps_g unbounded) before the checkpoints: frozen and its bound restored.
  std::vector<RunSpec> runs = mixed_runs();
  runs[0].params.lr = 40;
  runs[0].params.student_activation = Activation::relu;
  for (auto& r : runs) r.params.alpha = 8;
  const std::vector<std::int64_t> steps = {0, 12, 24, 48, 96, 144, 192};
  auto engine = make_cpu_engine(Precision::float64, 2);
  std::vector<BatchState> states;
  SimulationControl control;
  control.final_weights = true;
  control.checkpoint_due = [] { return true; };
  control.checkpoint = [&](const BatchState& s) { states.push_back(s); };
  std::vector<RunTrajectory> want;
  ASSERT_TRUE(simulate_batch(*engine, runs, steps, control, want));
  ASSERT_EQ(states.size(), steps.size() - 1);  // every record but the last
  ASSERT_TRUE(want[0].diverged) << "the test needs a diverged run";
  ASSERT_LT(want[0].diverged_alpha, 144.0 / 24);
  for (std::size_t at : {1u, 4u}) {
    SimulationControl again;
    again.final_weights = true;
    again.resume = &states[at];
    std::vector<RunTrajectory> got;
    auto fresh = make_cpu_engine(Precision::float64, 1);  // another thread count, too
    ASSERT_TRUE(simulate_batch(*fresh, runs, steps, again, got));
    for (std::size_t r = 0; r < runs.size(); ++r) {
      EXPECT_TRUE(tsgd::testing::bitwise_equal_fields({{"eg", &want[r].eg, &got[r].eg},
                                                       {"alpha", &want[r].alpha, &got[r].alpha},
                                                       {"w", &want[r].final_w, &got[r].final_w}}))
          << "resumed after record " << at << ", run " << r;
      ASSERT_EQ(want[r].states.size(), got[r].states.size());
      for (std::size_t j = 0; j < want[r].states.size(); ++j)
        EXPECT_TRUE(bitwise_equal(want[r].states[j], got[r].states[j])) << r << " " << j;
      EXPECT_EQ(want[r].diverged, got[r].diverged);
    }
  }
}

TEST(SimulateBatch, StoppedBetweenRecordsSavesItsStateAndResumesFromIt) {
  // A stop (SIGTERM) between record times with checkpoints on (none due):
  // the state at the stopped step, from which the batch ends as uninterrupted.
  const std::vector<RunSpec> runs = mixed_runs();
  const std::vector<std::int64_t> steps = {0, 10, 100, 200};
  std::vector<RunTrajectory> want, got, stopped;
  SimulationControl plain;
  auto engine = make_cpu_engine(Precision::float64, 2);
  ASSERT_TRUE(simulate_batch(*engine, runs, steps, plain, want));

  std::atomic<bool> stop{false};
  std::vector<BatchState> states;
  SimulationControl control;
  control.max_steps_per_call = 7;
  control.stop = &stop;
  control.progress = [&](double, double alpha) { stop = alpha * 24 >= 40; };  // N = 24
  control.checkpoint_due = [] { return false; };
  control.checkpoint = [&](const BatchState& s) { states.push_back(s); };
  ASSERT_FALSE(simulate_batch(*engine, runs, steps, control, stopped));
  ASSERT_EQ(states.size(), 1u);
  EXPECT_EQ(states[0].records, 2u);  // alpha = 0 and step 10 recorded
  EXPECT_EQ(states[0].step, 45);     // 10 + 5 chunks of 7
  EXPECT_TRUE(checkpoint_step(states[0], steps));

  SimulationControl again;
  again.resume = &states[0];
  auto fresh = make_cpu_engine(Precision::float64, 1);
  ASSERT_TRUE(simulate_batch(*fresh, runs, steps, again, got));
  for (std::size_t r = 0; r < runs.size(); ++r) {
    EXPECT_TRUE(tsgd::testing::bitwise_equal_fields({{"eg", &want[r].eg, &got[r].eg}})) << r;
    ASSERT_EQ(want[r].states.size(), got[r].states.size());
    for (std::size_t j = 0; j < want[r].states.size(); ++j)
      EXPECT_TRUE(bitwise_equal(want[r].states[j], got[r].states[j])) << r << " " << j;
  }
}
