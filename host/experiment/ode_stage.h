// The ODE engine's place in an experiment (DESIGN.md contract 3): for every
// grid point, eps_g and the order parameters at the same record times as the
// SGD runs, from each seed's measured initial state (one curve per seed), or
// from the expected or explicit initial state (one curve per point). Each
// point's curves are saved as a work unit (work/ode-p<id>.jsonl) so that an
// interrupted experiment resumes.
#pragma once

#include <atomic>
#include <iosfwd>
#include <string>
#include <vector>

#include "experiment/config.h"
#include "experiment/results.h"
#include "experiment/runner.h"

namespace tsgd {

// Checks that the ODE can integrate every grid point of the experiment
// (activations, initial state); throws ConfigError naming the key.
void check_ode_supported(const Experiment& e);

// Integrates every grid point (in parallel over points), resuming from the
// units in work_dir. Returns false when stopped through `stop`.
// Only the points whose `include` entry is non-zero when `include` is given
// (a shard's share).
bool run_ode_stage(const Experiment& e, const std::string& work_dir, int threads, bool quiet,
                   const std::atomic<bool>* stop, std::vector<OdeCurve>& out,
                   const std::vector<char>* include = nullptr);

// Loads the ODE units in work_dir (all points that have one).
std::vector<OdeCurve> load_ode_units(const Experiment& e, const std::string& work_dir);

// `tsgd fixed-point`: for every grid point, Newton on the ODE right-hand side
// from the ODE's end state; writes fixed_points.csv and prints a summary.
int run_fixed_points(const Experiment& e, const RunOptions& options, std::ostream& out);

}  // namespace tsgd
