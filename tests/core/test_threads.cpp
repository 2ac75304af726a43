// core/threads.h: the thread count of a command and the budget of a loop over jobs.
#include <gtest/gtest.h>
#include <omp.h>

#include "core/threads.h"

namespace tsgd {
namespace {

TEST(Threads, BudgetCapsTheTeamAndLendsTheRestInside) {
  const int caller = omp_get_max_threads();
  {
    const ThreadBudget one_job(3, 1);
    EXPECT_EQ(one_job.team(), 1);
    EXPECT_EQ(omp_get_max_threads(), 3);  // what the job may use inside
  }
  EXPECT_EQ(omp_get_max_threads(), caller);  // restored
  {
    const ThreadBudget many(2, 40);
    EXPECT_EQ(many.team(), 2);
    const ThreadBudget none(4, 0);  // no jobs: still a valid team size
    EXPECT_EQ(none.team(), 1);
  }
  EXPECT_EQ(omp_get_max_threads(), caller);
  EXPECT_EQ(thread_count(5), 5);
  EXPECT_EQ(thread_count(0), caller);
}

}  // namespace
}  // namespace tsgd
