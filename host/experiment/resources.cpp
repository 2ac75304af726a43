// What an experiment needs and what this machine has: memory, GPU waves, CPU
// time. See resources.h.
#include "experiment/resources.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <stdexcept>

#include "core/training_error.h"
#include "cuda/cuda_engine.h"
#include "engines/split_engine.h"
#include "experiment/file_io.h"
#include "experiment/plan.h"
#include "experiment/run_table.h"

namespace tsgd {

namespace {

// A finite training set's training error at every record (Engine::training_errors):
// min(P, record.train_error_samples) forward passes and draws per record, counted as
// that many SGD steps (a step is a draw, the fields and an update).
double training_error_steps(const Experiment& e, const PointParams& p) {
  if (p.train_size == 0) return 0.0;
  const double samples = std::min(static_cast<double>(p.train_size),
                                  static_cast<double>(e.record.train_error_samples));
  return static_cast<double>(record_steps(e.record, p).size()) * samples;
}

// A test set's error at every record (core/test_error.h, real inputs): test_count
// forward passes of the student (and the teacher: K + M dot products of length N
// at most, in double) per record, counted, like the training error's, as that
// many SGD steps: the same order (N = 784, K = 2, M = 1, 10^4 rows: 6.4 us a row
// on one thread of a 2-core VM at load 7; the rule's step is 3.3 us on a quiet one).
double test_error_steps(const Experiment& e, const PointParams& p) {
  if (!test_set_eg(p)) return 0.0;
  return static_cast<double>(record_steps(e.record, p).size()) *
         static_cast<double>(p.inputs->test_count);
}

// What is measured on the host at the records, whatever the engine: the
// training error and the test-set error, in SGD steps.
double host_measure_steps(const Experiment& e, const PointParams& p) {
  return training_error_steps(e, p) + test_error_steps(e, p);
}

// What the CUDA engine allocates for a batch: its N and largest K, M and B.
struct BatchShape {
  int n = 1, kmax = 1, mmax = 1, max_batch = 1;
  void add(const PointParams& p) {
    n = p.N;
    kmax = std::max(kmax, p.K);
    mmax = std::max(mmax, p.M);
    max_batch = std::max(max_batch, p.batch_size);
  }
  double gpu_bytes_per_run(Precision precision) const {
    return cuda_bytes_per_run(n, kmax, mmax, max_batch, precision);
  }
};

// One SGD run-step on one thread of the CPU engine: N Gaussians (~3 ns each),
// (K + M) dot products and K updates of length N (~0.25 ns per multiply-add),
// for each of the B samples of a mini-batch: measured on the CPU engine.
double cpu_seconds_per_run_step(const PointParams& p) {
  return p.batch_size * static_cast<double>(p.N) * (3e-9 + 0.25e-9 * (2 * p.K + p.M));
}

// The calibration of the CPU rule (set_cpu_calibration).
std::map<std::string, double> g_factor_by_shape;
double g_other_shapes = 1.0;

double calibrated_cpu_seconds_per_run_step(const PointParams& p) {
  const auto it = g_factor_by_shape.find(cpu_shape_key(p));
  return cpu_seconds_per_run_step(p) *
         (it != g_factor_by_shape.end() ? it->second : g_other_shapes);
}

// One GPU is taken to do kGpuTargetRunStepsPerSecond run-steps per second at
// the reference shape of that target (erf, N = 784, K = M = 4, B = 1) and to
// scale with the work of a run-step as the CPU engine does.
double gpu_speedup_over_cpu_thread() {
  PointParams reference;
  reference.N = 784;
  reference.K = 4;
  reference.M = 4;
  reference.batch_size = 1;
  return kGpuTargetRunStepsPerSecond * cpu_seconds_per_run_step(reference);
}

// The real inputs' device copy (cuda/device_inputs.cuh): the training rows and
// labels as float, taken out of each GPU's free memory FREE_BYTES before the runs.
std::vector<double> free_after_data(std::vector<double> free_bytes,
                                    const std::set<const InputSet*>& sets) {
  double data = 0;
  for (const InputSet* set : sets)
    data += 4.0 * static_cast<double>(set->train.size() + set->train_labels.size());
  for (double& f : free_bytes) f = std::max(0.0, f - data);
  return free_bytes;
}

}  // namespace

std::string cpu_shape_key(const PointParams& p) {
  return std::string(to_string(p.teacher_activation)) + "/" + to_string(p.student_activation) +
         " N=" + std::to_string(p.N) + " K=" + std::to_string(p.K) + " M=" + std::to_string(p.M) +
         " B=" + std::to_string(p.batch_size) + " " + to_string(p.train);
}

void set_cpu_calibration(const std::map<std::string, double>& factor_by_shape,
                         double other_shapes) {
  g_factor_by_shape = factor_by_shape;
  g_other_shapes = other_shapes;
}

double cpu_rule_seconds_per_run_step(const PointParams& p) { return cpu_seconds_per_run_step(p); }

double host_memory_bytes() {
  return static_cast<double>(::sysconf(_SC_PHYS_PAGES)) *
         static_cast<double>(::sysconf(_SC_PAGE_SIZE));
}

static_assert(kGpuRunsPerDevice == kCublasMaxRuns,
              "a GPU's share of a wave must fit the cuBLAS path");

std::size_t gpu_batch_capacity(double run_bytes, const std::vector<double>& free_bytes,
                               double host_bytes) {
  if (free_bytes.empty()) throw std::invalid_argument("gpu_batch_capacity: no GPU");
  const double smallest = *std::min_element(free_bytes.begin(), free_bytes.end());
  const double per_device = std::floor(kGpuMemoryShare * smallest / run_bytes);
  if (per_device < 1)
    throw std::runtime_error(
        "model.N: one run needs " + format_bytes(run_bytes) + " of GPU memory, more than " +
        format_double(100 * kGpuMemoryShare) + "% of the " + format_bytes(smallest) +
        " free on the smallest GPU; lower model.N or model.K, or use --backend cpu");
  const double devices = static_cast<double>(free_bytes.size());
  double share = std::min(per_device, kGpuRunsPerDevice);
  // Runs of a wave split unevenly (by work) hold up to kSplitMaxShare times
  // the even share on one GPU: floor(kSplitMaxShare * share) <= what fits.
  if (devices > 1) share = std::max(1.0, std::floor(share / kSplitMaxShare));
  const double by_host = std::floor(kHostMemoryShare * host_bytes / run_bytes);
  const double runs = std::min(share * devices, std::max(1.0, by_host));
  return static_cast<std::size_t>(runs);
}

GpuWaves plan_gpu_waves(const Experiment& e, const std::vector<double>& free_bytes,
                        Precision precision) {
  // The record classes of run_experiment: runs of one (N, alpha) share a batch.
  struct Class {
    BatchShape shape;
    double runs = 0;
  };
  std::map<std::pair<int, double>, Class> classes;
  for (const PointParams& p : e.points) {
    Class& c = classes[{p.N, p.alpha}];
    c.shape.add(p);
    c.runs += e.seeds.count;
  }
  std::set<const InputSet*> sets;
  for (const PointParams& p : e.points)
    if (p.inputs) sets.insert(p.inputs.get());
  const std::vector<double> free_for_runs = free_after_data(free_bytes, sets);
  GpuWaves w;
  for (const auto& [key, c] : classes) {
    const double bytes = c.shape.gpu_bytes_per_run(precision);
    w.run_bytes = std::max(w.run_bytes, bytes);
    if (free_bytes.empty()) continue;
    const double capacity =
        static_cast<double>(gpu_batch_capacity(bytes, free_for_runs, host_memory_bytes()));
    w.waves += static_cast<std::size_t>(std::ceil(c.runs / capacity));
    w.largest_wave = std::max(w.largest_wave, static_cast<std::size_t>(std::min(c.runs, capacity)));
  }
  return w;
}

ResourceEstimate estimate_resources(const Experiment& e, int threads, int shard_index,
                                    int shard_count) {
  ResourceEstimate r;
  r.memory_bytes = host_memory_bytes();
  const bool sharded = shard_count > 0;
  // The runs of each point that this shard holds (all seeds when not sharded).
  std::vector<double> runs_of_point(e.points.size(), e.seeds.count);
  if (sharded) {
    std::fill(runs_of_point.begin(), runs_of_point.end(), 0.0);
    const std::vector<RunSpec> runs = plan_runs(e);
    const std::vector<int> shard = shard_of_runs(e, shard_count);
    for (std::size_t i = 0; i < runs.size(); ++i)
      if (shard[i] == shard_index) runs_of_point[runs[i].point_id] += 1;
  }
  for (std::size_t i = 0; i < e.points.size(); ++i) {
    const PointParams& p = e.points[i];
    const double K = p.K, M = p.M, N = p.N;
    const double runs = e.simulate.enabled ? runs_of_point[i] : 0.0;
    const bool ode = e.ode.enabled &&
                     (!sharded || shard_of_point(static_cast<int>(i), shard_count) == shard_index);
    if (runs > 0 || ode) r.weights_bytes = std::max(r.weights_bytes, 8.0 * (K + M) * N);
    const double records = static_cast<double>(record_steps(e.record, p).size());
    const double state =
        8.0 * (K * K + K * M + M * M + K + M) + 200.0;  // vectors and their headers
    const double kept = e.record.order_parameters ? records : 1.0;
    // Held at once: one batch of runs with their records (a GPU wave at most
    // kGpuRunsPerDevice runs; the CPU's are smaller), and, while the result files
    // are written point by point, one point's eps_g curves and last states.
    const double batch = std::min(runs, kGpuRunsPerDevice);
    // record.final_weights: each run's w (K x N doubles) from the batch's end,
    // and its base64 text (10.7 bytes a number) twice while the unit is written.
    const double final_weights = e.record.final_weights ? 30.0 * K * N : 0.0;
    // A finite training set's inputs and labels, kept for its training error, up to a budget.
    const double training_set =
        p.train_size == 0
            ? 0.0
            : std::min(static_cast<double>(TrainingErrorCache::kBudgetBytes),
                       batch * training_error_steps(e, p) / records * (4.0 * N + 8.0));
    // A test set's error: every run's weights (w and w*), promoted to double, at each record.
    const double test_weights = test_set_eg(p) ? 8.0 * (K + M) * N : 0.0;
    r.batch_bytes = std::max(
        r.batch_bytes,
        batch * (records * 60.0 + kept * state + final_weights + test_weights) + training_set);
    // An ODE curve per seed (measured initial conditions) or one per point.
    const double ode_curves = ode ? (e.ode.init == OdeInit::measured ? e.seeds.count : 1.0) : 0.0;
    r.point_bytes = std::max(r.point_bytes, runs * (records * 60.0 + state));
    r.ode_bytes += ode_curves * (records * 60.0 + kept * state);
    r.cpu_seconds += runs * (static_cast<double>(p.total_steps()) + host_measure_steps(e, p)) *
                     calibrated_cpu_seconds_per_run_step(p);
  }
  for (const PointParams& p : e.points)
    if (p.inputs) {  // one set for every point (experiment/config_data.cpp)
      const InputSet& in = *p.inputs;
      r.data_bytes = 4.0 * static_cast<double>(in.train.size() + in.test.size() +
                                               in.train_labels.size() + in.test_labels.size());
      break;
    }
  r.cpu_seconds /= std::max(1, threads);
  r.results_bytes = r.batch_bytes + r.point_bytes + r.ode_bytes + 2 * RunTable::kBlockBytes;
  return r;
}

std::vector<double> estimate_run_seconds(const Experiment& e, int gpus, int threads) {
  const std::vector<RunSpec> runs = plan_runs(e);
  std::vector<double> seconds(runs.size(), 0.0);
  if (!e.simulate.enabled) return seconds;
  const double speed = gpus > 0 ? gpus * gpu_speedup_over_cpu_thread() : std::max(1, threads);
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const PointParams& p = runs[i].params;
    // The GPU's target scales the uncalibrated rule (its reference is the rule's shape).
    const double per_step =
        gpus > 0 ? cpu_seconds_per_run_step(p) : calibrated_cpu_seconds_per_run_step(p);
    // The training and test-set errors are measured on the host, whatever the engine
    // (Engine::training_errors, core/test_error.h).
    seconds[i] =
        static_cast<double>(p.total_steps()) * per_step / speed +
        host_measure_steps(e, p) * calibrated_cpu_seconds_per_run_step(p) / std::max(1, threads);
  }
  return seconds;
}

