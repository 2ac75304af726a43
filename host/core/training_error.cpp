#include "core/training_error.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <tuple>

#include "core/threads.h"
#include "math/activation.h"

namespace tsgd {

void draw_input_blocks(std::uint64_t seed, std::uint64_t mu, int n, float* out,
                       RngTransform transform) {
  for (int j = 0; 4 * j < n; ++j)
    gaussian4(random_block(seed, Stream::input, mu, static_cast<std::uint32_t>(j)), &out[4 * j],
              transform);
}

namespace {

// a . b in eight interleaved sums added in a fixed tree: eight independent chains
// (the compiler keeps them in vector lanes) where one sum waits on each addition's
// latency; the order is fixed, so the result does not depend on the machine.
double dot(const double* a, const double* b, std::size_t n) {
  double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) s[j] += a[i + j] * b[i + j];
  double tail = 0.0;
  for (; i < n; ++i) tail += a[i] * b[i];
  return (((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))) + tail;
}

// Sum over units of v_u g(w_u . x / sqrt(N)), in double.
double network_output(const std::vector<double>& w, const std::vector<double>& v, Activation g,
                      const std::vector<double>& x, double inv_sqrt_n) {
  const std::size_t n = x.size();
  double out = 0.0;
  for (std::size_t u = 0; u < v.size(); ++u)
    out += v[u] * activation(g, dot(&w[u * n], x.data(), n) * inv_sqrt_n);
  return out;
}

}  // namespace

void training_errors(const std::vector<RunSpec>& runs, const std::vector<InitialWeights>& weights,
                     int samples, RngTransform transform, InputDraw draw, int threads,
                     std::vector<double>& out) {
  out.assign(runs.size(), std::numeric_limits<double>::quiet_NaN());
  // Runs of one (seed, N, P) see the same samples: one draw each.
  std::map<std::tuple<std::uint64_t, int, std::uint64_t>, std::vector<std::size_t>> by_data;
  for (std::size_t r = 0; r < runs.size(); ++r)
    if (runs[r].params.train_size > 0)
      by_data[{runs[r].seed, runs[r].params.N, runs[r].params.train_size}].push_back(r);
  std::vector<std::vector<std::size_t>> groups;
  for (auto& [key, members] : by_data) groups.push_back(std::move(members));
#pragma omp parallel for num_threads(thread_count(threads)) schedule(dynamic, 1)
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const RunSpec& first = runs[groups[g][0]];
    const int N = first.params.N;
    const std::uint64_t count =
        std::min<std::uint64_t>(first.params.train_size, static_cast<std::uint64_t>(samples));
    const double inv_sqrt_n = 1.0 / std::sqrt(static_cast<double>(N));
    std::vector<float> drawn(static_cast<std::size_t>(N + 3) / 4 * 4);
    std::vector<double> x(static_cast<std::size_t>(N)), sum(groups[g].size(), 0.0);
    for (std::uint64_t i = 0; i < count; ++i) {
      draw(first.seed, i, N, drawn.data(), transform);
      std::copy(drawn.begin(), drawn.begin() + N, x.begin());
      const double zeta = gaussian_at(first.seed, Stream::label_noise, i, 0, transform);
      for (std::size_t j = 0; j < groups[g].size(); ++j) {
        const std::size_t r = groups[g][j];
        const PointParams& p = runs[r].params;
        const InitialWeights& wt = weights[r];
        const double label =
            network_output(wt.wstar, wt.vstar, p.teacher_activation, x, inv_sqrt_n) +
            p.sigma * zeta;
        const double error =
            network_output(wt.w, wt.v, p.student_activation, x, inv_sqrt_n) - label;
        sum[j] += error * error;
      }
    }
    for (std::size_t j = 0; j < groups[g].size(); ++j)
      out[groups[g][j]] = 0.5 * sum[j] / static_cast<double>(count);
  }
}

}  // namespace tsgd
