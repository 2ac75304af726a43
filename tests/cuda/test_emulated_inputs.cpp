// Real inputs and labels from files (core/model.h: InputSet) on the CUDA
// engine's two paths, run by the SIMT emulator (emulated_cuda_engine.h): the
// fused kernel reads training row sample_index(seed, P, mu) instead of drawing
// it and the file label in the teacher's place, the cuBLAS path gathers the
// rows; both agree with the CPU reference engine as the Gaussian runs do
// (test_emulated_cuda.cpp's tolerances), and a run's bits do not depend on the
// Gaussian runs and other data sets beside it. On a GPU: test_cuda_inputs.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/model.h"
#include "engines/cpu_engine.h"
#include "tests/engines/emulated_cuda_engine.h"
#include "tests/support/engine_factories.h"
#include "tests/support/input_sets.h"
#include "tests/support/order_parameter_diff.h"

namespace tsgd {
namespace {

using testing::bitwise_equal;
using testing::emulated_weights;
using testing::EmulatedCudaOptions;
using testing::input_runs;
using testing::make_emulated_cuda_engine;
using testing::max_difference;
using testing::random_input_set;

std::vector<RunSpec> mixed_runs() {
  return input_runs(random_input_set(133, testing::kInputRows, 1, true),
                    random_input_set(133, testing::kInputRows, 2, false));
}

// 30 steps (4+ epochs of P = 7, mini-batches crossing epochs) on the CPU
// engine and the emulated path: within TOLERANCE (test_emulated_cuda.cpp's:
// the same samples, labels and noise in the same order, so the Gaussian
// finite-training-set runs' rounding argument holds), order parameters and
// training errors; every run moved well beyond it.
void expect_agreement(Precision precision, double tolerance, bool cublas) {
  const std::vector<RunSpec> runs = mixed_runs();
  auto cpu = make_cpu_engine(precision, 2);
  EmulatedCudaOptions options;
  options.cublas_path = cublas;
  auto gpu = make_emulated_cuda_engine(precision, options);
  cpu->load(runs);
  gpu->load(runs);
  std::vector<OrderParameters> start, a, b;
  cpu->order_parameters(start);
  cpu->advance(30);
  gpu->advance(12);
  gpu->advance(18);
  cpu->order_parameters(a);
  gpu->order_parameters(b);
  std::vector<double> et_cpu, et_gpu;
  cpu->training_errors(100, et_cpu);
  gpu->training_errors(100, et_gpu);
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t r = 0; r < runs.size(); ++r) {
    EXPECT_LT(max_difference(a[r], b[r]), tolerance) << "run " << r;
    EXPECT_GT(max_difference(a[r], start[r]), 10 * tolerance) << "run " << r;
    if (runs[r].params.train_size == 0) continue;  // online: NaN
    EXPECT_NEAR(et_cpu[r], et_gpu[r], tolerance) << "run " << r;
  }
}

TEST(EmulatedInputs, FusedKernelAgreesWithCpuEngine) {
  expect_agreement(Precision::float64, 1e-11, false);
  expect_agreement(Precision::float32, 2e-4, false);
}

TEST(EmulatedInputs, CublasPathAgreesWithCpuEngine) {
  expect_agreement(Precision::float64, 1e-11, true);
  expect_agreement(Precision::float32, 2e-4, true);
}

// Runs 0 (set A, labelled) and 2 (set B) alone, and in the mixed batch
// (beside each other, Gaussian runs and task mates on the fused path): the
// same weights bit for bit on the fused path, with and without kept inputs
// (the kernel then reads the rows again in its update phase). (The cuBLAS
// path is not bitwise batch invariant on a GPU, docs/gpu.md.)
TEST(EmulatedInputs, RunAloneEqualsRunInAMixedBatchBitwise) {
  const std::vector<RunSpec> mixed = mixed_runs();
  for (Precision precision : {Precision::float32, Precision::float64}) {
    for (bool keep_inputs : {true, false}) {
      EmulatedCudaOptions options;
      options.keep_inputs = keep_inputs;
      auto together = make_emulated_cuda_engine(precision, options);
      together->load(mixed);
      together->advance(17);
      for (std::size_t r : {std::size_t{0}, std::size_t{2}}) {
        auto alone = make_emulated_cuda_engine(precision, options);
        alone->load({mixed[r]});
        alone->advance(17);
        EXPECT_TRUE(bitwise_equal(emulated_weights(*alone, 0), emulated_weights(*together, r)))
            << "run " << r << ", keep_inputs " << keep_inputs;
      }
    }
  }
}

TEST(EmulatedInputs, BatchesWhoseRowsDoNotFitAreRefused) {
  std::vector<RunSpec> runs = mixed_runs();
  runs[0].params.train_size = testing::kInputRows + 1;  // past the training rows
  auto engine = make_emulated_cuda_engine(Precision::float32);
  EXPECT_THROW(engine->load(runs), std::invalid_argument);
}

}  // namespace
}  // namespace tsgd