ShardTime estimate_largest_shard(const Experiment& e, int count, int gpus, int threads) {
  const std::vector<double> run_seconds = estimate_run_seconds(e, gpus, threads);
  const std::vector<int> shard = shard_of_runs(e, count);
  std::vector<ShardTime> shards(static_cast<std::size_t>(count));
  for (std::size_t i = 0; i < shard.size() && e.simulate.enabled; ++i) {
    shards[static_cast<std::size_t>(shard[i])].seconds += run_seconds[i];
    shards[static_cast<std::size_t>(shard[i])].runs += 1;
  }
  // The first of the longest (shard_of_runs fills shard 0 first).
  return *std::max_element(
      shards.begin(), shards.end(),
      [](const ShardTime& a, const ShardTime& b) { return a.seconds < b.seconds; });
}

void check_resources(const Experiment& e, int threads, const std::vector<double>& gpu_free_bytes,
                     int shard_index, int shard_count) {
  const bool gpu = !gpu_free_bytes.empty();
  const ResourceEstimate r = estimate_resources(e, threads, shard_index, shard_count);
  const std::string what = shard_count > 0 ? "shard " + std::to_string(shard_index) + "/" +
                                                 std::to_string(shard_count) + " of this experiment"
                                           : "this experiment";
  if (r.weights_bytes > 0.5 * r.memory_bytes)
    throw std::runtime_error("model.N: one run's weights need " + format_bytes(r.weights_bytes) +
                             ", more than half of this machine's memory (" +
                             format_bytes(r.memory_bytes) + ")");
  if (r.results_bytes > 0.5 * r.memory_bytes) {
    const bool point = r.point_bytes > r.batch_bytes;
    throw std::runtime_error(
        std::string(point ? "seeds.count: the eps_g curves of one grid point"
                          : "record.order_parameters: the records of one batch") +
        " of " + what + " need about " + format_bytes(r.results_bytes) +
        " of memory, more than half of this machine's (" + format_bytes(r.memory_bytes) +
        (point ? "); use fewer seeds per experiment or lower record.points"
               : "); set record.order_parameters to false or lower record.points"));
  }
  if (gpu) {
    // Each record class as the engine will hold it (its largest K, M and B):
    // throws when one run of a class does not fit a GPU.
    const Precision precision = engine_precision(e.simulate, true);
    plan_gpu_waves(e, gpu_free_bytes, precision);
  }
  if (!gpu && r.cpu_seconds > 30 * 86400.0)
    throw std::runtime_error(
        "the SGD runs of " + what + " would take about " +
        format_double(std::round(r.cpu_seconds / 86400)) + " days on " + std::to_string(threads) +
        " CPU thread(s); " +
        (shard_count > 0
             ? std::string("split the sweep into more shards (--shard I/N with a larger N)")
             : std::string("split the sweep over a cluster (tsgd slurm)")) +
        ", use a GPU, or reduce training.alpha, model.N or seeds.count");
}

// How many runs of one record class the engine gets at once (one wave: the
// memory bound, and the unit of resume).
std::size_t engine_batch_capacity(const Engine& engine, const std::vector<RunSpec>& runs,
                                  int threads, const std::vector<double>& gpus) {
  BatchShape shape;
  std::set<const InputSet*> sets;
  for (const RunSpec& r : runs) {
    shape.add(r.params);
    if (r.params.inputs) sets.insert(r.params.inputs.get());
  }
  if (engine.name() == "cuda")
    return gpu_batch_capacity(shape.gpu_bytes_per_run(engine.precision()),
                              free_after_data(gpus, sets), host_memory_bytes());
  const double bytes = (engine.precision() == Precision::float32 ? 4.0 : 8.0) *
                       (static_cast<double>(shape.kmax) + shape.mmax) * shape.n;
  const double by_memory = std::max(1.0, 2e9 / std::max(bytes, 1.0));
  const double wanted = std::max(64.0, 16.0 * threads);
  return static_cast<std::size_t>(std::min(by_memory, wanted));
}

}  // namespace tsgd
