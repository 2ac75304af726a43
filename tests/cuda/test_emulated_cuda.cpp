// The CUDA engine's two paths on the SIMT emulator (emulated_cuda_engine.h),
// on every machine, GPU or not: the kernels of cuda/fused_kernel.cuh,
// cuda/cublas_kernels.cuh and cuda/gram_kernel.cuh with the engine's own
// planning and host code, against the CPU reference engine and against
// themselves (bitwise batch invariance, launch splits, grouping by seed),
// and the fused kernel's warp reduction. The shared engine tests
// (tests/engines/test_engine.cpp) run the emulated engine too; the emulator
// itself is tested in tests/engines/test_simt_emulator.cpp. On a GPU,
// test_cuda_engine.cpp checks the same kernels compiled by nvcc.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/initial_weights.h"
#include "core/model.h"
#include "cuda/batch_host.h"
#include "cuda/cublas_step.h"
#include "cuda/fused_plan.h"
#include "engines/cpu_engine.h"
#include "tests/engines/emulated_cuda_engine.h"
#include "tests/support/engine_factories.h"
#include "tests/support/order_parameter_diff.h"

namespace tsgd {
namespace {

using testing::bitwise_equal;
using testing::emulated_weights;
using testing::EmulatedCudaOptions;
using testing::make_emulated_cuda_engine;
using testing::make_spec;
using testing::max_difference;

// N = 133: two warps per block, the second partly idle, and a last Philox
// group (coordinates 132..135) that reaches past N. Shapes up to
// `max_rows` rows; every activation pair the engines support, both training
// modes, label noise, weight decay, mini-batches up to 16; runs 6 and 7 share
// run 0's seed (one task on the fused path).
std::vector<RunSpec> mixed_runs(int max_rows) {
  const int n = 133;
  std::vector<RunSpec> runs;
  const Activation acts[] = {Activation::erf, Activation::relu, Activation::linear,
                             Activation::quad};
  for (int i = 0; i < 10; ++i) {
    const int k = 1 + i % 5;
    const int m = 1 + (i * 7) % 3;
    RunSpec r = make_spec(i, 500 + static_cast<std::uint64_t>(i), n, k, std::min(m, max_rows - k));
    r.params.student_activation = acts[i % 4];
    r.params.teacher_activation = acts[(i + i / 4) % 4];
    r.params.train = i % 2 == 0 ? TrainMode::first_layer : TrainMode::both_layers;
    // quad students take small steps (their updates grow with the fields).
    r.params.lr = r.params.student_activation == Activation::quad ? 0.05 : 0.1 + 0.05 * (i % 4);
    r.params.lr2 = 0.1;
    r.params.sigma = i % 3 == 0 ? 0.1 : 0.0;
    r.params.weight_decay = i % 4 == 1 ? 0.2 : 0.0;
    r.params.weight_decay2 = i % 4 == 1 ? 0.1 : 0.0;
    r.params.batch_size = (i == 4) ? 16 : 1 + i % 3;
    runs.push_back(r);
  }
  runs[6].seed = runs[0].seed;
  runs[6].params.batch_size = runs[0].params.batch_size;
  runs[7].seed = runs[0].seed;
  runs[7].params.batch_size = runs[0].params.batch_size;
  if (max_rows >= 16) {  // float: a task of 15 rows (runs 8, 9 of one seed, K + M = 8 and 7)
    runs[8].params.K = 5;
    runs[8].params.M = 3;
    runs[9].params.K = 4;
    runs[9].params.M = 3;
    runs[9].seed = runs[8].seed;
    runs[9].params.batch_size = runs[8].params.batch_size;
  }
  return runs;
}

// Emulated fused or cuBLAS path vs the CPU engine, same run identities and
// transform, 30 steps. The cuBLAS path gets two more runs the fused path
// cannot hold: mini-batch 64, and K + M = 20.
// TRAIN_SIZE > 0: the even runs train on that many samples (run 6 beside run 0 of its
// seed, run 7 of that seed online: tasks are split by P).
void expect_agreement(Precision precision, double tolerance, bool cublas,
                      RngTransform transform = RngTransform::exact, std::uint64_t train_size = 0) {
  const int max_rows = precision == Precision::float32 ? 16 : 8;
  std::vector<RunSpec> runs = mixed_runs(max_rows);
  for (std::size_t i = 0; i < runs.size(); i += 2) runs[i].params.train_size = train_size;
  if (cublas) {
    RunSpec big_batch = make_spec(10, 600, 133, 3, 2);
    big_batch.params.batch_size = 64;
    big_batch.params.lr = 0.5;
    runs.push_back(big_batch);
    RunSpec wide = make_spec(11, 601, 133, 12, 8);
    wide.params.train = TrainMode::both_layers;
    wide.params.weight_decay = 0.1;
    runs.push_back(wide);
  }
  auto cpu = make_cpu_engine(precision, 2, transform);
  EmulatedCudaOptions options;
  options.cublas_path = cublas;
  options.rng_transform = transform;
  auto gpu = make_emulated_cuda_engine(precision, options);
  cpu->load(runs);
  gpu->load(runs);
  std::vector<OrderParameters> start, a, b;
  cpu->order_parameters(start);
  cpu->advance(10);
  cpu->advance(20);
  gpu->advance(30);
  cpu->order_parameters(a);
  gpu->order_parameters(b);
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t r = 0; r < runs.size(); ++r) {
    EXPECT_LT(max_difference(a[r], b[r]), tolerance) << "run " << r;
    // The runs moved: the comparison can fail.
    EXPECT_GT(max_difference(a[r], start[r]), 10 * tolerance) << "run " << r;
  }
}

TEST(EmulatedCuda, Float64FusedKernelAgreesWithCpuEngine) {
  // Same arithmetic but the order of the N-term dot products (fma chains of
  // 4 and a warp tree vs the CPU's loop): 1e-16 relative per field, grown by
  // 30 steps of order-one updates to well under 1e-12.
  expect_agreement(Precision::float64, 1e-11, false);
}

TEST(EmulatedCuda, Float64CublasPathAgreesWithCpuEngine) {
  // The GEMMs sum in the CPU's order; the differences are the scaling of the
  // fields (alpha = 1/sqrt(N) on the sum) and of the update: rounding only.
  expect_agreement(Precision::float64, 1e-11, true);
}

TEST(EmulatedCuda, Float32CublasPathAgreesWithCpuEngine) {
  expect_agreement(Precision::float32, 2e-4, true);
}

TEST(EmulatedCuda, Float32FusedKernelAgreesWithCpuEngine) {
  // float rounding (6e-8 relative) of the 133-term fields and of the
  // weights, accumulated over 30 steps: ~1e-5 on order parameters of order one.
  expect_agreement(Precision::float32, 2e-4, false);
}

TEST(EmulatedCuda, FastTransformOnBothPathsAgreesWithCpuEngine) {
  // The emulator evaluates the fast formula with the host's C library
  // functions, as the CPU engine does: the same draws bit for bit, so the
  // exact transform's float64 tolerance holds (the GPU's own approximations:
  // tests/cuda/test_cuda_transform.cpp).
  expect_agreement(Precision::float64, 1e-11, false, RngTransform::fast);
  expect_agreement(Precision::float64, 1e-11, true, RngTransform::fast);
}

TEST(EmulatedCuda, FiniteTrainingSetsOnBothPathsAgreeWithCpuEngine) {
  // P = 7 over 30 steps (4+ epochs, mini-batches crossing epochs): the same samples
  // in the same order (math/permutation.h) as the CPU engine, so the tolerances of
  // online learning hold.
  for (bool cublas : {false, true}) {
    expect_agreement(Precision::float64, 1e-11, cublas, RngTransform::exact, 7);
    expect_agreement(Precision::float32, 2e-4, cublas, RngTransform::exact, 7);
  }
}

TEST(EmulatedCuda, TheTransformReachesTheKernels) {
  // The same runs with either transform: different numbers on both paths (the
  // option reaches the inputs and the label noise), but only just (the draws
  // agree to a few ulp on the host): order parameters within 1e-4.
  std::vector<RunSpec> runs = mixed_runs(8);
  runs.resize(4);  // run 0 has label noise, 1 and 2 mini-batches
  for (bool cublas : {false, true}) {
    std::vector<OrderParameters> results[2];
    for (RngTransform transform : {RngTransform::exact, RngTransform::fast}) {
      EmulatedCudaOptions options;
      options.cublas_path = cublas;
      options.rng_transform = transform;
      auto engine = make_emulated_cuda_engine(Precision::float64, options);
      EXPECT_EQ(engine->rng_transform(), transform);
      engine->load(runs);
      engine->advance(10);
      engine->order_parameters(results[transform == RngTransform::fast]);
    }
    for (std::size_t r = 0; r < runs.size(); ++r) {
      const double d = max_difference(results[0][r], results[1][r]);
      EXPECT_GT(d, 0.0) << (cublas ? "cublas" : "fused") << " run " << r;
      EXPECT_LT(d, 1e-4) << (cublas ? "cublas" : "fused") << " run " << r;
    }
  }
}

// The fused kernel at its limits: N = 2048 (512 threads, 16 warps), 16 rows
// and B = 16 in float (the largest shared memory, 22 KB); N = 128 (exactly
// one warp, no partial Philox group) in double. Three steps against the CPU.
TEST(EmulatedCuda, FusedKernelAtItsLimits) {
  struct Case {
    Precision precision;
    int n, k, m, batch;
    double
        tolerance;  // float: 2048-term fields, 3 steps (engine tests: 5e-5); double: rounding only
  };
  for (const Case& c : {Case{Precision::float32, kFusedMaxN, 8, 8, kFusedMaxBatch, 5e-5},
                        Case{Precision::float64, 128, 4, 4, 3, 1e-12}}) {
    RunSpec spec = make_spec(0, 31, c.n, c.k, c.m);
    spec.params.batch_size = c.batch;
    spec.params.lr = 2.0;  // large steps at large N: the runs must move within 3 steps
    spec.params.train = TrainMode::both_layers;
    spec.params.lr2 = 1.0;
    auto cpu = make_cpu_engine(c.precision, 2);
    EmulatedCudaOptions fused;
    auto gpu = make_emulated_cuda_engine(c.precision, fused);
    cpu->load({spec});
    gpu->load({spec});
    std::vector<OrderParameters> start, a, b;
    cpu->order_parameters(start);
    cpu->advance(3);
    gpu->advance(3);
    cpu->order_parameters(a);
    gpu->order_parameters(b);
    EXPECT_LT(max_difference(a[0], b[0]), c.tolerance) << "N = " << c.n;
    EXPECT_GT(max_difference(a[0], start[0]), 10 * c.tolerance) << "N = " << c.n;
  }
}

// Contract 1 on the fused path: a run alone (a 4-row task) equals the same
// run inside a task of 16 rows (float) or 8 rows (double) with other runs of
// its seed, in another slot, beside tasks of other seeds.
void expect_invariance(Precision precision) {
  RunSpec target = make_spec(3, 77, 100, 2, 2);
  target.params.lr = 0.4;
  target.params.sigma = 0.05;
  std::vector<RunSpec> batch;
  // Mates of one teacher (M = 1, held once): 1 + 3 x 3 rows and the target's
  // 4 in float (14), 4 + 4 = 8 in double.
  const int mates = precision == Precision::float32 ? 3 : 1;
  for (int i = 0; i < mates; ++i) {
    RunSpec r = target;
    r.point_id = 10 + i;
    r.params.K = 3;
    r.params.M = 1;
    r.params.lr = 0.2 + 0.1 * i;
    batch.push_back(r);
  }
  batch.push_back(make_spec(20, 5, 100, 1, 1));
  batch.push_back(target);
  auto alone = make_emulated_cuda_engine(precision);
  auto together = make_emulated_cuda_engine(precision);
  alone->load({target});
  together->load(batch);
  alone->advance(25);
  together->advance(25);
  const InitialWeights a = emulated_weights(*alone, 0);
  const InitialWeights b = emulated_weights(*together, batch.size() - 1);
  EXPECT_TRUE(bitwise_equal(a, b));
  std::vector<OrderParameters> oa, ob;
  alone->order_parameters(oa);
  together->order_parameters(ob);
  EXPECT_TRUE(bitwise_equal(oa[0], ob.back()));
  // And it moved.
  EXPECT_NE(a.w, initial_weights(target).w);
}

TEST(EmulatedCuda, RunAloneEqualsRunInAFullTaskBitwiseFloat32) {
  expect_invariance(Precision::float32);
}
TEST(EmulatedCuda, RunAloneEqualsRunInAFullTaskBitwiseFloat64) {
  expect_invariance(Precision::float64);
}

// Grid points of one seed with one teacher (M = 3 in float, 2 in double):
// students of K = 4, 3, 5 (float) or 3, 2, 1 (double) fill a task with the
// teacher once; the same seed also has a run of another K that starts the
// next task and a run of another teacher (M - 1); another seed alone; and
// two mini-batch runs (B = 3) of a third seed sharing their teacher. Rates,
// training modes, noise, decay and the student's g differ between points.
std::vector<RunSpec> one_seed_grid(int max_rows) {
  const int m = max_rows == 16 ? 3 : 2;
  const std::vector<int> ks =
      max_rows == 16 ? std::vector<int>{4, 3, 5, 2} : std::vector<int>{3, 2, 1, 2};
  std::vector<RunSpec> runs;
  for (std::size_t i = 0; i < ks.size(); ++i) {
    RunSpec r = make_spec(static_cast<int>(i), 31, 133, ks[i], m);
    r.params.lr = 0.15 + 0.05 * static_cast<double>(i);
    r.params.train = i % 2 == 1 ? TrainMode::both_layers : TrainMode::first_layer;
    r.params.lr2 = 0.1;
    r.params.sigma = i % 3 == 0 ? 0.05 : 0.0;
    r.params.weight_decay = i == 1 ? 0.1 : 0.0;
    if (i == 2) r.params.student_activation = Activation::relu;
    runs.push_back(r);
  }
  runs.push_back(make_spec(10, 31, 133, 2, m - 1));  // the same seed, another teacher
  runs.push_back(make_spec(11, 32, 133, 3, m));      // another seed
  for (int i = 0; i < 2; ++i) {
    RunSpec r = make_spec(12 + i, 33, 133, 2, 2);
    r.params.batch_size = 3;
    r.params.lr = 0.3 + 0.1 * i;
    r.params.sigma = 0.1;
    runs.push_back(r);
  }
  return runs;
}

// Issue 13 point 4: runs of one teacher read its rows once in a grouped task,
// bitwise what each gives in a task of its own, and the CPU engine's numbers
// within the tolerance of the fused kernel's agreement tests above.
void expect_shared_teacher(Precision precision, double tolerance) {
  const int max_rows = precision == Precision::float32 ? 16 : 8;
  const std::vector<RunSpec> runs = one_seed_grid(max_rows);
  // The plan shares: a task of the three points, the second and the third
  // reading the first's teacher rows (FusedTask::shares_teacher), so the
  // comparison below is between shared and unshared rows.
  auto count_shared = [](const auto& batch) {
    const FusedPlan plan = plan_fused_tasks(batch.params, batch.teachers, true);
    return std::count_if(plan.tasks.begin(), plan.tasks.end(),
                         [](const FusedTask& t) { return t.count == 3 && t.shares_teacher == 6u; });
  };
  EXPECT_EQ(precision == Precision::float32 ? count_shared(prepare_host_batch<float>(runs))
                                            : count_shared(prepare_host_batch<double>(runs)),
            1);
  auto cpu = make_cpu_engine(precision, 2, RngTransform::exact);
  EmulatedCudaOptions alone;
  alone.group_by_seed = false;
  auto grouped = make_emulated_cuda_engine(precision);
  auto separate = make_emulated_cuda_engine(precision, alone);
  std::vector<OrderParameters> start, expected, a, b;
  for (Engine* engine : {cpu.get(), grouped.get(), separate.get()}) engine->load(runs);
  cpu->order_parameters(start);
  for (Engine* engine : {cpu.get(), grouped.get(), separate.get()}) engine->advance(30);
  cpu->order_parameters(expected);
  grouped->order_parameters(a);
  separate->order_parameters(b);
  for (std::size_t r = 0; r < runs.size(); ++r) {
    EXPECT_TRUE(bitwise_equal(a[r], b[r])) << "run " << r;
    EXPECT_LT(max_difference(a[r], expected[r]), tolerance) << "run " << r;
    EXPECT_LT(max_difference(b[r], expected[r]), tolerance) << "run " << r << " alone";
    EXPECT_GT(max_difference(a[r], start[r]), 10 * tolerance) << "run " << r;  // it moved
  }
}

TEST(EmulatedCuda, RunsOfOneTeacherShareItsRowsBitwiseFloat32) {
  expect_shared_teacher(Precision::float32, 2e-4);  // as Float32FusedKernelAgreesWithCpuEngine
}
TEST(EmulatedCuda, RunsOfOneTeacherShareItsRowsBitwiseFloat64) {
  expect_shared_teacher(Precision::float64, 1e-11);  // as Float64FusedKernelAgreesWithCpuEngine
}

// Launch splits, grouping by seed, mini-batch inputs kept in shared memory
// or drawn again, and the split of advance() into calls do not change a bit.
TEST(EmulatedCuda, LaunchSplitGroupingAndKeptInputsDoNotChangeResults) {
  const std::vector<RunSpec> runs = mixed_runs(16);
  std::vector<std::vector<OrderParameters>> results;
  struct Variant {
    EmulatedCudaOptions options;
    std::vector<int> calls;
  };
  const std::vector<Variant> variants = {
      {{false, true, 0}, {8}},
      {{false, true, 3}, {8}},   // launches of 3, 3, 2 steps
      {{false, false, 0}, {8}},  // every run its own task
      {{false, true, 1}, {5, 3}},
      {{false, true, 0, false}, {8}},  // mini-batch inputs drawn twice, not kept
  };
  // mixed_runs has B up to 16 at N = 133: every row class keeps its inputs by default.
  for (const int max_batch : {2, 16})
    ASSERT_TRUE((fused_launch_shape<float, 16>(133, max_batch, true).keep_inputs));
  for (const Variant& variant : variants) {
    auto engine = make_emulated_cuda_engine(Precision::float32, variant.options);
    engine->load(runs);
    for (int steps : variant.calls) engine->advance(steps);
    results.emplace_back();
    engine->order_parameters(results.back());
  }
  for (std::size_t v = 1; v < variants.size(); ++v)
    for (std::size_t r = 0; r < runs.size(); ++r)
      EXPECT_TRUE(bitwise_equal(results[0][r], results[v][r])) << "variant " << v << ", run " << r;

  // Float64: the inputs kept (B up to 16 at N = 133 fits in double too) and drawn twice.
  ASSERT_TRUE((fused_launch_shape<double, 8>(133, 16, true).keep_inputs));
  const std::vector<RunSpec> runs64 = mixed_runs(8);
  std::vector<OrderParameters> kept, redrawn;
  for (const bool keep : {true, false}) {
    EmulatedCudaOptions options;
    options.keep_inputs = keep;
    auto engine = make_emulated_cuda_engine(Precision::float64, options);
    engine->load(runs64);
    engine->advance(5);
    engine->order_parameters(keep ? kept : redrawn);
  }
  for (std::size_t r = 0; r < runs64.size(); ++r)
    EXPECT_TRUE(bitwise_equal(kept[r], redrawn[r])) << "float64, run " << r;
}

// A frozen run keeps its weights; its task mates (same seed) go on as if it
// had never been frozen, because a task's inputs depend on the seed alone.
TEST(EmulatedCuda, FreezingARunDoesNotDisturbItsTaskMates) {
  std::vector<RunSpec> runs;
  for (int i = 0; i < 3; ++i) {
    RunSpec r = make_spec(i, 9, 64, 2, 1);
    r.params.lr = 0.3 + 0.1 * i;
    runs.push_back(r);
  }
  auto frozen = make_emulated_cuda_engine(Precision::float64);
  auto free = make_emulated_cuda_engine(Precision::float64);
  frozen->load(runs);
  free->load(runs);
  frozen->advance(5);
  free->advance(5);
  const InitialWeights held = emulated_weights(*frozen, 1);
  frozen->freeze(1);
  frozen->advance(8);
  free->advance(8);
  EXPECT_TRUE(bitwise_equal(emulated_weights(*frozen, 1), held));
  EXPECT_TRUE(bitwise_equal(emulated_weights(*frozen, 0), emulated_weights(*free, 0)));
  EXPECT_TRUE(bitwise_equal(emulated_weights(*frozen, 2), emulated_weights(*free, 2)));
  EXPECT_FALSE(bitwise_equal(emulated_weights(*free, 1), held));
}

TEST(EmulatedCuda, BatchesTheFusedPathCannotHoldAreRefused) {
  auto engine = make_emulated_cuda_engine(Precision::float64);
  EXPECT_THROW(engine->load({make_spec(0, 1, 100, 5, 4)}), std::invalid_argument);  // 9 rows > 8
  EXPECT_THROW(engine->load({make_spec(0, 1, kFusedMaxN + 1, 1, 1)}), std::invalid_argument);
  RunSpec big_batch = make_spec(0, 1, 100, 1, 1);
  big_batch.params.batch_size = kFusedMaxBatch + 1;
  EXPECT_THROW(engine->load({big_batch}), std::invalid_argument);
}

// The fused kernel's "transposed" warp reduction gives every lane the same
// bits as a plain xor butterfly of its value (the basis of bitwise batch
// invariance across row classes).
TEST(EmulatedCuda, TransposedWarpSumEqualsPlainButterflyBitwise) {
  std::mt19937 rng(3);
  std::normal_distribution<float> normal;
  for (int P : {4, 8, 16}) {
    std::vector<float> values(32 * P);
    for (float& x : values) x = normal(rng) * std::exp(normal(rng));  // varied magnitudes
    const std::vector<float> transposed = testing::emulated_transposed_warp_sums(values, P);
    const std::vector<float> plain = testing::emulated_butterfly_sums(values, P);
    for (int lane = 0; lane < 32; ++lane) {
      const int p = lane / (32 / P);
      EXPECT_EQ(std::memcmp(&transposed[lane], &plain[lane * P + p], sizeof(float)), 0)
          << "P = " << P << ", lane " << lane << ": " << transposed[lane] << " vs "
          << plain[lane * P + p];
    }
    // The butterfly's sum is the sum (to rounding): the check is not vacuous.
    double exact = 0;
    for (int l = 0; l < 32; ++l) exact += values[l * P];
    EXPECT_NEAR(plain[0], exact, 1e-4 * (1 + std::abs(exact)));
  }
}

}  // namespace
}  // namespace tsgd
