#include "core/threads.h"

#include <omp.h>

namespace tsgd {

int thread_count(int requested) { return requested > 0 ? requested : omp_get_max_threads(); }

}  // namespace tsgd
