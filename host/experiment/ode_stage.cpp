// See ode_stage.h.
#include "experiment/ode_stage.h"

#include <algorithm>
#include <iostream>
#include <stdexcept>

#include "core/initial_weights.h"
#include "core/threads.h"
#include "experiment/plan.h"
#include "experiment/work_units.h"
#include "theory/ode.h"

namespace tsgd {

std::vector<std::pair<std::optional<std::uint64_t>, OrderParameters>> ode_initial_states(
    const Experiment& e, int point) {
  const PointParams& p = e.points[point];
  std::vector<std::pair<std::optional<std::uint64_t>, OrderParameters>> out;
  switch (e.ode.init) {
    case OdeInit::measured:
      for (int s = 0; s < e.seeds.count; ++s) {
        const RunSpec run{point, e.seeds.first + static_cast<std::uint64_t>(s), p};
        out.emplace_back(run.seed, initial_order_parameters(run));
      }
      break;
    case OdeInit::expected:
      out.emplace_back(std::nullopt, expected_initial_state(p));
      break;
    case OdeInit::explicit_state:
      out.emplace_back(std::nullopt, explicit_initial_state(e.ode.state, p));
      break;
  }
  return out;
}

OdeCurve integrate_curve(const Experiment& e, int point, std::optional<std::uint64_t> seed,
                         const OrderParameters& initial) {
  const OdeResult r =
      integrate_ode(e.points[point], initial, record_alphas(e, e.points[point]), e.ode);
  OdeCurve c;
  c.point_id = point;
  c.seed = seed;
  c.alpha = r.alpha;
  c.eg = r.eg;
  c.diverged = r.diverged;
  c.diverged_alpha = r.diverged_alpha;
  c.diverged_reason = r.diverged_reason;
  if (e.record.order_parameters)
    c.states = r.states;
  else if (!r.states.empty())
    c.states = {r.states.back()};
  return c;
}

bool run_ode_stage(const Experiment& e, const std::string& work_dir, int threads, bool quiet,
                   const std::atomic<bool>* stop, std::vector<OdeCurve>& out,
                   const std::vector<char>* include) {
  const int points = static_cast<int>(e.points.size());
  const OdeUnitStore store(work_dir, e);
  std::vector<std::vector<OdeCurve>> per_point(points);
  std::vector<char> done(points, 0);
  for (int p = 0; p < points; ++p) {
    if (include && !(*include)[p]) {
      done[p] = 1;
    } else if (store.has(p)) {
      per_point[p] = store.load(p);
      done[p] = 1;
    }
  }
  const int todo = static_cast<int>(std::count(done.begin(), done.end(), 0));
  if (!quiet && todo > 0)
    std::cerr << "tsgd: integrating the ODEs of " << todo << " grid point(s)"
              << (todo < points ? " (resumed)" : "") << "\n";
  const auto stopping = [stop] { return stop && stop->load(); };
  std::string error;
  // No more threads than points: with one point the team is inactive, and the ODE of a
  // large student spreads each right-hand side over the threads instead (ode_system.h).
  const ThreadBudget budget(threads, todo);
#pragma omp parallel for num_threads(budget.team()) schedule(dynamic, 1)
  for (int p = 0; p < points; ++p) {
    if (done[p] || stopping()) continue;
    try {
      std::vector<OdeCurve> curves;
      for (const auto& [seed, initial] : ode_initial_states(e, p)) {
        if (stopping()) break;
        curves.push_back(integrate_curve(e, p, seed, initial));
      }
      if (stopping()) continue;
      store.save(p, curves);
      per_point[p] = std::move(curves);
    } catch (const std::exception& err) {
#pragma omp critical
      error = err.what();
    }
  }
  if (!error.empty()) throw std::runtime_error("ODE: " + error);
  out.clear();
  for (auto& curves : per_point)
    for (auto& c : curves) out.push_back(std::move(c));
  return !stopping();
}

}  // namespace tsgd
