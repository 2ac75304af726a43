// Real-input sets for the engine tests (core/model.h: InputSet): rows of
// standard Gaussians from std::mt19937_64 (a stream of its own, not the
// engines' counter-based draws), with or without +-1 labels.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/model.h"
#include "core/training_error.h"

namespace tsgd::testing {

inline std::shared_ptr<InputSet> random_input_set(int n, std::size_t rows, std::uint64_t seed,
                                                  bool labelled) {
  auto set = std::make_shared<InputSet>();
  set->N = n;
  set->train_count = rows;
  set->source = "random set " + std::to_string(seed);
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> gauss(0.0f, 1.0f);
  set->train.resize(rows * static_cast<std::size_t>(n));
  for (float& x : set->train) x = gauss(rng);
  if (labelled) {
    set->train_labels.resize(rows);
    for (float& y : set->train_labels) y = (rng() & 1u) ? 1.0f : -1.0f;
  }
  return set;
}

// Rows that are SEED's own input draws (exact transform) of samples 0 ..
// train + test - 1, times SCALE: the first TRAIN the training rows, the rest
// the test rows; with LABEL, each row's label is LABEL(row).
inline std::shared_ptr<InputSet> drawn_input_set(
    std::uint64_t seed, int n, std::size_t train, std::size_t test, float scale = 1.0f,
    const std::function<float(const float*)>& label = nullptr) {
  auto set = std::make_shared<InputSet>();
  set->N = n;
  set->train_count = train;
  set->test_count = test;
  std::vector<float> x((n + 3) / 4 * 4);
  for (std::size_t i = 0; i < train + test; ++i) {
    draw_input_blocks(seed, i, n, x.data(), RngTransform::exact);
    for (int j = 0; j < n; ++j) x[j] *= scale;
    auto& rows = i < train ? set->train : set->test;
    rows.insert(rows.end(), x.begin(), x.begin() + n);
    if (label) (i < train ? set->train_labels : set->test_labels).push_back(label(x.data()));
  }
  return set;
}

// Two runs of SEED on P = ROWS samples of INPUTS (null: Gaussian) of
// dimension N: K = 2 and 3 (point ids 2 and 3), M = 2, eta = eta_2 = 0.5,
// sigma = 0.1; the K = 3 run trains TRAIN_K3.
inline std::vector<RunSpec> two_runs_on(std::uint64_t seed, int n, std::uint64_t rows,
                                        std::shared_ptr<const InputSet> inputs,
                                        TrainMode train_k3 = TrainMode::first_layer) {
  std::vector<RunSpec> out;
  for (int K : {2, 3}) {
    RunSpec r;
    r.point_id = K;
    r.seed = seed;
    r.params.N = n;
    r.params.K = K;
    r.params.M = 2;
    r.params.lr = 0.5;
    r.params.lr2 = 0.5;
    r.params.sigma = 0.1;
    r.params.train = K == 3 ? train_k3 : TrainMode::first_layer;
    r.params.train_size = rows;
    r.params.inputs = inputs;
    out.push_back(r);
  }
  return out;
}

// Runs of N = 133 on data set A (labelled) and B (unlabelled), both of
// kInputRows rows, beside Gaussian runs (one on P = kInputTrainSize samples,
// one online); the runs on A of seed 500 (runs 0, 1, 6) share a fused task,
// run 2 (set B) has the same seed and P but another task, run 5 is on A with
// mini-batches of 3 and no noise. Mini-batches, both training modes, label
// noise, weight decay, erf and ReLU students: the shapes of the emulated and
// GPU tests (tests/cuda/test_emulated_inputs.cpp, test_cuda_inputs.cpp).
constexpr std::size_t kInputRows = 11;
constexpr std::uint64_t kInputTrainSize = 7;  // < kInputRows: rows past P never read
inline std::vector<RunSpec> input_runs(const std::shared_ptr<const InputSet>& a,
                                       const std::shared_ptr<const InputSet>& b) {
  struct Shape {
    std::uint64_t seed;
    int K, M, B;
    int set;  // 0: A, 1: B, 2: Gaussian on P samples, 3: online
    bool both;
    double sigma, decay;
    Activation student;
  };
  const Shape shapes[] = {{500, 2, 1, 1, 0, false, 0.1, 0.0, Activation::erf},
                          {500, 3, 2, 1, 0, true, 0.1, 0.0, Activation::erf},
                          {500, 2, 2, 2, 1, false, 0.2, 0.2, Activation::erf},
                          {501, 1, 1, 1, 2, true, 0.1, 0.0, Activation::erf},
                          {502, 2, 1, 1, 3, false, 0.1, 0.0, Activation::erf},
                          {503, 2, 2, 3, 0, true, 0.0, 0.1, Activation::relu},
                          {500, 2, 1, 1, 0, false, 0.3, 0.0, Activation::erf}};
  std::vector<RunSpec> runs;
  for (const Shape& s : shapes) {
    RunSpec r;
    r.point_id = static_cast<int>(runs.size());
    r.seed = s.seed;
    r.params.N = 133;
    r.params.K = s.K;
    r.params.M = s.M;
    r.params.batch_size = s.B;
    r.params.train = s.both ? TrainMode::both_layers : TrainMode::first_layer;
    r.params.student_activation = s.student;
    r.params.lr = 0.2 + 0.1 * static_cast<double>(runs.size() % 3);
    r.params.lr2 = 0.1;
    r.params.sigma = s.sigma;
    r.params.weight_decay = s.decay;
    r.params.train_size = s.set == 3 ? 0 : kInputTrainSize;
    r.params.inputs = s.set == 0 ? a : (s.set == 1 ? b : nullptr);
    runs.push_back(r);
  }
  return runs;
}

}  // namespace tsgd::testing
