// The plan of an experiment: its runs, their shards, their record times. See plan.h.
#include "experiment/plan.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <queue>
#include <utility>

namespace tsgd {

std::vector<RunSpec> plan_runs(const Experiment& e) {
  std::vector<RunSpec> runs;
  runs.reserve(e.points.size() * static_cast<std::size_t>(e.seeds.count));
  for (std::size_t p = 0; p < e.points.size(); ++p)
    for (int s = 0; s < e.seeds.count; ++s)
      runs.push_back(
          RunSpec{static_cast<int>(p), e.seeds.first + static_cast<std::uint64_t>(s), e.points[p]});
  return runs;
}

double plan_run_steps(const Experiment& e) {
  double total = 0;
  for (const auto& p : e.points) total += static_cast<double>(p.total_steps()) * e.seeds.count;
  return total;
}

std::vector<int> shard_of_runs(const Experiment& e, int count) {
  const std::vector<RunSpec> runs = plan_runs(e);
  std::vector<std::size_t> order(runs.size());
  std::vector<double> cost(runs.size());
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const PointParams& p = runs[i].params;
    cost[i] = static_cast<double>(p.total_steps()) * p.batch_size * (p.K + p.M) *
              static_cast<double>(p.N);
    order[i] = i;
  }
  // Longest processing time first; ties keep plan order (point, seed).
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return cost[a] > cost[b]; });
  // Each run to the least loaded shard, the first of equals: a min-heap of
  // (load, shard), O(log count) a run (tsgd slurm tries many counts).
  using Slot = std::pair<double, int>;
  std::priority_queue<Slot, std::vector<Slot>, std::greater<Slot>> shards;
  for (int s = 0; s < count; ++s) shards.push({0.0, s});
  std::vector<int> shard(runs.size(), 0);
  for (std::size_t i : order) {
    const auto [load, target] = shards.top();
    shards.pop();
    shard[i] = target;
    shards.push({load + cost[i], target});
  }
  return shard;
}

int shard_of_point(int point, int count) { return point % count; }

std::string shard_directory(const std::string& dir, int index, int count) {
  return dir + "/shard-" + std::to_string(index) + "-of-" + std::to_string(count);
}

std::vector<std::int64_t> record_steps(const RecordSettings& record, const PointParams& p) {
  const std::int64_t total = p.total_steps();
  std::vector<std::int64_t> steps{0};
  if (record.spacing == Spacing::decades) {
    // Each record time from its k alone (not accumulated), so a longer alpha
    // gives the same steps below the shorter one's end.
    for (int k = 0;; ++k) {
      const double alpha =
          record.alpha_min * std::pow(10.0, static_cast<double>(k) / record.per_decade);
      const std::int64_t s = std::max<std::int64_t>(1, std::llround(alpha * p.N));
      if (s >= total) break;
      if (s > steps.back()) steps.push_back(s);
    }
    if (total > steps.back()) steps.push_back(total);
    return steps;
  }
  const int n = record.points;
  for (int j = 1; j <= n; ++j) {
    double alpha;
    if (record.spacing == Spacing::lin) {
      alpha = p.alpha * j / n;
    } else {
      const double a0 = record.alpha_min;
      alpha = n == 1 ? p.alpha : a0 * std::pow(p.alpha / a0, static_cast<double>(j - 1) / (n - 1));
    }
    std::int64_t s = static_cast<std::int64_t>(std::llround(alpha * p.N));
    if (j == n) s = total;
    s = std::max<std::int64_t>(1, std::min(s, total));
    if (s > steps.back()) steps.push_back(s);
  }
  return steps;
}

std::vector<double> record_alphas(const Experiment& e, const PointParams& p) {
  std::vector<double> a;
  for (std::int64_t s : record_steps(e.record, p)) a.push_back(static_cast<double>(s) / p.N);
  return a;
}

}  // namespace tsgd
