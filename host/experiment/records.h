// What a run leaves behind: its eps_g curve and order parameters at the
// record times (DESIGN.md contract 2), and the simulation loop that produces
// them from any engine.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <vector>

#include "core/engine.h"
#include "core/model.h"

namespace tsgd {

struct RunTrajectory {
  int point_id = 0;
  std::uint64_t seed = 0;
  std::vector<double> alpha;              // record times (step / N)
  std::vector<double> eg;                 // closed-form eps_g at each record time
  std::vector<OrderParameters> states;    // at each record time, or only the last one
  bool diverged = false;
  double diverged_alpha = std::numeric_limits<double>::quiet_NaN();
};

struct SimulationControl {
  bool keep_all_states = true;            // else only the final state is kept
  std::optional<double> diverge_eg;       // empty: 1e4 * max(1, eps_g at alpha = 0)
  std::int64_t max_steps_per_call = 1 << 16;  // granularity of progress and interruption
  const std::atomic<bool>* stop = nullptr;     // set asynchronously: abandon the batch
  // Called after every advance with the number of run-steps done (all runs).
  std::function<void(double run_steps, double alpha)> progress;
};

// Runs a batch (all runs share N and the record steps) through every record
// step on `engine`. Returns false when stopped through control.stop (the
// trajectories are then incomplete and must be discarded).
bool simulate_batch(Engine& engine, const std::vector<RunSpec>& runs,
                    const std::vector<std::int64_t>& steps, const SimulationControl& control,
                    std::vector<RunTrajectory>& out);

// Order parameters of a run's initial weights (exact, double precision).
OrderParameters initial_order_parameters(const RunSpec& run);

}  // namespace tsgd
