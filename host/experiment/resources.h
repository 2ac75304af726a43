// What an experiment needs (memory, GPU memory, CPU time), estimated before
// any work starts, checked against this machine, and the size of the batches
// (waves) the engines get.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "core/engine.h"
#include "experiment/config.h"

namespace tsgd {

// What an experiment needs, estimated before any work starts.
struct ResourceEstimate {
  double weights_bytes = 0;  // one run of the largest grid point, float64
  // Records held in memory at once: one batch's trajectories (batch_bytes), one
  // grid point's eps_g curves while the result files are written point by
  // point (point_bytes), the ODE curves (ode_bytes), two blocks of order
  // parameters (RunTable::kBlockBytes); results_bytes is their sum. Not the
  // experiment's: the runs wait in the work units and the run table's scratch file.
  double batch_bytes = 0, point_bytes = 0, ode_bytes = 0;
  double results_bytes = 0;
  // Real inputs (data.inputs): the rows and labels as float, held once on the
  // host (and, on the CUDA engine, once per GPU); reading and standardising
  // them briefly takes about three times as much (the files' values in double).
  double data_bytes = 0;
  double cpu_seconds = 0;   // SGD on the CPU engine with `threads` threads
  double memory_bytes = 0;  // this machine's physical memory
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
void check_resources(const Experiment& experiment, int threads,
                     const std::vector<double>& gpu_free_bytes, int shard_index = -1,
                     int shard_count = 0);

// The CPU rule (seconds per run-step of the CPU engine, from N, K, M, B) is
// multiplied by a measured factor per run shape once calibrate_cpu_rule
// (experiment/calibration.h) has run in this process; 1 before. The shape of a
// point: cpu_shape_key. Process-wide, set once by the commands that estimate.
std::string cpu_shape_key(const PointParams& p);
void set_cpu_calibration(const std::map<std::string, double>& factor_by_shape, double other_shapes);
// The rule for one run-step of P on one thread, before calibration.
double cpu_rule_seconds_per_run_step(const PointParams& p);

// The wall time of SGD runs on one task's resources, estimated: with GPUS > 0,
// that many GPUs, each taken to run at the CUDA engine's target speed (docs/gpu.md:
// 6e8 run-steps per second for erf, N = 784, K = M = 4 on an NVIDIA H200; not yet
// measured, so optimistic until it is) and to scale with a run-step's work as the
// CPU engine does; else THREADS threads of the CPU engine (estimate_resources'
// rule; calibrated where calibrate_cpu_rule ran in this process, as `tsgd validate` does;
// uncalibrated it was ~1.7x pessimistic on the quickstart). The ODE is not
// counted. Seconds of each run of plan_runs(), in its order (0 with simulation off).
constexpr double kGpuTargetRunStepsPerSecond = 6e8;
std::vector<double> estimate_run_seconds(const Experiment& experiment, int gpus, int threads);
// The longest of the COUNT shards of shard_of_runs on those resources: its
// seconds and its SGD runs (none with simulation off).
struct ShardTime {
  double seconds = 0;
  int runs = 0;
};
ShardTime estimate_largest_shard(const Experiment& experiment, int count, int gpus, int threads);

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
std::size_t gpu_batch_capacity(double run_bytes, const std::vector<double>& free_bytes,
                               double host_bytes);

// The waves `tsgd run` makes of an experiment on GPUs with `free_bytes` free
// (`tsgd validate`): the largest device memory of one run, and, with GPUs,
// the number of waves and the largest.
struct GpuWaves {
  double run_bytes = 0;
  std::size_t waves = 0;
  std::size_t largest_wave = 0;
};
GpuWaves plan_gpu_waves(const Experiment& experiment, const std::vector<double>& free_bytes,
                        Precision precision);

// How many runs of one record class (RUNS, all of one N and alpha) ENGINE gets
// at once with THREADS threads and GPUS free bytes per GPU: one wave, the memory
// bound, and the unit of resume.
std::size_t engine_batch_capacity(const Engine& engine, const std::vector<RunSpec>& runs,
                                  int threads, const std::vector<double>& gpus);

}  // namespace tsgd
