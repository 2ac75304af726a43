// The SIMT emulator (tests/engines/simt_emulator.h) and the reference GEMM of
// the emulated CUDA engine (emulated_cuda_engine.h), which the emulated tests
// rely on: cuBLAS's GEMM conventions, fresh shared memory per block, a
// barrier some threads skip reported (not hung), a missing barrier seen, and
// an exception in one thread carried to the launcher.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "cuda/cublas_step.h"
#include "tests/engines/emulated_cuda_engine.h"

namespace tsgd {
namespace {

// The emulator's GEMM is cuBLAS's definition: column-major, op(A) m x k,
// op(B) k x n, strides between the matrices of a batch, C not read when
// beta = 0, and leading dimensions below the rows refused.
TEST(EmulatedCuda, ReferenceGemmFollowsCublasConventions) {
  // Two 2 x 3 matrices A (column-major, ld 2) and 2 x 2 B (ld 2).
  const std::vector<double> a = {1, 2, 3, 4, 5, 6, /* second */ 1, 0, 0, 1, 1, 1};
  const std::vector<double> b = {1, 0, 0, 1, /* second */ 2, 0, 0, 2};
  std::vector<double> c(2 * 3 * 2, std::nan(""));  // C = A^T B: 3 x 2, ld 3; NaN: never read
  testing::reference_gemm(GemmCall<double>{GemmOp::transpose, GemmOp::none, 3, 2, 2, 1.0, a.data(),
                                           2, 6, b.data(), 2, 4, 0.0, c.data(), 3, 6, 2});
  // A^T = [[1 2] [3 4] [5 6]] times I, then [[1 0] [0 1] [1 1]] times 2I.
  const std::vector<double> expected = {1, 3, 5, 2, 4, 6, 2, 0, 2, 0, 2, 2};
  EXPECT_EQ(c, expected);
  // beta = 1 adds: C += A B^T with A 2 x 2 (the first two columns of A above).
  std::vector<double> d = {10, 10, 10, 10};
  testing::reference_gemm(GemmCall<double>{GemmOp::none, GemmOp::transpose, 2, 2, 2, 1.0, a.data(),
                                           2, 0, b.data(), 2, 0, 1.0, d.data(), 2, 0, 1});
  EXPECT_EQ(d, (std::vector<double>{11, 12, 13, 14}));
  EXPECT_THROW(testing::reference_gemm(GemmCall<double>{GemmOp::transpose, GemmOp::none, 3, 2, 2,
                                                        1.0, a.data(), 1, 6, b.data(), 2, 4, 0.0,
                                                        c.data(), 3, 6, 1}),
               std::invalid_argument);  // lda 1 < k = 2 rows of A
}

TEST(EmulatedCuda, BlockSharedMemoryIsFreshInEveryBlock) {
  for (std::uint32_t v : testing::emulated_block_shared_first_reads(3)) EXPECT_EQ(v, 0xffffffffu);
}

TEST(EmulatedCuda, ABarrierSomeThreadsSkipIsReportedNotHung) {
  for (const bool warp : {false, true}) {
    const std::string barrier = warp ? "__syncwarp" : "__syncthreads";
    try {
      testing::emulate_divergent_barrier(warp);
      ADD_FAILURE() << "no error for " << barrier;
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(barrier + " not reached"), std::string::npos)
          << e.what();
    }
  }
}

// A missing __syncthreads changes the results: the emulator runs the threads
// in an order that puts some reader before the writer (simt_emulator.h,
// Scheduling). A fixed order would not: thread 0 first hides barriers 1 and 3
// (thread 0 writes, all read), thread 0 last hides barrier 2 (the warps
// write, thread 0 reads). In one warp, barrier 2 orders nothing (lane 0
// stores and reads its own sum).
TEST(EmulatedCuda, AMissingBarrierIsSeen) {
  const int rounds = 3;
  for (const int threads : {32, 64, 96, 512}) {
    std::vector<double> expected(threads);
    for (int t = 0; t < threads; ++t) expected[t] = 0.5 * (t + 1);
    for (int r = 0; r < rounds; ++r) {
      double total = 0;
      for (const double v : expected) total += v;
      for (double& v : expected) v += total / threads;
    }
    auto wrong_values = [&](const std::vector<double>& values) {
      int wrong = 0;
      for (int t = 0; t < threads; ++t)
        wrong += std::abs(values[t] - expected[t]) <= 1e-12 * expected[t] ? 0 : 1;  // NaN: wrong
      return wrong;
    };
    EXPECT_EQ(wrong_values(testing::emulated_block_sums(threads, rounds, 0)), 0)
        << threads << " threads";
    for (const int skipped : {1, 2, 3}) {
      if (threads == 32 && skipped == 2) continue;
      EXPECT_GT(wrong_values(testing::emulated_block_sums(threads, rounds, skipped)), 0)
          << threads << " threads, barrier " << skipped << " left out";
    }
  }
}

// An exception in one thread stops the block: the others unwind from their
// barriers (their locals destroyed), the launcher gets the exception, and
// the next launch runs normally.
TEST(EmulatedCuda, AnExceptionInAThreadReachesTheLauncher) {
  int unwound = 0;
  try {
    testing::emulate_throwing_thread(unwound);
    ADD_FAILURE() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "thread 37 failed");
  }
  EXPECT_EQ(unwound, 64);
  for (std::uint32_t v : testing::emulated_block_shared_first_reads(2)) EXPECT_EQ(v, 0xffffffffu);
}

}  // namespace
}  // namespace tsgd
