// Benchmark of the ODE engine (a program that prints figures, not a test).
//
// 1. erf, K = M = 4, eta = 0.2, sigma = 0.01, first layer, to alpha = 1e4 from a fixed
//    generic initial state: adaptive Dormand-Prince (rtol 1e-8) against Euler with
//    dt = 0.01 (the step of the paper's nn2pp code, which does ~6.8e4 Euler steps/s on
//    this case): wall times, steps/s, speed-up, and the largest relative eps_g
//    difference over 200 log-spaced record times.
// 2. A 100-point grid (erf, M = 2, K = 2..6 x 20 learning rates, alpha = 1e3) with
//    OpenMP over the points on all cores.
// 3. The cost of one right-hand side per activation, and per mixed student/teacher pair.
// 4. Large students: erf, M = 2, the expected initial state (Q = I, R = 0), eta = 0.5,
//    to alpha = 1e3 (adaptive, rtol 1e-8), for K = 8, 16, 32 (up to the K given as the
//    first argument): wall time on one thread and on all, the growth exponent in K,
//    and whether the two give the same eps_g bit for bit.
// Timings are wall-clock on whatever else the machine is running: compare the ratios.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "theory/initial_states.h"
#include "theory/ode.h"

using namespace tsgd;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// A generic, valid initial state: student rows with N(0, 1/D) entries in D = 200
// dimensions (Q = I + O(0.07) off the diagonal), teacher rows the first M unit vectors
// (T = I, R_in = w_i[n] ~ N(0, 1/D)). Fixed seed: the same state on every run. Generic,
// unlike the expected "large" state Q = I, R = 0, which is permutation symmetric and
// never leaves the plateau.
OrderParameters generic_state(int K, int M, std::uint32_t seed) {
  constexpr int D = 200;
  std::mt19937 rng(seed);
  auto uniform = [&] { return (static_cast<double>(rng()) + 0.5) / 4294967296.0; };
  auto normal = [&] {  // Box-Muller
    return std::sqrt(-2.0 * std::log(uniform())) * std::cos(6.283185307179586 * uniform());
  };
  std::vector<double> w(static_cast<std::size_t>(K) * D);
  for (double& x : w) x = normal() / std::sqrt(static_cast<double>(D));
  OrderParameters op;
  op.resize(K, M);
  for (int i = 0; i < K; ++i) {
    for (int k = 0; k < K; ++k) {
      double s = 0.0;
      for (int d = 0; d < D; ++d) s += w[i * D + d] * w[k * D + d];
      op.Q[i * K + k] = s;
    }
    for (int n = 0; n < M; ++n) op.R[i * M + n] = w[i * D + n];
    op.v[i] = 1.0;
  }
  for (int n = 0; n < M; ++n) {
    op.T[n * M + n] = 1.0;
    op.vstar[n] = 1.0;
  }
  return op;
}

std::vector<double> log_spaced(double lo, double hi, int n) {
  std::vector<double> a(n);
  for (int i = 0; i < n; ++i) a[i] = lo * std::pow(hi / lo, static_cast<double>(i) / (n - 1));
  a.back() = hi;
  return a;
}

double rhs_microseconds(Activation g, int K, int M, Activation teacher) {
  PointParams p;
  p.student_activation = g;
  p.teacher_activation = teacher;
  p.K = K;
  p.M = M;
  p.train = TrainMode::both_layers;
  p.sigma = 0.1;
  const OrderParameters op = generic_state(K, M, 7);
  OdeSystem sys(p, op);
  std::vector<double> y(sys.dimension()), dy(sys.dimension());
  sys.pack(op, y.data());
  int reps = 1;
  double elapsed = 0.0;
  while (elapsed < 0.2) {
    reps *= 2;
    const auto t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < reps; ++r) {
      y[0] += 1e-15;  // keep the compiler from hoisting the call
      sys.rhs(y.data(), dy.data());
    }
    elapsed = seconds_since(t0);
  }
  return 1e6 * elapsed / reps;
}

