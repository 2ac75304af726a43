// The simulation loop: drives any engine (core/engine.h) through a batch's
// record steps and keeps, per run, eps_g and the order parameters at each
// record (docs/architecture.md contract 2), flagging runs that diverge. eps_g is
// the closed form from the order parameters, or for a run on real inputs with
// test rows (test_set_eg) the error on the test set (core/test_error.h), which
// then also bounds divergence; file labels add the test set's class error.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "core/engine.h"
#include "core/initial_weights.h"
#include "core/model.h"
#include "experiment/records.h"

namespace tsgd {

// A batch between two record times: what a checkpoint holds
// (experiment/checkpoint.h), and what simulate_batch resumes from.
struct BatchState {
  std::size_t records = 0;  // record times done
  // Steps done: the step of the last record, or (a checkpoint written when the
  // batch was stopped) a step before the next record's.
  std::int64_t step = 0;
  std::vector<InitialWeights> weights;  // each run's w and v (the teacher's left empty)
  std::vector<char> live;               // 0: the run diverged and is frozen
  std::vector<double> bound;            // each run's divergence bound on eps_g
  std::vector<RunTrajectory> runs;      // the records so far
};

struct SimulationControl {
  bool keep_all_states = true;                // else only the final state is kept
  std::optional<double> diverge_eg;           // empty: 1e4 * max(1, eps_g at alpha = 0)
  std::int64_t max_steps_per_call = 1 << 16;  // granularity of progress and interruption
  int train_error_samples = 10000;            // record.train_error_samples
  int threads = 0;  // threads of the test-set error (core/test_error.h); 0: all cores
  const std::atomic<bool>* stop = nullptr;  // set asynchronously: abandon the batch
  // Called after every advance with the number of run-steps done (all runs).
  std::function<void(double run_steps, double alpha)> progress;
  // Each run's final first-layer weights into RunTrajectory::final_w.
  bool final_weights = false;
  // After every record time but the last at which checkpoint_due() is true,
  // checkpoint() gets the batch's state (its runs' records included); when
  // both are set and the batch is stopped, also the state where it stopped.
  std::function<bool()> checkpoint_due;
  std::function<void(const BatchState&)> checkpoint;
  // Not null: the batch continues from this state of it (its runs, in order,
  // at one of its record times) instead of from step 0.
  const BatchState* resume = nullptr;
};

// Whether STATE's step lies from its last record's step (in STEPS, the
// batch's record steps) to before the next record's.
inline bool checkpoint_step(const BatchState& state, const std::vector<std::int64_t>& steps) {
  return state.records > 0 && state.records < steps.size() &&
         state.step >= steps[state.records - 1] && state.step < steps[state.records];
}

// Runs a batch (all runs share N and the record steps) through every record
// step on `engine` (from control.resume when given). Returns false when stopped through
// control.stop (the trajectories are then incomplete and must be discarded).
bool simulate_batch(Engine& engine, const std::vector<RunSpec>& runs,
                    const std::vector<std::int64_t>& steps, const SimulationControl& control,
                    std::vector<RunTrajectory>& out);

}  // namespace tsgd
