// Real inputs (PointParams::inputs, data.inputs) on the CPU reference engine:
// a run on training rows that are exactly its seed's Gaussian draws of samples
// 0 .. P - 1 is the finite-training-set run of P Gaussian samples, bit for bit
// (the rows are read in the same permuted order and converted as the draws
// are), in both precisions, with the training error; other rows give another
// run. Labels from files: test_file_labels.cpp; the CUDA engine:
// tests/cuda/test_emulated_inputs.cpp and test_cuda_inputs.cpp.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "core/engine.h"
#include "core/training_error.h"
#include "engines/cpu_engine.h"

namespace tsgd {
namespace {

constexpr std::uint64_t kSeed = 17;
constexpr std::uint64_t kRows = 48;
constexpr int kN = 40;

// Rows 0 .. kRows - 1: the seed's own input draws, times SCALE.
std::shared_ptr<const InputSet> drawn_rows(float scale) {
  auto set = std::make_shared<InputSet>();
  set->N = kN;
  set->train_count = kRows;
  set->train.resize(kRows * kN);
  std::vector<float> x((kN + 3) / 4 * 4);
  for (std::uint64_t i = 0; i < kRows; ++i) {
    draw_input_blocks(kSeed, i, kN, x.data(), RngTransform::exact);
    for (int j = 0; j < kN; ++j) set->train[i * kN + j] = scale * x[j];
  }
  return set;
}

std::vector<RunSpec> runs(std::shared_ptr<const InputSet> inputs) {
  std::vector<RunSpec> out;
  for (int K : {2, 3}) {
    RunSpec r;
    r.point_id = K;
    r.seed = kSeed;
    r.params.N = kN;
    r.params.K = K;
    r.params.M = 2;
    r.params.lr = 0.5;
    r.params.lr2 = 0.5;
    r.params.sigma = 0.1;
    r.params.train_size = kRows;
    r.params.inputs = inputs;
    out.push_back(r);
  }
  return out;
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

}  // namespace
}  // namespace tsgd
