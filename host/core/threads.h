// The number of CPU threads a command uses: the one asked for (--threads), or
// every core when 0.
#pragma once

namespace tsgd {

int thread_count(int requested);

}  // namespace tsgd
