// The simulation loop on real inputs (experiment/simulation.h): the recorded eg
// is the test-set error of the run's weights at each record time, computed here
// by hand from the engine's weights (plain loops, not core/test_error), with
// file labels also the class error; Gaussian runs keep the closed form and no
// class error.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <vector>

#include "core/training_error.h"
#include "engines/cpu_engine.h"
#include "experiment/simulation.h"
#include "math/activation.h"
#include "tests/support/input_sets.h"
#include "theory/generalisation_error.h"

namespace tsgd {
namespace {

constexpr int kN = 24;
constexpr std::size_t kTrain = 32, kTest = 20;

// Rows drawn from the Gaussian stream of seed 99 (train, then test); with LABELLED
// the labels are the sign of the first coordinate.
std::shared_ptr<const InputSet> input_set(bool labelled) {
  if (!labelled) return testing::drawn_input_set(99, kN, kTrain, kTest);
  return testing::drawn_input_set(99, kN, kTrain, kTest, 1.0f,
                                  [](const float* x) { return x[0] > 0 ? 1.0f : -1.0f; });
}

RunSpec run(std::uint64_t seed, std::shared_ptr<const InputSet> inputs) {
  RunSpec r;
  r.point_id = inputs ? (inputs->labelled() ? 2 : 1) : 0;
  r.seed = seed;
  r.params.N = kN;
  r.params.K = 2;
  r.params.M = 2;
  r.params.lr = 0.3;
  r.params.lr2 = 0.3;
  r.params.train_size = kTrain;
  r.params.inputs = std::move(inputs);
  return r;
}

// 1/2 mean over the test rows of (student - label)^2 and the fraction of wrong signs.
std::pair<double, double> by_hand(const RunSpec& run, const InitialWeights& w) {
  const InputSet& set = *run.params.inputs;
  double squares = 0, wrong = 0;
  auto out = [&](const std::vector<double>& m, const std::vector<double>& v, std::size_t i) {
    double y = 0;
    for (std::size_t u = 0; u < v.size(); ++u) {
      double dot = 0;
      for (int j = 0; j < kN; ++j) dot += m[u * kN + j] * set.test_row(i)[j];
      y += v[u] * std::erf(dot / std::sqrt(double(kN)) / std::sqrt(2.0));
    }
    return y;
  };
  for (std::size_t i = 0; i < kTest; ++i) {
    const double y = out(w.w, w.v, i);
    const double label = set.labelled() ? set.test_labels[i] : out(w.wstar, w.vstar, i);
    squares += (y - label) * (y - label);
    wrong += (y > 0 ? 1.0 : -1.0) != label;
  }
  return {0.5 * squares / kTest, wrong / kTest};
}

TEST(TestSetEg, TheRecordedEgIsTheTestSetErrorOfTheWeights) {
  const std::vector<RunSpec> runs = {run(5, nullptr), run(5, input_set(false)),
                                     run(6, input_set(true))};
  const std::vector<std::int64_t> steps = {0, 40, 100};
  SimulationControl control;
  control.threads = 1;
  std::vector<RunTrajectory> got;
  for (std::size_t j = 0; j < steps.size(); ++j) {
    auto engine = make_cpu_engine(Precision::float64, 1);
    std::vector<std::int64_t> upto(steps.begin(), steps.begin() + j + 1);
    ASSERT_TRUE(simulate_batch(*engine, runs, upto, control, got));
    std::vector<OrderParameters> op;
    engine->order_parameters(op);
    for (std::size_t r = 0; r < runs.size(); ++r) {
      ASSERT_EQ(got[r].eg.size(), j + 1);
      InitialWeights w;
      engine->weights(r, w);
      if (!runs[r].params.inputs) {  // Gaussian: the closed form, exactly as before
        EXPECT_EQ(got[r].eg[j], generalisation_error(op[r], Activation::erf, Activation::erf));
        EXPECT_TRUE(got[r].class_err.empty());
        continue;
      }
      const auto [eg, class_err] = by_hand(runs[r], w);
      // Two orders of summing 24-term dot products and 20 squares: 1e-12 relative.
      EXPECT_NEAR(got[r].eg[j], eg, 1e-12 * eg) << "run " << r << " record " << j;
      EXPECT_NE(got[r].eg[j], generalisation_error(op[r], Activation::erf, Activation::erf));
      if (runs[r].params.inputs->labelled()) {
        ASSERT_EQ(got[r].class_err.size(), j + 1);
        EXPECT_EQ(got[r].class_err[j], class_err) << "run " << r << " record " << j;
      } else {
        EXPECT_TRUE(got[r].class_err.empty());
      }
    }
  }
}

// The divergence bound is checked against the test-set eg: a bound just below
// the run's eg at alpha = 0 stops it there, one just above does not (eg0 by hand
// and the loop's agree to 1e-12, far inside the 0.1% margins).
TEST(TestSetEg, TheDivergenceBoundAppliesToTheTestSetEg) {
  const std::vector<RunSpec> runs = {run(6, input_set(true))};
  auto engine = make_cpu_engine(Precision::float64, 1);
  InitialWeights w;
  engine->load(runs);
  engine->weights(0, w);
  const double eg0 = by_hand(runs[0], w).first;
  for (const double factor : {0.999, 1.001}) {
    SimulationControl control;
    control.threads = 1;
    control.diverge_eg = factor * eg0;
    std::vector<RunTrajectory> got;
    ASSERT_TRUE(simulate_batch(*engine, runs, {0}, control, got));
    // The closed form (another number) would give the same answer for both.
    EXPECT_EQ(got[0].diverged, factor < 1.0) << factor;
    EXPECT_NEAR(got[0].eg.at(0), eg0, 1e-12 * eg0);
  }
}

// A batch resumed from its state at a record (what a checkpoint holds; here in
// memory, its JSON form is TestSetFiles.TrajectoryJsonCarriesTheClassError's)
// goes on to the same eg and class_err, bit for bit.
TEST(TestSetEg, ResumedFromACheckpointTheClassErrorGoesOn) {
  const std::vector<RunSpec> runs = {run(5, input_set(false)), run(6, input_set(true))};
  const std::vector<std::int64_t> steps = {0, 20, 40, 80};
  std::vector<BatchState> states;
  SimulationControl control;
  control.threads = 2;
  control.checkpoint_due = [] { return true; };
  control.checkpoint = [&](const BatchState& s) { states.push_back(s); };
  std::vector<RunTrajectory> want, got;
  auto engine = make_cpu_engine(Precision::float64, 1);
  ASSERT_TRUE(simulate_batch(*engine, runs, steps, control, want));
  ASSERT_EQ(states.size(), 3u);
  SimulationControl again;
  again.threads = 1;  // another thread count, too
  again.resume = &states[1];
  auto fresh = make_cpu_engine(Precision::float64, 1);
  ASSERT_TRUE(simulate_batch(*fresh, runs, steps, again, got));
  for (std::size_t r = 0; r < runs.size(); ++r) {
    EXPECT_EQ(want[r].eg, got[r].eg) << "run " << r;
    EXPECT_EQ(want[r].class_err, got[r].class_err) << "run " << r;
  }
  EXPECT_EQ(got[1].class_err.size(), steps.size());
  EXPECT_TRUE(got[0].class_err.empty());
}

}  // namespace
}  // namespace tsgd