// 1. The adaptive integrator against Euler (the paper's program) on one point.
void adaptive_against_euler() {
  PointParams p;
  p.K = p.M = 4;
  p.lr = 0.2;
  p.sigma = 0.01;
  p.train = TrainMode::first_layer;
  const OrderParameters init = generic_state(4, 4, 12345);
  const std::vector<double> records = log_spaced(1.0, 1e4, 200);

  OdeSettings adaptive;
  adaptive.rtol = 1e-8;
  auto t0 = std::chrono::steady_clock::now();
  const OdeResult a = integrate_ode(p, init, records, adaptive);
  const double t_adaptive = seconds_since(t0);

  OdeSettings euler;
  euler.method = OdeMethod::euler;
  euler.dt = 0.01;
  t0 = std::chrono::steady_clock::now();
  const OdeResult e = integrate_ode(p, init, records, euler);
  const double t_euler = seconds_since(t0);

  double worst = 0.0, worst_alpha = 0.0;
  const std::size_t n = std::min(a.eg.size(), e.eg.size());
  for (std::size_t i = 0; i < n; ++i) {
    const double d = std::abs(a.eg[i] / e.eg[i] - 1.0);
    if (d > worst) {
      worst = d;
      worst_alpha = a.alpha[i];
    }
  }
  std::printf("erf K=M=4 eta=0.2 sigma=0.01 first layer, alpha 0 -> 1e4, 200 log records\n");
  std::printf(
      "  adaptive DP5 rtol 1e-8 : %8.3f s  %7ld steps (%ld rejected), %ld RHS  eg(1e4) = %.6e%s\n",
      t_adaptive, a.steps, a.rejected_steps, a.rhs_evaluations, a.eg.back(),
      a.diverged ? "  DIVERGED" : "");
  std::printf(
      "  Euler dt 0.01          : %8.3f s  %7ld steps, %.3g steps/s (nn2pp: ~6.8e4)  eg(1e4) = "
      "%.6e%s\n",
      t_euler, e.steps, e.steps / t_euler, e.eg.back(), e.diverged ? "  DIVERGED" : "");
  std::printf(
      "  speed-up adaptive/Euler: %.1fx   max |eg_adaptive/eg_euler - 1| = %.3g (at alpha %.4g)\n",
      t_euler / t_adaptive, worst, worst_alpha);
  // Whose error is that difference? Against a reference (adaptive, rtol 1e-12, atol 1e-14)
  // and Euler at dt = 0.02: a first-order error doubles.
  OdeSettings tight;
  tight.rtol = 1e-12;
  tight.atol = 1e-14;
  const OdeResult ref = integrate_ode(p, init, records, tight);
  OdeSettings euler2 = euler;
  euler2.dt = 0.02;
  const OdeResult e2 = integrate_ode(p, init, records, euler2);
  auto max_rel = [&](const OdeResult& x) {
    double m = 0.0;
    for (std::size_t i = 0; i < std::min(x.eg.size(), ref.eg.size()); ++i)
      m = std::max(m, std::abs(x.eg[i] / ref.eg[i] - 1.0));
    return m;
  };
  std::printf("  max |eg/eg_ref - 1| against adaptive rtol 1e-12 atol 1e-14 (%ld steps):\n",
              ref.steps);
  std::printf("    adaptive rtol 1e-8: %.3g   Euler dt 0.01: %.3g   Euler dt 0.02: %.3g\n",
              max_rel(a), max_rel(e), max_rel(e2));
}

// 2. A 100-point grid with OpenMP.
void grid_of_points() {
  OdeSettings adaptive;
  adaptive.rtol = 1e-8;
  std::vector<PointParams> grid;
  const std::vector<double> rates = log_spaced(0.01, 1.0, 20);
  for (int K = 2; K <= 6; ++K)
    for (double lr : rates) {
      PointParams q;
      q.K = K;
      q.M = 2;
      q.lr = lr;
      q.sigma = 0.01;
      q.train = TrainMode::first_layer;
      grid.push_back(q);
    }
  const std::vector<double> grid_records = log_spaced(0.1, 1e3, 100);
  std::vector<long> steps(grid.size());
  std::vector<int> diverged(grid.size());
  const auto t0 = std::chrono::steady_clock::now();
#pragma omp parallel for schedule(dynamic, 1)
  for (int i = 0; i < static_cast<int>(grid.size()); ++i) {
    const OdeResult g = integrate_ode(grid[i], generic_state(grid[i].K, 2, 100 + grid[i].K),
                                      grid_records, adaptive);
    steps[i] = g.steps;
    diverged[i] = g.diverged;
  }
  const double t_grid = seconds_since(t0);
  long total_steps = 0;
  int n_diverged = 0;
  for (std::size_t i = 0; i < grid.size(); ++i) {
    total_steps += steps[i];
    n_diverged += diverged[i];
  }
  std::printf("grid erf M=2, K=2..6 x 20 lr in [0.01, 1], alpha 1e3, 100 records, rtol 1e-8:\n");
  std::printf("  %zu points on %d threads: %.3f s (%ld steps in all, %d diverged)\n", grid.size(),
              omp_get_max_threads(), t_grid, total_steps, n_diverged);
}

