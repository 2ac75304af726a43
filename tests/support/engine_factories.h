// The engines every engine test runs against (docs/architecture.md, Conventions:
// tests written once, run on each engine). CUDA engines are listed when the CUDA engine is
// built; their tests skip without a GPU, and fail instead when
// TSGD_REQUIRE_GPU=1 asks for one (tests/support/gpu.h).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <memory>
#include <ostream>
#include <string>
#include <tuple>
#include <vector>

#include "core/engine.h"
#include "core/initial_weights.h"
#include "engines/cpu_engine.h"
#include "engines/split_engine.h"
#include "tests/engines/emulated_cuda_engine.h"
#include "tests/support/gpu.h"
#ifdef TSGD_HAVE_CUDA
#include "cuda/cuda_engine.h"
#endif

namespace tsgd::testing {

struct EngineFactory {
  std::string name;
  Precision precision;
  std::function<std::unique_ptr<Engine>()> make;
  bool needs_gpu = false;
  // Slower (the fused kernels on the SIMT emulator, a fiber per CUDA thread):
  // tests give it fewer steps.
  bool slow = false;
};

// Test names and messages show the engine's name, not the object's bytes.
inline void PrintTo(const EngineFactory& factory, std::ostream* os) { *os << factory.name; }

inline std::vector<EngineFactory> engine_factories() {
  std::vector<EngineFactory> f = {
      {"cpu_float64", Precision::float64, [] { return make_cpu_engine(Precision::float64, 2); }},
      {"cpu_float32", Precision::float32, [] { return make_cpu_engine(Precision::float32, 2); }},
      // Three CPU engines as one (the multi-GPU split, without GPUs).
      {"split_cpu_float64", Precision::float64,
       [] {
         std::vector<std::unique_ptr<Engine>> parts;
         for (int i = 0; i < 3; ++i) parts.push_back(make_cpu_engine(Precision::float64, 1));
         return make_split_engine(std::move(parts));
       }},
      // The CUDA engine's kernels on the host (tests/engines/simt_emulator.h): every
      // engine test runs them, GPU or not.
      {"emulated_cuda_float32", Precision::float32,
       [] { return make_emulated_cuda_engine(Precision::float32); }, false, true},
      {"emulated_cuda_float64", Precision::float64,
       [] { return make_emulated_cuda_engine(Precision::float64); }, false, true},
      // The cuBLAS path's kernels and GEMM arguments, GEMMs by definition.
      {"emulated_cublas_float32", Precision::float32,
       [] { return make_emulated_cuda_engine(Precision::float32, EmulatedCudaOptions{true}); }},
      {"emulated_cublas_float64", Precision::float64,
       [] { return make_emulated_cuda_engine(Precision::float64, EmulatedCudaOptions{true}); }},
  };
#ifdef TSGD_HAVE_CUDA
  f.push_back({"cuda_float32", Precision::float32,
               [] { return make_cuda_engine(Precision::float32); }, true});
  f.push_back({"cuda_float64", Precision::float64,
               [] { return make_cuda_engine(Precision::float64); }, true});
  // Two CUDA engines on GPU 0 as one: the multi-GPU split on a single GPU.
  f.push_back({"split_cuda_float32", Precision::float32,
               [] {
                 std::vector<std::unique_ptr<Engine>> parts;
                 for (int i = 0; i < 2; ++i) parts.push_back(make_cuda_engine(Precision::float32));
                 return make_split_engine(std::move(parts));
               },
               true});
#endif
  return f;
}

// A run of the default grid point with these N, K, M, point id and seed.
inline RunSpec make_spec(int point, std::uint64_t seed, int n, int k, int m) {
  RunSpec spec;
  spec.point_id = point;
  spec.seed = seed;
  spec.params.N = n;
  spec.params.K = k;
  spec.params.M = m;
  return spec;
}

// Bitwise equality of two runs' order parameters or weights (contract 1);
// on failure the message names the first entry that differs.
inline ::testing::AssertionResult bitwise_equal_fields(
    std::initializer_list<
        std::tuple<const char*, const std::vector<double>*, const std::vector<double>*>>
        fields) {
  for (const auto& [name, a, b] : fields) {
    if (a->size() != b->size())
      return ::testing::AssertionFailure()
             << name << ": " << a->size() << " vs " << b->size() << " entries";
    for (std::size_t i = 0; i < a->size(); ++i)
      if (std::memcmp(&(*a)[i], &(*b)[i], sizeof(double)) != 0)
        return ::testing::AssertionFailure()
               << name << "[" << i << "]: " << (*a)[i] << " vs " << (*b)[i];
  }
  return ::testing::AssertionSuccess() << "bitwise equal";
}
inline ::testing::AssertionResult bitwise_equal(const OrderParameters& a,
                                                const OrderParameters& b) {
  return bitwise_equal_fields({{"Q", &a.Q, &b.Q},
                               {"R", &a.R, &b.R},
                               {"T", &a.T, &b.T},
                               {"v", &a.v, &b.v},
                               {"v*", &a.vstar, &b.vstar}});
}
inline ::testing::AssertionResult bitwise_equal(const InitialWeights& a, const InitialWeights& b) {
  return bitwise_equal_fields({{"w", &a.w, &b.w},
                               {"w*", &a.wstar, &b.wstar},
                               {"v", &a.v, &b.v},
                               {"v*", &a.vstar, &b.vstar}});
}

// |a - b| <= tolerance max(1, |b|) entry by entry, b (the reference) finite:
// order parameters are O(1) (R starts at O(1/sqrt(N)) and grows), so the
// tolerance is relative for large entries and absolute at the O(1) scale.
inline void expect_near(const OrderParameters& a, const OrderParameters& b, double tolerance,
                        const std::string& what) {
  ASSERT_EQ(a.K, b.K) << what;
  ASSERT_EQ(a.M, b.M) << what;
  ASSERT_TRUE(b.finite()) << what << ": the reference diverged; the test data is wrong";
  auto compare = [&](const std::vector<double>& x, const std::vector<double>& y, const char* name) {
    ASSERT_EQ(x.size(), y.size()) << what << ": " << name;
    for (std::size_t i = 0; i < x.size(); ++i)
      EXPECT_NEAR(x[i], y[i], tolerance * std::max(1.0, std::abs(y[i])))
          << what << ": " << name << "[" << i << "]";
  };
  compare(a.Q, b.Q, "Q");
  compare(a.R, b.R, "R");
  compare(a.T, b.T, "T");
  compare(a.v, b.v, "v");
  compare(a.vstar, b.vstar, "v*");
}

}  // namespace tsgd::testing
