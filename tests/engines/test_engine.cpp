// Engine tests, written once and run against every engine that is built
// (tests/support/engine_factories.h): one SGD step against a hand computation for each
// activation and both training modes, mini-batches and weight decay, the
// initial state, batch invariance (also across teacher_init) and freezing.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/initial_weights.h"
#include "experiment/records.h"
#include "experiment/simulation.h"
#include "math/gaussian.h"
#include "math/permutation.h"
#include "tests/support/engine_factories.h"

using namespace tsgd;
using tsgd::testing::bitwise_equal;
using tsgd::testing::EngineFactory;
using tsgd::testing::expect_near;

namespace {

// Independent double-precision transcription of docs/theory.md §1 (not the
// shared header), for a few steps of one run.
struct HandRun {
  PointParams p;
  std::uint64_t seed;
  std::vector<double> w, wstar, v, vstar;

  static double g(Activation a, double x) {
    switch (a) {
      case Activation::erf:
        return std::erf(x / std::sqrt(2.0));
      case Activation::relu:
        return x > 0 ? x : 0;
      case Activation::linear:
        return x;
      case Activation::quad:
        return x * x;
      case Activation::sign:
        return x > 0 ? 1 : (x < 0 ? -1 : 0);
    }
    return 0;
  }
  static double dg(Activation a, double x) {
    switch (a) {
      case Activation::erf:
        return std::sqrt(2.0 / M_PI) * std::exp(-x * x / 2);
      case Activation::relu:
        return x > 0 ? 1 : 0;
      case Activation::linear:
        return 1;
      case Activation::quad:
        return 2 * x;
      case Activation::sign:
        return 0;
    }
    return 0;
  }

  void step(std::int64_t t) {
    const int N = p.N, K = p.K, M = p.M, B = p.batch_size;
    std::vector<double> new_w(w.size()), dv(K, 0.0);
    for (std::size_t i = 0; i < w.size(); ++i) new_w[i] = (1 - p.weight_decay / N) * w[i];
    for (int b = 0; b < B; ++b) {
      // The training sample of counter t B + b (itself online; math/permutation.h).
      const std::uint64_t mu =
          sample_index(seed, p.train_size, static_cast<std::uint64_t>(t) * B + b);
      std::vector<double> x(N);
      for (int i = 0; i < N; ++i) x[i] = gaussian_at(seed, Stream::input, mu, i);
      const double zeta = gaussian_at(seed, Stream::label_noise, mu, 0);
      std::vector<double> lambda(K, 0.0), rho(M, 0.0);
      for (int k = 0; k < K; ++k)
        for (int i = 0; i < N; ++i) lambda[k] += w[k * N + i] * x[i] / std::sqrt(double(N));
      for (int m = 0; m < M; ++m)
        for (int i = 0; i < N; ++i) rho[m] += wstar[m * N + i] * x[i] / std::sqrt(double(N));
      double delta = -p.sigma * zeta;
      for (int k = 0; k < K; ++k) delta += v[k] * g(p.student_activation, lambda[k]);
      for (int m = 0; m < M; ++m) delta -= vstar[m] * g(p.teacher_activation, rho[m]);
      for (int k = 0; k < K; ++k) {
        const double c =
            -p.lr / (std::sqrt(double(N)) * B) * v[k] * dg(p.student_activation, lambda[k]) * delta;
        for (int i = 0; i < N; ++i) new_w[k * N + i] += c * x[i];
        dv[k] += -p.lr2 / (double(N) * B) * g(p.student_activation, lambda[k]) * delta;
      }
    }
    w = new_w;
    if (p.train == TrainMode::both_layers)
      for (int k = 0; k < K; ++k) v[k] = (1 - p.weight_decay2 / N) * v[k] + dv[k];
  }

  // core/training_error.h by hand: samples 0 .. count - 1 with their labels' noise.
  double training_error(int count) const {
    const int N = p.N, K = p.K, M = p.M;
    double sum = 0.0;
    for (int s = 0; s < count; ++s) {
      std::vector<double> x(N);
      for (int i = 0; i < N; ++i) x[i] = gaussian_at(seed, Stream::input, s, i);
      double error = -p.sigma * gaussian_at(seed, Stream::label_noise, s, 0);
      for (int k = 0; k < K; ++k) {
        double lambda = 0.0;
        for (int i = 0; i < N; ++i) lambda += w[k * N + i] * x[i] / std::sqrt(double(N));
        error += v[k] * g(p.student_activation, lambda);
      }
      for (int m = 0; m < M; ++m) {
        double rho = 0.0;
        for (int i = 0; i < N; ++i) rho += wstar[m * N + i] * x[i] / std::sqrt(double(N));
        error -= vstar[m] * g(p.teacher_activation, rho);
      }
      sum += error * error;
    }
    return 0.5 * sum / count;
  }

