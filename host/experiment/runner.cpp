#include "experiment/runner.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>

#include <omp.h>

#include "engines/cpu_engine.h"
#include "cuda/cuda_engine.h"
#include "experiment/file_io.h"
#include "experiment/ode_stage.h"
#include "experiment/records.h"
#include "experiment/results.h"
#include "engines/split_engine.h"
#include "experiment/work_unit.h"

namespace tsgd {

std::atomic<bool> g_stop_requested{false};
std::atomic<int> g_stop_signal{0};

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

std::vector<RunSpec> plan_runs(const Experiment& e) {
  std::vector<RunSpec> runs;
  runs.reserve(e.points.size() * static_cast<std::size_t>(e.seeds.count));
  for (std::size_t p = 0; p < e.points.size(); ++p)
    for (int s = 0; s < e.seeds.count; ++s)
      runs.push_back(RunSpec{static_cast<int>(p), e.seeds.first + static_cast<std::uint64_t>(s), e.points[p]});
  return runs;
}

double plan_run_steps(const Experiment& e) {
  double total = 0;
  for (const auto& p : e.points) total += static_cast<double>(p.total_steps()) * e.seeds.count;
  return total;
}

std::vector<int> shard_of_runs(const Experiment& e, int count) {
  const std::vector<RunSpec> runs = plan_runs(e);
  std::vector<std::size_t> order(runs.size());
  std::vector<double> cost(runs.size());
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const PointParams& p = runs[i].params;
    cost[i] = static_cast<double>(p.total_steps()) * p.batch_size * (p.K + p.M) * static_cast<double>(p.N);
    order[i] = i;
  }
  // Longest processing time first; ties keep plan order (point, seed).
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return cost[a] > cost[b]; });
  std::vector<double> load(count, 0.0);
  std::vector<int> shard(runs.size(), 0);
  for (std::size_t i : order) {
    const int target = static_cast<int>(std::min_element(load.begin(), load.end()) - load.begin());
    shard[i] = target;
    load[target] += cost[i];
  }
  return shard;
}

int shard_of_point(int point, int count) { return point % count; }

namespace {

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

std::string format_bytes(double bytes) {
  char buf[32];
  if (bytes >= 1e9)
    std::snprintf(buf, sizeof buf, "%.1f GB", bytes / 1e9);
  else
    std::snprintf(buf, sizeof buf, "%.1f MB", bytes / 1e6);
  return buf;
}
}  // namespace

double host_memory_bytes() {
  return static_cast<double>(::sysconf(_SC_PHYS_PAGES)) * static_cast<double>(::sysconf(_SC_PAGE_SIZE));
}

static_assert(kGpuRunsPerDevice == kCublasMaxRuns, "a GPU's share of a wave must fit the cuBLAS path");

