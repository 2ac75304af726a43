// Initial weights of a run, from its identity alone (docs/architecture.md contract 1).
//
// Teacher (seed, M, N, teacher settings): w*_m,i = G(seed, teacher_w, m, i);
//   with teacher_init orthonormal, these rows after modified Gram-Schmidt (in row
//   order) scaled to norm sqrt(N), so that T = I exactly (needs M <= N);
//   v*_m per teacher_v_init: teacher_v, teacher_v G(seed, teacher_v, 0, m),
//   or teacher_v with the last floor(M/2) signs flipped; times the output scaling.
//   teacher_init file: w* and (when the file has them) v* as read, unscaled.
//   The teacher's seed is teacher_seed (seeds.teacher) when set, else the run's;
//   with teacher_sparsity s, round(s N) (at most N - 1) weights of each row are
//   then zero: positions 0.. of a permutation of [0, N) keyed by
//   (teacher seed, teacher_mask, m) (math/permutation.h), after orthonormalising.
// Student row k from (seed, k, init), G = G(seed, student_w, k, i):
//   large: w = G                small: w = s G              mixed: w = G / sqrt(N)
//   informed: k < M: w = w*_k + s G, else s G
//   denoise:  w = w*_(k mod M) + s G (each teacher unit gets floor or ceil K/M copies)
// Student v_k: with only the first layer trained (and for "large" init),
//   student_v (uniform) or student_v G(seed, student_v, 0, k), times the output
//   scaling; with both layers trained, small: s G, mixed: G / sqrt(K),
//   informed: v*_k for k < M else s G, denoise: v*_m / (copies of m).
// init file: w and (when the file has them) v as read; without v, the rule of
//   "large". Row m of the teacher depends on m, not on M (the CPU engine's groups).
// The Gaussians are the float draws of math/gaussian.h, promoted to double.
#pragma once

#include <vector>

#include "core/model.h"

namespace tsgd {

struct InitialWeights {
  std::vector<double> w;      // K x N, row-major
  std::vector<double> wstar;  // M x N
  std::vector<double> v;      // K
  std::vector<double> vstar;  // M
};

InitialWeights initial_weights(const RunSpec& run);

// The teacher's part of initial_weights (w* and v* of OUT; w and v untouched):
// what a run's teacher is without building its student.
void teacher_weights(const RunSpec& run, InitialWeights& out);

// Order parameters of a run's initial weights (exact, double precision): the
// ODE's "measured" initial state.
OrderParameters initial_order_parameters(const RunSpec& run);

// Output scaling factor for a committee of `units` hidden units.
double output_scale(OutputScaling scaling, int units);

}  // namespace tsgd
