// Real inputs and labels from files on the CUDA engine (a GPU): both paths
// agree with the CPU engine (test_cuda_engine.cpp's tolerances), a run's bits
// do not depend on the batch beside it, and an input set is uploaded once per
// engine, not again when the next batch loads it too (cuda/device_inputs.cuh).
// The same kernels without a GPU: test_emulated_inputs.cpp. Skips without a
// usable GPU (fails with TSGD_REQUIRE_GPU=1).
#ifdef TSGD_HAVE_CUDA

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "cuda/cuda_engine.h"
#include "engines/cpu_engine.h"
#include "tests/support/cuda_test_engine.h"
#include "tests/support/engine_factories.h"
#include "tests/support/gpu.h"
#include "tests/support/input_sets.h"
#include "tests/support/order_parameter_diff.h"

namespace tsgd {
namespace {

using testing::as_cuda;
using testing::bitwise_equal;
using testing::cuda_engine;
using testing::input_runs;
using testing::max_difference;
using testing::random_input_set;

const std::shared_ptr<const InputSet> kSetA = random_input_set(133, testing::kInputRows, 1, true);
const std::shared_ptr<const InputSet> kSetB = random_input_set(133, testing::kInputRows, 2, false);

TEST(CudaInputs, BothPathsAgreeWithCpuEngine) {
  TSGD_SKIP_WITHOUT_GPU();
  const std::vector<RunSpec> runs = input_runs(kSetA, kSetB);
  // test_cuda_engine.cpp's budgets (1000 steps there, 300 here).
  for (auto [precision, tolerance] :
       {std::pair{Precision::float32, 1e-3}, std::pair{Precision::float64, 1e-9}}) {
    auto cpu = make_cpu_engine(precision, 2);
    std::vector<OrderParameters> start;
    cpu->load(runs);
    cpu->order_parameters(start);
    const std::vector<OrderParameters> expected = testing::run_engine(*cpu, runs, 300);
    std::vector<double> et_cpu, et_gpu;
    cpu->training_errors(100, et_cpu);
    for (CudaPath path : {CudaPath::fused, CudaPath::cublas}) {
      auto gpu = cuda_engine(precision, path);
      const std::vector<OrderParameters> got = testing::run_engine(*gpu, runs, 300);
      // The training error from the GPU's weights, on the same rows and labels
      // (core/training_error through the engine's specs).
      gpu->training_errors(100, et_gpu);
      for (std::size_t r = 0; r < runs.size(); ++r) {
        EXPECT_LT(max_difference(got[r], expected[r]), tolerance) << "run " << r;
        EXPECT_GT(max_difference(expected[r], start[r]), 10 * tolerance) << "run " << r;
        if (runs[r].params.train_size > 0) {
          EXPECT_NEAR(et_gpu[r], et_cpu[r], tolerance) << r;
        }
      }
    }
  }
}

TEST(CudaInputs, RunAloneEqualsRunInAMixedBatchBitwise) {
  TSGD_SKIP_WITHOUT_GPU();
  const std::vector<RunSpec> mixed = input_runs(kSetA, kSetB);
  for (Precision precision : {Precision::float32, Precision::float64}) {
    // The fused path (the cuBLAS path is not bitwise batch invariant:
    // cuBLAS chooses its kernels from the batch's shape, docs/gpu.md).
    auto together = cuda_engine(precision, CudaPath::fused);
    testing::run_engine(*together, mixed, 100);
    for (std::size_t r : {std::size_t{0}, std::size_t{2}}) {
      auto alone = cuda_engine(precision, CudaPath::fused);
      testing::run_engine(*alone, {mixed[r]}, 100);
      EXPECT_TRUE(bitwise_equal(as_cuda(*alone).weights(0), as_cuda(*together).weights(r)))
          << "run " << r;
    }
  }
}

TEST(CudaInputs, ASetIsUploadedOncePerEngine) {
  TSGD_SKIP_WITHOUT_GPU();
  const std::vector<RunSpec> runs = input_runs(kSetA, kSetB);
  auto engine = cuda_engine(Precision::float32, CudaPath::automatic);
  CudaEngine& cuda = as_cuda(*engine);
  engine->load({runs[0], runs[1]});  // set A
  EXPECT_EQ(cuda.input_uploads(), 1u);
  engine->load({runs[1], runs[5]});  // set A again: kept
  EXPECT_EQ(cuda.input_uploads(), 1u);
  engine->load(runs);  // A kept, B new
  EXPECT_EQ(cuda.input_uploads(), 2u);
  engine->load({runs[2], runs[3]});  // B kept, A released
  EXPECT_EQ(cuda.input_uploads(), 2u);
  engine->load({runs[0]});  // A again, uploaded anew
  EXPECT_EQ(cuda.input_uploads(), 3u);
  // And the batch still trains on it: as a fresh engine does, bit for bit.
  engine->advance(20);
  auto fresh = cuda_engine(Precision::float32, CudaPath::automatic);
  testing::run_engine(*fresh, {runs[0]}, 20);
  EXPECT_TRUE(bitwise_equal(cuda.weights(0), as_cuda(*fresh).weights(0)));
}

}  // namespace
}  // namespace tsgd

#endif  // TSGD_HAVE_CUDA
