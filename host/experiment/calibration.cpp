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

// Seconds of the ODE of a point to ALPHA: measured up to alpha_probed. Beyond
// it, for the adaptive method, a model of the step length: from the probe's
// last mean step h_end it grows as h_end (alpha / alpha_probed)^kGrowth as the
// dynamics slow down, until the explicit method's stability bound h_stable =
// 3.3 / spectral radius of the Jacobian at the probe's end state (~20% from
// its value at the fixed point on fig. 2a's points); from there every step is
// at the bound and the controller rejects about one in four
// (kRejectedAtBound). Without a stability bound (a diverged or fixed-step
// probe), the power law through the probe's last two lengths.
struct OdeTimeModel {
  // The growth of the mean step with alpha between the probe and the bound:
  // 0.6-0.8 measured on fig. 2a's ReLU points (K = 4, 6, alpha 6 to 6e3); the
  // probe's own last doubling is too early to tell (0.2-0.5 there).
  static constexpr double kGrowth = 0.75;
  // Attempted over accepted steps once the step sits at the stability bound:
  // 1.25-1.36 measured on fig. 2a's ReLU points (K = 4, 6; alpha 6e3 to 3e4).
  static constexpr double kRejectedAtBound = 1.3;
  double alpha_probed = 0, seconds_probed = 0, exponent = 1;
  double seconds_per_step = 0, h_end = 0, h_stable = 0;
  // Steps from alpha_probed to ALPHA.
  double steps(double alpha) const {
    const double b = kGrowth;
    const double to_bound = std::pow(h_stable / h_end, 1.0 / b);  // alpha_bound / alpha_probed
    const double x = std::clamp(to_bound, 1.0, alpha / alpha_probed);
    const double growing = alpha_probed / h_end * (std::pow(x, 1.0 - b) - 1.0) / (1.0 - b);
    return growing + (alpha - x * alpha_probed) / h_stable * kRejectedAtBound;
  }
  double at(double alpha) const {
    if (alpha <= alpha_probed) return seconds_probed * alpha / std::max(alpha_probed, 1e-300);
    if (h_stable <= 0 || h_end <= 0)
      return seconds_probed * std::pow(alpha / alpha_probed, exponent);
    return seconds_probed + steps(alpha) * seconds_per_step;
  }
};

constexpr double kLongestProbe = 1.0;  // seconds per class

OdeTimeModel probe_ode(const Experiment& e, const PointParams& p, const OrderParameters& initial,
                       double budget) {
  OdeTimeModel m;
  double alpha = std::min(p.alpha, 0.1), previous_alpha = 0;
  long previous_steps = 0;
  double spent = 0;
  OdeResult last;
  while (true) {
    const auto t0 = Clock::now();
    last = integrate_ode(p, initial, {alpha}, e.ode);
    const double seconds = seconds_since(t0);
    spent += seconds;
    const long attempted = last.steps + last.rejected_steps;
    m.alpha_probed = alpha;
    m.seconds_probed = seconds;
    m.seconds_per_step = seconds / static_cast<double>(std::max(1L, attempted));
    if (last.steps > previous_steps)
      m.h_end = (alpha - previous_alpha) / static_cast<double>(last.steps - previous_steps);
    if (previous_alpha > 0 && previous_steps > 0)
      m.exponent = std::clamp(std::log(static_cast<double>(last.steps) / previous_steps) /
                                  std::log(alpha / previous_alpha),
                              0.0, 1.0);
    // A long ODE earns a longer probe: up to 1% of the power law's (over)estimate,
    // at most kLongestProbe seconds.
    const double upper = seconds * std::pow(p.alpha / alpha, m.exponent);
    const double allowed = std::max(budget, std::min(kLongestProbe, 0.01 * upper));
    if (alpha >= p.alpha || spent + 2 * seconds > allowed) break;
    previous_alpha = alpha;
    previous_steps = last.steps;
    alpha = std::min(p.alpha, 2 * alpha);
  }
  if (alpha < p.alpha && e.ode.method == OdeMethod::adaptive && !last.diverged &&
      !last.states.empty()) {
    double radius = 0;
    const int dim = OdeSystem(p, last.states.back()).dimension();
    for (const auto& lambda : eigenvalues(ode_jacobian(p, last.states.back()), dim))
      radius = std::max(radius, std::abs(lambda));
    if (radius > 0) m.h_stable = 3.3 / radius;
  }
  return m;
}

