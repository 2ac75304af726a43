// The host side of the CUDA engine's batch (cuda/batch_host.h): the host
// mirror of the device's step counters.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "cuda/batch_host.h"

namespace tsgd {
namespace {

// HostBatch::count_steps is what the engine calls after each enqueue that
// advances the device's counters (advance_step_counters_kernel): the runs
// that are not frozen move on, a frozen run keeps its step, and calls add up
// (one per launch of a split advance, one per graph launch).
TEST(HostBatch, CountStepsMovesTheRunsThatAreNotFrozen) {
  HostBatch<float> batch;
  batch.params.resize(3);
  batch.params[0].step = 7;
  batch.params[1].step = 7;
  batch.params[1].frozen = 1;
  batch.params[2].step = 0;
  batch.count_steps(32);
  batch.count_steps(5);
  EXPECT_EQ(batch.params[0].step, 7 + 37);
  EXPECT_EQ(batch.params[1].step, 7);
  EXPECT_EQ(batch.params[2].step, 37);
}

}  // namespace
}  // namespace tsgd
