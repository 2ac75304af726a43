// Finite training sets (data.train_size, math/permutation.h) on the CPU reference
// engine, statistically over 32 seeds: P much larger than the steps is online
// learning; one epoch over P = steps samples is online learning in another order;
// a small P over-fits (the training error falls below the label noise's sigma^2/2
// while eps_g stays above online learning's). The bitwise and hand-computed checks
// of every engine are in test_engine.cpp (FiniteTrainingSetMatchesHandComputation)
// and tests/math/test_permutation.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "core/engine.h"
#include "engines/cpu_engine.h"
#include "theory/generalisation_error.h"

namespace tsgd {
namespace {

constexpr int kSeeds = 32;

struct Final {
  std::vector<double> eg, et;  // per seed
};

// Every seed's final eps_g (closed form) and training error for a point of
// N = 100, K = M = 2 erf, first layer, lr 0.5, sigma, after STEPS steps on P
// samples (0: online). Runs of one seed share teacher and initial student.
Final train(std::uint64_t train_size, std::int64_t steps, double sigma) {
  std::vector<RunSpec> runs;
  for (int s = 0; s < kSeeds; ++s) {
    RunSpec r;
    r.point_id = 0;
    r.seed = 1000 + static_cast<std::uint64_t>(s);
    r.params.N = 100;
    r.params.K = 2;
    r.params.M = 2;
    r.params.lr = 0.5;
    r.params.lr2 = 0.5;
    r.params.sigma = sigma;
    r.params.train_size = train_size;
    runs.push_back(r);
  }
  auto engine = make_cpu_engine(Precision::float64, 2);
  engine->load(runs);
  engine->advance(steps);
  std::vector<OrderParameters> op;
  engine->order_parameters(op);
  Final out;
  for (const OrderParameters& o : op)
    out.eg.push_back(generalisation_error(o, Activation::erf, Activation::erf));
  engine->training_errors(10000, out.et);
  return out;
}

// Mean and standard error of a - b over the seeds (paired: same teacher and start).
void paired(const std::vector<double>& a, const std::vector<double>& b, double& mean, double& sem) {
  const double n = static_cast<double>(a.size());
  mean = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) mean += (a[i] - b[i]) / n;
  double var = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i)
    var += (a[i] - b[i] - mean) * (a[i] - b[i] - mean) / (n - 1);
  sem = std::sqrt(var / n);
}

double mean_of(const std::vector<double>& x) {
  double m = 0.0;
  for (double v : x) m += v / static_cast<double>(x.size());
  return m;
}

// The two finite cases below see every sample once, in an order and from
// indices other than online learning's: the same distribution of trajectories.
// Tolerance: the paired mean difference within 4 standard errors (a false alarm
// with probability 6e-5 were the seeds drawn afresh; they are fixed, so the test
// is deterministic). It can fail: the differences are not zero (checked).
void expect_statistically_online(std::uint64_t train_size, std::int64_t steps) {
  const Final online = train(0, steps, 0.1), finite = train(train_size, steps, 0.1);
  double mean = 0.0, sem = 0.0;
  paired(finite.eg, online.eg, mean, sem);
  std::printf("P = %llu: eps_g %.5f, online %.5f, paired difference %.5f +- %.5f\n",
              static_cast<unsigned long long>(train_size), mean_of(finite.eg), mean_of(online.eg),
              mean, sem);
  EXPECT_GT(sem, 0.0) << "the runs differ from online learning";
  EXPECT_LT(std::abs(mean), 4.0 * sem)
      << "P = " << train_size << ": eps_g " << mean_of(finite.eg) << " vs online "
      << mean_of(online.eg) << " (difference " << mean << " +- " << sem << ")";
}

TEST(TrainingSet, ManyMoreSamplesThanStepsIsOnlineLearning) {
  // 1000 steps (alpha = 10) from 10^9 samples: each drawn at most once.
  expect_statistically_online(1000000000ull, 1000);
}

TEST(TrainingSet, OneEpochIsOnlineLearningInAnotherOrder) {
  // 1000 steps on P = 1000: every sample exactly once, permuted.
  expect_statistically_online(1000, 1000);
}

TEST(TrainingSet, SmallTrainingSetOverfits) {
  // P = N / 2 = 50 samples, 4000 steps (80 epochs) at sigma = 0.5: the student
  // (200 weights) fits the noisy labels, et falling below sigma^2/2 = 0.125 (the
  // training error of the teacher itself), while eps_g stays above online learning's
  // at the same alpha = 40 (4 paired standard errors).
  const double sigma = 0.5;
  const Final online = train(0, 4000, sigma), finite = train(50, 4000, sigma);
  const double et = mean_of(finite.et);
  EXPECT_LT(et, 0.5 * sigma * sigma) << "et";
  double mean = 0.0, sem = 0.0;
  paired(finite.eg, online.eg, mean, sem);
  std::printf("P = 50: et %.5f (sigma^2/2 = %.3f), eps_g %.5f, online %.5f (+- %.5f)\n", et,
              0.5 * sigma * sigma, mean_of(finite.eg), mean_of(online.eg), sem);
  EXPECT_GT(mean, 4.0 * sem) << "eps_g " << mean_of(finite.eg) << " vs online "
                             << mean_of(online.eg);
  // An online run has no training error.
  for (double x : online.et) EXPECT_TRUE(std::isnan(x));
}

}  // namespace
}  // namespace tsgd
