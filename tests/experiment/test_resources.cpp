// What an experiment needs (experiment/resources.h): the CPU time and result
// bytes of a shard, the check against this machine, and the waves of runs on
// the GPUs (batch capacity, device bytes per run, waves per record class).
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "cuda/cuda_engine.h"
#include "engines/split_engine.h"
#include "experiment/calibration.h"
#include "experiment/config.h"
#include "experiment/resources.h"

using namespace tsgd;
using nlohmann::json;

TEST(Resources, AShardIsCheckedForItsOwnShare) {
  // Ten runs of about 10 CPU-days each (the estimate of estimate_resources):
  // too long on one thread as a whole (30-day limit), fine as one run per
  // shard, which is what the refusal advises.
  const Experiment e = parse_experiment(json{{"name", "big"},
                                             {"model", {{"N", 10000}, {"K", 8}, {"M", 8}}},
                                             {"training", {{"alpha", 1e6}}},
                                             {"seeds", {{"count", 10}}},
                                             {"ode", {{"enabled", false}}}});
  const double whole = estimate_resources(e, 1).cpu_seconds;
  ASSERT_GT(whole, 60 * 86400.0);
  ASSERT_LT(whole, 300 * 86400.0);
  EXPECT_NEAR(estimate_resources(e, 1, 3, 10).cpu_seconds, whole / 10, 1e-9 * whole);
  try {
    check_resources(e, 1, {});
    ADD_FAILURE() << "the whole sweep was accepted";
  } catch (const std::runtime_error& err) {
    EXPECT_NE(std::string(err.what()).find("tsgd slurm"), std::string::npos) << err.what();
  }
  EXPECT_NO_THROW(check_resources(e, 1, {}, 0, 10));
  try {
    check_resources(e, 1, {}, 1, 2);
    ADD_FAILURE() << "five runs per shard were accepted";
  } catch (const std::runtime_error& err) {
    EXPECT_NE(std::string(err.what()).find("shard 1/2"), std::string::npos) << err.what();
  }
  // Records held at once: one batch and one grid point's, not the experiment's
  // (the result files are written point by point): four points of one shape
  // need what one needs, more seeds per point more.
  auto records = [](json lr, int seeds) {
    return parse_experiment(json{{"name", "records"},
                                 {"model", {{"N", 100}, {"K", 4}}},
                                 {"training", {{"alpha", 10}, {"lr", lr}}},
                                 {"seeds", {{"count", seeds}}},
                                 {"record", {{"points", 50}, {"order_parameters", true}}},
                                 {"ode", {{"enabled", false}}}});
  };
  const double one = estimate_resources(records(0.1, 6), 1).results_bytes;
  EXPECT_EQ(estimate_resources(records({0.1, 0.2, 0.3, 0.4}, 6), 1).results_bytes, one);
  EXPECT_GT(estimate_resources(records(0.1, 600), 1).results_bytes, one);
}

TEST(Resources, RunTimesOnATasksCpusOrGpus) {
  // Three K, two seeds: per run, the CPU time of estimate_resources (the sums
  // agree to the rounding of 6 additions, 1e-12 relative), divided by the threads.
  const Experiment e = parse_experiment(json{{"name", "times"},
                                             {"model", {{"N", 784}, {"K", {1, 2, 4}}, {"M", 4}}},
                                             {"training", {{"alpha", 1000}}},
                                             {"seeds", {{"count", 2}}}});
  const std::vector<double> one = estimate_run_seconds(e, 0, 1);
  const std::vector<double> four = estimate_run_seconds(e, 0, 4);
  ASSERT_EQ(one.size(), 6u);
  double sum = 0;
  for (std::size_t i = 0; i < one.size(); ++i) {
    sum += one[i];
    EXPECT_NEAR(four[i], one[i] / 4, 1e-12 * one[i]);
  }
  EXPECT_NEAR(sum, estimate_resources(e, 1).cpu_seconds, 1e-12 * sum);
  // One GPU at its target speed at the target's shape (erf, N = 784, K = M = 4,
  // B = 1): alpha * N run-steps at kGpuTargetRunStepsPerSecond (runs 4 and 5 are
  // K = 4); two GPUs halve it.
  const std::vector<double> gpu = estimate_run_seconds(e, 1, 1);
  EXPECT_NEAR(gpu[4], 1000 * 784 / kGpuTargetRunStepsPerSecond, 1e-12 * gpu[4]);
  EXPECT_NEAR(estimate_run_seconds(e, 2, 1)[4], gpu[4] / 2, 1e-12 * gpu[4]);
  // The largest of 6 shards (one run each): a K = 4 run, the longest.
  const ShardTime largest = estimate_largest_shard(e, 6, 0, 1);
  EXPECT_EQ(largest.runs, 1);
  EXPECT_NEAR(largest.seconds, one[4], 1e-12 * one[4]);
  EXPECT_EQ(estimate_largest_shard(e, 1, 0, 1).runs, 6);
  // Without simulation nothing is counted.
  const Experiment ode_only = parse_experiment(json{{"name", "ode"},
                                                    {"model", {{"N", 784}}},
                                                    {"training", {{"alpha", 1000}}},
                                                    {"simulate", {{"enabled", false}}}});
  EXPECT_EQ(estimate_largest_shard(ode_only, 1, 0, 1).seconds, 0.0);
  EXPECT_EQ(estimate_largest_shard(ode_only, 1, 0, 1).runs, 0);
}