std::size_t gpu_batch_capacity(double run_bytes, const std::vector<double>& free_bytes, double host_bytes) {
  if (free_bytes.empty()) throw std::invalid_argument("gpu_batch_capacity: no GPU");
  const double smallest = *std::min_element(free_bytes.begin(), free_bytes.end());
  const double per_device = std::floor(kGpuMemoryShare * smallest / run_bytes);
  if (per_device < 1)
    throw std::runtime_error("model.N: one run needs " + format_bytes(run_bytes) + " of GPU memory, more than " +
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

GpuWaves plan_gpu_waves(const Experiment& e, const std::vector<double>& free_bytes, Precision precision) {
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
  GpuWaves w;
  for (const auto& [key, c] : classes) {
    const double bytes = c.shape.gpu_bytes_per_run(precision);
    w.run_bytes = std::max(w.run_bytes, bytes);
    if (free_bytes.empty()) continue;
    const double capacity = static_cast<double>(gpu_batch_capacity(bytes, free_bytes, host_memory_bytes()));
    w.waves += static_cast<std::size_t>(std::ceil(c.runs / capacity));
    w.largest_wave = std::max(w.largest_wave, static_cast<std::size_t>(std::min(c.runs, capacity)));
  }
  return w;
}

ResourceEstimate estimate_resources(const Experiment& e, int threads, int shard_index, int shard_count) {
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
    const bool ode = e.ode.enabled && (!sharded || shard_of_point(static_cast<int>(i), shard_count) == shard_index);
    if (runs > 0 || ode) r.weights_bytes = std::max(r.weights_bytes, 8.0 * (K + M) * N);
    const double records = static_cast<double>(record_steps(e.record, p).size());
    const double state = 8.0 * (K * K + K * M + M * M + K + M) + 200.0;  // vectors and their headers
    const double kept = e.record.order_parameters ? records : 1.0;
    // An ODE curve per seed (measured initial conditions) or one per point.
    const double ode_curves = ode ? (e.ode.init == OdeInit::measured ? e.seeds.count : 1.0) : 0.0;
    r.results_bytes += (runs + ode_curves) * (records * 60.0 + kept * state);
    // Per run-step: N Gaussians (~3 ns each), (K + M) dot products and K updates
    // of length N (~0.25 ns per multiply-add): measured on the CPU engine.
    const double per_step = p.batch_size * N * (3e-9 + 0.25e-9 * (2 * K + M));
    r.cpu_seconds += runs * static_cast<double>(p.total_steps()) * per_step;
  }
  r.cpu_seconds /= std::max(1, threads);
  return r;
}

void check_resources(const Experiment& e, int threads, const std::vector<double>& gpu_free_bytes, int shard_index,
                     int shard_count) {
  const bool gpu = !gpu_free_bytes.empty();
  const ResourceEstimate r = estimate_resources(e, threads, shard_index, shard_count);
  const std::string what = shard_count > 0 ? "shard " + std::to_string(shard_index) + "/" +
                                                 std::to_string(shard_count) + " of this experiment"
                                           : "this experiment";
  if (r.weights_bytes > 0.5 * r.memory_bytes)
    throw std::runtime_error("model.N: one run's weights need " + format_gigabytes(r.weights_bytes) +
                             ", more than half of this machine's memory (" + format_gigabytes(r.memory_bytes) + ")");
  if (r.results_bytes > 0.5 * r.memory_bytes)
    throw std::runtime_error("record.order_parameters: the records of " + what + " need about " +
                             format_gigabytes(r.results_bytes) + " of memory, more than half of this machine's (" +
                             format_gigabytes(r.memory_bytes) +
                             "); set record.order_parameters to false or lower record.points (tsgd merge holds "
                             "the records of every shard at once)");
  if (gpu) {
    // Each record class as the engine will hold it (its largest K, M and B):
    // throws when one run of a class does not fit a GPU.
    const Precision precision = e.simulate.precision ? *e.simulate.precision : Precision::float32;
    plan_gpu_waves(e, gpu_free_bytes, precision);
  }
  if (!gpu && r.cpu_seconds > 30 * 86400.0)
    throw std::runtime_error("the SGD runs of " + what + " would take about " +
                             format_double(std::round(r.cpu_seconds / 86400)) + " days on " +
                             std::to_string(threads) +
                             " CPU thread(s); split the sweep over a cluster (tsgd slurm), use a GPU, or "
                             "reduce training.alpha, model.N or seeds.count");
}

std::string shard_directory(const std::string& dir, int index, int count) {
  return dir + "/shard-" + std::to_string(index) + "-of-" + std::to_string(count);
}

namespace {

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::string human_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  char buf[32];
  if (s < 60)
    std::snprintf(buf, sizeof buf, "%.0fs", s);
  else if (s < 3600)
    std::snprintf(buf, sizeof buf, "%dm%02ds", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
  else
    std::snprintf(buf, sizeof buf, "%dh%02dm", static_cast<int>(s) / 3600, static_cast<int>(s) % 3600 / 60);
  return buf;
}

// Progress on stderr: a redrawn bar on a terminal, a line every 5 s otherwise.
class Progress {
 public:
  Progress(bool quiet, double total_run_steps, std::size_t total_runs)
      : quiet_(quiet), tty_(::isatty(2) != 0), total_(total_run_steps), runs_total_(total_runs) {}

  void add(double run_steps, double alpha) {
    done_ += run_steps;
    alpha_ = alpha;
    show(false);
  }
  void runs_finished(std::size_t n) {
    runs_done_ += n;
    show(true);
  }
  void finish() {
    if (!quiet_ && tty_ && drawn_) std::fprintf(stderr, "\n");
  }

 private:
  void show(bool force) {
    if (quiet_) return;
    const double now = seconds_since(start_);
    const double every = tty_ ? 0.2 : 5.0;
    if (!force && now - last_ < every) return;
    if (!tty_ && force && now - last_ < every) return;
    last_ = now;
    const double rate = done_ / std::max(now, 1e-9);
    const double eta = (total_ - done_) / std::max(rate, 1e-9);
    const double fraction = total_ > 0 ? std::min(1.0, done_ / total_) : 1.0;
    char line[200];
    if (tty_) {
      const int width = 24, filled = static_cast<int>(fraction * width);
      std::string bar(filled, '#');
      bar.resize(width, '.');
      std::snprintf(line, sizeof line, "\r[%s] %3.0f%%  runs %zu/%zu  alpha %-9.4g %.3g run-steps/s  ETA %s   ",
                    bar.c_str(), 100 * fraction, runs_done_, runs_total_, alpha_, rate, human_duration(eta).c_str());
      drawn_ = true;
    } else {
      std::snprintf(line, sizeof line, "tsgd: %3.0f%%  runs %zu/%zu  alpha %.4g  %.3g run-steps/s  ETA %s\n",
                    100 * fraction, runs_done_, runs_total_, alpha_, rate, human_duration(eta).c_str());
    }
    std::fputs(line, stderr);
    std::fflush(stderr);
  }

  bool quiet_, tty_;
  double total_, done_ = 0, alpha_ = 0, last_ = 0;
  std::size_t runs_total_, runs_done_ = 0;
  bool drawn_ = false;
  Clock::time_point start_ = Clock::now();
};

// The engine of `tsgd run`: every usable GPU (one CUDA engine each, joined by
// a split engine), else the CPU with a one-line notice. `gpus` gets the free
// memory of the GPUs used, `device` a description for the manifest.
std::unique_ptr<Engine> choose_engine(const Experiment& e, const RunOptions& o, std::string* notice,
                                      std::vector<double>* gpus, std::string* device) {
  const Backend backend = o.backend ? *o.backend : e.simulate.backend;
  // Where "cuda" came from, for the error when no GPU can be used.
  const std::string asked = o.backend ? "--backend cuda" : "simulate.backend \"cuda\" (in the configuration)";
  const auto precision_for = [&](bool gpu) {
    return e.simulate.precision ? *e.simulate.precision : (gpu ? Precision::float32 : Precision::float64);
  };
  if (backend != Backend::cpu) {
    std::string why;
    const std::vector<GpuInfo> found = list_gpus(&why);
    if (!found.empty()) {
      std::vector<std::unique_ptr<Engine>> parts;
      for (const GpuInfo& g : found) {
        parts.push_back(make_cuda_engine(precision_for(true), g.index));
        gpus->push_back(static_cast<double>(g.free_bytes));
        *device += (device->empty() ? "" : "; ") + std::string("GPU ") + std::to_string(g.index) + ": " + g.name;
      }
      return make_split_engine(std::move(parts));
    }
    if (backend == Backend::cuda)
      throw std::runtime_error(asked + (cuda_built() ? ": no usable GPU: " + why + "; use auto or cpu"
                                                     : ": this tsgd was built without the CUDA engine; use auto or cpu"));
    *notice = cuda_built() ? "tsgd: no usable GPU (" + why + "); running on the CPU"
                           : "tsgd: this tsgd was built without the CUDA engine; running on the CPU";
  }
  *device = "CPU";
  return make_cpu_engine(precision_for(false), o.threads);
}

// How many runs of one record class the engine gets at once (one wave: the
// memory bound, and the unit of resume).
std::size_t batch_capacity(const Engine& engine, const std::vector<RunSpec>& runs, int threads,
                           const std::vector<double>& gpus) {
  BatchShape shape;
  for (const RunSpec& r : runs) shape.add(r.params);
  if (engine.name() == "cuda")
    return gpu_batch_capacity(shape.gpu_bytes_per_run(engine.precision()), gpus, host_memory_bytes());
  const double bytes = (engine.precision() == Precision::float32 ? 4.0 : 8.0) *
                       (static_cast<double>(shape.kmax) + shape.mmax) * shape.n;
  const double by_memory = std::max(1.0, 2e9 / std::max(bytes, 1.0));
  const double wanted = std::max(64.0, 16.0 * threads);
  return static_cast<std::size_t>(std::min(by_memory, wanted));
}

std::string unit_name(const RunSpec& first, std::size_t count) {
  return "sgd-p" + std::to_string(first.point_id) + "-s" + std::to_string(first.seed) + "-n" +
         std::to_string(count) + ".jsonl";
}

// Temporary files of writes that a kill interrupted (write_file_atomic's
// NAME.tmpPID, for the files tsgd writes into an output directory): never
// complete, never read; removed before a run writes there again.
void remove_interrupted_writes(const std::string& dir) {
  if (!fs::is_directory(dir)) return;
  std::vector<std::string> ours(std::begin(kDefinitionFiles), std::end(kDefinitionFiles));
  for (const char* f : kResultFiles) ours.push_back(f);
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    for (const std::string& file : ours) {
      const std::string prefix = file + ".tmp";
      if (name.size() > prefix.size() && name.compare(0, prefix.size(), prefix) == 0 &&
          name.find_first_not_of("0123456789", prefix.size()) == std::string::npos) {
        fs::remove(entry.path());
        break;
      }
    }
  }
}

// tsgd's own files in DIR/work, by name: SGD units (sgd-*.jsonl) and, or
// only, ODE units (ode-p*.jsonl). Nothing else there is touched.
void remove_work_units(const std::string& work, bool sgd, bool ode) {
  if (!fs::is_directory(work)) return;
  const auto is = [](const std::string& name, const std::string& prefix) {
    return name.size() > prefix.size() + 6 && name.compare(0, prefix.size(), prefix) == 0 &&
           name.compare(name.size() - 6, 6, ".jsonl") == 0;
  };
  for (const auto& entry : fs::directory_iterator(work)) {
    const std::string name = entry.path().filename().string();
    if ((sgd && is(name, "sgd-")) || (ode && is(name, "ode-p"))) fs::remove(entry.path());
  }
}

}  // namespace

