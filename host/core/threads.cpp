#include "core/threads.h"

#include <omp.h>

#include <algorithm>

namespace tsgd {

int thread_count(int requested) { return requested > 0 ? requested : omp_get_max_threads(); }

ThreadBudget::ThreadBudget(int threads, int items)
    : team_(std::max(1, std::min(threads, items))), caller_threads_(omp_get_max_threads()) {
  omp_set_num_threads(std::max(1, threads));
}

ThreadBudget::~ThreadBudget() { omp_set_num_threads(caller_threads_); }

}  // namespace tsgd
