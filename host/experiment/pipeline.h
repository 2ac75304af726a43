// `tsgd run` and `tsgd ode` as one pipeline (docs/architecture.md, Data flow):
// config -> plan -> SGD stage (engines) and ODE stage -> statistics -> result
// files, resuming from the work already in the output directory.
#pragma once

#include <atomic>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "experiment/config.h"
#include "experiment/result_set.h"
#include "experiment/run_table.h"

namespace tsgd {

struct RunOptions {
  std::optional<std::string> output;  // --output: overrides the config's "output"
  std::optional<Backend> backend;     // --backend: overrides simulate.backend
  int threads = 0;                    // 0: all cores
  bool quiet = false;
  bool force = false;     // start over: discard what the output directory holds
  bool ode_only = false;  // `tsgd ode`
  bool plot = false;      // --plot: scripts/plot.py on the results at the end
  int shard_index = -1;   // --shard I/N: run slice I (0-based) of N
  int shard_count = 0;
  std::string command_line;
};

// Runs the experiment; returns the exit status (0, or 130/143 when stopped by
// SIGINT/SIGTERM after saving what was complete). Throws on errors.
int run_experiment(const Experiment& experiment, const RunOptions& options, std::ostream& out);

// The result files of DIRECTORY from every run and ODE curve of an experiment
// (warning first about result files changed since tsgd wrote them); the
// manifest is the caller's. THREADS: for the theory (theory_of_points).
// Returns the ODE curves and theory the files were written from (no runs).
ResultSet write_experiment_results(const std::string& directory, const Experiment& experiment,
                                   const RunTable& runs, std::vector<OdeCurve> ode, int threads);

// Set by the signal handlers of `tsgd run`: stop after the current chunk.
extern std::atomic<bool> g_stop_requested;
extern std::atomic<int> g_stop_signal;

}  // namespace tsgd
