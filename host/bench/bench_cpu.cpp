// CPU engine throughput: run-steps per second (runs x SGD steps / wall time)
// for erf, N = 784, M = K = 4, eta = 0.2, sigma = 0.01, first layer, in
// float64 and float32, on one thread and on all threads, each line the best
// of three measurements (the machine may be shared). A program that prints
// figures, not a test.
//
// Each line is also given as a fraction of two bounds measured here, on this
// machine, before the lines:
//   FMA bound:  the FMA rate of one core (a loop of independent FMAs in the
//               engine's own lanes, engines/cpu_simd.h) over the FMAs of a
//               run-step: K N for the fields, K N for the update (counted as
//               one FMA per weight), M N / s for the teacher fields shared by
//               the s runs of a seed;
//   draw bound: the rate of input draws (draw_input of N Gaussians) times the
//               s runs that share each draw.
// Both scale with the thread count. Reference: the paper's own single-run
// program (Armadillo) does about 2.9e4 run-steps/s for this case on this
// kind of machine.
//
//   bench_cpu [STEPS [FILTER]]   FILTER: only the lines whose label contains
//                                it, e.g. "float32 1 shared" (profiling)
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "engines/cpu_engine.h"
#include "engines/cpu_simd.h"

using namespace tsgd;

namespace {

constexpr int kN = 784, kK = 4, kM = 4;

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// FMAs per second of one thread in the lanes of Real: 12 independent chains
// (enough to cover the FMA latency on current cores), best of 5.
template <typename Real>
double fma_rate() {
  using Lanes = typename simd::LanesOf<Real>::type;
  constexpr int kChains = 12, kLanes = simd::LanesOf<Real>::size;
  constexpr long kIterations = 1 << 21;
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {
    Lanes acc[kChains];
    for (int c = 0; c < kChains; ++c) acc[c] = simd::broadcast(Real(c));
    const Lanes a = simd::broadcast(Real(0.999999)), b = simd::broadcast(Real(1e-7));
    const auto t0 = std::chrono::steady_clock::now();
    for (long it = 0; it < kIterations; ++it)
      for (int c = 0; c < kChains; ++c) acc[c] = simd::fma(acc[c], a, b);
    const double seconds = seconds_since(t0);
    Real sum = 0;
    for (int c = 0; c < kChains; ++c) sum += simd::reduce(acc[c]);
    if (sum == Real(-1)) std::printf("(impossible)\n");  // keeps the loop observable
    best = std::max(best, static_cast<double>(kChains) * kLanes * kIterations / seconds);
  }
  return best;
}

// Input draws (vectors of N Gaussians) per second of one thread, best of 5.
double draw_rate() {
  std::vector<float> x(kN + 64);
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {
    constexpr int kDraws = 4000;
    const auto t0 = std::chrono::steady_clock::now();
    for (int mu = 0; mu < kDraws; ++mu) draw_input(1, static_cast<std::uint64_t>(mu), kN, x.data());
    best = std::max(best, kDraws / seconds_since(t0));
  }
  return best;
}

double measure(Precision precision, int threads, const std::vector<RunSpec>& runs,
               std::int64_t steps) {
  double best = 0;
  for (int rep = 0; rep < 3; ++rep) {
    auto engine = make_cpu_engine(precision, threads);
    engine->load(runs);
    engine->advance(steps / 10);  // warm-up
    const auto t0 = std::chrono::steady_clock::now();
    engine->advance(steps);
    const double seconds = seconds_since(t0);
    std::vector<OrderParameters> op;
    engine->order_parameters(op);  // keep the work observable
    if (!op[0].finite()) std::printf("(diverged?)\n");
    best = std::max(best, static_cast<double>(runs.size()) * static_cast<double>(steps) / seconds);
  }
  return best;
}

std::vector<RunSpec> make_runs(int count, bool shared_seed) {
  std::vector<RunSpec> runs;
  for (int i = 0; i < count; ++i) {
    RunSpec r;
    r.point_id = i;
    r.seed = shared_seed ? 1 : static_cast<std::uint64_t>(i + 1);
    r.params.N = kN;
    r.params.M = kM;
    r.params.K = kK;
    r.params.lr =
        shared_seed ? 0.1 + 0.02 * i : 0.2;  // grid points of one seed: a learning-rate sweep
    r.params.sigma = 0.01;
    runs.push_back(r);
  }
  return runs;
}

struct Bounds {
  double fma32, fma64, draws;  // per thread: FMA/s in float and double, draws/s
};

void print_line(Precision precision, int threads, bool shared, int count, double rate,
                const Bounds& bounds) {
  const int sharing = shared ? 8 : 1;  // runs per draw (the engine's groups: 8 runs of one seed)
  const double fma_per_step = 2.0 * kK * kN + static_cast<double>(kM) * kN / sharing;
  const double fma = precision == Precision::float32 ? bounds.fma32 : bounds.fma64;
  const double fma_bound = threads * fma / fma_per_step;
  const double draw_bound = threads * bounds.draws * sharing;
  const std::string runs =
      std::to_string(count) + (shared ? " (one seed, lr sweep)" : " (independent seeds)");
  std::printf("%-9s %-7d %-24s %12.3g %8.1f %10.3g %6.2f %10.3g %6.2f\n", to_string(precision),
              threads, runs.c_str(), rate, rate / threads / 2.9e4, fma_bound, rate / fma_bound,
              draw_bound, rate / draw_bound);
}

}  // namespace

int main(int argc, char** argv) {
  const std::int64_t steps = argc > 1 ? std::atoll(argv[1]) : 40000;
  const std::string filter = argc > 2 ? argv[2] : "";
  const int all = omp_get_max_threads();
  const Bounds bounds{fma_rate<float>(), fma_rate<double>(), draw_rate()};
  std::printf("tsgd CPU engine: erf, N = %d, M = K = %d, eta = 0.2, sigma = 0.01, %lld steps\n", kN,
              kK, static_cast<long long>(steps));
  std::printf(
      "lanes: %s; one thread: %.3g float FMA/s, %.3g double FMA/s, %.3g input draws/s "
      "(%.3g Gaussians/s)\n",
      cpu_simd_isa(), bounds.fma32, bounds.fma64, bounds.draws, bounds.draws * kN);
  std::printf("%-9s %-7s %-24s %12s %8s %10s %6s %10s %6s\n", "precision", "threads", "runs",
              "run-steps/s", "x paper", "FMA bound", "of it", "draw bound", "of it");
  for (Precision precision : {Precision::float64, Precision::float32}) {
    for (int threads : {1, all}) {
      for (bool shared : {false, true}) {
        const std::string label = std::string(to_string(precision)) + " " +
                                  std::to_string(threads) + (shared ? " shared" : " independent");
        if (label.find(filter) == std::string::npos) continue;
        const int count = (shared ? 8 : 2) * threads;
        const double rate =
            measure(precision, threads, make_runs(count, shared), shared ? steps / 4 : steps);
        print_line(precision, threads, shared, count, rate, bounds);
      }
    }
  }
  std::printf(
      "x paper: per thread, against the paper's program (2.9e4 run-steps/s on one core).\n"
      "FMA bound: %d N FMA per run-step (fields and update of K rows) + M N / (runs per draw);\n"
      "draw bound: input draws/s x runs per draw; both x threads. 'of it': the line's fraction.\n",
      2 * kK);
  return 0;
}
