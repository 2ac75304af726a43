// Several engines acting as one (docs/architecture.md contract 6: the plan's
// runs are split across all visible GPUs). A batch is cut into contiguous slices, one
// per engine, balanced by the work of their runs and cut between seeds where
// that costs little (runs of one seed share their inputs on every engine);
// advance and order_parameters drive the engines from one host thread each,
// so several GPUs work at once. A run's numbers do not depend on its slice:
// every engine is batch invariant.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "core/engine.h"

namespace tsgd {

// No slice holds more than max(ceil(n / parts), floor(kSplitMaxShare n / parts))
// of a batch's n runs, whatever their work: each engine pads its runs to its
// slice's largest shape, so memory is sized per run, and the runner's waves
// (gpu_batch_capacity) assume this bound.
constexpr double kSplitMaxShare = 1.25;

// The slice sizes `split_engine` gives `parts` engines for `runs` (tests).
std::vector<std::size_t> split_batch(const std::vector<RunSpec>& runs, std::size_t parts);

// One engine over `parts` (all of one name, precision and transform; at least one).
// With a single part, that part itself.
std::unique_ptr<Engine> make_split_engine(std::vector<std::unique_ptr<Engine>> parts);

}  // namespace tsgd
