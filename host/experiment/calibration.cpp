// See calibration.h.
#include "experiment/calibration.h"

#include <algorithm>
#include <map>
#include <vector>

#include "engines/cpu_engine.h"
#include "experiment/plan.h"
#include "experiment/progress.h"
#include "experiment/resources.h"
#include "experiment/simulation.h"

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

}  // namespace tsgd