TEST(GpuWaves, BatchCapacityFollowsTheSmallestGpuAndTheHost) {
  const double gb = 1e9;
  // 1 MB per run, 10 GB free: 80% -> 8000 runs per GPU; two GPUs, the smaller bounds both.
  EXPECT_EQ(gpu_batch_capacity(1e6, {10 * gb}, 1000 * gb), 8000u);
  // Two GPUs: each sized for a slice of up to kSplitMaxShare (1.25) times its
  // even share: 8000 / 1.25 = 6400 runs each.
  EXPECT_EQ(gpu_batch_capacity(1e6, {10 * gb, 20 * gb}, 1000 * gb), 12800u);
  // Tiny runs: at most kGpuRunsPerDevice per GPU.
  EXPECT_EQ(gpu_batch_capacity(1e3, {100 * gb}, 1000 * gb),
            static_cast<std::size_t>(kGpuRunsPerDevice));
  EXPECT_EQ(gpu_batch_capacity(1e3, {100 * gb, 100 * gb}, 1000 * gb),
            static_cast<std::size_t>(2 * std::floor(kGpuRunsPerDevice / kSplitMaxShare)));
  // One run per GPU at most: still one each.
  EXPECT_EQ(gpu_batch_capacity(7 * gb, {10 * gb, 10 * gb}, 1000 * gb), 2u);
  // The host builds a wave's weights: a quarter of 8 GB holds 2000 runs of 1 MB.
  EXPECT_EQ(gpu_batch_capacity(1e6, {100 * gb}, 8 * gb), 2000u);
  // One run larger than 80% of the free memory: refused, naming the key.
  try {
    gpu_batch_capacity(9 * gb, {10 * gb}, 1000 * gb);
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("model.N"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("GPU memory"), std::string::npos) << e.what();
  }
}

TEST(GpuWaves, BytesPerRunCountTheDeviceLayout) {
  // N = 784, K = M = 4, float32, B = 1: 8 rows of weights (25088 B), v, the
  // per-sample buffers (x, fields, coef, dv: 784 + 8 + 4 + 4 floats), the
  // double Gram matrix (512 B), the parameters (256 B at most).
  const double bytes = cuda_bytes_per_run(784, 4, 4, 1, Precision::float32);
  EXPECT_DOUBLE_EQ(bytes, 4.0 * (8 * 784 + 8 + 800) + 8.0 * 64 + 256);
  // Doubles take twice the reals; a mini-batch multiplies the sample buffers.
  EXPECT_GT(cuda_bytes_per_run(784, 4, 4, 1, Precision::float64), 1.9 * bytes);
  EXPECT_NEAR(cuda_bytes_per_run(784, 4, 4, 64, Precision::float32) - bytes, 4.0 * 63 * 800, 1e-9);
}

TEST(GpuWaves, PlanCountsWavesPerRecordClass) {
  Experiment e;
  e.seeds.count = 1000;
  PointParams p;
  p.N = 1000;
  p.K = 4;
  p.M = 4;
  p.alpha = 10;
  e.points = {p, p};  // one class of 2000 runs
  p.alpha = 20;
  e.points.push_back(p);  // a second class of 1000 runs
  const double run_bytes = cuda_bytes_per_run(1000, 4, 4, 1, Precision::float32);
  // Free memory for exactly 600 runs per GPU (at 80%).
  const double free_bytes = 600 * run_bytes / kGpuMemoryShare + 1;
  const GpuWaves one = plan_gpu_waves(e, {free_bytes}, Precision::float32);
  EXPECT_DOUBLE_EQ(one.run_bytes, run_bytes);
  EXPECT_EQ(one.largest_wave, 600u);
  EXPECT_EQ(one.waves, 4u + 2u);  // ceil(2000 / 600) + ceil(1000 / 600)
  const GpuWaves two = plan_gpu_waves(e, {free_bytes, free_bytes}, Precision::float32);
  // Two GPUs: 600 / 1.25 = 480 runs each (kSplitMaxShare), 960 per wave.
  EXPECT_EQ(two.largest_wave, 960u);
  EXPECT_EQ(two.waves, 3u + 2u);  // ceil(2000 / 960) + ceil(1000 / 960)
  const GpuWaves none = plan_gpu_waves(e, {}, Precision::float32);
  EXPECT_EQ(none.waves, 0u);
  EXPECT_DOUBLE_EQ(none.run_bytes, run_bytes);
}