  OrderParameters order_parameters() const {
    const int N = p.N, K = p.K, M = p.M;
    OrderParameters op;
    op.resize(K, M);
    for (int a = 0; a < K; ++a) {
      for (int b = 0; b < K; ++b)
        for (int i = 0; i < N; ++i) op.Q[a * K + b] += w[a * N + i] * w[b * N + i] / N;
      for (int m = 0; m < M; ++m)
        for (int i = 0; i < N; ++i) op.R[a * M + m] += w[a * N + i] * wstar[m * N + i] / N;
      op.v[a] = v[a];
    }
    for (int a = 0; a < M; ++a)
      for (int b = 0; b < M; ++b)
        for (int i = 0; i < N; ++i) op.T[a * M + b] += wstar[a * N + i] * wstar[b * N + i] / N;
    op.vstar = vstar;
    return op;
  }
};

HandRun hand_run(const RunSpec& spec) {
  const InitialWeights init = initial_weights(spec);
  return HandRun{spec.params, spec.seed, init.w, init.wstar, init.v, init.vstar};
}

// Tolerance of a few SGD steps against the double hand computation: float64
// engines differ only by summation order (1e-12 relative); float32 engines by
// float rounding of N-term dot products and of the weights (~1e-6 relative
// per operation, a few 1e-5 after three steps of order-one updates).
double step_tolerance(const EngineFactory& f) {
  return f.precision == Precision::float64 ? 1e-11 : 5e-5;
}

class EngineTest : public ::testing::TestWithParam<EngineFactory> {};

}  // namespace

TEST_P(EngineTest, InitialStateEqualsInitialWeights) {
  if (GetParam().needs_gpu) TSGD_SKIP_WITHOUT_GPU();
  RunSpec spec{0, 3, PointParams{}};
  spec.params.N = 37;
  spec.params.K = 3;
  spec.params.M = 2;
  auto engine = GetParam().make();
  engine->load({spec});
  std::vector<OrderParameters> op;
  engine->order_parameters(op);
  ASSERT_EQ(op.size(), 1u);
  // float32 engines hold the weights in float: 1e-6 relative.
  expect_near(op[0], initial_order_parameters(spec),
              GetParam().precision == Precision::float64 ? 1e-13 : 2e-6, "initial");
}

TEST_P(EngineTest, ThreeStepsMatchHandComputation) {
  if (GetParam().needs_gpu) TSGD_SKIP_WITHOUT_GPU();
  struct Case {
    Activation student, teacher;
    TrainMode train;
    int batch;
    double sigma, decay;
  };
  const std::vector<Case> cases = {
      {Activation::erf, Activation::erf, TrainMode::first_layer, 1, 0.0, 0.0},
      {Activation::erf, Activation::erf, TrainMode::both_layers, 1, 0.3, 0.0},
      {Activation::relu, Activation::relu, TrainMode::first_layer, 1, 0.1, 0.0},
      {Activation::relu, Activation::relu, TrainMode::both_layers, 1, 0.0, 0.2},
      {Activation::linear, Activation::linear, TrainMode::first_layer, 1, 0.2, 0.0},
      {Activation::linear, Activation::linear, TrainMode::both_layers, 1, 0.0, 0.0},
      {Activation::quad, Activation::quad, TrainMode::first_layer, 1, 0.0, 0.0},
      {Activation::quad, Activation::quad, TrainMode::both_layers, 1, 0.1, 0.1},
      {Activation::erf, Activation::sign, TrainMode::both_layers, 1, 0.0, 0.0},
      {Activation::erf, Activation::erf, TrainMode::first_layer, 3, 0.2, 0.5},
      {Activation::relu, Activation::erf, TrainMode::both_layers, 4, 0.1, 0.0},
  };
  for (const Case& c : cases) {
    RunSpec spec{0, 11, PointParams{}};
    PointParams& p = spec.params;
    p.N = 50;
    p.K = 3;
    p.M = 2;
    p.student_activation = c.student;
    p.teacher_activation = c.teacher;
    p.train = c.train;
    p.batch_size = c.batch;
    p.sigma = c.sigma;
    p.weight_decay = c.decay;
    p.weight_decay2 = c.decay / 2;
    p.lr = 0.7;
    p.lr2 = 0.4;
    p.student_v = 0.8;
    p.teacher_v_init = SecondLayerInit::gaussian;
    const std::string what = std::string(to_string(c.student)) + "/" + to_string(c.teacher) + " " +
                             to_string(c.train) + " B=" + std::to_string(c.batch);
    HandRun hand = hand_run(spec);
    auto engine = GetParam().make();
    engine->load({spec});
    std::vector<OrderParameters> op;
    for (int t = 0; t < 3; ++t) hand.step(t);
    engine->advance(1);
    engine->advance(2);  // the sample counter carries over between calls
    engine->order_parameters(op);
    expect_near(op[0], hand.order_parameters(), step_tolerance(GetParam()), what);
    // The step moved something: the test can fail.
    EXPECT_GT(std::abs(op[0].Q[0] - initial_order_parameters(spec).Q[0]), 1e-4) << what;
  }
}