void prepare_output_directory(const std::string& dir, const json& resolved, bool force, ForceScope scope) {
  remove_interrupted_writes(dir);
  const std::string config_path = dir + "/config.json";
  const bool ours = file_exists(config_path);  // a directory tsgd wrote before
  bool same = false;
  if (ours) {
    bool readable = true;
    json existing;
    try {
      existing = json::parse(read_file(config_path));
    } catch (const json::exception&) {
      readable = false;
    }
    // The work units' equality (numbers compared by value: 2 and 2.0 are one experiment).
    same = readable && experiment_fingerprint(existing) == experiment_fingerprint(resolved);
    if (!readable && !force)
      throw std::runtime_error(config_path + ": unreadable; rerun with --force to start over in " + dir);
    if (!same && !force)
      throw std::runtime_error(dir + " holds results of a different configuration (" + config_path +
                               "); use another --output or --force to replace them");
  }
  if (force) {
    // Only what tsgd wrote, by name: never plots/, shard directories, Slurm
    // scripts or anything else. A directory of another (or an unknown)
    // configuration loses all of it; the same configuration only what SCOPE names.
    const bool all = !same || scope == ForceScope::everything;
    remove_work_units(dir + "/work", all, all || scope == ForceScope::ode_units);
    if (ours && all) {
      for (const char* f : kResultFiles) fs::remove(dir + "/" + f);
      fs::remove(dir + "/shard.json");
    }
  }
  make_directories(dir + "/work");
  write_file_atomic(config_path, resolved.dump(2) + "\n");
}

