#include "core/test_error.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>

#include "core/threads.h"
#include "core/training_error.h"
#include "math/activation.h"

namespace tsgd {

namespace {

// Rows per block: each block's sums are kept apart and added in block order.
constexpr std::size_t kBlockRows = 64;

double sign(double y) { return y > 0 ? 1.0 : (y < 0 ? -1.0 : 0.0); }

// One block of one run: the sum of squared errors and the misclassified rows.
struct BlockSums {
  double squares = 0.0;
  double wrong = 0.0;
};

BlockSums block_sums(const RunSpec& run, const InitialWeights& wt, std::size_t first,
                     std::size_t last) {
  const PointParams& p = run.params;
  const InputSet& set = *p.inputs;
  const std::size_t n = static_cast<std::size_t>(p.N);
  const double inv_sqrt_n = 1.0 / std::sqrt(static_cast<double>(p.N));
  std::vector<double> x(n);
  BlockSums s;
  for (std::size_t i = first; i < last; ++i) {
    std::copy(set.test_row(i), set.test_row(i) + n, x.begin());
    const double y = network_output(wt.w, wt.v, p.student_activation, x, inv_sqrt_n);
    const double label =
        set.labelled() ? static_cast<double>(set.test_labels[i])
                       : network_output(wt.wstar, wt.vstar, p.teacher_activation, x, inv_sqrt_n);
    s.squares += (y - label) * (y - label);
    if (set.labelled() && sign(y) != label) s.wrong += 1.0;
  }
  return s;
}

}  // namespace

void test_errors(const std::vector<RunSpec>& runs, const std::vector<InitialWeights>& weights,
                 int threads, std::vector<double>& eg, std::vector<double>& class_err) {
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  eg.assign(runs.size(), kNaN);
  class_err.assign(runs.size(), kNaN);
  // Jobs: (run, block) of every run on real inputs with test rows.
  std::vector<std::pair<std::size_t, std::size_t>> jobs;
  std::vector<std::size_t> first_job(runs.size(), 0);
  for (std::size_t r = 0; r < runs.size(); ++r) {
    first_job[r] = jobs.size();
    const InputSet* set = runs[r].params.inputs.get();
    if (!set) continue;
    for (std::size_t b = 0; b * kBlockRows < set->test_count; ++b) jobs.emplace_back(r, b);
  }
  std::vector<BlockSums> sums(jobs.size());
#pragma omp parallel for num_threads(thread_count(threads)) schedule(dynamic, 1)
  for (std::size_t j = 0; j < jobs.size(); ++j) {
    const auto [r, b] = jobs[j];
    const std::size_t count = runs[r].params.inputs->test_count;
    sums[j] =
        block_sums(runs[r], weights[r], b * kBlockRows, std::min(count, (b + 1) * kBlockRows));
  }
  for (std::size_t r = 0; r < runs.size(); ++r) {
    const InputSet* set = runs[r].params.inputs.get();
    if (!set || set->test_count == 0) continue;
    BlockSums total;
    const std::size_t blocks = (set->test_count + kBlockRows - 1) / kBlockRows;
    for (std::size_t b = 0; b < blocks; ++b) {
      total.squares += sums[first_job[r] + b].squares;
      total.wrong += sums[first_job[r] + b].wrong;
    }
    const double count = static_cast<double>(set->test_count);
    eg[r] = 0.5 * total.squares / count;
    if (set->labelled()) class_err[r] = total.wrong / count;
  }
}

}  // namespace tsgd
