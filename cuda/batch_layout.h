// How a batch of runs lives on the device, shared by both SGD paths and the
// order-parameter code. Plain C++ (no CUDA headers): the host code that
// prepares a batch and the SIMT emulator of the tests read it too.
//
// Every run owns `units` = Kmax + Mmax rows of N weights, Kmax and Mmax the
// largest K and M of the batch: student k at row k, teacher m at row
// teacher_offset + m (teacher_offset = Kmax); rows a run does not use are
// zero and stay zero. The second-layer weights follow the same rows
// (v_k, then v*_m). So one run's weights are a (units x N) row-major matrix,
// i.e. an (N x units) column-major one, and its Gram matrix W W^T / N holds
// Q, R and T (order_parameters.cuh).
#pragma once

#include <cstdint>

#include "math/gaussian.h"
#include "math/sgd_update.h"

namespace tsgd {

// One run's parameters, read by the kernels. Host-filled at load; `step` and
// `frozen` change on the device (step) or by a small copy (freeze).
template <typename Real>
struct RunParams {
  SgdConstants<Real> c;
  std::uint64_t seed;
  std::int64_t step;  // SGD steps done; step t uses samples mu = t B + b
  // P (0: online): sample counter mu draws training sample sample_index(seed, P, mu)
  // (math/permutation.h).
  std::uint64_t train_size;
  // Real inputs (PointParams::inputs): training sample i is row i of these
  // train_count x n floats (InputSet::train, where the engine's kernels read
  // it: device memory on a GPU, shared by the runs of the set), converted to
  // Real as the CPU engine converts it; null: drawn at (seed, i).
  const float* inputs;
  // Labels from files (InputSet::train_labels, beside `inputs`): sample i's
  // label is labels[i] + sigma zeta_i, the teacher unused; null: the teacher's.
  const float* labels;
  int batch;    // B
  int train_v;  // 1 when the second layer is trained
  int frozen;   // 1: never moves again
};

template <typename Real>
struct BatchLayout {
  RunParams<Real>* runs;  // nruns
  Real* weights;          // nruns x units x n
  Real* v;                // nruns x units
  int nruns;
  int n;
  int units;           // rows per run
  int teacher_offset;  // row of teacher 0 (= Kmax)
  // The Gaussian transform of every run's inputs and label noise (the
  // engine's, math/gaussian.h): a kernel parameter, uniform over a launch.
  RngTransform rng_transform;
};

}  // namespace tsgd
