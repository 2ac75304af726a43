// The simulation loop: one batch through every record step on any engine. See simulation.h.
#include "experiment/simulation.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "core/test_error.h"
#include "theory/generalisation_error.h"

namespace tsgd {

namespace {

double live_runs(const std::vector<char>& live) {
  return static_cast<double>(std::count(live.begin(), live.end(), 1));
}

std::vector<char> frozen_of(const std::vector<char>& live) {
  std::vector<char> frozen(live.size());
  for (std::size_t r = 0; r < live.size(); ++r) frozen[r] = live[r] ? 0 : 1;
  return frozen;
}

// The batch's state after RECORDS record times (STEP steps) handed to SAVE;
// the records are moved in and back, not copied.
void save_state(Engine& engine, std::size_t records, std::int64_t step,
                const std::vector<char>& live, const std::vector<double>& bound,
                std::vector<RunTrajectory>& runs,
                const std::function<void(const BatchState&)>& save) {
  BatchState state;
  state.records = records;
  state.step = step;
  state.live = live;
  state.bound = bound;
  state.weights.resize(runs.size());
  for (std::size_t r = 0; r < runs.size(); ++r) {
    engine.weights(r, state.weights[r]);
    state.weights[r].wstar.clear();
    state.weights[r].vstar.clear();
  }
  state.runs = std::move(runs);
  try {
    save(state);
  } catch (...) {
    runs = std::move(state.runs);
    throw;
  }
  runs = std::move(state.runs);
}

// The batch just loaded, set to STATE (a checkpoint of it): the engine's runs and
// the loop's records, live flags and divergence bounds.
void resume_from(Engine& engine, const BatchState& state, const std::vector<std::int64_t>& steps,
                 std::vector<RunTrajectory>& out, std::vector<char>& live,
                 std::vector<double>& bound) {
  const std::size_t n = out.size();
  if (state.runs.size() != n || state.weights.size() != n || state.live.size() != n ||
      state.bound.size() != n || !checkpoint_step(state, steps))
    throw std::invalid_argument("simulate_batch: resume from the state of another batch");
  engine.resume(state.step, state.weights, frozen_of(state.live));
  out = state.runs;
  live = state.live;
  bound = state.bound;
}

// What is measured at a record time, per run of the batch.
struct Measures {
  std::vector<OrderParameters> states;
  // The training error (finite training sets), and the test set's eg and class
  // error (core/test_error.h: runs on real inputs), NaN for the other runs.
  std::vector<double> et, test_eg, class_err;

  // Run R's eps_g: the test set's, or the closed form of its order parameters.
  double eg(const PointParams& p, std::size_t r) const {
    if (test_set_eg(p)) return test_eg[r];
    const OrderParameters& op = states[r];
    return op.finite() ? generalisation_error(op, p.student_activation, p.teacher_activation)
                       : std::numeric_limits<double>::quiet_NaN();
  }
};

// The measures of every run at the engine's current weights.
void measure(Engine& engine, const std::vector<RunSpec>& runs, const SimulationControl& control,
             Measures& m) {
  engine.order_parameters(m.states);
  if (std::any_of(runs.begin(), runs.end(), [](const RunSpec& r) { return r.params.train_size; }))
    engine.training_errors(control.train_error_samples, m.et);
  if (std::none_of(runs.begin(), runs.end(),
                   [](const RunSpec& r) { return test_set_eg(r.params); }))
    return;
  std::vector<InitialWeights> current(runs.size());
  for (std::size_t r = 0; r < runs.size(); ++r)
    if (test_set_eg(runs[r].params)) engine.weights(r, current[r]);
  test_errors(runs, current, control.threads, m.test_eg, m.class_err);
}

}  // namespace

bool simulate_batch(Engine& engine, const std::vector<RunSpec>& runs,
                    const std::vector<std::int64_t>& steps, const SimulationControl& control,
                    std::vector<RunTrajectory>& out) {
  out.assign(runs.size(), RunTrajectory{});
  engine.load(runs);
  Measures m;
  std::vector<double> bound(runs.size(), 0.0);
  std::vector<char> live(runs.size(), 1);
  const double N = runs.empty() ? 1.0 : runs[0].params.N;
  std::int64_t done = 0;
  std::size_t first_record = 0;
  if (const BatchState* state = control.resume) {
    resume_from(engine, *state, steps, out, live, bound);
    done = state->step;
    first_record = state->records;
    if (control.progress) control.progress(live_runs(live) * static_cast<double>(done), done / N);
  }
  for (std::size_t j = first_record; j < steps.size(); ++j) {
    while (done < steps[j]) {
      if (control.stop && control.stop->load()) {
        // Stopped (SIGTERM, a Slurm time limit): with checkpoints on, the state
        // at this step, between record times, so a resume loses nothing.
        if (j > 0 && control.checkpoint && control.checkpoint_due)
          save_state(engine, j, done, live, bound, out, control.checkpoint);
        return false;
      }
      const std::int64_t chunk = std::min(steps[j] - done, control.max_steps_per_call);
      engine.advance(chunk);
      done += chunk;
      if (control.progress) {
        control.progress(live_runs(live) * static_cast<double>(chunk),
                         static_cast<double>(done) / N);
      }
    }
    measure(engine, runs, control, m);
    const double alpha = static_cast<double>(steps[j]) / N;
    for (std::size_t r = 0; r < runs.size(); ++r) {
      if (!live[r]) continue;
      RunTrajectory& t = out[r];
      const PointParams& p = runs[r].params;
      const OrderParameters& op = m.states[r];
      const double eg = m.eg(p, r);
      if (j == 0) bound[r] = control.diverge_eg ? *control.diverge_eg : 1e4 * std::max(1.0, eg);
      t.point_id = runs[r].point_id;
      t.seed = runs[r].seed;
      t.alpha.push_back(alpha);
      t.eg.push_back(eg);
      if (p.train_size > 0) t.et.push_back(m.et[r]);
      if (records_class_err(p)) t.class_err.push_back(m.class_err[r]);
      if (control.keep_all_states || t.states.empty())
        t.states.push_back(op);
      else
        t.states.back() = op;
      if (!std::isfinite(eg) || eg > bound[r]) {
        t.diverged = true;
        t.diverged_alpha = alpha;
        live[r] = 0;
        engine.freeze(r);
      }
    }
    if (j + 1 < steps.size() && control.checkpoint && control.checkpoint_due &&
        control.checkpoint_due())
      save_state(engine, j + 1, steps[j], live, bound, out, control.checkpoint);
  }
  if (control.final_weights) {
    InitialWeights w;
    for (std::size_t r = 0; r < runs.size(); ++r) {
      engine.weights(r, w);
      out[r].final_w = std::move(w.w);
    }
  }
  return true;
}

}  // namespace tsgd