TEST_P(EngineTest, FiniteTrainingSetMatchesHandComputation) {
  if (GetParam().needs_gpu) TSGD_SKIP_WITHOUT_GPU();
  // P = 3 samples, 7 steps: epochs 0, 1 and part of 2, with B = 2 an epoch ending
  // inside a step. The hand computation takes sample sample_index(seed, P, t B + b)
  // (math/permutation.h) with its input and label noise at (seed, i); the engine
  // must do the same, so the tolerances of ThreeStepsMatchHandComputation hold.
  // Beside it an online run of the same seed (one batch: the engines group by P too).
  for (int batch : {1, 2}) {
    RunSpec spec{0, 11, PointParams{}};
    PointParams& p = spec.params;
    p.N = 50;
    p.K = 3;
    p.M = 2;
    p.train = TrainMode::both_layers;
    p.batch_size = batch;
    p.sigma = 0.3;
    p.lr = 0.7;
    p.lr2 = 0.4;
    p.train_size = 3;
    RunSpec online = spec;
    online.point_id = 1;
    online.params.train_size = 0;
    HandRun hand = hand_run(spec), hand_online = hand_run(online);
    auto engine = GetParam().make();
    engine->load({spec, online});
    for (int t = 0; t < 7; ++t) {
      hand.step(t);
      hand_online.step(t);
    }
    engine->advance(3);
    engine->advance(4);
    std::vector<OrderParameters> op;
    engine->order_parameters(op);
    const std::string what = "B=" + std::to_string(batch);
    expect_near(op[0], hand.order_parameters(), step_tolerance(GetParam()), what + " P=3");
    expect_near(op[1], hand_online.order_parameters(), step_tolerance(GetParam()),
                what + " online");
    // The finite set's run differs from online learning: the test can fail.
    EXPECT_GT(std::abs(op[0].Q[0] - op[1].Q[0]), 1e-3) << what;
    // et over the first 2 of the 3 samples at the current weights, in double from the
    // engine's weights: float32 engines' weights are rounded (5e-5 above), which moves
    // an et of order 0.1 by ~1e-5.
    std::vector<double> et;
    engine->training_errors(2, et);
    ASSERT_EQ(et.size(), 2u);
    const double et_tolerance = GetParam().precision == Precision::float64 ? 1e-11 : 1e-4;
    EXPECT_NEAR(et[0], hand.training_error(2), et_tolerance) << what;
    EXPECT_TRUE(std::isnan(et[1])) << what << ": an online run has no training error";
    // Again from the inputs and labels the engine kept (TrainingErrorCache): the same
    // bits; then another subset, all 3 samples, against the hand computation.
    std::vector<double> again;
    engine->training_errors(2, again);
    EXPECT_EQ(std::memcmp(&again[0], &et[0], sizeof(double)), 0) << what;
    engine->training_errors(5, again);
    EXPECT_NEAR(again[0], hand.training_error(3), et_tolerance) << what;
  }
}

