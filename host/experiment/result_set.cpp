// See result_set.h.
#include "experiment/result_set.h"

#include <algorithm>
#include <exception>

#include "core/threads.h"
#include "theory/fixed_point.h"

namespace tsgd {

namespace {

TheoryReport small_eta_rule_of(const PointParams& p, const OdeCurve* c) {
  if (!c || c->states.empty())
    return small_eta_unavailable("needs the ODE's end state (ode.enabled, an ODE for this point)");
  if (c->diverged) return small_eta_unavailable("needs an ODE that did not diverge");
  try {
    PointParams noise_free = p;
    noise_free.sigma = 0;
    return small_eta_theory(p, [&] { return find_fixed_point(noise_free, c->states.back()); });
  } catch (const std::exception& ex) {
    return small_eta_unavailable(std::string("needs a noise-free fixed point: ") + ex.what());
  }
}

}  // namespace

bool lists_eg_source(const Experiment& e) {
  return std::any_of(e.points.begin(), e.points.end(), test_set_eg);
}

bool lists_class_err(const Experiment& e) {
  return std::any_of(e.points.begin(), e.points.end(), records_class_err);
}

const char* eg_source(const PointParams& p) { return test_set_eg(p) ? "test_set" : "closed_form"; }

std::vector<TheoryReport> theory_of_points(const Experiment& e, const std::vector<OdeCurve>& ode,
                                           int threads) {
  std::vector<TheoryReport> out(e.points.size());
  std::vector<const OdeCurve*> first(e.points.size(), nullptr);
  for (const auto& c : ode)
    if (!first[c.point_id]) first[c.point_id] = &c;
  const ThreadBudget budget(threads, static_cast<int>(e.points.size()));
#pragma omp parallel for num_threads(budget.team()) schedule(dynamic, 1)
  for (std::size_t p = 0; p < e.points.size(); ++p) {
    out[p] = asymptotic_theory(e.points[p]);
    out[p].append(e.points[p].train_size > 0
                      ? small_eta_unavailable("needs online learning, a fresh sample every step")
                      : small_eta_rule_of(e.points[p], first[p]));
  }
  return out;
}

ResultSet assemble_results(const Experiment& e, std::vector<OdeCurve> ode, int threads) {
  std::stable_sort(ode.begin(), ode.end(),
                   [](const OdeCurve& a, const OdeCurve& b) { return a.point_id < b.point_id; });
  ResultSet results;
  results.experiment = &e;
  results.ode = std::move(ode);
  results.theory = theory_of_points(e, results.ode, threads);
  return results;
}

}  // namespace tsgd
