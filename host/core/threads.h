// The number of CPU threads a command uses: the one asked for (--threads), or
// every core when 0.
#pragma once

namespace tsgd {

int thread_count(int requested);

// For a loop over `items` independent jobs on `threads` threads: sets the calling
// thread's OpenMP thread count to `threads` (what a job may use inside, e.g. the ODE's
// right-hand side of a large student when the team is a single thread) until
// destroyed, and says how many threads the team over the items should have:
// no more than there are items.
class ThreadBudget {
 public:
  ThreadBudget(int threads, int items);
  ~ThreadBudget();
  ThreadBudget(const ThreadBudget&) = delete;
  ThreadBudget& operator=(const ThreadBudget&) = delete;
  int team() const { return team_; }

 private:
  int team_ = 1;
  int caller_threads_ = 1;
};

}  // namespace tsgd
