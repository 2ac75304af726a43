// The parameters of one grid point and the order parameters of one run.
// Plain types only: read by the CUDA engine's host code as well.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "math/activation.h"

namespace tsgd {

enum class TrainMode { first_layer, both_layers };
// file: the student's weights as read from training.init_file (FileWeights).
enum class InitKind { large, small, mixed, informed, denoise, file };
// Second-layer initialisation: every weight = value, value * N(0,1), or
// value with the second half of the signs flipped (teacher only).
enum class SecondLayerInit { uniform, gaussian, flip_half };
// Output scaling of a committee: v_k *= 1, 1/K or 1/sqrt(K) (teacher: M).
enum class OutputScaling { none, inverse, inverse_sqrt };
// Teacher first layer: rows of N(0,1) draws (T = I only as N -> infinity), or
// the same rows orthonormalised and scaled to norm sqrt(N), so that T = I
// exactly, as the theory assumes (initial_weights.h); or w* (and v*) as read
// from model.teacher_file (FileWeights).
enum class TeacherInit { gaussian, orthonormal, file };
enum class Precision { float32, float64 };

// Weights read from a file (experiment/weight_file.h), shared by every run that
// starts from them: a rows x N first layer and, when the file holds one, the
// second layer (empty: set by the configuration's rules, initial_weights.h).
// The core layer never reads files; the experiment layer attaches these.
struct FileWeights {
  int rows = 0;
  int N = 0;
  std::vector<double> w;  // rows x N, row-major
  std::vector<double> v;  // rows, or empty
  std::string source;     // the file, for messages
};

// Real inputs (data.inputs; experiment/dataset.h reads them): training and
// test samples as float rows of N values, standardised, read once and shared
// by every run. A run with inputs trains on the training rows in the order of
// its training set (train_size = P <= train_count: rows 0 .. P - 1, each epoch
// permuted as for Gaussian samples) instead of drawing them.
struct InputSet {
  int N = 0;
  std::size_t train_count = 0;
  std::size_t test_count = 0;
  std::vector<float> train;  // train_count x N, row-major
  std::vector<float> test;   // test_count x N
  // Labels from files (data.inputs.labels: classes mapped to +-1 by a task):
  // one per sample, or both empty when the labels are the teacher's outputs.
  // A run trains on label + sigma zeta (the label noise as for a teacher's
  // label), and the teacher is then unused.
  std::vector<float> train_labels;  // train_count, or empty
  std::vector<float> test_labels;   // test_count, or empty
  std::string source;               // the files, for messages
  // A set described without its rows (experiment/recorded_inputs.h: merge and
  // join read no file, config.json says whether the files have labels): its
  // rows and labels are empty and no engine ever sees it.
  bool described_labels = false;
  bool labelled() const { return described_labels || !train_labels.empty(); }
  const float* train_row(std::size_t i) const { return train.data() + i * std::size_t(N); }
  const float* test_row(std::size_t i) const { return test.data() + i * std::size_t(N); }
};

// Every model and training parameter of one grid point (docs/config.md,
// Sweeps: any scalar under "model" or "training" may be swept).
struct PointParams {
  // model
  Activation teacher_activation = Activation::erf;
  Activation student_activation = Activation::erf;
  int N = 500;
  int M = 2;
  int K = 2;
  TeacherInit teacher_init = TeacherInit::gaussian;
  // Fraction of each teacher row's N weights set to zero (model.teacher_sparsity):
  // round(sparsity * N) of them, chosen per row from the teacher's seed.
  double teacher_sparsity = 0.0;
  // The teacher's seed (seeds.teacher) for every run; empty: the run's seed.
  std::optional<std::uint64_t> teacher_seed;
  // teacher_init file: w* (M x N) and v*; init file: w (K x N) and v.
  std::shared_ptr<const FileWeights> teacher_file;
  std::shared_ptr<const FileWeights> student_file;
  TrainMode train = TrainMode::first_layer;
  double teacher_v = 1.0;
  SecondLayerInit teacher_v_init = SecondLayerInit::uniform;
  double student_v = 1.0;
  SecondLayerInit student_v_init = SecondLayerInit::uniform;
  OutputScaling output_scaling = OutputScaling::none;
  // training
  double lr = 0.1;             // eta_w
  double lr2 = 0.1;            // eta_v (resolved: defaults to lr)
  double sigma = 0.0;          // label noise
  double weight_decay = 0.0;   // kappa_w
  double weight_decay2 = 0.0;  // kappa_v (resolved: defaults to weight_decay)
  int batch_size = 1;
  double alpha = 10.0;  // training time: alpha * N SGD steps
  InitKind init = InitKind::large;
  double init_scale = 1e-3;  // std of "small" init and of the noise of informed/denoise
  // data
  // P (data.train_size): 0 is online learning, a fresh sample every step;
  // else multi-pass SGD over samples 0 .. P - 1 (math/permutation.h: sample_index).
  std::uint64_t train_size = 0;
  // Real inputs (null: Gaussian samples drawn at (seed, sample)); with them
  // train_size is set and at most inputs->train_count.
  std::shared_ptr<const InputSet> inputs;

  std::int64_t total_steps() const;
};

// One run: a grid point and a seed (docs/architecture.md contract 1).
struct RunSpec {
  int point_id = 0;
  std::uint64_t seed = 0;
  PointParams params;
};

// Order parameters of one run: Q = W W^T / N, R = W W*^T / N, T = W* W*^T / N,
// row-major, with the second layers v and v*.
struct OrderParameters {
  int K = 0;
  int M = 0;
  std::vector<double> Q;      // K x K
  std::vector<double> R;      // K x M
  std::vector<double> T;      // M x M
  std::vector<double> v;      // K
  std::vector<double> vstar;  // M

  void resize(int k, int m);
  double q(int i, int j) const { return Q[static_cast<std::size_t>(i) * K + j]; }
  double r(int i, int n) const { return R[static_cast<std::size_t>(i) * M + n]; }
  double t(int n, int m) const { return T[static_cast<std::size_t>(n) * M + m]; }
  bool finite() const;
};

const char* to_string(Activation g);
const char* to_string(TrainMode t);
const char* to_string(InitKind i);
const char* to_string(SecondLayerInit s);
const char* to_string(OutputScaling s);
const char* to_string(TeacherInit t);
const char* to_string(Precision p);

}  // namespace tsgd
