#include "engines/split_engine.h"

#include <algorithm>
#include <exception>
#include <functional>
#include <numeric>
#include <stdexcept>
#include <string>
#include <thread>

namespace tsgd {

namespace {

// Work of one run per step, for balancing: its inputs (batch_size x N draws)
// dominate, then the (K + M) dot products of each sample.
double run_work(const RunSpec& run) {
  const PointParams& p = run.params;
  return static_cast<double>(p.batch_size) * p.N * (4.0 + p.K + p.M);
}

// Runs body(i) for every i < count, body(0) on this thread and the others on
// threads of their own; rethrows the first exception after all have finished.
void for_each_part(std::size_t count, const std::function<void(std::size_t)>& body) {
  if (count == 1) {
    body(0);
    return;
  }
  std::vector<std::exception_ptr> failures(count);
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < count; ++i)
    threads.emplace_back([&, i] {
      try {
        body(i);
      } catch (...) {
        failures[i] = std::current_exception();
      }
    });
  try {
    body(0);
  } catch (...) {
    failures[0] = std::current_exception();
  }
  for (auto& thread : threads) thread.join();
  for (const auto& failure : failures)
    if (failure) std::rethrow_exception(failure);
}

class SplitEngine final : public Engine {
 public:
  explicit SplitEngine(std::vector<std::unique_ptr<Engine>> parts) : parts_(std::move(parts)) {}

  std::string name() const override { return parts_.front()->name(); }
  Precision precision() const override { return parts_.front()->precision(); }
  RngTransform rng_transform() const override { return parts_.front()->rng_transform(); }

  void load(const std::vector<RunSpec>& runs) override {
    const std::vector<std::size_t> sizes = split_batch(runs, parts_.size());
    first_.assign(1, 0);
    for (std::size_t size : sizes) first_.push_back(first_.back() + size);
    active_ = 0;
    for (std::size_t size : sizes) active_ += size > 0 ? 1 : 0;
    // Slices are filled in order, so the active parts are the first ones;
    // the others get an empty batch (their previous one is released).
    try {
      for_each_part(parts_.size(), [&](std::size_t i) {
        parts_[i]->load(
            std::vector<RunSpec>(runs.begin() + first_[i], runs.begin() + first_[i + 1]));
      });
    } catch (...) {
      // A failed load leaves an empty batch, on every part.
      first_.assign(1, 0);
      active_ = 0;
      for (auto& part : parts_) {
        try {
          part->load({});
        } catch (...) {
        }
      }
      throw;
    }
  }

  void advance(std::int64_t steps) override {
    for_each_part(std::max<std::size_t>(active_, 1),
                  [&](std::size_t i) { parts_[i]->advance(steps); });
  }

  void order_parameters(std::vector<OrderParameters>& out) override {
    std::vector<std::vector<OrderParameters>> slices(parts_.size());
    for_each_part(std::max<std::size_t>(active_, 1),
                  [&](std::size_t i) { parts_[i]->order_parameters(slices[i]); });
    out.clear();
    out.reserve(first_.back());
    for (auto& slice : slices)
      for (auto& op : slice) out.push_back(std::move(op));
  }

  void training_errors(int samples, std::vector<double>& out) override {
    std::vector<std::vector<double>> slices(parts_.size());
    for_each_part(std::max<std::size_t>(active_, 1),
                  [&](std::size_t i) { parts_[i]->training_errors(samples, slices[i]); });
    out.clear();
    for (const auto& slice : slices) out.insert(out.end(), slice.begin(), slice.end());
  }

  void freeze(std::size_t index) override {
    const std::size_t part = part_of(index, "freeze");
    parts_[part]->freeze(index - first_[part]);
  }

  void weights(std::size_t index, InitialWeights& out) override {
    const std::size_t part = part_of(index, "weights");
    parts_[part]->weights(index - first_[part], out);
  }

