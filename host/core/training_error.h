// The training error et of a run on a finite training set (data.train_size = P,
// docs/config.md): half the mean, over samples i = 0 .. S - 1 of its training set
// (S = min(P, record.train_error_samples)), of (student output - label)^2, the
// label being the teacher's output (or, with labels from files, InputSet::labelled,
// the file's label of sample i) plus the label noise sigma zeta^i the student
// trains on. Sample i's input and noise are those of math/permutation.h's
// sample_index: the counter-based draws at (seed, i), or with real inputs
// (PointParams::inputs) training row i and the noise drawn at (seed, i). Evaluated in double from
// the current weights (any engine's, promoted), so every engine's et is the same
// function of its weights.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <tuple>
#include <vector>

#include "core/initial_weights.h"
#include "core/model.h"
#include "math/gaussian.h"

namespace tsgd {

// Draws the N input Gaussians of sample MU (engines/cpu_draw.h: draw_input has
// this shape; out has room for N rounded up to 4).
using InputDraw = void (*)(std::uint64_t seed, std::uint64_t mu, int n, float* out,
                           RngTransform transform);

// The same numbers one Philox block at a time with math/gaussian.h (any host code).
void draw_input_blocks(std::uint64_t seed, std::uint64_t mu, int n, float* out,
                       RngTransform transform);

// What training_errors keeps from one call to the next on the same batch (an
// engine's member, cleared when it loads a batch): the inputs of each (seed, N, P)
// and the labels of each run, which do not change while the students train, as
// long as they fit in kBudgetBytes (beyond, the rest is drawn at every call). The
// numbers are the same either way.
struct TrainingErrorCache {
  static constexpr std::size_t kBudgetBytes = std::size_t{256} << 20;
  // By (seed, N, P, real inputs or null): S x N drawn inputs (none for real
  // inputs: their rows are read where they are; the entry marks the labels).
  std::map<std::tuple<std::uint64_t, int, std::uint64_t, const InputSet*>, std::vector<float>>
      inputs;
  std::vector<std::vector<double>> labels;  // per run of the batch: S labels, or none
  std::size_t bytes = 0;
  int samples = -1;  // the SAMPLES of the calls the above belong to
  void clear() { *this = TrainingErrorCache(); }
};

// Sum over units u of v_u g(w_u . x / sqrt(N)), in double (W row-major, a row of
// x.size() values per unit): a network's output as the training and test errors
// evaluate it, the dot products in a fixed order (the same on every machine).
double network_output(const std::vector<double>& w, const std::vector<double>& v, Activation g,
                      const std::vector<double>& x, double inv_sqrt_n);

// out[r]: et of RUNS[r] at WEIGHTS[r] over its first min(P, SAMPLES) samples; NaN for
// an online run (train_size 0). Runs of one seed, N and P share each sample's draw.
// THREADS <= 0: all cores. CACHE (may be null): kept between calls on the same RUNS
// and SAMPLES.
void training_errors(const std::vector<RunSpec>& runs, const std::vector<InitialWeights>& weights,
                     int samples, RngTransform transform, InputDraw draw, int threads,
                     std::vector<double>& out, TrainingErrorCache* cache = nullptr);

}  // namespace tsgd
