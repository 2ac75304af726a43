// The full activation-pair x integral matrix against Monte Carlo (a program that prints
// figures, not a test): teacher in {erf, relu, linear, quad, sign} x student in {erf,
// relu, linear, quad} x {I2, I3, I4}, each average by I2_fields / I3_fields /
// I4_fields (mixed_integrals.h: closed forms for matched pairs, the reduction of
// docs/theory.md §4.6 otherwise) against the mean of n samples (default 1e8, the first
// argument overrides) on four covariances of five fields (students 0, 1, 2, teachers
// 3, 4): generic, a second generic one, a student nearly on a teacher (1 - corr ~ 2e-4)
// and two nearly identical students (1 - corr ~ 2e-4). Index patterns: I2 (s,t);
// I3 (s,s,t), (s,t,t), (s,t',t); I4 (s,s',s'',t), (s,s',t,t'), (s,s',t,t), (s,s,s,t),
// (s,s,t,t'), (s,s',s,t'). Prints per cell the largest |formula - MC| / s.e. over the
// covariances and patterns (z; ~N(0,1) for an exact formula: the largest of 40 draws is
// typically 2-3), and the overall distribution of z.
//
// Samples: chunks of 1e5 with their own seeded generator, merged in chunk order, so
// the output does not depend on the number of OpenMP threads.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "theory/mixed_integrals.h"

using namespace tsgd;

namespace {

constexpr int kFields = 5, kStudentsOfCov = 3;
const Activation kStudents[] = {Activation::erf, Activation::relu, Activation::linear,
                                Activation::quad};
const Activation kTeachers[] = {Activation::erf, Activation::relu, Activation::linear,
                                Activation::quad, Activation::sign};

struct Pattern {
  int kind, a, b, c, d;  // kind 2: I2(a; c), 3: I3(a, b; c), 4: I4(a, b; c, d)
};
const Pattern kPatterns[] = {
    {2, 0, -1, 3, -1}, {3, 0, 1, 3, -1}, {3, 0, 3, 3, -1}, {3, 0, 4, 3, -1}, {4, 0, 1, 2, 3},
    {4, 0, 1, 3, 4},   {4, 0, 1, 3, 3},  {4, 0, 0, 0, 3},  {4, 0, 0, 3, 4},  {4, 0, 1, 0, 4}};
constexpr int kPatternCount = sizeof(kPatterns) / sizeof(kPatterns[0]);
constexpr int kCells = 4 * 5 * kPatternCount;

// Row-major 5 x 5 covariance W W^T / 7 of 7 Gaussian columns; optionally field y moved
// next to field x (y = x + eps y).
Covariance make_covariance(unsigned seed, int x, int y, double eps) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  double w[kFields][7];
  for (auto& row : w)
    for (double& v : row) v = normal(rng);
  if (x >= 0)
    for (int k = 0; k < 7; ++k) w[y][k] = w[x][k] + eps * w[y][k];
  Covariance C(kFields);
  for (int i = 0; i < kFields; ++i)
    for (int j = i; j < kFields; ++j) {
      double s = 0.0;
      for (int k = 0; k < 7; ++k) s += w[i][k] * w[j][k];
      C.set(i, j, s / 7.0);
    }
  return C;
}

double formula(const Pattern& p, Activation gs, Activation gt, const Covariance& C) {
  const FieldActivations f{gs, gt, kStudentsOfCov};
  if (p.kind == 2) return I2_fields(C, gs, p.a, gt, p.c);
  if (p.kind == 3) return I3_fields(gs, C, p.a, p.b, f(p.c), p.c);
  return I4_fields(gs, C, p.a, p.b, f(p.c), p.c, f(p.d), p.d);
}

