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
// "name runs path" contains TEXT, e.g. "K=M=4 16896 auto"].
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

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

void run_case(const Case& c, double seconds) {
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
  auto& cuda = dynamic_cast<CudaEngine&>(*engine);
  const auto load_start = std::chrono::steady_clock::now();
  engine->load(runs);
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
  const bool fused = cuda.path() == CudaPath::fused;
  const bool shared = fused && c.group_by_seed;
  const bool twice = fused && c.params.batch_size > 1 && !keeps_inputs(c);
  const double draws = 4.0 * ((c.params.N + 3) / 4) * c.params.batch_size * (twice ? 2 : 1) /
                       (shared ? c.points_per_seed : 1);
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

}  // namespace

int main(int argc, char** argv) {
  // Line by line: a run stopped at its time limit keeps what it printed.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
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
      if (only.empty() ||
          (c.name + " " + std::to_string(c.runs) + " " + path_name(c.path)).find(only) !=
              std::string::npos)
        run_case(c, seconds);
  } catch (const std::exception& e) {
    std::printf("bench_gpu: %s\n", e.what());
    return 1;
  }
  return 0;
}