// 4. The K-scaling of the erf ODE of large students, one thread against all.
void large_students(int k_max) {
  const std::vector<double> records = log_spaced(1.0, 1e3, 100);
  const int all = omp_get_max_threads();
  std::printf("erf M=2, expected initial state, eta=0.5, alpha 0 -> 1e3, rtol 1e-8:\n");
  double previous = 0.0;
  for (int K = 8; K <= k_max; K *= 2) {
    PointParams p;
    p.K = K;
    p.M = 2;
    p.lr = 0.5;
    const OrderParameters init = expected_initial_state(p);
    double seconds[2] = {0.0, 0.0};
    OdeResult result[2];
    const int threads[2] = {1, all};
    for (int r = 0; r < 2; ++r) {
      omp_set_num_threads(threads[r]);
      const auto t0 = std::chrono::steady_clock::now();
      result[r] = integrate_ode(p, init, records, OdeSettings{});
      seconds[r] = seconds_since(t0);
    }
    omp_set_num_threads(all);
    const bool same = result[0].eg == result[1].eg;
    std::printf(
        "  K=%-3d %7ld steps  1 thread %9.3f s  %d threads %9.3f s (%.2fx)  eg(1e3) = %.6e  %s", K,
        result[0].steps, seconds[0], all, seconds[1], seconds[0] / seconds[1], result[0].eg.back(),
        same ? "same bits" : "DIFFERENT eg");
    if (previous > 0.0) std::printf("  ~K^%.1f", std::log2(seconds[0] / previous));
    std::printf("\n");
    previous = seconds[0];
  }
}

// 3. The cost of one right-hand side, matched pairs and mixed ones (mixed_integrals.h).
void rhs_costs() {
  std::printf("one right-hand side (both layers), microseconds:\n");
  for (Activation g : {Activation::erf, Activation::linear, Activation::quad, Activation::relu})
    std::printf("  %-6s K=M=2: %8.2f   K=M=4: %8.2f\n", to_string(g), rhs_microseconds(g, 2, 2, g),
                rhs_microseconds(g, 4, 4, g));
  const Activation mixed[][2] = {
      {Activation::erf, Activation::relu},    {Activation::relu, Activation::erf},
      {Activation::relu, Activation::sign},   {Activation::erf, Activation::sign},
      {Activation::linear, Activation::quad}, {Activation::quad, Activation::erf}};
  for (const auto& pair : mixed)
    std::printf("  %-6s student, %-6s teacher K=M=2: %8.2f   K=M=4: %8.2f\n", to_string(pair[0]),
                to_string(pair[1]), rhs_microseconds(pair[0], 2, 2, pair[1]),
                rhs_microseconds(pair[0], 4, 4, pair[1]));
}

}  // namespace

int main(int argc, char** argv) {
  // bench_ode [K_MAX [--only-large | --only-rhs]]: section 4 up to K_MAX (default 32),
  // alone with --only-large; section 3 alone with --only-rhs.
  const int k_max = argc > 1 ? std::atoi(argv[1]) : 32;
  if (argc > 2 && std::strcmp(argv[2], "--only-large") == 0) {
    large_students(k_max);
    return 0;
  }
  if (argc > 2 && std::strcmp(argv[2], "--only-rhs") == 0) {
    rhs_costs();
    return 0;
  }
  adaptive_against_euler();
  grid_of_points();
  rhs_costs();
  large_students(k_max);
  return 0;
}