// Sums and sums of squares of every cell's integrand over n samples of N(0, C).
void monte_carlo(const Covariance& C, long n, unsigned seed, std::vector<double>& sum,
                 std::vector<double>& sum2) {
  double L[kFields][kFields] = {};
  for (int i = 0; i < kFields; ++i)
    for (int j = 0; j <= i; ++j) {
      double s = C(i, j);
      for (int k = 0; k < j; ++k) s -= L[i][k] * L[j][k];
      L[i][j] = i == j ? std::sqrt(s) : s / L[j][j];
    }
  constexpr long kChunk = 100000;
  const long chunks = (n + kChunk - 1) / kChunk;
  std::vector<double> part(static_cast<std::size_t>(chunks) * kCells * 2, 0.0);
#pragma omp parallel for schedule(dynamic)
  for (long ch = 0; ch < chunks; ++ch) {
    std::mt19937_64 rng(seed * 1000003ull + ch);
    std::normal_distribution<double> normal;
    double* acc = part.data() + ch * kCells * 2;
    const long count = std::min(kChunk, n - ch * kChunk);
    for (long s = 0; s < count; ++s) {
      double z[kFields], x[kFields];
      for (double& v : z) v = normal(rng);
      for (int i = 0; i < kFields; ++i) {
        x[i] = 0.0;
        for (int j = 0; j <= i; ++j) x[i] += L[i][j] * z[j];
      }
      double g[5][kFields], dg[4][kFields];  // g[activation][field], dg[student][field]
      for (int a = 0; a < 5; ++a)
        for (int i = 0; i < kFields; ++i) g[a][i] = activation(static_cast<Activation>(a), x[i]);
      for (int a = 0; a < 4; ++a)
        for (int i = 0; i < kFields; ++i)
          dg[a][i] = activation_derivative(static_cast<Activation>(a), x[i]);
      int o = 0;
      for (Activation gs : kStudents)
        for (Activation gt : kTeachers) {
          const int si = static_cast<int>(gs), ti = static_cast<int>(gt);
          auto val = [&](int p) { return p < kStudentsOfCov ? g[si][p] : g[ti][p]; };
          for (const Pattern& p : kPatterns) {
            double v;
            if (p.kind == 2)
              v = g[si][p.a] * val(p.c);
            else if (p.kind == 3)
              v = dg[si][p.a] * x[p.b] * val(p.c);
            else
              v = dg[si][p.a] * dg[si][p.b] * val(p.c) * val(p.d);
            acc[2 * o] += v;
            acc[2 * o + 1] += v * v;
            ++o;
          }
        }
    }
  }
  sum.assign(kCells, 0.0);
  sum2.assign(kCells, 0.0);
  for (long ch = 0; ch < chunks; ++ch)
    for (int o = 0; o < kCells; ++o) {
      sum[o] += part[(ch * kCells + o) * 2];
      sum2[o] += part[(ch * kCells + o) * 2 + 1];
    }
}

}  // namespace

int main(int argc, char** argv) {
  const long n = argc > 1 ? std::atol(argv[1]) : 100000000L;
  const Covariance covs[] = {make_covariance(11, -1, -1, 0), make_covariance(12, -1, -1, 0),
                             make_covariance(13, 3, 0, 0.02), make_covariance(14, 0, 1, 0.02)};
  const auto t0 = std::chrono::steady_clock::now();
  // zmax[student][teacher][kind - 2]
  double zmax[4][5][3] = {};
  int histogram[5] = {};  // z in [0,1), [1,2), [2,3), [3,4), >= 4
  int checks = 0;
  for (unsigned ci = 0; ci < 4; ++ci) {
    std::vector<double> sum, sum2;
    monte_carlo(covs[ci], n, 100 + ci, sum, sum2);
    int o = 0;
    for (int si = 0; si < 4; ++si)
      for (int ti = 0; ti < 5; ++ti)
        for (const Pattern& p : kPatterns) {
          const double mean = sum[o] / n;
          const double se = std::sqrt(std::max(sum2[o] / n - mean * mean, 0.0) / (n - 1));
          const double value = formula(p, kStudents[si], kTeachers[ti], covs[ci]);
          const double diff = std::abs(value - mean);
          // A constant integrand (se = 0) must match to rounding.
          const double z = se > 0 ? diff / se : (diff < 1e-12 ? 0.0 : 1e9);
          double& cell = zmax[si][ti][p.kind - 2];
          cell = std::max(cell, z);
          ++histogram[std::min(4, static_cast<int>(z))];
          ++checks;
          ++o;
        }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf(
      "pair integrals against Monte Carlo: %ld samples per covariance, 4 covariances, "
      "%d threads, %.0f s\n",
      n, omp_get_max_threads(), seconds);
  std::printf("max |formula - MC| / s.e. per cell (over covariances and index patterns)\n");
  std::printf("%-8s %-8s %8s %8s %8s\n", "teacher", "student", "I2", "I3", "I4");
  for (int ti = 0; ti < 5; ++ti)
    for (int si = 0; si < 4; ++si)
      std::printf("%-8s %-8s %8.2f %8.2f %8.2f%s\n", to_string(kTeachers[ti]),
                  to_string(kStudents[si]), zmax[si][ti][0], zmax[si][ti][1], zmax[si][ti][2],
                  si == ti ? "   (matched: closed forms)" : "");
  std::printf("z distribution over %d checks: [0,1) %d, [1,2) %d, [2,3) %d, [3,4) %d, >=4 %d\n",
              checks, histogram[0], histogram[1], histogram[2], histogram[3], histogram[4]);
  return histogram[4] == 0 ? 0 : 1;
}