  void resume(std::int64_t step, const std::vector<InitialWeights>& weights,
              const std::vector<char>& frozen) override {
    if (first_.empty() || weights.size() != first_.back() || frozen.size() != first_.back())
      throw std::invalid_argument("split engine: resume of another batch");
    for_each_part(std::max<std::size_t>(active_, 1), [&](std::size_t i) {
      parts_[i]->resume(
          step,
          std::vector<InitialWeights>(weights.begin() + first_[i], weights.begin() + first_[i + 1]),
          std::vector<char>(frozen.begin() + first_[i], frozen.begin() + first_[i + 1]));
    });
  }

 private:
  // The part whose slice holds run INDEX of the batch.
  std::size_t part_of(std::size_t index, const char* what) const {
    if (first_.empty() || index >= first_.back())
      throw std::out_of_range(std::string("split engine: ") + what + " of a run not in the batch");
    return static_cast<std::size_t>(std::upper_bound(first_.begin(), first_.end(), index) -
                                    first_.begin()) -
           1;
  }

  std::vector<std::unique_ptr<Engine>> parts_;
  std::vector<std::size_t> first_;  // slice i is runs [first_[i], first_[i + 1])
  std::size_t active_ = 0;          // parts with a non-empty slice
};

}  // namespace

std::vector<std::size_t> split_batch(const std::vector<RunSpec>& runs, std::size_t parts) {
  if (parts == 0) throw std::invalid_argument("split_batch: no parts");
  std::vector<double> before(runs.size() + 1, 0.0);  // work of runs [0, i)
  for (std::size_t i = 0; i < runs.size(); ++i) before[i + 1] = before[i] + run_work(runs[i]);
  const double total = before.back();
  // A run of seed s and the next run of the same seed are not separated when a
  // seed boundary lies within this many runs of the ideal cut.
  constexpr std::size_t kSeedSlack = 8;
  const std::size_t n = runs.size();
  const std::size_t max_slice = std::max(
      (n + parts - 1) / parts, static_cast<std::size_t>(kSplitMaxShare * static_cast<double>(n) /
                                                        static_cast<double>(parts)));
  std::vector<std::size_t> cut(parts + 1, runs.size());
  cut[0] = 0;
  for (std::size_t k = 1; k < parts; ++k) {
    const double target = total * static_cast<double>(k) / static_cast<double>(parts);
    // First index whose preceding work reaches the target.
    std::size_t c = static_cast<std::size_t>(
        std::lower_bound(before.begin(), before.end(), target) - before.begin());
    c = std::min(std::max(c, cut[k - 1]), runs.size());
    // Move the cut to the nearest seed boundary within the slack.
    auto boundary = [&](std::size_t i) {
      return i == 0 || i == runs.size() || runs[i].seed != runs[i - 1].seed;
    };
    for (std::size_t d = 0; d <= kSeedSlack; ++d) {
      if (c >= d && c - d >= cut[k - 1] && boundary(c - d)) {
        c -= d;
        break;
      }
      if (c + d <= runs.size() && boundary(c + d)) {
        c += d;
        break;
      }
    }
    // At most max_slice runs in this slice, and room for the rest in the others.
    c = std::min(c, cut[k - 1] + max_slice);
    c = std::max(c, n - std::min(n, (parts - k) * max_slice));
    cut[k] = c;
  }
  std::vector<std::size_t> sizes(parts);
  for (std::size_t k = 0; k < parts; ++k) sizes[k] = cut[k + 1] - cut[k];
  // Empty slices go last (the active engines are the first ones).
  std::stable_partition(sizes.begin(), sizes.end(), [](std::size_t s) { return s > 0; });
  return sizes;
}

std::unique_ptr<Engine> make_split_engine(std::vector<std::unique_ptr<Engine>> parts) {
  if (parts.empty()) throw std::invalid_argument("make_split_engine: no engines");
  for (const auto& part : parts)
    if (part->name() != parts.front()->name() || part->precision() != parts.front()->precision() ||
        part->rng_transform() != parts.front()->rng_transform())
      throw std::invalid_argument(
          "make_split_engine: engines of different kinds, precisions or transforms");
  if (parts.size() == 1) return std::move(parts.front());
  return std::make_unique<SplitEngine>(std::move(parts));
}

}  // namespace tsgd