namespace {

// Result files that differ from the checksums of the manifest that wrote them
// were changed (edited, truncated) since: say so. They are never read back:
// the work units are the record, and the files are rewritten from them.
void report_changed_results(const std::string& dir, bool quiet) {
  const std::string manifest_path = dir + "/manifest.json";
  if (!file_exists(manifest_path)) return;
  json manifest;
  try {
    manifest = json::parse(read_file(manifest_path));
  } catch (const json::exception&) {
    std::cerr << "tsgd: warning: " << manifest_path << " is not valid JSON; the result files are rewritten\n";
    return;
  }
  if (!manifest.contains("files") || !manifest["files"].is_object()) return;
  for (auto it = manifest["files"].begin(); it != manifest["files"].end(); ++it) {
    const std::string path = dir + "/" + it.key();
    if (std::find(std::begin(kDefinitionFiles), std::end(kDefinitionFiles), it.key()) != std::end(kDefinitionFiles))
      continue;  // rewritten before this, by design
    if (!file_exists(path)) continue;
    if (!it->contains("fnv1a") || (*it)["fnv1a"] != fnv1a_hex(read_file(path)))
      std::cerr << "tsgd: warning: " << path << " changed since tsgd wrote it (checksum in " << manifest_path
                << "); it is rewritten from the work units\n";
  }
  (void)quiet;  // a changed result file is always worth a line
}

void run_plot_script(const std::string& dir, bool quiet) {
  const std::string script = std::string(TSGD_SOURCE_DIR) + "/scripts/plot.py";
  if (!file_exists(script) || !file_exists("/usr/bin/python3")) {
    std::cerr << "tsgd: --plot: " << script << " or /usr/bin/python3 not found; no figures\n";
    return;
  }
  if (std::system("/usr/bin/python3 -c 'import matplotlib, numpy' > /dev/null 2>&1") != 0) {
    std::cerr << "tsgd: --plot: /usr/bin/python3 lacks matplotlib or numpy (scripts/setup.sh installs them); no figures\n";
    return;
  }
  const std::string command =
      "/usr/bin/python3 " + shell_quote(script) + " " + shell_quote(dir) + (quiet ? " > /dev/null" : "");
  if (std::system(command.c_str()) != 0) std::cerr << "tsgd: --plot: the plot script failed\n";
}

// The result set of an experiment: runs sorted by (point, seed), ODE curves by
// point (each point's curves come from one place, in seed order), theory.
ResultSet assemble_results(const Experiment& e, std::vector<RunTrajectory> runs, std::vector<OdeCurve> ode) {
  std::sort(runs.begin(), runs.end(), [](const RunTrajectory& a, const RunTrajectory& b) {
    return a.point_id != b.point_id ? a.point_id < b.point_id : a.seed < b.seed;
  });
  std::stable_sort(ode.begin(), ode.end(), [](const OdeCurve& a, const OdeCurve& b) { return a.point_id < b.point_id; });
  ResultSet results;
  results.experiment = &e;
  results.runs = std::move(runs);
  results.ode = std::move(ode);
  results.small_eta_rule = small_eta_predictions(e, results.ode);
  return results;
}

}  // namespace

