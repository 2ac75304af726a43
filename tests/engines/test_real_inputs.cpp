// Real inputs (PointParams::inputs, data.inputs) on the CPU reference engine:
// a run on training rows that are exactly its seed's Gaussian draws of samples
// 0 .. P - 1 is the finite-training-set run of P Gaussian samples, bit for bit
// (the rows are read in the same permuted order and converted as the draws
// are), in both precisions, with the training error; other rows give another
// run. Labels from files: test_file_labels.cpp; the CUDA engine:
// tests/cuda/test_emulated_inputs.cpp and test_cuda_inputs.cpp.
#include <gtest/gtest.h>

#include <memory>
#include <utility>
#include <vector>

#include "core/engine.h"
#include "core/initial_weights.h"
#include "core/training_error.h"
#include "engines/cpu_engine.h"
#include "tests/support/input_sets.h"

namespace tsgd {
namespace {

constexpr std::uint64_t kSeed = 17;
constexpr std::uint64_t kRows = 48;
constexpr int kN = 40;

// Rows 0 .. kRows - 1: the seed's own input draws, times SCALE.
std::shared_ptr<const InputSet> drawn_rows(float scale) {
  return testing::drawn_input_set(kSeed, kN, kRows, 0, scale);
}

std::vector<RunSpec> runs(std::shared_ptr<const InputSet> inputs) {
  return testing::two_runs_on(kSeed, kN, kRows, std::move(inputs));
}

struct Result {
  std::vector<OrderParameters> op;
  std::vector<double> et;
};

Result train(Precision precision, const std::vector<RunSpec>& specs) {
  auto engine = make_cpu_engine(precision, 1);
  engine->load(specs);
  engine->advance(5 * kRows + 7);  // five epochs and a bit: every row seen, permuted anew
  Result out;
  engine->order_parameters(out.op);
  engine->training_errors(1000, out.et);
  return out;
}

TEST(RealInputs, RowsEqualToTheDrawsGiveTheGaussianTrainingSetRunBitForBit) {
  for (Precision precision : {Precision::float64, Precision::float32}) {
    const Result gaussian = train(precision, runs(nullptr));
    const Result rows = train(precision, runs(drawn_rows(1.0f)));
    ASSERT_EQ(gaussian.op.size(), rows.op.size());
    for (std::size_t r = 0; r < rows.op.size(); ++r) {
      EXPECT_EQ(gaussian.op[r].Q, rows.op[r].Q) << "run " << r;
      EXPECT_EQ(gaussian.op[r].R, rows.op[r].R) << "run " << r;
      EXPECT_EQ(gaussian.op[r].T, rows.op[r].T) << "run " << r;
    }
    EXPECT_EQ(gaussian.et, rows.et);
    // Other rows (the same, doubled) give another run and another training error.
    const Result other = train(precision, runs(drawn_rows(2.0f)));
    EXPECT_NE(gaussian.op[0].Q, other.op[0].Q);
    EXPECT_NE(gaussian.et, other.et);
  }
}

TEST(RealInputs, TrainingErrorCacheKeepsLabelsNotTheRows) {
  // Real rows are in memory already: the cache holds each run's labels (8
  // bytes a sample), no copy of the rows, and a call that reuses it gives the
  // first call's numbers bit for bit, for real and drawn inputs alike.
  for (const bool real : {true, false}) {
    const std::vector<RunSpec> specs = runs(real ? drawn_rows(1.0f) : nullptr);
    std::vector<InitialWeights> weights;
    for (const RunSpec& s : specs) weights.push_back(initial_weights(s));
    TrainingErrorCache cache;
    std::vector<double> first, again;
    training_errors(specs, weights, 30, RngTransform::exact, draw_input_blocks, 1, first, &cache);
    training_errors(specs, weights, 30, RngTransform::exact, draw_input_blocks, 1, again, &cache);
    EXPECT_EQ(first, again);
    const std::size_t labels = 30 * sizeof(double) * specs.size();
    EXPECT_EQ(cache.bytes, labels + (real ? 0 : 30 * sizeof(float) * kN)) << "real " << real;
  }
}

}  // namespace
}  // namespace tsgd
