// The initial weights of issue 16 on every engine (tests/support/engine_factories.h):
// a teacher and a student from file weights, one teacher seed for all runs
// (seeds.teacher) and a sparse teacher reach each engine through
// core/initial_weights.h, start at their order parameters, and a run gives the
// same bits alone or beside runs of its seed with another teacher (an engine
// that shared a seed's teacher rows across them would mix them up), and agrees
// with the CPU reference.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "core/initial_weights.h"
#include "tests/support/engine_factories.h"

using namespace tsgd;
using tsgd::testing::bitwise_equal;
using tsgd::testing::EngineFactory;
using tsgd::testing::expect_near;

namespace {

std::shared_ptr<const FileWeights> weights(int rows, int N, double phase, std::vector<double> v) {
  auto f = std::make_shared<FileWeights>();
  f->rows = rows;
  f->N = N;
  for (int r = 0; r < rows; ++r)
    for (int i = 0; i < N; ++i) f->w.push_back(1.4 * std::sin(1.3 * i + phase * (r + 1)));
  f->v = std::move(v);
  f->source = "memory";
  return f;
}

// Four runs of seed 9 with four teachers: from a file (and the student too),
// Gaussian with the larger M, Gaussian from teacher seed 5, sparse Gaussian.
std::vector<RunSpec> four_teachers() {
  PointParams p;
  p.N = 40;
  p.M = 2;
  p.K = 2;
  p.lr = 0.5;
  p.sigma = 0.1;
  std::vector<RunSpec> runs(4, RunSpec{0, 9, p});
  runs[0].params.teacher_init = TeacherInit::file;
  runs[0].params.teacher_file = weights(2, 40, 0.7, {1.0, -0.5});
  runs[0].params.init = InitKind::file;
  runs[0].params.K = 3;
  runs[0].params.student_file = weights(3, 40, 0.2, {0.3, 0.2, -0.1});
  runs[1].params.M = 3;  // the largest M: its teacher rows would serve a wrongly shared group
  runs[2].params.teacher_seed = 5;
  runs[3].params.teacher_sparsity = 0.5;
  for (int r = 0; r < 4; ++r) runs[r].point_id = r;
  return runs;
}

std::vector<OrderParameters> advance(const EngineFactory& f, const std::vector<RunSpec>& batch,
                                     int steps, std::vector<OrderParameters>* start = nullptr) {
  auto engine = f.make();
  engine->load(batch);
  std::vector<OrderParameters> op;
  if (start) engine->order_parameters(*start);
  engine->advance(steps);
  engine->order_parameters(op);
  return op;
}

class FileWeightsEngineTest : public ::testing::TestWithParam<EngineFactory> {};

}  // namespace

TEST_P(FileWeightsEngineTest, TeachersOfIssue16StartRightAndStayApartInABatch) {
  if (GetParam().needs_gpu) TSGD_SKIP_WITHOUT_GPU();
  const std::vector<RunSpec> runs = four_teachers();
  // Twice each, interleaved: the CPU engine (two threads) groups several runs of the seed.
  std::vector<RunSpec> mixed;
  for (int i = 0; i < 2; ++i) mixed.insert(mixed.end(), runs.begin(), runs.end());
  const int steps = 3;
  std::vector<OrderParameters> start;
  const std::vector<OrderParameters> together = advance(GetParam(), mixed, steps, &start);
  // float32 engines hold the weights in float: 1e-6 relative (as InitialStateEqualsInitialWeights).
  const bool float64 = GetParam().precision == Precision::float64;
  // Three steps against the float64 CPU engine: summation order (1e-11) in float64, float
  // rounding of N-term dot products and weights (a few 1e-5, as step_tolerance of
  // test_engine.cpp) in float32.
  const double step_tolerance = float64 ? 1e-11 : 5e-5;
  const EngineFactory reference = tsgd::testing::engine_factories().front();  // cpu_float64
  for (std::size_t r = 0; r < runs.size(); ++r) {
    const std::string what = "run " + std::to_string(r);
    expect_near(start[r], initial_order_parameters(runs[r]), float64 ? 1e-13 : 2e-6, what);
    const std::vector<OrderParameters> alone = advance(GetParam(), {runs[r]}, steps);
    EXPECT_TRUE(bitwise_equal(together[r], alone[0])) << what;
    EXPECT_TRUE(bitwise_equal(together[r + runs.size()], alone[0])) << what;
    expect_near(alone[0], advance(reference, {runs[r]}, steps)[0], step_tolerance, what);
  }
  // The four teachers differ (else the test would not see them mixed up).
  EXPECT_NE(start[0].T, start[2].T);
  EXPECT_NE(start[2].T, start[3].T);
}

INSTANTIATE_TEST_SUITE_P(Engines, FileWeightsEngineTest,
                         ::testing::ValuesIn(tsgd::testing::engine_factories()),
                         [](const auto& info) { return info.param.name; });