int run_experiment(const Experiment& e, const RunOptions& o, std::ostream& out) {
  const auto t_start = Clock::now();
  const std::string base_dir = o.output ? *o.output : e.output;
  const bool sharded = o.shard_count > 0;
  if (sharded && (o.shard_index < 0 || o.shard_index >= o.shard_count))
    throw std::invalid_argument("--shard: index " + std::to_string(o.shard_index) + " is not in 0.." +
                                std::to_string(o.shard_count - 1));
  const std::string dir = sharded ? shard_directory(base_dir, o.shard_index, o.shard_count) : base_dir;
  json resolved = e.resolved;
  resolved["output"] = base_dir;
  // The engine first: its GPUs' memory bounds the experiment (checked before anything is written).
  const bool simulate = e.simulate.enabled && !o.ode_only;
  std::unique_ptr<Engine> engine;
  std::vector<double> gpus;
  std::string notice, device;
  if (simulate) engine = choose_engine(e, o, &notice, &gpus, &device);
  {
    const int threads_for_estimate = o.threads > 0 ? o.threads : omp_get_max_threads();
    if (!o.ode_only) check_resources(e, threads_for_estimate, gpus, o.shard_index, o.shard_count);
  }
  prepare_output_directory(dir, resolved, o.force,
                           o.ode_only ? ForceScope::ode_units : ForceScope::everything);
  const int threads = o.threads > 0 ? o.threads : omp_get_max_threads();

  Manifest manifest;
  manifest.command_line = o.command_line;
  manifest.threads = threads;

  // ---- SGD ----
  std::vector<RunTrajectory> trajectories;
  bool stopped = false;
  if (simulate) {
    const auto t0 = Clock::now();
    if (!notice.empty() && !o.quiet) std::cerr << notice << "\n";
    manifest.backend = engine->name();
    manifest.device = device;
    manifest.precision = to_string(engine->precision());

    UnitStore store(dir + "/work", e);
    trajectories = store.load_all(&manifest.computed_by);  // throws naming a corrupt or foreign unit file
    const json by = unit_provenance(manifest.backend, manifest.device, manifest.precision);
    std::vector<char> done(e.points.size() * static_cast<std::size_t>(e.seeds.count), 0);
    for (const auto& t : trajectories) done[t.point_id * static_cast<std::size_t>(e.seeds.count) + (t.seed - e.seeds.first)] = 1;

    // Remaining runs, by record schedule (N, alpha), each class ordered by
    // (seed, point) so that a batch holds runs sharing a seed (shared draws).
    std::map<std::pair<int, double>, std::vector<RunSpec>> classes;
    double total_steps = 0;
    std::size_t remaining = 0;
    const std::vector<RunSpec> all_runs = plan_runs(e);
    const std::vector<int> shard = sharded ? shard_of_runs(e, o.shard_count) : std::vector<int>();
    for (std::size_t i = 0; i < all_runs.size(); ++i) {
      const RunSpec& r = all_runs[i];
      if (sharded && shard[i] != o.shard_index) continue;
      if (done[r.point_id * static_cast<std::size_t>(e.seeds.count) + (r.seed - e.seeds.first)]) continue;
      classes[{r.params.N, r.params.alpha}].push_back(r);
      total_steps += static_cast<double>(r.params.total_steps());
      ++remaining;
    }
    if (!o.quiet && !trajectories.empty())
      std::cerr << "tsgd: resuming: " << trajectories.size() << " runs already complete in " << dir << "\n";
    Progress progress(o.quiet, total_steps, remaining);
    SimulationControl control;
    control.keep_all_states = e.record.order_parameters;
    control.diverge_eg = e.simulate.diverge_eg;
    control.stop = &g_stop_requested;
    control.progress = [&](double run_steps, double alpha) { progress.add(run_steps, alpha); };
    for (auto& [key, runs] : classes) {
      std::stable_sort(runs.begin(), runs.end(), [](const RunSpec& a, const RunSpec& b) {
        return a.seed != b.seed ? a.seed < b.seed : a.point_id < b.point_id;
      });
      const std::vector<std::int64_t> steps = record_steps(e.record, runs[0].params);
      const std::size_t capacity = batch_capacity(*engine, runs, threads, gpus);
      for (std::size_t begin = 0; begin < runs.size() && !stopped; begin += capacity) {
        const std::vector<RunSpec> batch(runs.begin() + begin,
                                         runs.begin() + std::min(runs.size(), begin + capacity));
        std::vector<RunTrajectory> result;
        if (!simulate_batch(*engine, batch, steps, control, result)) {
          stopped = true;
          break;
        }
        store.save(unit_name(batch[0], batch.size()), result, e.record.order_parameters, by);
        manifest.computed_by.add(by, result.size());
        progress.runs_finished(batch.size());
        for (auto& t : result) trajectories.push_back(std::move(t));
      }
      if (stopped) break;
    }
    progress.finish();
    manifest.stage_seconds["sgd"] = seconds_since(t0);
  } else if (o.ode_only) {
    // `tsgd ode` in a directory where `tsgd run` left SGD runs of this
    // experiment: the result files keep them.
    trajectories = UnitStore(dir + "/work", e).load_all(&manifest.computed_by);
    // (`tsgd ode` turns simulate.enabled off; the configuration's value is in resolved.)
    const std::size_t all = e.points.size() * static_cast<std::size_t>(e.seeds.count);
    if (!trajectories.empty() && trajectories.size() < all && !o.quiet)
      std::cerr << "tsgd: " << trajectories.size() << " of " << all << " SGD runs are complete in " << dir
                << "; the results hold those (tsgd run completes the rest)\n";
  }
  // ---- ODE ----
  std::vector<OdeCurve> ode_curves;
  if (!stopped && e.ode.enabled) {
    const auto t0 = Clock::now();
    std::vector<char> include(e.points.size(), 1);
    if (sharded)
      for (std::size_t p = 0; p < e.points.size(); ++p)
        include[p] = shard_of_point(static_cast<int>(p), o.shard_count) == o.shard_index;
    stopped = !run_ode_stage(e, dir + "/work", threads, o.quiet, &g_stop_requested, ode_curves, &include);
    manifest.stage_seconds["ode"] = seconds_since(t0);
  }
  if (stopped) {
    const int sig = g_stop_signal.load();
    if (!o.quiet)
      std::cerr << "tsgd: stopped by signal " << sig << "; completed runs are saved in " << dir
                << "/work; rerun the same command to resume\n";
    return 128 + sig;
  }

  if (sharded) {
    std::size_t runs = trajectories.size();
    write_file_atomic(dir + "/shard.json", json{{"shard", o.shard_index}, {"of", o.shard_count}, {"runs", runs},
                                                {"ode_curves", ode_curves.size()}, {"complete", true}}
                                               .dump(2) + "\n");
    manifest.stage_seconds["total"] = seconds_since(t_start);
    write_manifest(dir, manifest);
    if (!o.quiet)
      out << "shard " << o.shard_index << " of " << o.shard_count << ": " << runs << " runs complete in " << dir
          << "; join the shards with: tsgd merge " << base_dir << "\n";
    return 0;
  }

  // ---- results ----
  const auto t_write = Clock::now();
  report_changed_results(dir, o.quiet);
  const ResultSet results = assemble_results(e, std::move(trajectories), std::move(ode_curves));
  write_results(dir, results);
  manifest.stage_seconds["write"] = seconds_since(t_write);
  manifest.stage_seconds["total"] = seconds_since(t_start);
  write_manifest(dir, manifest);
  if (!o.quiet) print_summary(out, results, dir);
  if (o.plot) run_plot_script(dir, o.quiet);
  return 0;
}

