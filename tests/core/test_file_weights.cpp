// Initial weights beyond the drawn ones (core/initial_weights.h): a teacher and
// a student from file weights (the arrays the experiment layer reads and
// attaches: core reads no file), a sparse teacher, and one teacher seed for
// every run (seeds.teacher).
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <vector>

#include "core/initial_weights.h"

using namespace tsgd;

namespace {

// Arbitrary exactly representable weights: rows x N of (i - 3 r) / 8, v = (r + 1) / 4.
std::shared_ptr<const FileWeights> file_weights(int rows, int N, bool with_v) {
  auto f = std::make_shared<FileWeights>();
  f->rows = rows;
  f->N = N;
  for (int r = 0; r < rows; ++r)
    for (int i = 0; i < N; ++i) f->w.push_back((i - 3.0 * r) / 8.0);
  if (with_v)
    for (int r = 0; r < rows; ++r) f->v.push_back((r + 1) / 4.0);
  f->source = "memory";
  return f;
}

RunSpec run_of(std::uint64_t seed, int N, int M, int K) {
  RunSpec run{0, seed, PointParams{}};
  run.params.N = N;
  run.params.M = M;
  run.params.K = K;
  return run;
}

double overlap(const std::vector<double>& a, int i, const std::vector<double>& b, int j, int N) {
  double s = 0;
  for (int x = 0; x < N; ++x) s += a[i * N + x] * b[j * N + x];
  return s / N;
}

}  // namespace

TEST(FileWeights, TeacherFromAFileIsUsedAsReadAndGivesItsT) {
  // w* and v* as read (no output scaling, whatever the seed), and T = w* w*^T / N
  // computed the same way: equal to the last bit (the same sums in the same order).
  RunSpec run = run_of(4, 12, 3, 2);
  run.params.teacher_init = TeacherInit::file;
  run.params.output_scaling = OutputScaling::inverse;  // not applied to a file's v*
  run.params.teacher_file = file_weights(3, 12, true);
  const InitialWeights w = initial_weights(run);
  EXPECT_EQ(w.wstar, run.params.teacher_file->w);
  EXPECT_EQ(w.vstar, run.params.teacher_file->v);
  RunSpec other = run;
  other.seed = 99;
  EXPECT_EQ(initial_weights(other).wstar, w.wstar);  // one teacher for every seed
  const OrderParameters op = initial_order_parameters(run);
  for (int a = 0; a < 3; ++a)
    for (int b = 0; b < 3; ++b)
      EXPECT_EQ(op.t(a, b), overlap(w.wstar, a, w.wstar, b, 12)) << a << " " << b;
  // Without v* in the file: the configuration's rule (teacher_v, scaled by 1/M).
  run.params.teacher_file = file_weights(3, 12, false);
  EXPECT_EQ(initial_weights(run).vstar, std::vector<double>(3, 1.0 / 3));
}

TEST(FileWeights, StudentFromAFileReproducesItsInitialQAndR) {
  RunSpec run = run_of(7, 10, 2, 3);
  run.params.init = InitKind::file;
  run.params.train = TrainMode::both_layers;
  run.params.student_file = file_weights(3, 10, true);
  const InitialWeights w = initial_weights(run);
  EXPECT_EQ(w.w, run.params.student_file->w);
  EXPECT_EQ(w.v, run.params.student_file->v);
  const OrderParameters op = initial_order_parameters(run);
  for (int i = 0; i < 3; ++i) {
    for (int k = 0; k < 3; ++k) EXPECT_EQ(op.q(i, k), overlap(w.w, i, w.w, k, 10));
    for (int m = 0; m < 2; ++m) EXPECT_EQ(op.r(i, m), overlap(w.w, i, w.wstar, m, 10));
  }
  // The file's Q by hand: rows (i - 3r)/8, so Q_00 = sum i^2 / 64 / N = 285 / 640.
  EXPECT_DOUBLE_EQ(op.q(0, 0), 285.0 / 640.0);
  // Without v in the file: the rule of "large" init (student_v = 1, unscaled).
  run.params.student_file = file_weights(3, 10, false);
  EXPECT_EQ(initial_weights(run).v, std::vector<double>(3, 1.0));
}

