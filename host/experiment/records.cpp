#include "experiment/records.h"

#include <algorithm>
#include <cmath>

#include "theory/generalisation_error.h"
#include "core/initial_weights.h"

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

OrderParameters initial_order_parameters(const RunSpec& run) {
  const InitialWeights w = initial_weights(run);
  const int K = run.params.K, M = run.params.M;
  const std::size_t n = static_cast<std::size_t>(run.params.N);
  OrderParameters op;
  op.resize(K, M);
  auto overlap = [n](const double* a, const double* b) {
    double s = 0.0;
    for (std::size_t i = 0; i < n; ++i) s += a[i] * b[i];
    return s / static_cast<double>(n);
  };
  for (int i = 0; i < K; ++i) {
    for (int j = 0; j < K; ++j) op.Q[i * K + j] = overlap(&w.w[i * n], &w.w[j * n]);
    for (int m = 0; m < M; ++m) op.R[i * M + m] = overlap(&w.w[i * n], &w.wstar[m * n]);
    op.v[i] = w.v[i];
  }
  for (int a = 0; a < M; ++a) {
    for (int b = 0; b < M; ++b) op.T[a * M + b] = overlap(&w.wstar[a * n], &w.wstar[b * n]);
    op.vstar[a] = w.vstar[a];
  }
  return op;
}

}  // namespace tsgd
