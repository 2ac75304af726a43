// core/test_error: the test-set eg and class_err of runs on real inputs, by hand
// on tiny sets (linear units: the outputs are exact in double, so the
// comparisons are exact up to one rounding of the mean), and the same numbers
// whatever the number of threads.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <vector>

#include "core/test_error.h"

namespace tsgd {
namespace {

constexpr int kN = 4;

// Test rows ROWS (each kN long), labels LABELS (or none: teacher labels).
std::shared_ptr<const InputSet> test_set(const std::vector<std::vector<float>>& rows,
                                         const std::vector<float>& labels) {
  auto set = std::make_shared<InputSet>();
  set->N = kN;
  set->test_count = rows.size();
  for (const auto& row : rows) set->test.insert(set->test.end(), row.begin(), row.end());
  set->test_labels = labels;
  if (!labels.empty()) set->train_labels = {1.0f};  // labelled() looks at the training labels
  set->train_count = 1;
  set->train = std::vector<float>(kN, 0.0f);
  return set;
}

RunSpec linear_run(std::shared_ptr<const InputSet> inputs) {
  RunSpec r;
  r.params.N = kN;
  r.params.K = 1;
  r.params.M = 1;
  r.params.student_activation = Activation::linear;
  r.params.teacher_activation = Activation::linear;
  r.params.train_size = 1;
  r.params.inputs = std::move(inputs);
  return r;
}

// student(x) = x0 and teacher(x) = x1 (w . x / sqrt(4) with w = 2 e_0, w* = 2 e_1).
InitialWeights linear_weights() {
  InitialWeights w;
  w.w = {2, 0, 0, 0};
  w.wstar = {0, 2, 0, 0};
  w.v = {1};
  w.vstar = {1};
  return w;
}

const std::vector<std::vector<float>> kRows = {{1, 0, 5, 5}, {0, 1, 5, 5}, {3, 1, 5, 5}};

TEST(TestError, TeacherLabelsByHand) {
  std::vector<double> eg, class_err;
  test_errors({linear_run(test_set(kRows, {}))}, {linear_weights()}, 1, eg, class_err);
  // Differences x0 - x1: 1, -1, 2; eg = 1/2 (1 + 1 + 4) / 3 = 1 (exact in double).
  EXPECT_EQ(eg[0], 1.0);
  EXPECT_TRUE(std::isnan(class_err[0]));  // no class error with teacher labels
}

TEST(TestError, FileLabelsByHand) {
  std::vector<double> eg, class_err;
  test_errors({linear_run(test_set(kRows, {1, 1, -1}))}, {linear_weights()}, 1, eg, class_err);
  // Outputs x0 = 1, 0, 3 against labels 1, 1, -1: squares 0, 1, 16, so
  // eg = 17 / 6 (one rounding: 1e-15 relative); signs 1 (right), 0 (wrong: sign 0
  // is no class), 1 (wrong): class_err = 2 / 3.
  EXPECT_NEAR(eg[0], 17.0 / 6.0, 1e-15 * 17.0 / 6.0);
  EXPECT_NEAR(class_err[0], 2.0 / 3.0, 1e-15);
}

TEST(TestError, GaussianRunsHaveNone) {
  std::vector<double> eg, class_err;
  RunSpec gaussian = linear_run(nullptr);
  test_errors({gaussian, linear_run(test_set(kRows, {}))}, {InitialWeights{}, linear_weights()}, 1,
              eg, class_err);
  ASSERT_EQ(eg.size(), 2u);
  EXPECT_TRUE(std::isnan(eg[0]));
  EXPECT_TRUE(std::isnan(class_err[0]));
  EXPECT_EQ(eg[1], 1.0);
}

// 300 rows (several blocks) with erf units: the numbers do not depend on the
// threads (bit for bit), and agree with a plain serial sum to 1e-13 relative
// (the two orders of summation differ by a few roundings of 300 terms).
TEST(TestError, ThreadsDoNotChangeTheNumbers) {
  std::vector<std::vector<float>> rows(300, std::vector<float>(kN));
  std::vector<float> labels(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    for (int j = 0; j < kN; ++j) rows[i][j] = static_cast<float>(std::sin(1.3 * i + 0.7 * j));
    labels[i] = i % 3 == 0 ? -1.0f : 1.0f;
  }
  RunSpec run = linear_run(test_set(rows, labels));
  run.params.student_activation = Activation::erf;
  InitialWeights w = linear_weights();
  w.w = {0.5, -1.5, 0.25, 2.0};
  std::vector<double> eg1, c1, eg2, c2;
  test_errors({run, run}, {w, w}, 1, eg1, c1);
  test_errors({run, run}, {w, w}, 2, eg2, c2);
  EXPECT_EQ(eg1, eg2);
  EXPECT_EQ(c1, c2);
  double squares = 0, wrong = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    double dot = 0;
    for (int j = 0; j < kN; ++j) dot += w.w[j] * rows[i][j];
    const double y = std::erf(dot / 2.0 / std::sqrt(2.0));  // g(x) = erf(x / sqrt 2)
    squares += (y - labels[i]) * (y - labels[i]);
    wrong += (y > 0 ? 1.0 : -1.0) != labels[i];
  }
  EXPECT_NEAR(eg1[0], 0.5 * squares / 300.0, 1e-13 * eg1[0]);
  EXPECT_EQ(c1[0], wrong / 300.0);
  EXPECT_GT(c1[0], 0.0);  // the weights are not the labels' rule: some rows are wrong
}

}  // namespace
}  // namespace tsgd