TEST(FileWeights, AMissingOrMisshapenFileIsRefusedByTheCore) {
  RunSpec run = run_of(1, 10, 2, 2);
  run.params.teacher_init = TeacherInit::file;
  EXPECT_THROW(initial_weights(run), std::invalid_argument);  // none attached
  run.params.teacher_file = file_weights(3, 10, true);        // M = 2 rows wanted
  EXPECT_THROW(initial_weights(run), std::invalid_argument);
}

TEST(FileWeights, SparseTeacherZeroesTheFractionPerRowFromTheTeacherSeed) {
  const int N = 200, M = 4;
  RunSpec dense = run_of(3, N, M, 2);
  RunSpec sparse = dense;
  sparse.params.teacher_sparsity = 0.3;
  const InitialWeights d = initial_weights(dense), s = initial_weights(sparse);
  for (int m = 0; m < M; ++m) {
    int zeros = 0;
    for (int i = 0; i < N; ++i) {
      if (s.wstar[m * N + i] == 0.0)
        ++zeros;
      else
        EXPECT_EQ(s.wstar[m * N + i], d.wstar[m * N + i]);  // the others untouched
    }
    EXPECT_EQ(zeros, 60) << "row " << m;  // exactly round(0.3 * 200): the draws are never 0
  }
  EXPECT_EQ(s.w, d.w);                                // the student is not the teacher's business
  EXPECT_EQ(initial_weights(sparse).wstar, s.wstar);  // reproducible from the identity
  RunSpec other = sparse;
  other.seed = 4;
  const InitialWeights o = initial_weights(other);
  int same_positions = 0;  // another seed: another mask (60 of 200 shared by chance: ~18)
  for (int i = 0; i < N; ++i) same_positions += (o.wstar[i] == 0.0) && (s.wstar[i] == 0.0);
  EXPECT_LT(same_positions, 45);
  // Row m depends on m, not on M (the CPU engine's groups share the rows of one member).
  RunSpec fewer = sparse;
  fewer.params.M = 2;
  const std::vector<double> two = initial_weights(fewer).wstar;
  EXPECT_EQ(two, std::vector<double>(s.wstar.begin(), s.wstar.begin() + 2 * N));
  // A fraction that rounds to N keeps one weight per row.
  sparse.params.N = 4;
  sparse.params.teacher_sparsity = 0.9;
  const InitialWeights tiny = initial_weights(sparse);
  for (int m = 0; m < M; ++m) {
    int nonzero = 0;
    for (int i = 0; i < 4; ++i) nonzero += tiny.wstar[m * 4 + i] != 0.0;
    EXPECT_EQ(nonzero, 1);
  }
}

TEST(FileWeights, TeacherSeedGivesOneTeacherAndTheRunsOwnStudents) {
  RunSpec a = run_of(10, 30, 2, 3), b = run_of(11, 30, 2, 3);
  a.params.teacher_seed = b.params.teacher_seed = 77;
  a.params.teacher_v_init = b.params.teacher_v_init = SecondLayerInit::gaussian;
  const InitialWeights wa = initial_weights(a), wb = initial_weights(b);
  EXPECT_EQ(wa.wstar, wb.wstar);
  EXPECT_EQ(wa.vstar, wb.vstar);
  EXPECT_NE(wa.w, wb.w);
  EXPECT_EQ(initial_order_parameters(a).T, initial_order_parameters(b).T);
  // The teacher is that of a run whose own seed is the teacher seed; the student is the run's.
  const RunSpec own = run_of(77, 30, 2, 3);
  RunSpec plain = run_of(10, 30, 2, 3);
  plain.params.teacher_v_init = SecondLayerInit::gaussian;
  RunSpec own_gaussian = own;
  own_gaussian.params.teacher_v_init = SecondLayerInit::gaussian;
  EXPECT_EQ(wa.wstar, initial_weights(own_gaussian).wstar);
  EXPECT_EQ(wa.vstar, initial_weights(own_gaussian).vstar);
  EXPECT_EQ(wa.w, initial_weights(plain).w);
}
