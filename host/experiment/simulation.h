// The simulation loop: drives any engine (core/engine.h) through a batch's
// record steps and keeps, per run, eps_g (closed form from the order
// parameters) and the order parameters at each record (docs/architecture.md contract 2),
// flagging runs that diverge.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "core/engine.h"
#include "core/model.h"
#include "experiment/records.h"

namespace tsgd {

struct SimulationControl {
  bool keep_all_states = true;                // else only the final state is kept
  std::optional<double> diverge_eg;           // empty: 1e4 * max(1, eps_g at alpha = 0)
  std::int64_t max_steps_per_call = 1 << 16;  // granularity of progress and interruption
  const std::atomic<bool>* stop = nullptr;    // set asynchronously: abandon the batch
  // Called after every advance with the number of run-steps done (all runs).
  std::function<void(double run_steps, double alpha)> progress;
};

// Runs a batch (all runs share N and the record steps) through every record
// step on `engine`. Returns false when stopped through control.stop (the
// trajectories are then incomplete and must be discarded).
bool simulate_batch(Engine& engine, const std::vector<RunSpec>& runs,
                    const std::vector<std::int64_t>& steps, const SimulationControl& control,
                    std::vector<RunTrajectory>& out);

}  // namespace tsgd
