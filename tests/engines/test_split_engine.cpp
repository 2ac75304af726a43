// The split engine (engines/split_engine.h: several engines as one, for
// several GPUs): how a batch is cut. Tested with CPU engines, which are batch
// invariant, so any cut must give the one engine's bits. (How large the
// batches on the GPUs are: tests/experiment/test_resources.cpp.)
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "engines/cpu_engine.h"
#include "engines/split_engine.h"
#include "experiment/resources.h"
#include "tests/support/engine_factories.h"

using namespace tsgd;
using tsgd::testing::bitwise_equal;

namespace {

std::vector<RunSpec> mixed_batch(int count) {
  std::vector<RunSpec> runs;
  for (int i = 0; i < count; ++i) {
    RunSpec r{i % 5, static_cast<std::uint64_t>(i / 5), PointParams{}};  // 5 points per seed
    r.params.N = 50;
    r.params.K = 1 + i % 4;
    r.params.M = 1 + i % 2;
    r.params.lr = 0.2 + 0.05 * (i % 5);
    r.params.sigma = 0.1;
    r.params.batch_size = 1 + (i / 5) % 2;  // two mini-batch sizes
    runs.push_back(r);
  }
  return runs;
}

std::unique_ptr<Engine> split_cpu(int parts) {
  std::vector<std::unique_ptr<Engine>> engines;
  for (int i = 0; i < parts; ++i) engines.push_back(make_cpu_engine(Precision::float64, 1));
  return make_split_engine(std::move(engines));
}

}  // namespace

TEST(SplitBatch, SlicesCoverTheBatchInOrderAndBalanceTheWork) {
  const std::vector<RunSpec> runs = mixed_batch(103);
  for (std::size_t parts : {1u, 2u, 3u, 7u}) {
    const std::vector<std::size_t> sizes = split_batch(runs, parts);
    ASSERT_EQ(sizes.size(), parts);
    EXPECT_EQ(std::accumulate(sizes.begin(), sizes.end(), std::size_t{0}), runs.size());
    // Balanced: each slice within one seed group (5 runs, slack 8 runs) of the
    // mean number of runs; the work per run varies by at most 2x here.
    for (std::size_t s : sizes)
      EXPECT_NEAR(static_cast<double>(s), 103.0 / parts, 0.5 * 103.0 / parts + 8) << parts;
    // Cuts fall between seeds (a seed boundary is always within 8 runs here).
    std::size_t first = 0;
    for (std::size_t k = 0; k + 1 < parts; ++k) {
      first += sizes[k];
      ASSERT_LT(first, runs.size());
      EXPECT_NE(runs[first].seed, runs[first - 1].seed)
          << "cut " << k << " of " << parts << " splits a seed";
    }
  }
}

// Cheap runs first, expensive ones after (B = 1, then B = 128, one seed): a
// cut by work alone would give the first GPU three times the runs of the
// second, all padded to B = 128 there, past the memory the waves allowed it.
TEST(SplitBatch, NoSliceHoldsMoreThanItsShareOfRunsAllows) {
  std::vector<RunSpec> runs;
  for (int i = 0; i < 4000; ++i) {
    RunSpec r{i, 1, PointParams{}};
    r.params.N = 1000;
    r.params.batch_size = i < 2000 ? 1 : 128;
    runs.push_back(r);
  }
  for (std::size_t parts : {2u, 3u, 8u}) {
    const std::vector<std::size_t> sizes = split_batch(runs, parts);
    EXPECT_EQ(std::accumulate(sizes.begin(), sizes.end(), std::size_t{0}), runs.size());
    const double bound =
        std::max(std::ceil(4000.0 / parts), std::floor(kSplitMaxShare * 4000.0 / parts));
    for (std::size_t s : sizes) EXPECT_LE(static_cast<double>(s), bound) << parts << " parts";
    // The bound binds: without it the first slice would be larger.
    EXPECT_EQ(static_cast<double>(sizes[0]), bound) << parts << " parts";
  }
  // With the waves' capacity on two GPUs of room for 1000 runs each, a wave of
  // that many runs never gives one GPU more than 1000.
  const std::size_t wave = gpu_batch_capacity(1e6, {1.25e9, 1.25e9}, 1e12);
  const std::vector<RunSpec> first(runs.begin() + 2000 - static_cast<long>(wave) / 2,
                                   runs.begin() + 2000 + static_cast<long>(wave) / 2);
  for (std::size_t s : split_batch(first, 2)) EXPECT_LE(s, 1000u);
}

