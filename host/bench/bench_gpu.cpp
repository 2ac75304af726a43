// GPU throughput of the CUDA engine, in run-steps per second (runs x SGD
// steps / second, timed with CUDA events on the engine's stream after a
// warm-up), for the shapes of the paper's figures and the cuBLAS path:
//   (a) erf, N = 784, K = M = 4, eta = 0.2, sigma = 0.01, first layer,
//       132 / 1056 / 16896 runs; independent seeds, then 4 grid points per
//       seed with and without the fused path's grouping by seed
//   (b) erf, N = 500, K = 5, M = 2, both layers, eta = 0.05, v* = 4
//   (c) mini-batch 64 on the cuBLAS path
//   (d) N = 10000, K = M = 8 on the cuBLAS path
//   and case (a) on the cuBLAS path with batch size 1; and mini-batch 8 at
//   the shape of (a) on the fused path with its inputs kept in shared memory
//   and drawn twice, and on the cuBLAS path (the automatic choice's bound).
// Prints each figure with the fraction of its target and of its RNG bound
// (the rate of the Gaussian draws alone divided by the draws per run-step),
// for the cuBLAS path also of its memory bound (bandwidth / bytes per run-step),
// and the kernels' registers and memory.
// Usage: bench_gpu [seconds per case, default 1] [TEXT: only the cases whose
// "name runs path" contains TEXT, e.g. "K=M=4 16896 auto"];
//        bench_gpu --static: the fused kernel's static performance model
//        (static_model.h; no GPU needed); bench_gpu --list [TEXT]: the cases;
//        bench_gpu --profile-launch TEXT: one full fused launch to profile.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "bench/static_model.h"
#include "cuda/cuda_engine.h"
#include "cuda/fused_plan.h"