std::string ode_class_key(const PointParams& p) {
  return std::string(to_string(p.teacher_activation)) + "/" + to_string(p.student_activation) +
         " K=" + std::to_string(p.K) + " M=" + std::to_string(p.M) + " " + to_string(p.train);
}

// Seconds of one right-hand side at INITIAL: the mean over evaluations repeated
// until they take about a millisecond.
double rhs_seconds(const PointParams& p, const OrderParameters& initial) {
  OrderParameters derivative;
  int repeat = 1;
  while (true) {
    const auto t0 = Clock::now();
    for (int i = 0; i < repeat; ++i) ode_rhs(p, initial, derivative);
    const double seconds = seconds_since(t0);
    if (seconds > 1e-3 || repeat >= 1 << 16) return seconds / repeat;
    repeat *= 4;
  }
}

struct OdeClass {
  double alpha = 0;         // summed over its points
  int longest = -1;         // its point with the largest alpha
  OrderParameters initial;  // that point's first initial state
  double rhs = 0;           // seconds of one right-hand side there
};

}  // namespace

OdeTimeEstimate estimate_ode_time(const Experiment& e, int max_classes, double budget) {
  OdeTimeEstimate out;
  if (!e.ode.enabled) return out;
  const auto t0 = Clock::now();
  const double curves = e.ode.init == OdeInit::measured ? e.seeds.count : 1.0;
  std::map<std::string, OdeClass> classes;
  for (std::size_t i = 0; i < e.points.size(); ++i) {
    OdeClass& c = classes[ode_class_key(e.points[i])];
    if (c.longest < 0 || e.points[i].alpha > e.points[static_cast<std::size_t>(c.longest)].alpha)
      c.longest = static_cast<int>(i);
    c.alpha += e.points[i].alpha;
  }
  // The classes with the most work (alpha times the cost of a right-hand side) are
  // probed; the others scale the probed classes' median seconds per right-hand side
  // and unit alpha by their own right-hand side's cost.
  std::vector<std::pair<double, std::string>> by_work;
  for (auto& [key, c] : classes) {
    c.initial = ode_initial_states(e, c.longest).at(0).second;
    c.rhs = rhs_seconds(e.points[static_cast<std::size_t>(c.longest)], c.initial);
    by_work.emplace_back(-c.alpha * c.rhs, key);
  }
  std::sort(by_work.begin(), by_work.end());
  std::map<std::string, OdeTimeModel> models;
  std::vector<double> per_rhs_alpha;
  for (int i = 0; i < max_classes && i < static_cast<int>(by_work.size()); ++i) {
    const std::string& key = by_work[static_cast<std::size_t>(i)].second;
    const OdeClass& c = classes[key];
    const double alpha = e.points[static_cast<std::size_t>(c.longest)].alpha;
    models[key] = probe_ode(e, e.points[static_cast<std::size_t>(c.longest)], c.initial, budget);
    per_rhs_alpha.push_back(models[key].at(alpha) / (alpha * c.rhs));
  }
  std::sort(per_rhs_alpha.begin(), per_rhs_alpha.end());
  const double median = per_rhs_alpha.empty() ? 0.0 : per_rhs_alpha[per_rhs_alpha.size() / 2];
  for (const PointParams& p : e.points) {
    const std::string key = ode_class_key(p);
    const auto it = models.find(key);
    out.seconds += curves * (it != models.end() ? it->second.at(p.alpha)
                                                : median * p.alpha * classes[key].rhs);
  }
  out.classes = static_cast<int>(models.size());
  out.classes_total = static_cast<int>(classes.size());
  out.probe_seconds = seconds_since(t0);
  return out;
}

}  // namespace tsgd
