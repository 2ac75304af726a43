#include "core/initial_weights.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "math/gaussian.h"
#include "math/permutation.h"

namespace tsgd {

namespace {

// Fills `out` with the Gaussians of (seed, stream, index), coordinates 0..n-1.
void fill_gaussians(std::uint64_t seed, Stream stream, std::uint64_t index, int n, double* out) {
  float block[4];
  for (int i = 0; i < n; i += 4) {
    gaussian4(random_block(seed, stream, index, static_cast<std::uint32_t>(i / 4)), block);
    for (int j = 0; j < 4 && i + j < n; ++j) out[i + j] = block[j];
  }
}

double second_layer_value(SecondLayerInit init, double value, std::uint64_t seed, Stream stream,
                          int unit, int units) {
  switch (init) {
    case SecondLayerInit::uniform:
      return value;
    case SecondLayerInit::gaussian:
      return value * gaussian_at(seed, stream, 0, static_cast<std::uint32_t>(unit));
    case SecondLayerInit::flip_half:
      return unit >= units - units / 2 ? -value : value;
  }
  return value;
}

double dot(const double* a, const double* b, std::size_t n) {
  double s = 0.0;
  for (std::size_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

// Modified Gram-Schmidt on the M rows of length N (row-major), in row order, each
// row then scaled to norm sqrt(N): w*_n . w*_m / N = delta_nm to rounding. Row m
// depends only on rows 0..m, so a teacher's first rows do not depend on M (as for
// the Gaussian teacher, which the CPU engine's seed groups rely on), and row 0
// keeps its direction. Each row is projected out twice ("twice is enough"): one
// pass loses orthogonality in proportion to the rows' condition number, which
// grows as M approaches N.
void orthonormalise_rows(std::vector<double>& rows, int M, int N) {
  if (M > N)
    throw std::invalid_argument("an orthonormal teacher needs M <= N (M = " + std::to_string(M) +
                                ", N = " + std::to_string(N) + ")");
  const std::size_t n = static_cast<std::size_t>(N);
  const double length = std::sqrt(static_cast<double>(N));
  for (int m = 0; m < M; ++m) {
    double* row = &rows[m * n];
    for (int pass = 0; pass < 2; ++pass)
      for (int j = 0; j < m; ++j) {
        const double* done = &rows[j * n];
        const double c = dot(done, row, n) / dot(done, done, n);
        for (std::size_t i = 0; i < n; ++i) row[i] -= c * done[i];
      }
    const double norm = std::sqrt(dot(row, row, n));
    if (!(norm > 0.0) || !std::isfinite(norm))
      throw std::runtime_error("orthonormal teacher: row " + std::to_string(m) +
                               " is linearly dependent on the rows before it");
    for (std::size_t i = 0; i < n; ++i) row[i] *= length / norm;
  }
}

// File weights of ROWS x N (model.h: FileWeights), or std::invalid_argument
// (the configuration checks shapes first, naming the key and the file).
const FileWeights& file_weights(const std::shared_ptr<const FileWeights>& f, int rows, int N,
                                const char* which) {
  if (!f) throw std::invalid_argument(std::string(which) + " from a file, but no file was loaded");
  if (f->rows != rows || f->N != N || f->w.size() != static_cast<std::size_t>(rows) * N ||
      (!f->v.empty() && f->v.size() != static_cast<std::size_t>(rows)))
    throw std::invalid_argument(std::string(which) + " file " + f->source + ": holds " +
                                std::to_string(f->rows) + " x " + std::to_string(f->N) +
                                " weights, the run needs " + std::to_string(rows) + " x " +
                                std::to_string(N));
  return *f;
}

// Sets round(sparsity * N) (at most N - 1) weights of each of the M rows to
// zero: those at positions 0 .. count-1 of a permutation of [0, N) keyed by
// (seed, Stream::teacher_mask, m), so row m depends on m alone, not on M.
void sparsify_rows(std::vector<double>& rows, int M, int N, double sparsity, std::uint64_t seed) {
  const long zeros = std::min<long>(std::lround(sparsity * N), N - 1);
  for (int m = 0; m < M; ++m) {
    const EpochPermutation order = keyed_permutation(
        random_block(seed, Stream::teacher_mask, static_cast<std::uint64_t>(m), 0),
        static_cast<std::uint64_t>(N));
    for (long j = 0; j < zeros; ++j)
      rows[static_cast<std::size_t>(m) * N + permute(order, static_cast<std::uint64_t>(j))] = 0.0;
  }
}

}  // namespace

// The teacher's w* and v* (initial_weights.h).
void teacher_weights(const RunSpec& run, InitialWeights& out) {
  const PointParams& p = run.params;
  const int N = p.N, M = p.M;
  const std::size_t n = static_cast<std::size_t>(N);
  const std::uint64_t seed = p.teacher_seed.value_or(run.seed);
  out.wstar.resize(static_cast<std::size_t>(M) * n);
  out.vstar.resize(M);
  const FileWeights* file = nullptr;
  if (p.teacher_init == TeacherInit::file) {
    file = &file_weights(p.teacher_file, M, N, "teacher");
    out.wstar = file->w;
  } else {
    for (int m = 0; m < M; ++m) fill_gaussians(seed, Stream::teacher_w, m, N, &out.wstar[m * n]);
    if (p.teacher_init == TeacherInit::orthonormal) orthonormalise_rows(out.wstar, M, N);
  }
  for (int m = 0; m < M; ++m)
    out.vstar[m] = file && !file->v.empty() ? file->v[m]
                                            : output_scale(p.output_scaling, M) *
                                                  second_layer_value(p.teacher_v_init, p.teacher_v,
                                                                     seed, Stream::teacher_v, m, M);
  if (p.teacher_sparsity > 0.0) sparsify_rows(out.wstar, M, N, p.teacher_sparsity, seed);
}

double output_scale(OutputScaling scaling, int units) {
  switch (scaling) {
    case OutputScaling::none:
      return 1.0;
    case OutputScaling::inverse:
      return 1.0 / units;
    case OutputScaling::inverse_sqrt:
      return 1.0 / std::sqrt(static_cast<double>(units));
  }
  return 1.0;
}

InitialWeights initial_weights(const RunSpec& run) {
  const PointParams& p = run.params;
  const int N = p.N, K = p.K, M = p.M;
  const std::uint64_t seed = run.seed;
  const std::size_t n = static_cast<std::size_t>(N);
  InitialWeights out;
  teacher_weights(run, out);
  out.w.resize(static_cast<std::size_t>(K) * n);
  out.v.resize(K);
  const FileWeights* file =
      p.init == InitKind::file ? &file_weights(p.student_file, K, N, "student") : nullptr;

  if ((p.init == InitKind::informed || p.init == InitKind::denoise) && K < M)
    throw std::invalid_argument("informed and denoise initialisations need K >= M");
  const bool both = p.train == TrainMode::both_layers;
  const double s = p.init_scale;
  std::vector<int> copies(M, 0);
  for (int k = 0; k < K; ++k) copies[k % M] += 1;

  for (int k = 0; k < K; ++k) {
    double* w = &out.w[k * n];
    fill_gaussians(seed, Stream::student_w, k, N, w);
    const double g_v = gaussian_at(seed, Stream::student_v, 0, static_cast<std::uint32_t>(k));
    // The first-layer rule, and the second-layer value for "large" init or a fixed second layer.
    double v = output_scale(p.output_scaling, K) *
               second_layer_value(p.student_v_init, p.student_v, seed, Stream::student_v, k, K);
    switch (p.init) {
      case InitKind::large:
        break;
      case InitKind::small:
        for (std::size_t i = 0; i < n; ++i) w[i] *= s;
        if (both) v = s * g_v;
        break;
      case InitKind::mixed:
        for (std::size_t i = 0; i < n; ++i) w[i] /= std::sqrt(static_cast<double>(N));
        if (both) v = g_v / std::sqrt(static_cast<double>(K));
        break;
      case InitKind::informed:
        if (k < M) {
          for (std::size_t i = 0; i < n; ++i) w[i] = out.wstar[k * n + i] + s * w[i];
          if (both) v = out.vstar[k];
        } else {
          for (std::size_t i = 0; i < n; ++i) w[i] *= s;
          if (both) v = s * g_v;
        }
        break;
      case InitKind::denoise: {
        const int m = k % M;
        for (std::size_t i = 0; i < n; ++i) w[i] = out.wstar[m * n + i] + s * w[i];
        v = out.vstar[m] / copies[m];
        break;
      }
      case InitKind::file:  // as read; without a second layer in the file, the "large" rule's
        std::copy(&file->w[k * n], &file->w[k * n] + n, w);
        if (!file->v.empty()) v = file->v[k];
        break;
    }
    out.v[k] = v;
  }
  return out;
}

OrderParameters initial_order_parameters(const RunSpec& run) {
  const InitialWeights w = initial_weights(run);
  const int K = run.params.K, M = run.params.M;
  const std::size_t n = static_cast<std::size_t>(run.params.N);
  OrderParameters op;
  op.resize(K, M);
  auto overlap = [n](const double* a, const double* b) {
    return dot(a, b, n) / static_cast<double>(n);
  };
  for (int i = 0; i < K; ++i) {
    for (int j = 0; j < K; ++j) op.Q[i * K + j] = overlap(&w.w[i * n], &w.w[j * n]);
    for (int m = 0; m < M; ++m) op.R[i * M + m] = overlap(&w.w[i * n], &w.wstar[m * n]);
    op.v[i] = w.v[i];
  }
  for (int a = 0; a < M; ++a) {
    for (int b = 0; b < M; ++b) op.T[a * M + b] = overlap(&w.wstar[a * n], &w.wstar[b * n]);
    op.vstar[a] = w.vstar[a];
  }
  return op;
}

}  // namespace tsgd