namespace {

using namespace tsgd;

struct Case {
  std::string name;
  PointParams params;
  int runs;
  int points_per_seed;  // runs that share a seed (grid points of one seed)
  CudaPath path;
  bool group_by_seed;
  Precision precision;
  double target;            // run-steps per second, 0: none
  bool keep_inputs = true;  // CudaOptions::keep_inputs
};

// Whether the fused kernel keeps this case's mini-batch inputs in shared
// memory (fused_launch_shape), so that it draws each of them once.
bool keeps_inputs(const Case& c) {
  if (!c.keep_inputs || c.params.batch_size < 2) return false;
  const int row_class = fused_row_class(c.params.K + c.params.M);
  return c.precision == Precision::float64
             ? fused_keeps_inputs<double>(row_class, c.params.N, c.params.batch_size)
             : fused_keeps_inputs<float>(row_class, c.params.N, c.params.batch_size);
}

// Runs that share each draw on the fused path: those of one task (the plan
// groups a seed's runs of one teacher into tasks of at most fused_max_rows
// rows, the teacher's held once).
int runs_sharing_draws(const Case& c) {
  const int max_rows =
      c.precision == Precision::float64 ? fused_max_rows<double>() : fused_max_rows<float>();
  return bench::runs_per_task(c.params, c.points_per_seed, max_rows);
}

PointParams erf_784() {
  PointParams p;
  p.N = 784;
  p.K = 4;
  p.M = 4;
  p.lr = 0.2;
  p.sigma = 0.01;
  return p;
}

PointParams erf_500_both_layers() {
  PointParams p;
  p.N = 500;
  p.K = 5;
  p.M = 2;
  p.train = TrainMode::both_layers;
  p.lr = 0.05;
  p.lr2 = 0.05;
  p.teacher_v = 4.0;
  return p;
}

const char* path_name(CudaPath path) {
  return path == CudaPath::fused ? "fused" : (path == CudaPath::cublas ? "cublas" : "auto");
}

// Gaussians per second of the draws alone (cuda_gaussian_rate) and the
// device memory bandwidth (cuda_copy_bandwidth), measured once.
double g_gaussian_rate = 0;
double g_bandwidth = 0;

// The case's runs, loaded into a CUDA engine with the case's options.
std::unique_ptr<Engine> load_case(const Case& c) {
  std::vector<RunSpec> runs;
  for (int r = 0; r < c.runs; ++r) {
    RunSpec spec;
    spec.point_id = r % c.points_per_seed;
    spec.seed = static_cast<std::uint64_t>(r / c.points_per_seed);
    spec.params = c.params;
    runs.push_back(spec);
  }
  CudaOptions options;
  options.path = c.path;
  options.group_by_seed = c.group_by_seed;
  options.keep_inputs = c.keep_inputs;
  auto engine = make_cuda_engine(c.precision, options);
  engine->load(runs);
  return engine;
}

void run_case(const Case& c, double seconds) {
  const auto load_start = std::chrono::steady_clock::now();
  const std::unique_ptr<Engine> engine = load_case(c);
  auto& cuda = dynamic_cast<CudaEngine&>(*engine);
  const double load_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();

  // Warm-up (task tables, CUDA graph, clocks), which also sizes the timed run.
  std::int64_t steps = 64;
  double elapsed = cuda.timed_advance(steps);
  while (elapsed < 0.05 && steps < (1 << 22)) {
    steps *= 4;
    elapsed = cuda.timed_advance(steps);
  }
  const double rate_guess = static_cast<double>(steps) / elapsed;
  steps = std::max<std::int64_t>(32, static_cast<std::int64_t>(rate_guess * seconds));
  elapsed = cuda.timed_advance(steps);

  std::vector<OrderParameters> op;
  engine->order_parameters(op);
  const bool finite = std::all_of(op.begin(), op.end(), [](const auto& o) { return o.finite(); });
  const double rate = static_cast<double>(c.runs) * static_cast<double>(steps) / elapsed;
  std::printf("%-44s %-6s %-7s %6d runs %8lld steps %7.3f s  %9.3e run-steps/s", c.name.c_str(),
              path_name(cuda.path()), to_string(c.precision), c.runs, static_cast<long long>(steps),
              elapsed, rate);
  if (c.params.batch_size > 1) std::printf("  (%.3e samples/s)", rate * c.params.batch_size);
  if (c.target > 0) std::printf("  %5.1f%% of target %.0e", 100.0 * rate / c.target, c.target);
  // The RNG bound: every run-step draws B inputs of N (rounded up to 4)
  // Gaussians, shared by the runs of a seed on the fused path with grouping.
  // The fused path draws each input twice when B > 1 (fields, then update)
  // unless it keeps them in shared memory.
  // A block shares its draws among the runs of its task (runs_per_task: at
  // most 16 rows in float, 8 in double), not among all points of the seed.
  const bool fused = cuda.path() == CudaPath::fused;
  // Runs per draw: per task on average (a seed's last task may hold fewer).
  const double sharing =
      fused && c.group_by_seed
          ? c.runs / bench::fused_task_count(c.runs, c.points_per_seed, runs_sharing_draws(c))
          : 1.0;
  const bool twice = fused && c.params.batch_size > 1 && !keeps_inputs(c);
  const double draws =
      4.0 * ((c.params.N + 3) / 4) * c.params.batch_size * (twice ? 2 : 1) / sharing;
  const double bound = g_gaussian_rate / draws;
  std::printf("  %5.1f%% of RNG bound %.2e", 100.0 * rate / bound, bound);
  double largest = rate / bound;
  const char* limit = "RNG (input draws)";
  if (!fused) {
    // The cuBLAS path streams every run's weights each step: the fields GEMM
    // reads W (units x N) and X (B x N), the update GEMM reads X and reads and
    // writes the K student rows, the input kernel writes X (decay: 2 K N more).
    const double real = c.precision == Precision::float32 ? 4.0 : 8.0;
    const double n = c.params.N, k = c.params.K, units = c.params.K + c.params.M,
                 b = c.params.batch_size;
    const double bytes =
        real * n * (units + 2 * k + 3 * b + (c.params.weight_decay > 0 ? 2 * k : 0));
    const double memory_bound = g_bandwidth / bytes;
    std::printf("  %5.1f%% of memory bound %.2e", 100.0 * rate / memory_bound, memory_bound);
    if (rate / memory_bound > largest) {
      largest = rate / memory_bound;
      limit = "memory bandwidth";
    }
  }
  // The bound it is nearest to, when near one; else neither bound explains
  // the rate: latency (barriers, the coefficient stage) and occupancy.
  std::printf("  limit: %s", largest > 0.5 ? limit : "latency/occupancy (see blocks/SM, ncu)");
  std::printf("  [load %.2f s]%s\n", load_seconds, finite ? "" : "  NON-FINITE RESULTS");
  std::fflush(stdout);
}

// The kernels' registers, shared memory, spills and occupancy.
void print_kernels() {
  std::printf(
      "\nkernel                               registers  static smem  local (spill) bytes  "
      "blocks/SM (threads)\n");
  for (const CudaKernelInfo& k : cuda_kernel_info()) {
    std::printf("%-36s %9d  %11zu  %19zu", k.name.c_str(), k.registers, k.shared_bytes,
                k.local_bytes);
    if (k.occupancy_threads > 0)
      std::printf("  %9d (%d)", k.blocks_per_multiprocessor, k.occupancy_threads);
    std::printf("\n");
  }
}

// The benchmark's cases: (a), (b) and their groupings, the cuBLAS path, (c), (d), mini-batches.
std::vector<Case> all_cases() {
  PointParams minibatch = erf_784();
  minibatch.batch_size = 64;
  PointParams batch8 = erf_784();
  batch8.batch_size = 8;
  PointParams wide = erf_784();
  wide.N = 10000;
  wide.K = 8;
  wide.M = 8;
  return {
      {"(a) erf N=784 K=M=4", erf_784(), 132, 1, CudaPath::automatic, true, Precision::float32,
       6e8},
      {"(a) erf N=784 K=M=4", erf_784(), 1056, 1, CudaPath::automatic, true, Precision::float32,
       6e8},
      {"(a) erf N=784 K=M=4", erf_784(), 16896, 1, CudaPath::automatic, true, Precision::float32,
       6e8},
      {"(a) 4 points/seed, grouped", erf_784(), 16896, 4, CudaPath::fused, true, Precision::float32,
       6e8},
      {"(a) 4 points/seed, not grouped", erf_784(), 16896, 4, CudaPath::fused, false,
       Precision::float32, 6e8},
      {"(a) erf N=784 K=M=4", erf_784(), 1056, 1, CudaPath::automatic, true, Precision::float64, 0},
      {"(b) erf N=500 K=5 M=2 both layers", erf_500_both_layers(), 1056, 1, CudaPath::automatic,
       true, Precision::float32, 8e8},
      {"(b) erf N=500 K=5 M=2 both layers", erf_500_both_layers(), 16896, 1, CudaPath::automatic,
       true, Precision::float32, 8e8},
      {"(b) 2 points/seed, grouped", erf_500_both_layers(), 16896, 2, CudaPath::fused, true,
       Precision::float32, 8e8},
      {"cuBLAS B=1: (a) shape", erf_784(), 16896, 1, CudaPath::cublas, true, Precision::float32,
       5e7},
      {"(c) mini-batch 64, N=784 K=M=4", minibatch, 1056, 1, CudaPath::cublas, true,
       Precision::float32, 0},
      {"(d) N=10000 K=M=8", wide, 1056, 1, CudaPath::cublas, true, Precision::float32, 0},
      {"mini-batch 8, (a) shape, inputs kept", batch8, 16896, 1, CudaPath::fused, true,
       Precision::float32, 0, true},
      {"mini-batch 8, (a) shape, inputs drawn twice", batch8, 16896, 1, CudaPath::fused, true,
       Precision::float32, 0, false},
      {"mini-batch 8, (a) shape", batch8, 16896, 1, CudaPath::cublas, true, Precision::float32, 0},
  };
}

// Whether case c is selected by TEXT (a part of "name runs path").
bool selected(const Case& c, const std::string& only) {
  return only.empty() ||
         (c.name + " " + std::to_string(c.runs) + " " + path_name(c.path)).find(only) !=
             std::string::npos;
}

// bench_gpu --profile-launch TEXT: the first fused case TEXT selects, advanced
// twice by exactly one planned launch (fused_steps_per_launch), so that a
// profiler told to skip one launch of the fused kernel sees a full launch of
// the timed runs' length, not the remainder of a split advance
// (scripts/gpu_check.sh: ncu --launch-skip 1 --launch-count 1).
int profile_launch(const std::string& only) {
  for (const Case& c : all_cases()) {
    if (!selected(c, only)) continue;
    const std::unique_ptr<Engine> engine = load_case(c);
    if (dynamic_cast<CudaEngine&>(*engine).path() != CudaPath::fused) continue;
    // The plan's tasks: a seed's points grouped (fused_task_count), or one run
    // a task where the case does not group by seed.
    const int tasks = c.group_by_seed ? static_cast<int>(bench::fused_task_count(
                                            c.runs, c.points_per_seed, runs_sharing_draws(c)))
                                      : c.runs;
    const std::int64_t steps = fused_steps_per_launch(0, tasks, c.params.batch_size, c.params.N);
    engine->advance(steps);
    engine->advance(steps);
    std::printf("%s: two launches of %lld steps (%d tasks)\n", c.name.c_str(),
                static_cast<long long>(steps), tasks);
    return 0;
  }
  std::printf("bench_gpu --profile-launch: no fused case matches '%s'\n", only.c_str());
  return 1;
}

// bench_gpu --static: the model of static_model.h for the cases,
// without a GPU. Exit status 1 when the build has no model (no nvcc).
int print_static_model() {
  using namespace tsgd::bench;
  if (static_kernels().empty()) {
    std::printf("bench_gpu --static: no static model in this build (built without nvcc)\n");
    return 1;
  }
  std::printf(
      "Static performance model of the fused kernel: a MODEL from the compiled PTX and ptxas's "
      "report, not a measurement.\nConstants (H100 SXM5, published): %d SMs, %d schedulers/SM "
      "(1 warp-instruction/cycle each), %.2f GHz, %d FP32 lanes/SM, %d registers/SM, %d KB "
      "shared/SM; dependent instruction %.0f cycles (CUDA C++ Programming Guide); barrier %.0f "
      "cycles (assumed).\nCounts are PTX instructions; SASS differs (docs/gpu.md).\n\n",
      kSms, kSchedulers, kClock / 1e9, kFp32LanesPerSm, kRegistersPerSm, kSharedPerSm / 1024,
      kDependentCycles, kBarrierCycles);
  std::printf(
      "kernel               registers  spill stores/loads  stack  static smem  "
      "step-loop PTX instructions\n");
  for (const StaticKernel& k : static_kernels())
    std::printf("<%s, %2d>%*s %9d  %11d/%-6d  %5d  %11d  %9d\n", k.real, k.rows,
                static_cast<int>(12 - std::string(k.real).size()), "", k.registers, k.spill_stores,
                k.spill_loads, k.stack, k.static_smem, k.loop_instructions);
  std::printf("\n");
  PointParams grid = erf_784();
  // The cases run with rng_transform: auto, which is fast on a GPU
  // (docs/config.md); the exact transform's lines for comparison.
  const RngTransform fast = RngTransform::fast, exact = RngTransform::exact;
  const std::vector<StaticCase> cases = {
      {"(a)", "erf N=784 K=M=4, 16896 independent seeds", erf_784(), 16896, 1, 6e8, fast},
      {"(a')", "erf N=784 K=M=4, 16896 runs, 8 grid points per seed", grid, 16896, 8, 1.5e9, fast},
      {"(b)", "erf N=500 K=5 M=2 both layers v*=4, 16896 independent seeds", erf_500_both_layers(),
       16896, 1, 8e8, fast},
      {"(a) exact", "the same as (a)", erf_784(), 16896, 1, 6e8, exact},
      {"(a') exact", "the same as (a')", grid, 16896, 8, 1.5e9, exact},
      {"(b) exact", "the same as (b)", erf_500_both_layers(), 16896, 1, 8e8, exact}};
  int status = 0;
  for (const StaticCase& c : cases)
    if (!print_static_case(c)) {
      std::printf("%s: no kernel of this build serves it\n", c.label);
      status = 1;
    }
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  // Line by line: a run stopped at its time limit keeps what it printed.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "--static") return print_static_model();
  if (mode == "--list") {  // the cases TEXT selects, one a line (scripts/gpu_check.sh --dry-run)
    for (const Case& c : all_cases())
      if (selected(c, argc > 2 ? argv[2] : ""))
        std::printf("%s %d %s\n", c.name.c_str(), c.runs, path_name(c.path));
    return 0;
  }
  const double seconds = argc > 1 ? std::atof(argv[1]) : 1.0;
  if (!cuda_built()) {
    std::printf("bench_gpu: the CUDA engine is not built (configure with -DTSGD_CUDA=ON)\n");
    return 0;
  }
  std::string why;
  const std::vector<GpuInfo> gpus = list_gpus(&why);
  if (gpus.empty()) {
    std::printf("bench_gpu: no usable GPU: %s\n", why.c_str());
    return 1;
  }
  for (const GpuInfo& g : gpus)
    std::printf("GPU %d: %s, compute capability %d.%d, %d multiprocessors, %.1f GiB\n", g.index,
                g.name.c_str(), g.major, g.minor, g.multiprocessors,
                static_cast<double>(g.memory_bytes) / (1u << 30));

  try {
    if (mode == "--profile-launch") return profile_launch(argc > 2 ? argv[2] : "");
    print_kernels();
    g_gaussian_rate = cuda_gaussian_rate(gpus.front().index);
    g_bandwidth = cuda_copy_bandwidth(gpus.front().index);
    std::printf(
        "\nGaussian draws alone (Philox4x32-10 + Box-Muller, as the kernels draw inputs): %.3e "
        "/s\n",
        g_gaussian_rate);
    std::printf("device memory bandwidth (1 GiB device-to-device copy, read + write): %.3e B/s\n\n",
                g_bandwidth);

    const std::string only = argc > 2 ? argv[2] : "";
    for (const Case& c : all_cases())
      if (selected(c, only)) run_case(c, seconds);
  } catch (const std::exception& e) {
    std::printf("bench_gpu: %s\n", e.what());
    return 1;
  }
  return 0;
}
