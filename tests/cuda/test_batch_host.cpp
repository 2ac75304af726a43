// The host side of the CUDA engine's batch (cuda/batch_host.h): the host
// mirror of the device's step counters, and which runs share a teacher.
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

// HostBatch::teachers (the fused plan groups runs of one teacher, whose rows
// a block then holds once): runs share a teacher exactly when seed, M, g* and
// the teacher's weights (w* and v*) are the same, whatever else differs.
TEST(HostBatch, RunsShareATeacherExactlyWhenItIsTheSame) {
  std::vector<RunSpec> runs;
  auto add = [&](std::uint64_t seed, int k, int m) -> PointParams& {
    RunSpec spec;
    spec.point_id = static_cast<int>(runs.size());
    spec.seed = seed;
    spec.params.N = 40;
    spec.params.K = k;
    spec.params.M = m;
    runs.push_back(spec);
    return runs.back().params;
  };
  add(5, 2, 3);                                          // 0
  add(5, 4, 3).lr = 0.7;                                 // 1: K and lr differ: run 0's
  add(6, 2, 3);                                          // 2: another seed
  add(5, 2, 2);                                          // 3: another M
  add(5, 2, 3).teacher_activation = Activation::relu;    // 4: another g*
  add(5, 2, 3).teacher_v = 2.0;                          // 5: another v*
  add(5, 2, 3).teacher_init = TeacherInit::orthonormal;  // 6: another w*
  PointParams& both = add(5, 1, 3);                      // 7: run 0's
  both.train = TrainMode::both_layers;
  both.sigma = 0.1;
  both.weight_decay = 0.2;
  add(6, 3, 3).student_activation = Activation::relu;  // 8: run 2's
  const HostBatch<float> batch = prepare_host_batch<float>(runs);
  EXPECT_EQ(batch.teachers, (std::vector<int>{0, 0, 2, 3, 4, 5, 6, 0, 2}));
  EXPECT_TRUE(same_teacher(batch, 7, 1));
  EXPECT_FALSE(same_teacher(batch, 0, 6));
}

}  // namespace
}  // namespace tsgd
