// `tsgd run` and `tsgd ode`: plan the runs of an experiment, resume from the
// work already in its output directory, simulate what is missing (SGD engine
// and ODE), and write the result files (DESIGN.md contract 5).
#pragma once

#include <atomic>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "experiment/config.h"

namespace tsgd {

struct RunOptions {
  std::optional<std::string> output;  // --output: overrides the config's "output"
  std::optional<Backend> backend;     // --backend: overrides simulate.backend
  int threads = 0;                    // 0: all cores
  bool quiet = false;
  bool force = false;                 // start over: discard what the output directory holds
  bool ode_only = false;              // `tsgd ode`
  bool plot = false;                  // --plot: scripts/plot.py on the results at the end
  int shard_index = -1;               // --shard I/N: run slice I (0-based) of N
  int shard_count = 0;
  std::string command_line;
};

// All runs of an experiment, ordered by (point_id, seed).
std::vector<RunSpec> plan_runs(const Experiment& experiment);

// Total SGD run-steps of an experiment (work estimate).
double plan_run_steps(const Experiment& experiment);

// Shard (0 .. count-1) of every run of plan_runs(), by a deterministic
// longest-processing-time rule on the cost (steps x (K + M) x N), ties broken
// by (point, seed): the shards' costs differ by at most one run's cost.
std::vector<int> shard_of_runs(const Experiment& experiment, int count);
// Shard of each grid point's ODE (round robin over points).
int shard_of_point(int point, int count);
// Output subdirectory of a shard: DIR/shard-I-of-N.
std::string shard_directory(const std::string& dir, int index, int count);

// What --force discards in a directory of the same configuration (one of
// another configuration loses all of tsgd's work units and result files).
enum class ForceScope {
  everything,  // run, merge: start over
  ode_units,   // ode: recompute the ODE, keep the SGD runs
  nothing,     // fixed-point: it keeps no work units
};

// Makes DIR the output directory of the experiment whose resolved
// configuration is RESOLVED: refuses (std::runtime_error) a directory whose
// config.json holds another configuration (compared as the work units'
// experiment_fingerprint), unless FORCE; with FORCE, removes tsgd's work
// units (by name, in DIR/work) and result files as SCOPE says, never other
// files (plots/, shard directories, Slurm scripts). Writes config.json.
void prepare_output_directory(const std::string& dir, const nlohmann::json& resolved, bool force,
                              ForceScope scope);

// `tsgd merge DIR`: checks that DIR's shards belong to one configuration and
// that none is missing, incomplete or duplicated, then writes the result files
// into DIR from all of them (identical to an unsharded run's).
int merge_shards(const std::string& dir, const RunOptions& options, std::ostream& out);

// What an experiment needs, estimated before any work starts.
struct ResourceEstimate {
  double weights_bytes = 0;     // one run of the largest grid point, float64
  double results_bytes = 0;     // trajectories held in memory until the result files are written
  double cpu_seconds = 0;       // SGD on the CPU engine with `threads` threads
  double memory_bytes = 0;      // this machine's physical memory
};
// With SHARD_COUNT > 0: what shard SHARD_INDEX of SHARD_COUNT needs (its runs
// and its points' ODE curves).
ResourceEstimate estimate_resources(const Experiment& experiment, int threads, int shard_index = -1,
                                    int shard_count = 0);
// Throws std::runtime_error (naming the key to change) when the experiment,
// or its shard, cannot fit this machine: a run's weights or the results beyond
// half of the memory, one run beyond a GPU's memory, or more than 30 days of
// CPU time without a GPU. `gpu_free_bytes`: free memory of each GPU the runs
// would use (empty: the CPU engine).
void check_resources(const Experiment& experiment, int threads, const std::vector<double>& gpu_free_bytes,
                     int shard_index = -1, int shard_count = 0);

// This machine's physical memory in bytes.
double host_memory_bytes();

// Waves on the GPU: a batch (one wave) holds at most kGpuMemoryShare of the
// smallest GPU's free memory per GPU, at most kGpuRunsPerDevice runs per GPU
// (enough to fill an H200; below 65536, which some cuBLAS batched kernels
// cannot take as a grid dimension), and its initial weights, built on the host,
// in at most kHostMemoryShare of the host's memory. With several GPUs a
// slice may hold up to kSplitMaxShare times its even share of the runs
// (split_engine.h), so each GPU's share is sized for that. Runs of `run_bytes` device
// memory each (cuda_bytes_per_run) on GPUs with `free_bytes` free: the runs
// per wave, at least 1. Throws std::runtime_error naming model.N when one run
// does not fit a GPU.
constexpr double kGpuMemoryShare = 0.8;
constexpr double kGpuRunsPerDevice = 65535;
constexpr double kHostMemoryShare = 0.25;
std::size_t gpu_batch_capacity(double run_bytes, const std::vector<double>& free_bytes, double host_bytes);

// The waves `tsgd run` makes of an experiment on GPUs with `free_bytes` free
// (`tsgd validate`): the largest device memory of one run, and, with GPUs,
// the number of waves and the largest.
struct GpuWaves {
  double run_bytes = 0;
  std::size_t waves = 0;
  std::size_t largest_wave = 0;
};
GpuWaves plan_gpu_waves(const Experiment& experiment, const std::vector<double>& free_bytes, Precision precision);

// Runs the experiment; returns the exit status (0, or 130/143 when stopped by
// SIGINT/SIGTERM after saving what was complete). Throws on errors.
int run_experiment(const Experiment& experiment, const RunOptions& options, std::ostream& out);

// Set by the signal handlers of `tsgd run`: stop after the current chunk.
extern std::atomic<bool> g_stop_requested;
extern std::atomic<int> g_stop_signal;

}  // namespace tsgd