TEST_P(EngineTest, RunAloneEqualsRunInsideABatch) {
  if (GetParam().needs_gpu) TSGD_SKIP_WITHOUT_GPU();
  // Contract 1: a run's numbers do not depend on its batch (bitwise).
  RunSpec target{5, 42, PointParams{}};
  target.params.N = 64;
  target.params.K = 3;
  target.params.M = 2;
  target.params.lr = 0.5;
  target.params.sigma = 0.1;
  std::vector<RunSpec> batch;
  for (int i = 0; i < 40; ++i) {
    RunSpec r = target;
    r.point_id = i;
    r.seed = static_cast<std::uint64_t>(i % 7 == 3 ? 42 : 100 + i);  // some share the seed
    r.params.K = 1 + i % 4;
    r.params.M = 1 + i % 3;
    r.params.lr = 0.1 + 0.01 * i;
    batch.push_back(r);
  }
  batch.insert(batch.begin() + 17, target);
  // The emulated fused path takes ~5 ms per block-step: 30 steps.
  const int scale = GetParam().slow ? 10 : 1;
  auto alone = GetParam().make();
  alone->load({target});
  alone->advance(300 / scale);
  auto together = GetParam().make();
  together->load(batch);
  together->advance(100 / scale);
  together->advance(200 / scale);
  std::vector<OrderParameters> a, b;
  alone->order_parameters(a);
  together->order_parameters(b);
  EXPECT_TRUE(bitwise_equal(a[0], b[17]));
}

TEST_P(EngineTest, OrthonormalTeacherRunIsReproducibleAndIndependentOfItsBatch) {
  if (GetParam().needs_gpu) TSGD_SKIP_WITHOUT_GPU();
  // A run with an orthonormal teacher starts at T = I (the engine's precision:
  // float32 weights, 1e-6 relative) and gives bitwise the same numbers twice, and
  // beside a Gaussian-teacher run of the same seed (the two see the same inputs but
  // have different teachers: an engine that shared one seed's teacher rows across
  // them would mix them up).
  RunSpec orthonormal{0, 9, PointParams{}};
  orthonormal.params.N = 60;
  orthonormal.params.K = 3;
  orthonormal.params.M = 2;
  orthonormal.params.lr = 0.5;
  orthonormal.params.teacher_init = TeacherInit::orthonormal;
  RunSpec gaussian = orthonormal;
  gaussian.point_id = 1;
  gaussian.params.teacher_init = TeacherInit::gaussian;
  gaussian.params.M = 3;  // the larger M: its teacher rows would serve the pair
  const int steps = GetParam().slow ? 20 : 200;
  const auto run = [&](const std::vector<RunSpec>& batch, std::vector<OrderParameters>& start,
                       std::vector<OrderParameters>& end) {
    auto engine = GetParam().make();
    engine->load(batch);
    engine->order_parameters(start);
    engine->advance(steps);
    engine->order_parameters(end);
  };
  std::vector<OrderParameters> start, once, again, pair_start, pair, alone_start, alone;
  run({orthonormal}, start, once);
  run({orthonormal}, start, again);
  EXPECT_TRUE(bitwise_equal(once[0], again[0]));
  const double rounding = GetParam().precision == Precision::float64 ? 1e-13 : 2e-6;
  for (int n = 0; n < 2; ++n)
    for (int m = 0; m < 2; ++m)
      EXPECT_NEAR(start[0].t(n, m), n == m ? 1.0 : 0.0, rounding) << n << " " << m;
  // Four of each, interleaved: enough runs that the CPU engine (two threads) puts
  // several runs of the seed in one group.
  std::vector<RunSpec> mixed;
  for (int i = 0; i < 4; ++i) mixed.insert(mixed.end(), {gaussian, orthonormal});
  run(mixed, pair_start, pair);
  run({gaussian}, alone_start, alone);
  for (int i = 0; i < 4; ++i) {
    EXPECT_TRUE(bitwise_equal(pair[2 * i + 1], once[0])) << i;
    EXPECT_TRUE(bitwise_equal(pair[2 * i], alone[0])) << i;
  }
  EXPECT_FALSE(bitwise_equal(once[0], start[0]));  // the run moved
}

TEST_P(EngineTest, FrozenRunsDoNotMove) {
  if (GetParam().needs_gpu) TSGD_SKIP_WITHOUT_GPU();
  RunSpec spec{0, 1, PointParams{}};
  spec.params.N = 40;
  auto engine = GetParam().make();
  engine->load({spec, spec});
  engine->advance(10);
  std::vector<OrderParameters> before, after;
  engine->order_parameters(before);
  engine->freeze(0);
  engine->advance(10);
  engine->order_parameters(after);
  EXPECT_TRUE(bitwise_equal(before[0], after[0]));
  EXPECT_FALSE(bitwise_equal(before[1], after[1]));
}

INSTANTIATE_TEST_SUITE_P(Engines, EngineTest,
                         ::testing::ValuesIn(tsgd::testing::engine_factories()),
                         [](const auto& info) { return info.param.name; });