TEST(Resources, TheCalibrationScalesTheCpuRuleOfItsShapesOnly) {
  // Two record classes (N = 100 and 200): the measured factor of one shape scales
  // its runs' estimate, the other shapes take the default factor; the GPU estimate
  // keeps the uncalibrated rule its target is stated in. Exact arithmetic on the
  // rule's values: 1e-12 relative for the sums' rounding.
  const Experiment e = parse_experiment(json{{"name", "calibrated"},
                                             {"model", {{"N", {100, 200}}, {"K", 2}, {"M", 2}}},
                                             {"training", {{"alpha", 10}}},
                                             {"seeds", {{"count", 3}}},
                                             {"ode", {{"enabled", false}}}});
  const std::vector<double> rule = estimate_run_seconds(e, 0, 1);
  const std::vector<double> gpu = estimate_run_seconds(e, 1, 1);
  set_cpu_calibration({{cpu_shape_key(e.points[0]), 0.5}}, 2.0);
  const std::vector<double> calibrated = estimate_run_seconds(e, 0, 1);
  const std::vector<double> gpu_after = estimate_run_seconds(e, 1, 1);
  set_cpu_calibration({}, 1.0);  // the process-wide default again, for the other tests
  ASSERT_EQ(calibrated.size(), rule.size());
  for (std::size_t i = 0; i < rule.size(); ++i) {
    const double factor = i < 3 ? 0.5 : 2.0;  // plan_runs: point 0's three seeds first
    EXPECT_NEAR(calibrated[i], factor * rule[i], 1e-12 * rule[i]) << i;
    EXPECT_EQ(gpu_after[i], gpu[i]) << i;
  }
}

TEST(Resources, TheProbeMeasuresEveryRecordClassItIsGiven) {
  // calibrate_cpu_rule runs the CPU engine briefly: a positive factor for each of
  // the two classes (no assertion on its value: that is timing, checked by
  // scripts/check_estimates.py), and nothing at all with simulation off.
  json config = {{"name", "probe"},
                 {"model", {{"N", {100, 200}}, {"K", 2}, {"M", 2}}},
                 {"training", {{"alpha", 10}}},
                 {"seeds", {{"count", 3}}},
                 {"ode", {{"enabled", false}}}};
  const CpuCalibrationReport report = calibrate_cpu_rule(parse_experiment(config), 4, 0.005);
  set_cpu_calibration({}, 1.0);
  EXPECT_EQ(report.shapes, 2);
  EXPECT_EQ(report.shapes_total, 2);
  EXPECT_GT(report.median_factor, 0.0);
  config["simulate"] = {{"enabled", false}};
  config["ode"] = {{"enabled", true}};
  EXPECT_EQ(calibrate_cpu_rule(parse_experiment(config)).shapes, 0);
}

TEST(Resources, RealInputsCountTheirRowsAndLabelsOnce) {
  // 50 training rows and 7 test rows of N = 12 with labels, shared by both grid
  // points: 4 bytes a value, counted once (the set is held once, not per point).
  Experiment e = parse_experiment(json{{"name", "data"},
                                       {"model", {{"N", 12}, {"K", {1, 2}}, {"M", 1}}},
                                       {"training", {{"alpha", 2}}},
                                       {"ode", {{"enabled", false}}}});
  EXPECT_EQ(estimate_resources(e, 1).data_bytes, 0.0);  // Gaussian inputs
  auto set = std::make_shared<InputSet>();
  set->N = 12;
  set->train_count = 50;
  set->test_count = 7;
  set->train.assign(50 * 12, 0.5f);
  set->test.assign(7 * 12, 0.5f);
  set->train_labels.assign(50, 1.0f);
  set->test_labels.assign(7, -1.0f);
  for (PointParams& p : e.points) {
    p.inputs = set;
    p.train_size = 50;
  }
  EXPECT_EQ(estimate_resources(e, 1).data_bytes, 4.0 * (57 * 12 + 57));
}

TEST(GpuWaves, RealInputsComeOutOfTheGpusFreeMemoryFirst) {
  // 100,000 training rows of N = 12 with labels on the device (4.8 MB) beside
  // 0.8 MB for runs: a wave holds the runs that fit the 0.8 MB, not the 5.6 MB.
  Experiment e = parse_experiment(json{{"name", "data"},
                                       {"model", {{"N", 12}, {"K", 2}, {"M", 1}}},
                                       {"training", {{"alpha", 2}}},
                                       {"seeds", {{"count", 100000}}},
                                       {"ode", {{"enabled", false}}}});
  auto set = std::make_shared<InputSet>();
  set->N = 12;
  set->train_count = 100000;
  set->train.assign(100000 * 12, 0.5f);
  set->train_labels.assign(100000, 1.0f);
  const double data = 4.0 * (100000 * 12 + 100000);
  const double run = cuda_bytes_per_run(12, 2, 1, 1, Precision::float32);
  const std::vector<double> free_bytes = {data + 0.8e6};
  const std::size_t without = plan_gpu_waves(e, free_bytes, Precision::float32).largest_wave;
  EXPECT_EQ(without, gpu_batch_capacity(run, free_bytes, host_memory_bytes()));
  for (PointParams& p : e.points) {
    p.inputs = set;
    p.train_size = 100000;
  }
  const std::size_t with = plan_gpu_waves(e, free_bytes, Precision::float32).largest_wave;
  EXPECT_EQ(with, gpu_batch_capacity(run, {0.8e6}, host_memory_bytes()));
  EXPECT_LT(with, without / 5);
}
