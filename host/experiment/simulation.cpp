// The simulation loop: one batch through every record step on any engine. See simulation.h.
#include "experiment/simulation.h"

#include <algorithm>
#include <cmath>

#include "theory/generalisation_error.h"

namespace tsgd {

bool simulate_batch(Engine& engine, const std::vector<RunSpec>& runs,
                    const std::vector<std::int64_t>& steps, const SimulationControl& control,
                    std::vector<RunTrajectory>& out) {
  out.assign(runs.size(), RunTrajectory{});
  engine.load(runs);
  std::vector<OrderParameters> states;
  std::vector<double> bound(runs.size(), 0.0);
  std::vector<char> live(runs.size(), 1);
  const double N = runs.empty() ? 1.0 : runs[0].params.N;
  std::int64_t done = 0;
  for (std::size_t j = 0; j < steps.size(); ++j) {
    while (done < steps[j]) {
      if (control.stop && control.stop->load()) return false;
      const std::int64_t chunk = std::min(steps[j] - done, control.max_steps_per_call);
      engine.advance(chunk);
      done += chunk;
      if (control.progress) {
        const auto n_live = static_cast<double>(std::count(live.begin(), live.end(), 1));
        control.progress(n_live * static_cast<double>(chunk), static_cast<double>(done) / N);
      }
    }
    engine.order_parameters(states);
    const double alpha = static_cast<double>(steps[j]) / N;
    for (std::size_t r = 0; r < runs.size(); ++r) {
      if (!live[r]) continue;
      RunTrajectory& t = out[r];
      const PointParams& p = runs[r].params;
      const OrderParameters& op = states[r];
      const double eg = op.finite()
                            ? generalisation_error(op, p.student_activation, p.teacher_activation)
                            : std::numeric_limits<double>::quiet_NaN();
      if (j == 0) bound[r] = control.diverge_eg ? *control.diverge_eg : 1e4 * std::max(1.0, eg);
      t.point_id = runs[r].point_id;
      t.seed = runs[r].seed;
      t.alpha.push_back(alpha);
      t.eg.push_back(eg);
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
  }
  return true;
}

}  // namespace tsgd
