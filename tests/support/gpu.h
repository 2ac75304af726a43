// The one guard of the tests that need a GPU: TSGD_SKIP_WITHOUT_GPU() skips
// the test (GTEST_SKIP) when no GPU is usable, and fails it instead when
// TSGD_REQUIRE_GPU=1 asks for one (scripts/gpu_check.sh sets it, so that a GPU
// machine that lost its GPU cannot pass by skipping). Use it as the first
// statement of the test body, or under the condition that makes the test need
// a GPU:
//
//   TEST(CudaEngine, ...) { TSGD_SKIP_WITHOUT_GPU(); ... }
//   TEST_P(EngineTest, ...) { if (GetParam().needs_gpu) TSGD_SKIP_WITHOUT_GPU(); ... }
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "cuda/cuda_engine.h"

namespace tsgd::testing {

// TSGD_REQUIRE_GPU=1: a missing GPU is a failure, not a reason to skip.
inline bool gpu_required() {
  const char* v = std::getenv("TSGD_REQUIRE_GPU");
  return v && std::string(v) == "1";
}

// Empty when a GPU is usable, else why not (list_gpus; a build without nvcc
// answers through cuda/no_cuda.cpp). Asked once per process.
inline const std::string& why_no_gpu() {
  static const std::string why = [] {
    std::string reason;
    if (!list_gpus(&reason).empty()) return std::string();
    return reason.empty() ? std::string("no usable GPU") : reason;
  }();
  return why;
}

}  // namespace tsgd::testing

#define TSGD_SKIP_WITHOUT_GPU()                                                      \
  do {                                                                               \
    const std::string& why_ = ::tsgd::testing::why_no_gpu();                         \
    if (!why_.empty()) {                                                             \
      if (::tsgd::testing::gpu_required()) FAIL() << "TSGD_REQUIRE_GPU=1: " << why_; \
      GTEST_SKIP() << "no usable GPU: " << why_;                                     \
    }                                                                                \
  } while (0)
