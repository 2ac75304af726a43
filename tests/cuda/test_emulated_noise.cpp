// The fused kernel's label noise on the SIMT emulator, against the CPU engine:
// drawn in the same pass as the inputs by the block's last thread where that
// thread is past N (N = 133: 34 Philox groups in 64 threads), and drawn apart
// by the last threads where every thread owns coordinates (N = 128: 32 groups,
// one warp; N = 256: 64 groups, two warps). With B = 1 and tasks of 16 rows
// (float) or 8 (double) in blocks of several warps (N = 133, 256) the kernel
// draws the next sample, and its noise, during phase B (fused_kernel.cuh,
// th.overlap), and the last warp draws warp 0's; with B = 3, or one warp, it
// draws them in phase A. Each task mixes runs with and without noise, and
// launches of 1 and 3 steps (a run resumed mid-way, its next sample and noise
// drawn afresh) give the same bits as one launch.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/model.h"
#include "engines/cpu_engine.h"
#include "tests/engines/emulated_cuda_engine.h"
#include "tests/support/engine_factories.h"
#include "tests/support/order_parameter_diff.h"

namespace tsgd {
namespace {

using testing::make_emulated_cuda_engine;
using testing::max_difference;

// Three grid points of one seed (K = M = 4 in float: one task of 16 rows;
// in double, K = 2, M = 4: a task of 8 rows with the first two, one of 6 with
// the third), the middle one without noise, and a run of another seed alone.
std::vector<RunSpec> noisy_runs(int n, int batch, Precision precision) {
  const int k = precision == Precision::float32 ? 4 : 2;
  std::vector<RunSpec> runs;
  for (int i = 0; i < 4; ++i) {
    RunSpec r;
    r.point_id = i;
    r.seed = i < 3 ? 900 : 901;
    r.params.N = n;
    r.params.K = k;
    r.params.M = 4;
    r.params.batch_size = batch;
    r.params.lr = 0.3 + 0.1 * i;
    r.params.sigma = i == 1 ? 0.0 : 0.5;
    runs.push_back(r);
  }
  return runs;
}

TEST(EmulatedCuda, LabelNoiseWithTheInputsOrApartAgreesWithCpuEngine) {
  struct Case {
    Precision precision;
    double tolerance;  // as Float32/Float64FusedKernelAgreesWithCpuEngine
  };
  for (const Case c : {Case{Precision::float32, 2e-4}, Case{Precision::float64, 1e-11}})
    for (int n : {133, 128, 256})
      for (int batch : {1, 3}) {
        const std::string where =
            std::string(c.precision == Precision::float32 ? "float" : "double") +
            " N = " + std::to_string(n) + " B = " + std::to_string(batch);
        const std::vector<RunSpec> runs = noisy_runs(n, batch, c.precision);
        auto cpu = make_cpu_engine(c.precision, 1);
        auto gpu = make_emulated_cuda_engine(c.precision);
        cpu->load(runs);
        gpu->load(runs);
        // The same runs without noise: how far the noise moves them, so
        // that a kernel that lost or misplaced it cannot pass.
        std::vector<RunSpec> quiet = runs;
        for (RunSpec& r : quiet) r.params.sigma = 0.0;
        auto cpu_quiet = make_cpu_engine(c.precision, 1);
        cpu_quiet->load(quiet);
        cpu->advance(30);
        gpu->advance(30);
        cpu_quiet->advance(30);
        std::vector<OrderParameters> a, b, q;
        cpu->order_parameters(a);
        gpu->order_parameters(b);
        cpu_quiet->order_parameters(q);
        for (std::size_t r = 0; r < runs.size(); ++r) {
          EXPECT_LT(max_difference(a[r], b[r]), c.tolerance) << where << " run " << r;
          if (runs[r].params.sigma != 0.0) {
            EXPECT_GT(max_difference(a[r], q[r]), 10 * c.tolerance) << where << " run " << r;
          }
        }
      }
}

TEST(EmulatedCuda, LabelNoiseSurvivesLaunchSplitsBitwise) {
  // 30 steps in one launch, or in launches of 1 and 3 steps (each launch
  // draws its first sample, and its noise, before the step loop).
  for (Precision precision : {Precision::float32, Precision::float64})
    for (int n : {133, 256})
      for (int batch : {1, 3}) {
        const std::vector<RunSpec> runs = noisy_runs(n, batch, precision);
        std::vector<OrderParameters> results[3];
        const std::int64_t per_launch[3] = {0, 1, 3};  // 0: the engine's own (all 30)
        for (int i = 0; i < 3; ++i) {
          testing::EmulatedCudaOptions options;
          options.fused_steps_per_launch = per_launch[i];
          auto gpu = make_emulated_cuda_engine(precision, options);
          gpu->load(runs);
          gpu->advance(30);
          gpu->order_parameters(results[i]);
        }
        for (int i = 1; i < 3; ++i)
          for (std::size_t r = 0; r < runs.size(); ++r)
            EXPECT_TRUE(testing::bitwise_equal(results[0][r], results[i][r]))
                << "N = " << n << " B = " << batch << " launches of " << per_launch[i]
                << " steps, run " << r;
      }
}

}  // namespace
}  // namespace tsgd
