// See calibration.h.
#include "experiment/calibration.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "engines/cpu_engine.h"
#include "experiment/ode_stage.h"
#include "experiment/plan.h"
#include "experiment/progress.h"
#include "experiment/resources.h"
#include "experiment/simulation.h"
#include "theory/fixed_point.h"
#include "theory/ode.h"
#include "theory/ode_system.h"

namespace tsgd {

namespace {

// A record class of the SGD stage (runs of one N and alpha go to the engine
// together, ordered by seed, then point, so that runs of one seed share draws).
struct Class {
  double run_steps = 0;       // of the experiment's runs in it
  std::vector<RunSpec> runs;  // all of them, in the stage's order
};

// Seconds of STEPS steps of RUNS on ENGINE (the records of simulate_batch: just the end).
double time_steps(Engine& engine, const std::vector<RunSpec>& runs, std::int64_t steps) {
  SimulationControl control;
  control.keep_all_states = false;
  std::vector<RunTrajectory> out;
  const auto t0 = Clock::now();
  simulate_batch(engine, runs, {steps}, control, out);
  return seconds_since(t0);
}

// Measured seconds per run-step of the first runs of class C (as the stage
// batches them) over the rule's mean for them.
double probe(const Class& c, Precision precision, double seconds) {
  const std::vector<RunSpec> runs(c.runs.begin(),
                                  c.runs.begin() + std::min<std::size_t>(c.runs.size(), 24));
  const std::unique_ptr<Engine> engine = make_cpu_engine(precision, 1);
  double rule = 0;
  std::int64_t shortest = runs[0].params.total_steps();
  for (const RunSpec& r : runs) {
    rule += cpu_rule_seconds_per_run_step(r.params) / static_cast<double>(runs.size());
    shortest = std::min(shortest, r.params.total_steps());
  }
  const double n = static_cast<double>(runs.size());
  // Steps for SECONDS by the rule; three times that within the runs' own length.
  const auto steps = static_cast<std::int64_t>(
      std::clamp(seconds / (rule * n), 10.0, std::max(10.0, shortest / 3.0)));
  const double short_run = time_steps(*engine, runs, steps);
  const double long_run = time_steps(*engine, runs, 3 * steps);
  const double measured = std::max(long_run - short_run, 1e-9) / (n * 2.0 * steps);
  return measured / rule;
}

}  // namespace

CpuCalibrationReport calibrate_cpu_rule(const Experiment& e, int max_shapes, double seconds) {
  CpuCalibrationReport report;
  if (!e.simulate.enabled) return report;
  const auto t0 = Clock::now();
  std::map<std::pair<int, double>, Class> classes;
  for (const RunSpec& r : plan_runs(e)) {
    Class& c = classes[{r.params.N, r.params.alpha}];
    c.run_steps += static_cast<double>(r.params.total_steps());
    c.runs.push_back(r);
  }
  std::vector<std::pair<double, std::pair<int, double>>> by_work;
  for (auto& [key, c] : classes) {
    std::stable_sort(c.runs.begin(), c.runs.end(), [](const RunSpec& a, const RunSpec& b) {
      return a.seed != b.seed ? a.seed < b.seed : a.point_id < b.point_id;
    });
    by_work.emplace_back(-c.run_steps, key);
  }
  std::sort(by_work.begin(), by_work.end());
  std::map<std::string, double> factors;
  std::vector<double> measured;
  const Precision precision = engine_precision(e.simulate, false);
  for (int i = 0; i < max_shapes && i < static_cast<int>(by_work.size()); ++i) {
    const Class& c = classes[by_work[static_cast<std::size_t>(i)].second];
    const double factor = probe(c, precision, seconds);
    for (const RunSpec& r : c.runs) factors.emplace(cpu_shape_key(r.params), factor);
    measured.push_back(factor);
  }
  std::sort(measured.begin(), measured.end());
  report.median_factor = measured.empty() ? 1.0 : measured[measured.size() / 2];
  set_cpu_calibration(factors, report.median_factor);
  report.shapes = static_cast<int>(measured.size());
  report.shapes_total = static_cast<int>(classes.size());
  report.probe_seconds = seconds_since(t0);
  return report;
}

namespace {

// Seconds of the ODE of a point to ALPHA: measured up to alpha_probed; beyond
// it the larger of two extrapolations: the power law through the last two
// probes (exponent within [0, 1]: adaptive steps lengthen as the dynamics slow
// down), and steps as long as the explicit method's stability allows at the
// probe's end state (3.3 / spectral radius of the Jacobian for Dormand-Prince),
// which bounds the step once the state settles.
struct OdeTimeModel {
  double alpha_probed = 0, seconds_probed = 0, exponent = 1;
  double seconds_per_step = 0, stable_step = 0;
  double at(double alpha) const {
    if (alpha <= alpha_probed) return seconds_probed * alpha / std::max(alpha_probed, 1e-300);
    const double power = seconds_probed * std::pow(alpha / alpha_probed, exponent);
    const double stable =
        stable_step > 0 ? seconds_probed + (alpha - alpha_probed) / stable_step * seconds_per_step
                        : 0.0;
    return std::max(power, stable);
  }
};

OdeTimeModel probe_ode(const Experiment& e, int point, double budget) {
  const PointParams& p = e.points[static_cast<std::size_t>(point)];
  const OrderParameters initial = ode_initial_states(e, point).at(0).second;
  OdeTimeModel m;
  double alpha = std::min(p.alpha, 0.1), previous_alpha = 0, previous_seconds = 0;
  double spent = 0;
  OdeResult last;
  while (true) {
    const auto t0 = Clock::now();
    last = integrate_ode(p, initial, {alpha}, e.ode);
    const double seconds = seconds_since(t0);
    spent += seconds;
    m.alpha_probed = alpha;
    m.seconds_probed = seconds;
    m.seconds_per_step = seconds / static_cast<double>(std::max(1L, last.steps));
    if (previous_alpha > 0 && previous_seconds > 0)
      m.exponent = std::clamp(
          std::log(seconds / previous_seconds) / std::log(alpha / previous_alpha), 0.0, 1.0);
    if (alpha >= p.alpha || spent + 2 * seconds > budget) break;
    previous_alpha = alpha;
    previous_seconds = seconds;
    alpha = std::min(p.alpha, 2 * alpha);
  }
  if (alpha < p.alpha && e.ode.method == OdeMethod::adaptive && !last.diverged &&
      !last.states.empty()) {
    double radius = 0;
    const int dim = OdeSystem(p, last.states.back()).dimension();
    for (const auto& lambda : eigenvalues(ode_jacobian(p, last.states.back()), dim))
      radius = std::max(radius, std::abs(lambda));
    if (radius > 0) m.stable_step = 3.3 / radius;
  }
  return m;
}

std::string ode_class_key(const PointParams& p) {
  return std::string(to_string(p.teacher_activation)) + "/" + to_string(p.student_activation) +
         " K=" + std::to_string(p.K) + " M=" + std::to_string(p.M) + " " + to_string(p.train);
}

}  // namespace

OdeTimeEstimate estimate_ode_time(const Experiment& e, int max_classes, double budget) {
  OdeTimeEstimate out;
  if (!e.ode.enabled) return out;
  const auto t0 = Clock::now();
  const double curves = e.ode.init == OdeInit::measured ? e.seeds.count : 1.0;
  std::map<std::string, std::pair<double, int>> classes;  // key -> (alpha summed, longest point)
  for (std::size_t i = 0; i < e.points.size(); ++i) {
    auto& c = classes[ode_class_key(e.points[i])];
    if (c.first == 0 || e.points[i].alpha > e.points[static_cast<std::size_t>(c.second)].alpha)
      c.second = static_cast<int>(i);
    c.first += e.points[i].alpha;
  }
  std::vector<std::pair<double, std::string>> by_work;
  for (const auto& [key, c] : classes) by_work.emplace_back(-c.first, key);
  std::sort(by_work.begin(), by_work.end());
  std::map<std::string, OdeTimeModel> models;
  std::vector<double> per_alpha;
  for (int i = 0; i < max_classes && i < static_cast<int>(by_work.size()); ++i) {
    const std::string& key = by_work[static_cast<std::size_t>(i)].second;
    models[key] = probe_ode(e, classes[key].second, budget);
    per_alpha.push_back(models[key].at(e.points[classes[key].second].alpha) /
                        e.points[classes[key].second].alpha);
  }
  std::sort(per_alpha.begin(), per_alpha.end());
  const double median = per_alpha.empty() ? 0.0 : per_alpha[per_alpha.size() / 2];
  for (const PointParams& p : e.points) {
    const auto it = models.find(ode_class_key(p));
    out.seconds += curves * (it != models.end() ? it->second.at(p.alpha) : median * p.alpha);
  }
  out.classes = static_cast<int>(models.size());
  out.classes_total = static_cast<int>(classes.size());
  out.probe_seconds = seconds_since(t0);
  return out;
}

}  // namespace tsgd
