// The fused path's plan (cuda/fused_plan.h), on the host: which launches keep
// their mini-batch inputs in shared memory, and how runs are grouped into
// tasks and row classes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "cuda/fused_plan.h"

namespace tsgd {
namespace {

// The launch shape (fused_plan.h): a block keeps its mini-batch inputs in
// shared memory exactly when B > 1, it may, and they fit under the limit
// beside the partial fields, the scratch and the task state.
TEST(FusedPlan, MiniBatchInputsAreKeptWhereTheyFit) {
  const FusedLaunchShape one = fused_launch_shape<float, 8>(784, 1, true);
  EXPECT_FALSE(one.keep_inputs);  // B = 1: x^0 stays in registers
  EXPECT_EQ(one.threads, 224);
  EXPECT_EQ(one.shared_bytes, fused_shared_bytes<float>(784, 1, 8));
  // The 16-row kernel keeps x^0 for phase C (x takes the next sample's
  // inputs during phase B): 4 x 224 floats, then warp 0's next inputs, which
  // the last warp draws for it: 4 x 32 floats.
  EXPECT_FALSE((fused_overlaps_draws<float, 8>()));
  ASSERT_TRUE((fused_overlaps_draws<float, 16>()));
  EXPECT_EQ(fused_input_bytes<float>(784, 1), 3584u);
  EXPECT_EQ((fused_launch_shape<float, 16>(784, 1, true).shared_bytes),
            fused_shared_bytes<float>(784, 1, 16) + 3584u + 512u);
  EXPECT_EQ((fused_launch_shape<float, 16>(784, 2, false).shared_bytes),
            fused_shared_bytes<float>(784, 2, 16));  // B > 1: no overlap

  // N = 784, B = 8 in float: 8 x 4 x 224 x 4 = 28,672 bytes of inputs.
  const FusedLaunchShape kept = fused_launch_shape<float, 8>(784, 8, true);
  EXPECT_TRUE(kept.keep_inputs);
  EXPECT_EQ(fused_input_bytes<float>(784, 8), 28672u);
  EXPECT_EQ(kept.shared_bytes, fused_shared_bytes<float>(784, 8, 8) + 28672u);
  EXPECT_LE(kept.shared_bytes + sizeof(FusedTaskState<float, 8>), kFusedSharedLimit);

  const FusedLaunchShape refused = fused_launch_shape<float, 8>(784, 8, false);
  EXPECT_FALSE(refused.keep_inputs);
  EXPECT_EQ(refused.shared_bytes, fused_shared_bytes<float>(784, 8, 8));

  // N = 2048, B = 16: 128 KB of inputs do not fit; drawn twice.
  const FusedLaunchShape big = fused_launch_shape<float, 16>(kFusedMaxN, kFusedMaxBatch, true);
  EXPECT_FALSE(big.keep_inputs);
  EXPECT_EQ(big.shared_bytes, fused_shared_bytes<float>(kFusedMaxN, kFusedMaxBatch, 16));
  // The largest B kept at N = 784 (docs/gpu.md): 12 in the float 8-row kernel.
  EXPECT_TRUE((fused_launch_shape<float, 8>(784, 12, true).keep_inputs));
  EXPECT_FALSE((fused_launch_shape<float, 8>(784, 13, true).keep_inputs));
  EXPECT_TRUE(fused_keeps_inputs<float>(8, 784, 12));  // the same, with the row class at run time
  EXPECT_FALSE(fused_keeps_inputs<float>(8, 784, 13));
  EXPECT_FALSE(fused_keeps_inputs<double>(4, 784, 8));
  // Double: twice the bytes; N = 784, B = 8 is 57 KB, over the limit.
  EXPECT_FALSE((fused_launch_shape<double, 8>(784, 8, true).keep_inputs));
  EXPECT_TRUE((fused_launch_shape<double, 8>(784, 4, true).keep_inputs));
}

// Teacher indices as HostBatch::teachers gives them when a teacher is fixed
// by seed and M: the first run with both.
std::vector<int> teachers_by_seed_and_m(const std::vector<RunParams<float>>& params) {
  std::vector<int> teachers(params.size());
  for (std::size_t r = 0; r < params.size(); ++r) {
    teachers[r] = static_cast<int>(r);
    for (std::size_t f = 0; f < r; ++f)
      if (params[f].seed == params[r].seed && params[f].c.M == params[r].c.M) {
        teachers[r] = static_cast<int>(f);
        break;
      }
  }
  return teachers;
}

// The rows a task's kernel block holds: each run's students, and its teacher
// unless the run before it in the task has the same one (FusedTask::shares_teacher,
// which must say exactly that).
int task_rows(const FusedPlan& plan, const FusedTask& task,
              const std::vector<RunParams<float>>& params, const std::vector<int>& teachers) {
  int rows = 0;
  for (int i = task.first; i < task.first + task.count; ++i) {
    const int r = plan.task_runs[i];
    const bool shares = i > task.first && teachers[plan.task_runs[i - 1]] == teachers[r];
    EXPECT_EQ(((task.shares_teacher >> (i - task.first)) & 1u) != 0, shares) << "run " << r;
    rows += params[r].c.K + (shares ? 0 : params[r].c.M);
  }
  return rows;
}

// The plan (fused_plan.h): runs of one seed, batch size and step counter
// share a task up to the row and run bounds; frozen runs are left out; each
// task sits in the smallest row class that holds it.
TEST(FusedPlan, GroupsBySeedWithinTheBounds) {
  std::vector<RunParams<float>> params;
  auto add = [&](std::uint64_t seed, int k, int m, int batch) {
    RunParams<float> p{};
    p.c.K = k;
    p.c.M = m;
    p.seed = seed;
    p.batch = batch;
    params.push_back(p);
  };
  for (int i = 0; i < 10; ++i) add(7, 1, 1, 1);  // 10 runs of one teacher: 8 runs, then 1
  add(7, 1, 1, 2);                               // another batch size: a task of its own
  add(3, 8, 8, 1);                               // 16 rows
  add(3, 2, 1, 1);                               // same seed, another teacher: 16 + 3 > 16
  params[4].frozen = 1;
  const std::vector<int> teachers = teachers_by_seed_and_m(params);
  const FusedPlan plan = plan_fused_tasks(params, teachers, true);
  int planned = 0;
  for (int c = 0; c < 3; ++c) {
    int max_batch = 1;
    for (int t = plan.class_first[c]; t < plan.class_first[c] + plan.class_count[c]; ++t)
      max_batch = std::max(max_batch, params[plan.task_runs[plan.tasks[t].first]].batch);
    EXPECT_EQ(plan.class_max_batch[c], max_batch) << "class " << c;
    for (int t = plan.class_first[c]; t < plan.class_first[c] + plan.class_count[c]; ++t) {
      const FusedTask task = plan.tasks[t];
      for (int i = task.first; i < task.first + task.count; ++i) {
        const RunParams<float>& p = params[plan.task_runs[i]];
        EXPECT_EQ(p.frozen, 0);
        EXPECT_EQ(p.seed, params[plan.task_runs[task.first]].seed);
        EXPECT_EQ(p.batch, params[plan.task_runs[task.first]].batch);
      }
      EXPECT_LE(task.count, kFusedMaxRunsPerTask);
      EXPECT_EQ(fused_row_class(task_rows(plan, task, params, teachers)), kFusedRowClasses[c]);
      planned += task.count;
    }
  }
  EXPECT_EQ(planned, static_cast<int>(params.size()) - 1);
  // 9 runs of seed 7, B = 1: 8 + 1; one of B = 2; 16 rows; 3 rows.
  EXPECT_EQ(plan.ntasks(), 5);
  EXPECT_EQ(plan_fused_tasks(params, teachers, false).ntasks(),
            static_cast<int>(params.size()) - 1);
}

// Issue 13 point 4: grid points of one seed share a draw and their teacher's
// rows. At K = M = 4 a float task of 16 rows holds 3 runs of one teacher (4 +
// 3 x 4 rows), not 2 (2 x 8); runs of two teachers of one seed still share
// tasks, each teacher held once per task; mixed K fills the rows.
TEST(FusedPlan, RunsOfOneTeacherHoldItOnce) {
  std::vector<RunParams<float>> params;
  auto add = [&](std::uint64_t seed, int k, int m) {
    RunParams<float> p{};
    p.c.K = k;
    p.c.M = m;
    p.seed = seed;
    p.batch = 1;
    params.push_back(p);
  };
  for (int i = 0; i < 8; ++i) add(5, 4, 4);  // 8 grid points of seed 5, one teacher
  std::vector<int> teachers = teachers_by_seed_and_m(params);
  FusedPlan plan = plan_fused_tasks(params, teachers, true);
  ASSERT_EQ(plan.ntasks(), 3);        // 3 + 3 + 2 runs
  EXPECT_EQ(plan.class_count[2], 3);  // 16, 16 and 12 rows
  EXPECT_EQ(plan.class_count[1], 0);
  EXPECT_EQ(plan.class_count[0], 0);
  for (const FusedTask& task : plan.tasks) {
    EXPECT_EQ(task.shares_teacher, (1u << task.count) - 2u);  // every run but the first
    EXPECT_LE(task_rows(plan, task, params, teachers), 16);
  }
  EXPECT_EQ(task_rows(plan, plan.tasks.back(), params, teachers), 12);  // 2 runs: 4 + 8, class 16

  // Two teachers of seed 5 (alternating, as a sweep over a teacher setting
  // lists them): sorted by teacher, [A A A] [A B] [B B B], rows 16, 16, 16.
  for (int i = 0; i < 8; ++i) teachers[i] = i % 2;
  plan = plan_fused_tasks(params, teachers, true);
  ASSERT_EQ(plan.ntasks(), 3);
  EXPECT_EQ(plan.tasks[1].count, 2);
  EXPECT_EQ(plan.tasks[1].shares_teacher, 0u);
  for (const FusedTask& task : plan.tasks) EXPECT_EQ(task_rows(plan, task, params, teachers), 16);

  // Mixed K under one teacher of M = 2: 2 + 5 + 3 + 6 = 16 rows, then the rest.
  params.clear();
  for (const int k : {5, 3, 6, 1, 7}) add(9, k, 2);
  teachers = teachers_by_seed_and_m(params);
  plan = plan_fused_tasks(params, teachers, true);
  ASSERT_EQ(plan.ntasks(), 2);
  EXPECT_EQ(plan.tasks[0].count, 3);
  EXPECT_EQ(task_rows(plan, plan.tasks[0], params, teachers), 16);
  EXPECT_EQ(task_rows(plan, plan.tasks[1], params, teachers), 10);  // 2 + 1 + 7: class 16
  EXPECT_THROW(plan_fused_tasks(params, std::vector<int>(2), true), std::invalid_argument);
}

// Real inputs and file labels (RunParams::inputs, ::labels): runs of one seed
// share a task only when they read the same rows and labels.
TEST(FusedPlan, RunsOnOtherDataShareNoTask) {
  const float rows_a[1] = {0.0f}, rows_b[1] = {0.0f}, labels_a[1] = {0.0f};
  std::vector<RunParams<float>> params;
  auto add = [&](const float* inputs, const float* labels) {
    RunParams<float> p{};
    p.c.K = 1;
    p.c.M = 1;
    p.seed = 4;
    p.batch = 1;
    p.train_size = 1;
    p.inputs = inputs;
    p.labels = labels;
    params.push_back(p);
  };
  // Interleaved: sorting must bring each data set's runs together.
  for (int i = 0; i < 2; ++i) {
    add(nullptr, nullptr);
    add(rows_a, labels_a);
    add(rows_a, nullptr);
    add(rows_b, nullptr);
  }
  const std::vector<int> teachers = teachers_by_seed_and_m(params);
  const FusedPlan plan = plan_fused_tasks(params, teachers, true);
  ASSERT_EQ(plan.ntasks(), 4);
  for (const FusedTask& task : plan.tasks) {
    EXPECT_EQ(task.count, 2);
    const RunParams<float>& first = params[plan.task_runs[task.first]];
    const RunParams<float>& second = params[plan.task_runs[task.first + 1]];
    EXPECT_EQ(first.inputs, second.inputs);
    EXPECT_EQ(first.labels, second.labels);
  }
}

}  // namespace
}  // namespace tsgd