int merge_shards(const std::string& dir, const RunOptions& o, std::ostream& out) {
  const auto t_start = Clock::now();
  // The shards present: DIR/shard-I-of-N.
  std::map<int, std::string> shards;
  int count = -1;
  if (!fs::is_directory(dir)) throw std::runtime_error(dir + ": no such directory");
  remove_interrupted_writes(dir);
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    int index = 0, of = 0;
    char tail = 0;
    if (!entry.is_directory() || std::sscanf(name.c_str(), "shard-%d-of-%d%c", &index, &of, &tail) != 2) continue;
    if (count >= 0 && of != count)
      throw std::runtime_error(dir + ": shards of different splits (" + std::to_string(count) + " and " +
                               std::to_string(of) + "): remove the stale ones");
    count = of;
    if (!shards.emplace(index, entry.path().string()).second)
      throw std::runtime_error(dir + ": shard " + std::to_string(index) + " is duplicated");
  }
  if (count <= 0) throw std::runtime_error(dir + ": no shard directories (shard-I-of-N) to merge");
  std::vector<std::string> missing;
  for (int i = 0; i < count; ++i) {
    const auto it = shards.find(i);
    if (it == shards.end() || !file_exists(it->second + "/shard.json")) missing.push_back(std::to_string(i));
  }
  if (!missing.empty()) {
    std::string list;
    for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
    throw std::runtime_error(dir + ": shard(s) " + list + " of " + std::to_string(count) +
                             " missing or incomplete; run them with tsgd run CONFIG --shard I/" + std::to_string(count));
  }
  // One configuration for all.
  const json reference = json::parse(read_file(shards.at(0) + "/config.json"));
  const std::string fingerprint = experiment_fingerprint(reference);
  for (const auto& [index, path] : shards) {
    if (experiment_fingerprint(json::parse(read_file(path + "/config.json"))) != fingerprint)
      throw std::runtime_error(path + "/config.json: shard " + std::to_string(index) +
                               " belongs to a different configuration than shard 0");
  }
  Experiment e = parse_experiment(reference);
  {
    const ResourceEstimate r = estimate_resources(e, 1);
    if (r.results_bytes > 0.5 * r.memory_bytes)
      throw std::runtime_error(dir + ": the merged records need about " +
                               format_gigabytes(r.results_bytes) + " of memory, more than half of this machine's (" +
                               format_gigabytes(r.memory_bytes) + "); merge on a machine with more memory, or rerun the sweep with "
                               "record.order_parameters false or fewer record.points");
  }
  // Every run exactly once.
  std::vector<RunTrajectory> trajectories;
  ProvenanceCount computed_by;
  std::vector<OdeCurve> ode;
  for (const auto& [index, path] : shards) {
    for (auto& t : UnitStore(path + "/work", e).load_all(&computed_by)) trajectories.push_back(std::move(t));
    if (e.ode.enabled)
      for (auto& c : load_ode_units(e, path + "/work")) ode.push_back(std::move(c));
  }
  const std::size_t seeds = static_cast<std::size_t>(e.seeds.count);
  std::vector<int> seen(e.points.size() * seeds, 0);
  for (const auto& t : trajectories) {
    if (t.point_id < 0 || static_cast<std::size_t>(t.point_id) >= e.points.size() || t.seed < e.seeds.first ||
        t.seed - e.seeds.first >= seeds)
      throw std::runtime_error(dir + ": a shard holds run (point " + std::to_string(t.point_id) + ", seed " +
                               std::to_string(t.seed) + ") that is not in the configuration");
    if (++seen[t.point_id * seeds + (t.seed - e.seeds.first)] > 1)
      throw std::runtime_error(dir + ": run (point " + std::to_string(t.point_id) + ", seed " + std::to_string(t.seed) +
                               ") appears in more than one shard");
  }
  if (e.simulate.enabled) {
    const auto absent = std::count(seen.begin(), seen.end(), 0);
    if (absent > 0)
      throw std::runtime_error(dir + ": " + std::to_string(absent) + " run(s) missing from the shards");
  }
  // DIR itself may hold another experiment's results (and work units that a
  // later `tsgd run` there would resume from): refused, or replaced with --force.
  prepare_output_directory(dir, reference, o.force, ForceScope::everything);
  report_changed_results(dir, o.quiet);
  const ResultSet results = assemble_results(e, std::move(trajectories), std::move(ode));
  write_results(dir, results);
  Manifest manifest;
  manifest.command_line = o.command_line;
  manifest.backend = "merge of " + std::to_string(count) + " shards";
  manifest.computed_by = computed_by;
  manifest.stage_seconds["merge"] = seconds_since(t_start);
  write_manifest(dir, manifest);
  if (!o.quiet) print_summary(out, results, dir);
  return 0;
}

}  // namespace tsgd
