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

}  // namespace

double network_output(const std::vector<double>& w, const std::vector<double>& v, Activation g,
                      const std::vector<double>& x, double inv_sqrt_n) {
  const std::size_t n = x.size();
  double out = 0.0;
  for (std::size_t u = 0; u < v.size(); ++u)
    out += v[u] * activation(g, dot(&w[u * n], x.data(), n) * inv_sqrt_n);
  return out;
}

namespace {

using DataKey = std::tuple<std::uint64_t, int, std::uint64_t, const InputSet*>;

// The runs on a finite training set by (seed, N, P, inputs): those of one key
// see the same samples, one draw each.
std::map<DataKey, std::vector<std::size_t>> data_groups(const std::vector<RunSpec>& runs) {
  std::map<DataKey, std::vector<std::size_t>> by_data;
  for (std::size_t r = 0; r < runs.size(); ++r) {
    const PointParams& p = runs[r].params;
    if (p.train_size > 0) by_data[{runs[r].seed, p.N, p.train_size, p.inputs.get()}].push_back(r);
  }
  return by_data;
}

}  // namespace

void training_errors(const std::vector<RunSpec>& runs, const std::vector<InitialWeights>& weights,
                     int samples, RngTransform transform, InputDraw draw, int threads,
                     std::vector<double>& out, TrainingErrorCache* cache) {
  out.assign(runs.size(), std::numeric_limits<double>::quiet_NaN());
  auto by_data = data_groups(runs);
  std::vector<std::vector<std::size_t>> groups;
  // Each group's cached inputs (filled by this call where `fill`), or none.
  std::vector<std::vector<float>*> stored;
  std::vector<char> fill;
  if (cache && cache->samples != samples) {  // another subset: start again
    cache->clear();
    cache->samples = samples;
  }
  if (cache) cache->labels.resize(runs.size());
  for (auto& [key, members] : by_data) {
    const std::uint64_t count =
        std::min<std::uint64_t>(std::get<2>(key), static_cast<std::uint64_t>(samples));
    // Real inputs are in memory already (InputSet): only drawn ones are kept.
    const std::size_t row_floats = std::get<3>(key) ? 0 : std::get<1>(key);
    const std::size_t bytes = static_cast<std::size_t>(count) *
                              (sizeof(float) * row_floats + sizeof(double) * members.size());
    std::vector<float>* inputs = nullptr;
    bool filling = false;
    if (cache && cache->inputs.count(key)) {
      inputs = &cache->inputs[key];
    } else if (cache && cache->bytes + bytes <= TrainingErrorCache::kBudgetBytes) {
      inputs = &cache->inputs[key];
      inputs->resize(static_cast<std::size_t>(count) * row_floats);
      for (std::size_t r : members) cache->labels[r].resize(count);
      cache->bytes += bytes;
      filling = true;
    }
    groups.push_back(std::move(members));
    stored.push_back(inputs);
    fill.push_back(filling);
  }
#pragma omp parallel for num_threads(thread_count(threads)) schedule(dynamic, 1)
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const RunSpec& first = runs[groups[g][0]];
    const int N = first.params.N;
    const std::size_t n = static_cast<std::size_t>(N);
    const std::uint64_t count =
        std::min<std::uint64_t>(first.params.train_size, static_cast<std::uint64_t>(samples));
    const double inv_sqrt_n = 1.0 / std::sqrt(static_cast<double>(N));
    const bool reuse = stored[g] && !fill[g];
    std::vector<float> drawn((n + 3) / 4 * 4);
    std::vector<double> x(n), sum(groups[g].size(), 0.0);
    const InputSet* real = first.params.inputs.get();
    for (std::uint64_t i = 0; i < count; ++i) {
      const float* input =
          real ? real->train_row(i) : (reuse ? stored[g]->data() + i * n : drawn.data());
      if (!real && !reuse) draw(first.seed, i, N, drawn.data(), transform);
      if (fill[g] && !real) std::copy(drawn.begin(), drawn.begin() + N, stored[g]->begin() + i * n);
      std::copy(input, input + N, x.begin());
      const double zeta =
          reuse ? 0.0 : gaussian_at(first.seed, Stream::label_noise, i, 0, transform);
      for (std::size_t j = 0; j < groups[g].size(); ++j) {
        const std::size_t r = groups[g][j];
        const PointParams& p = runs[r].params;
        const InitialWeights& wt = weights[r];
        // The teacher and the noise do not train: a run's labels are computed once.
        // Labels from files stand where the teacher's output goes (float, as trained on).
        const double label =
            reuse
                ? cache->labels[r][i]
                : (real && real->labelled()
                       ? static_cast<double>(real->train_labels[i])
                       : network_output(wt.wstar, wt.vstar, p.teacher_activation, x, inv_sqrt_n)) +
                      p.sigma * zeta;
        if (fill[g]) cache->labels[r][i] = label;
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