TEST(SplitBatch, FewerRunsThanPartsLeavesTrailingPartsEmpty) {
  const std::vector<RunSpec> runs = mixed_batch(2);
  const std::vector<std::size_t> sizes = split_batch(runs, 4);
  ASSERT_EQ(sizes.size(), 4u);
  EXPECT_EQ(sizes[0] + sizes[1], 2u);
  EXPECT_GT(sizes[0], 0u);
  EXPECT_EQ(sizes[2], 0u);
  EXPECT_EQ(sizes[3], 0u);
  EXPECT_EQ(split_batch({}, 3), (std::vector<std::size_t>{0, 0, 0}));
  EXPECT_THROW(split_batch(runs, 0), std::invalid_argument);
}

TEST(SplitEngine, EqualsOneEngineBitwiseThroughAdvanceAndFreeze) {
  const std::vector<RunSpec> runs = mixed_batch(37);
  auto one = make_cpu_engine(Precision::float64, 1);
  for (int parts : {2, 3, 5}) {
    auto split = split_cpu(parts);
    EXPECT_EQ(split->name(), "cpu");
    EXPECT_EQ(split->precision(), Precision::float64);
    one->load(runs);
    split->load(runs);
    one->advance(20);
    split->advance(20);
    // Runs frozen in different slices stop in both engines alike.
    for (std::size_t index : {0u, 9u, 21u, 36u}) {
      one->freeze(index);
      split->freeze(index);
    }
    one->advance(15);
    split->advance(15);
    std::vector<OrderParameters> a, b;
    one->order_parameters(a);
    split->order_parameters(b);
    ASSERT_EQ(a.size(), runs.size());
    ASSERT_EQ(b.size(), runs.size());
    for (std::size_t r = 0; r < runs.size(); ++r)
      EXPECT_TRUE(bitwise_equal(a[r], b[r])) << parts << " parts, run " << r;
    EXPECT_THROW(split->freeze(runs.size()), std::out_of_range);
  }
}

TEST(SplitEngine, ReloadWithFewerRunsThanEngines) {
  auto split = split_cpu(4);
  split->load(mixed_batch(20));
  split->advance(3);
  const std::vector<RunSpec> two = mixed_batch(2);
  split->load(two);  // parts 2 and 3 get empty batches
  split->advance(5);
  std::vector<OrderParameters> b;
  split->order_parameters(b);
  ASSERT_EQ(b.size(), 2u);
  auto one = make_cpu_engine(Precision::float64, 1);
  one->load(two);
  one->advance(5);
  std::vector<OrderParameters> a;
  one->order_parameters(a);
  EXPECT_TRUE(bitwise_equal(a[0], b[0]));
  EXPECT_TRUE(bitwise_equal(a[1], b[1]));
}

namespace {
// An engine whose load fails for any non-empty batch (as a GPU out of memory would).
class FailingEngine final : public Engine {
 public:
  std::string name() const override { return "cpu"; }
  Precision precision() const override { return Precision::float64; }
  RngTransform rng_transform() const override { return RngTransform::exact; }
  void load(const std::vector<RunSpec>& runs) override {
    if (!runs.empty()) throw std::runtime_error("load failed");
  }
  void advance(std::int64_t) override {}
  void order_parameters(std::vector<OrderParameters>& out) override { out.clear(); }
  void freeze(std::size_t) override { throw std::out_of_range("no runs"); }
  void weights(std::size_t, InitialWeights&) override { throw std::out_of_range("no runs"); }
  void resume(std::int64_t, const std::vector<InitialWeights>& weights,
              const std::vector<char>&) override {
    if (!weights.empty()) throw std::invalid_argument("no runs");
  }
  void training_errors(int, std::vector<double>& out) override { out.clear(); }
};
}  // namespace

TEST(SplitEngine, AFailedLoadLeavesAnEmptyBatch) {
  std::vector<std::unique_ptr<Engine>> parts;
  parts.push_back(make_cpu_engine(Precision::float64, 1));
  parts.push_back(std::make_unique<FailingEngine>());
  auto split = make_split_engine(std::move(parts));
  EXPECT_THROW(split->load(mixed_batch(30)), std::runtime_error);
  std::vector<OrderParameters> out(3);
  split->advance(2);
  split->order_parameters(out);
  EXPECT_TRUE(out.empty());
  EXPECT_THROW(split->freeze(0), std::out_of_range);
}

TEST(SplitEngine, RefusesMixedEngines) {
  std::vector<std::unique_ptr<Engine>> parts;
  parts.push_back(make_cpu_engine(Precision::float64, 1));
  parts.push_back(make_cpu_engine(Precision::float32, 1));
  EXPECT_THROW(make_split_engine(std::move(parts)), std::invalid_argument);
  EXPECT_THROW(make_split_engine({}), std::invalid_argument);
}
