// See pipeline.h.
#include "experiment/pipeline.h"

#include <cstdlib>
#include <iostream>
#include <memory>
#include <stdexcept>

#include "core/threads.h"
#include "experiment/file_io.h"
#include "experiment/manifest.h"
#include "experiment/ode_stage.h"
#include "experiment/output_directory.h"
#include "experiment/plan.h"
#include "experiment/progress.h"
#include "experiment/resources.h"
#include "experiment/results.h"
#include "experiment/sgd_stage.h"
#include "experiment/summary.h"

namespace tsgd {

std::atomic<bool> g_stop_requested{false};
std::atomic<int> g_stop_signal{0};

using nlohmann::json;

namespace {

// Where the run's files go and with which engine.
struct RunContext {
  const Experiment* e = nullptr;
  const RunOptions* o = nullptr;
  std::string base_dir, dir;  // dir: base_dir or, with --shard, its shard directory
  bool simulate = false;
  int threads = 1;
  EngineChoice engine;
  Manifest manifest;
  // Every complete SGD run (a shard keeps only which: it writes no result files).
  std::unique_ptr<RunTable> runs;
};

// The SGD runs: simulated (tsgd run) or, for `tsgd ode` in a directory where
// `tsgd run` left runs of this experiment, loaded so that the results keep them.
bool sgd_part(RunContext& c) {
  const Experiment& e = *c.e;
  const RunOptions& o = *c.o;
  c.runs = std::make_unique<RunTable>(e, o.shard_count > 0 ? std::string() : c.dir);
  if (c.simulate) {
    const auto t0 = Clock::now();
    if (!c.engine.notice.empty() && !o.quiet) std::cerr << c.engine.notice << "\n";
    c.manifest.backend = c.engine.engine->name();
    c.manifest.device = c.engine.device;
    c.manifest.precision = to_string(c.engine.engine->precision());
    SgdStage stage;
    stage.experiment = &e;
    stage.directory = c.dir;
    stage.threads = c.threads;
    stage.quiet = o.quiet;
    stage.shard_index = o.shard_index;
    stage.shard_count = o.shard_count;
    stage.stop = &g_stop_requested;
    const bool complete = run_sgd_stage(stage, c.engine, *c.runs, c.manifest.computed_by);
    c.manifest.stage_seconds["sgd"] = seconds_since(t0);
    return complete;
  }
  if (o.ode_only) {
    SgdUnitStore(c.dir + "/work", e)
        .for_each_run([&](RunTrajectory&& t, const std::string& path) { c.runs->add(t, path); },
                      &c.manifest.computed_by);
    // (`tsgd ode` turns simulate.enabled off; the configuration's value is in resolved.)
    const std::size_t all = e.points.size() * static_cast<std::size_t>(e.seeds.count);
    const std::size_t held = c.runs->runs();
    if (held > 0 && held < all && !o.quiet)
      std::cerr << "tsgd: " << held << " of " << all << " SGD runs are complete in " << c.dir
                << "; the results hold those (tsgd run completes the rest)\n";
  }
  return true;
}

bool ode_part(RunContext& c, std::vector<OdeCurve>& curves) {
  const Experiment& e = *c.e;
  if (!e.ode.enabled) return true;
  const auto t0 = Clock::now();
  std::vector<char> include(e.points.size(), 1);
  if (c.o->shard_count > 0)
    for (std::size_t p = 0; p < e.points.size(); ++p)
      include[p] = shard_of_point(static_cast<int>(p), c.o->shard_count) == c.o->shard_index;
  const bool complete =
      run_ode_stage(e, c.dir + "/work", c.threads, c.o->quiet, &g_stop_requested, curves, &include);
  c.manifest.stage_seconds["ode"] = seconds_since(t0);
  return complete;
}

// A shard's directory gets shard.json (what `tsgd merge` checks) instead of result files.
int finish_shard(RunContext& c, std::size_t runs, std::size_t ode_curves, Clock::time_point t_start,
                 std::ostream& out) {
  const RunOptions& o = *c.o;
  write_file_atomic(c.dir + "/shard.json", json{{"shard", o.shard_index},
                                                {"of", o.shard_count},
                                                {"runs", runs},
                                                {"ode_curves", ode_curves},
                                                {"complete", true}}
                                                   .dump(2) +
                                               "\n");
  c.manifest.stage_seconds["total"] = seconds_since(t_start);
  write_manifest(c.dir, c.manifest);
  if (!o.quiet)
    out << "shard " << o.shard_index << " of " << o.shard_count << ": " << runs
        << " runs complete in " << c.dir << "; join the shards with: tsgd merge " << c.base_dir
        << "\n";
  return 0;
}

void run_plot_script(const std::string& dir, bool quiet) {
  const std::string script = std::string(TSGD_SOURCE_DIR) + "/scripts/plot.py";
  if (!file_exists(script) || !file_exists("/usr/bin/python3")) {
    std::cerr << "tsgd: --plot: " << script << " or /usr/bin/python3 not found; no figures\n";
    return;
  }
  if (std::system("/usr/bin/python3 -c 'import matplotlib, numpy' > /dev/null 2>&1") != 0) {
    std::cerr << "tsgd: --plot: /usr/bin/python3 lacks matplotlib or numpy (scripts/setup.sh "
                 "installs them); no figures\n";
    return;
  }
  const std::string command = "/usr/bin/python3 " + shell_quote(script) + " " + shell_quote(dir) +
                              (quiet ? " > /dev/null" : "");
  if (std::system(command.c_str()) != 0) std::cerr << "tsgd: --plot: the plot script failed\n";
}

// E's "auto" simulate.rng_transform is settled here: the chosen engine's, or
// without one the transform of the runs in the output directory.
RunContext prepare_run(Experiment& e, const RunOptions& o) {
  RunContext c;
  c.e = &e;
  c.o = &o;
  c.base_dir = o.output ? *o.output : e.output;
  const bool sharded = o.shard_count > 0;
  if (sharded && (o.shard_index < 0 || o.shard_index >= o.shard_count))
    throw std::invalid_argument("--shard: index " + std::to_string(o.shard_index) +
                                " is not in 0.." + std::to_string(o.shard_count - 1));
  c.dir = sharded ? shard_directory(c.base_dir, o.shard_index, o.shard_count) : c.base_dir;
  // The engine first: its GPUs' memory bounds the experiment (checked before anything is written).
  c.simulate = e.simulate.enabled && !o.ode_only;
  c.threads = thread_count(o.threads);
  if (c.simulate)
    c.engine = choose_engine(
        e, o.backend ? *o.backend : e.simulate.backend,
        o.backend ? "--backend cuda" : "simulate.backend \"cuda\" (in the configuration)",
        o.threads);
  if (c.simulate)
    resolve_rng_transform(e, c.engine.engine->rng_transform());
  else
    resolve_rng_transform_from_directory(e, c.dir);
  if (!o.ode_only)
    check_resources(e, c.threads, c.engine.gpu_free_bytes, o.shard_index, o.shard_count);
  json resolved = e.resolved;
  resolved["output"] = c.base_dir;
  prepare_output_directory(c.dir, resolved, o.force,
                           o.ode_only ? ForceScope::ode_units : ForceScope::everything,
                           sharded ? nullptr : &e);
  c.manifest.command_line = o.command_line;
  c.manifest.threads = c.threads;
  return c;
}

}  // namespace

ResultSet write_experiment_results(const std::string& dir, const Experiment& e,
                                   const RunTable& runs, std::vector<OdeCurve> ode, int threads) {
  report_changed_results(dir);
  ResultSet results = assemble_results(e, std::move(ode), threads);
  const std::vector<PointStatistics> statistics = write_results(dir, results, runs);
  for (std::size_t p = 0; p < statistics.size(); ++p)
    if (statistics[p].runs_blown_up > 0)
      std::cerr << "tsgd: warning: point " << p << ": " << statistics[p].runs_blown_up << " of "
                << statistics[p].runs_end - statistics[p].runs_begin
                << " runs end with weights blown up (max Q_kk " << statistics[p].max_q_final
                << ", over " << kBlownUpFactor
                << " times the teacher's T_nn) without eps_g diverging: saturated units that no "
                   "longer learn; summary.json's runs_blown_up counts them\n";
  return results;
}

int run_experiment(const Experiment& config, const RunOptions& o, std::ostream& out) {
  const auto t_start = Clock::now();
  Experiment e = config;  // its rng_transform settled by prepare_run
  RunContext c = prepare_run(e, o);
  std::vector<OdeCurve> ode_curves;
  const bool complete = sgd_part(c) && ode_part(c, ode_curves);
  if (!complete) {
    const int sig = g_stop_signal.load();
    if (!o.quiet)
      std::cerr << "tsgd: stopped by signal " << sig << "; completed runs (and, with "
                << "simulate.checkpoint_minutes, the interrupted batch's checkpoint) are saved in "
                << c.dir << "/work; rerun the same command to resume\n";
    return 128 + sig;
  }
  if (o.shard_count > 0) return finish_shard(c, c.runs->runs(), ode_curves.size(), t_start, out);
  const auto t_write = Clock::now();
  const ResultSet results =
      write_experiment_results(c.dir, e, *c.runs, std::move(ode_curves), c.threads);
  c.manifest.stage_seconds["write"] = seconds_since(t_write);
  c.manifest.stage_seconds["total"] = seconds_since(t_start);
  write_manifest(c.dir, c.manifest);
  if (!o.quiet) print_summary(out, results, c.dir);
  if (o.plot) run_plot_script(c.dir, o.quiet);
  return 0;
}

}  // namespace tsgd
