// CudaSanitize.*: the small, quick suite that scripts/gpu_check.sh runs under
// compute-sanitizer (memcheck, racecheck, synccheck, initcheck): every kernel,
// both paths, both precisions, an N that is not a multiple of 4, inputs that do
// not fit in shared memory, the initial weights on the device. Skips without a
// usable GPU (fails with TSGD_REQUIRE_GPU=1).
#ifdef TSGD_HAVE_CUDA

#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/initial_weights.h"
#include "cuda/cuda_engine.h"
#include "cuda/fused_plan.h"
#include "tests/support/cuda_test_engine.h"
#include "tests/support/engine_factories.h"
#include "tests/support/gpu.h"

namespace tsgd {

using testing::as_cuda;
using testing::bitwise_equal;
using testing::cuda_engine;
using testing::make_spec;
using testing::run_engine;

TEST(CudaSanitize, EveryKernelOnASmallBatch) {
  TSGD_SKIP_WITHOUT_GPU();
  // N = 133: 34 groups of 4 coordinates, so two warps per fused block (the
  // cross-warp sums), the second one partly idle, and a last group past N.
  constexpr int kN = 133;
  std::vector<RunSpec> runs;
  for (int i = 0; i < 6; ++i) {
    RunSpec r = make_spec(i, 3 + i / 3, kN, 1 + i % 3, 1 + i % 2);
    r.params.batch_size = i % 2 == 0 ? 1 : 3;
    r.params.train = i % 3 == 0 ? TrainMode::both_layers : TrainMode::first_layer;
    r.params.weight_decay = i == 4 ? 0.1 : 0.0;
    r.params.sigma = 0.1;
    runs.push_back(r);
  }
  // Three grid points of one seed and teacher, K = 3, M = 2: one task of 11
  // rows (the teacher held once) in the float 16-row kernel, alone in its
  // launch with B = 1, so that it draws the next sample during phase B
  // (fused_overlaps_draws), and with it the label noise of two of them (the
  // block's last thread keeps it across the barriers); in double a task of 8
  // rows and one of 5.
  for (int i = 0; i < 3; ++i) {
    RunSpec r = make_spec(6 + i, 77, kN, 3, 2);
    r.params.lr = 0.1 * (i + 1);
    r.params.train = i == 1 ? TrainMode::both_layers : TrainMode::first_layer;
    r.params.sigma = i == 1 ? 0.0 : 0.05;
    runs.push_back(r);
  }
  for (Precision precision : {Precision::float32, Precision::float64}) {
    for (CudaPath path : {CudaPath::fused, CudaPath::cublas}) {
      auto engine = cuda_engine(precision, path);
      engine->load(runs);
      engine->advance(5);
      engine->freeze(2);
      engine->advance(40);  // cuBLAS path: 1 step outside capture, a 32-step graph, 7 direct
      std::vector<OrderParameters> out;
      engine->order_parameters(out);
      ASSERT_EQ(out.size(), runs.size());
      for (const OrderParameters& op : out) EXPECT_TRUE(op.finite());
      const InitialWeights w = as_cuda(*engine).weights(5);
      EXPECT_EQ(w.w.size(), static_cast<std::size_t>(runs[5].params.K) * kN);
      engine->load({});
      engine->advance(3);
      engine->order_parameters(out);
      EXPECT_TRUE(out.empty());
    }
  }
}

TEST(CudaSanitize, FusedKernelWhereMiniBatchInputsDoNotFitInSharedMemory) {
  TSGD_SKIP_WITHOUT_GPU();
  // Double, N = 784, B = 8: 57 KB of inputs, over the 48 KB a block may use,
  // so the kernel draws them twice (its smaller shared memory under memcheck).
  ASSERT_FALSE((fused_launch_shape<double, 4>(784, 8, true).keep_inputs));
  std::vector<RunSpec> runs;
  for (int i = 0; i < 3; ++i) {
    RunSpec r = make_spec(i, 5, 784, 2, 1 + i % 2);
    r.params.batch_size = 8;
    r.params.train = i == 1 ? TrainMode::both_layers : TrainMode::first_layer;
    runs.push_back(r);
  }
  auto engine = cuda_engine(Precision::float64, CudaPath::fused);
  for (const OrderParameters& op : run_engine(*engine, runs, 6)) EXPECT_TRUE(op.finite());
}

TEST(CudaSanitize, InitialWeightsArriveUnchanged) {
  TSGD_SKIP_WITHOUT_GPU();
  // The device layout holds exactly the host's initial weights (in float32,
  // rounded once).
  std::vector<RunSpec> runs = {make_spec(0, 5, 37, 3, 2), make_spec(1, 6, 37, 1, 4)};
  runs[1].params.train = TrainMode::both_layers;
  runs[1].params.init = InitKind::small;
  auto engine = cuda_engine(Precision::float32, CudaPath::automatic);
  engine->load(runs);
  for (std::size_t r = 0; r < runs.size(); ++r) {
    InitialWeights expected = initial_weights(runs[r]);
    for (auto* values : {&expected.w, &expected.wstar, &expected.v, &expected.vstar})
      for (double& x : *values) x = static_cast<float>(x);
    EXPECT_TRUE(bitwise_equal(as_cuda(*engine).weights(r), expected)) << "run " + std::to_string(r);
  }
}

}  // namespace tsgd

#endif  // TSGD_HAVE_CUDA
