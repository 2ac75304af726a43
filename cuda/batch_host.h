// The host side of a CUDA batch, in plain C++ (no CUDA headers): a batch's
// parameter records and initial weights in the device layout
// (batch_layout.h), and the order parameters and weights of its runs read
// back from that layout. The CUDA engine uploads and downloads these; the
// tests' SIMT emulator (tests/emulated_cuda_engine.cpp) runs the engine's
// kernels on them in host memory.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <limits>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/initial_weights.h"
#include "core/model.h"
#include "core/sgd_constants.h"
#include "cuda/batch_layout.h"

namespace tsgd {

// Runs body(i) for i < count on all host cores; rethrows the first exception.
template <typename Body>
void host_parallel_for(std::size_t count, Body body) {
  const std::size_t workers =
      std::min<std::size_t>(std::max(1u, std::thread::hardware_concurrency()), count);
  std::atomic<std::size_t> next{0};
  std::exception_ptr failure;
  std::mutex failure_mutex;
  auto work = [&] {
    try {
      for (std::size_t i = next++; i < count; i = next++) body(i);
    } catch (...) {
      std::lock_guard<std::mutex> lock(failure_mutex);
      if (!failure) failure = std::current_exception();
      next = count;
    }
  };
  std::vector<std::thread> threads;
  for (std::size_t t = 1; t < workers; ++t) threads.emplace_back(work);
  work();
  for (auto& thread : threads) thread.join();
  if (failure) std::rethrow_exception(failure);
}

// What a CUDA engine checks of a batch before it lets go of the previous one.
inline void check_cuda_batch(const std::vector<RunSpec>& runs) {
  for (const RunSpec& run : runs) {
    const PointParams& p = run.params;
    if (p.N != runs.front().params.N)
      throw std::invalid_argument("cuda engine: all runs of a batch must have the same N");
    if (p.N < 1 || p.K < 1 || p.M < 1 || p.batch_size < 1)
      throw std::invalid_argument("cuda engine: N, K, M and batch_size must be positive");
    // The kernels read rows 0 .. P - 1 of N values: out of bounds otherwise.
    if (p.inputs &&
        (p.inputs->N != p.N || p.train_size < 1 || p.train_size > p.inputs->train_count ||
         (p.inputs->labelled() && p.inputs->train_labels.size() < p.train_size)))
      throw std::invalid_argument(
          "cuda engine: real inputs need N = the rows' length and "
          "1 <= train_size <= the training rows (" +
          p.inputs->source + ")");
  }
  if (runs.size() > static_cast<std::size_t>(std::numeric_limits<int>::max() / 2))
    throw std::invalid_argument("cuda engine: too many runs in one batch");
}

template <typename Real>
struct HostBatch {
  std::vector<RunParams<Real>> params;
  std::vector<Real> weights;  // nruns x units x n
  std::vector<Real> v;        // nruns x units
  // Run r's teacher: the first run of the batch with the same one
  // (same_teacher); the fused path holds a teacher once for the runs of a
  // task (fused_plan.h, plan_fused_tasks).
  std::vector<int> teachers;
  int n = 1, kmax = 0, mmax = 0, units = 0, max_batch = 1;
  bool decay = false;    // some run has weight decay on its first layer
  bool train_v = false;  // some run trains its second layer

  int nruns() const { return static_cast<int>(params.size()); }
  // The host mirror of advance_step_counters (cuda_engine.cu): the runs that
  // are not frozen are `steps` further. The engine calls it right after each
  // enqueue that advances the device's counters (a direct launch or a graph
  // launch; never for a capture, whose host code runs once for every later
  // replay), so that an exception between two launches leaves both counts
  // equal.
  void count_steps(std::int64_t steps) {
    for (RunParams<Real>& p : params)
      if (!p.frozen) p.step += steps;
  }
  // The layout over this batch's own (host) memory, drawing with TRANSFORM.
  BatchLayout<Real> layout(RngTransform transform) {
    return BatchLayout<Real>{params.data(), weights.data(), v.data(), nruns(), n,
                             units,         kmax,           transform};
  }
};

// Whether runs a and b of a batch have the same teacher: M, g* and the
// teacher's weights (w* and v*) bit for bit. Compared rather than derived from
// the configuration, so that whatever sets a teacher, runs share it only when
// it is the same (grid points of one seed differing in K, lr, sigma, decay).
template <typename Real>
bool same_teacher(const HostBatch<Real>& batch, int a, int b) {
  const SgdConstants<Real>& ca = batch.params[a].c;
  const SgdConstants<Real>& cb = batch.params[b].c;
  if (batch.params[a].seed != batch.params[b].seed || ca.M != cb.M || ca.teacher != cb.teacher)
    return false;
  const std::size_t n = static_cast<std::size_t>(batch.n), units = batch.units;
  const std::size_t m = static_cast<std::size_t>(ca.M), kmax = batch.kmax;
  auto same = [](const Real* x, const Real* y, std::size_t count) {
    return std::memcmp(x, y, count * sizeof(Real)) == 0;
  };
  return same(&batch.weights[(a * units + kmax) * n], &batch.weights[(b * units + kmax) * n],
              m * n) &&
         same(&batch.v[a * units + kmax], &batch.v[b * units + kmax], m);
}

// HostBatch::teachers: for each run, the first run with the same teacher.
template <typename Real>
std::vector<int> shared_teachers(const HostBatch<Real>& batch) {
  std::vector<int> teachers(batch.params.size());
  std::map<std::uint64_t, std::vector<int>> own;  // seed -> runs whose teacher came first
  for (int r = 0; r < batch.nruns(); ++r) {
    std::vector<int>& firsts = own[batch.params[r].seed];
    const auto found = std::find_if(firsts.begin(), firsts.end(),
                                    [&](int f) { return same_teacher(batch, f, r); });
    teachers[r] = found == firsts.end() ? r : *found;
    if (found == firsts.end()) firsts.push_back(r);
  }
  return teachers;
}

// Every run of a checked batch built from its identity: step 0, not frozen,
// initial weights from `initial` (on all host cores) rounded once to Real.
template <typename Real>
HostBatch<Real> prepare_host_batch(const std::vector<RunSpec>& runs) {
  HostBatch<Real> batch;
  batch.n = runs.empty() ? 1 : runs.front().params.N;
  for (const RunSpec& run : runs) {
    RunParams<Real> params;
    params.c = sgd_constants<Real>(run.params);
    params.seed = run.seed;
    params.step = 0;
    params.train_size = run.params.train_size;
    // Host memory (the emulator reads it there); the CUDA engine points these
    // at its device copies (device_inputs.cuh).
    const InputSet* inputs = run.params.inputs.get();
    params.inputs = inputs ? inputs->train.data() : nullptr;
    params.labels = inputs && inputs->labelled() ? inputs->train_labels.data() : nullptr;
    params.batch = run.params.batch_size;
    params.train_v = run.params.train == TrainMode::both_layers;
    params.frozen = 0;
    batch.params.push_back(params);
    batch.kmax = std::max(batch.kmax, run.params.K);
    batch.mmax = std::max(batch.mmax, run.params.M);
    batch.max_batch = std::max(batch.max_batch, run.params.batch_size);
    batch.decay = batch.decay || params.c.w_keep != Real(1);
    batch.train_v = batch.train_v || params.train_v;
  }
  batch.units = batch.kmax + batch.mmax;

  const std::size_t n = static_cast<std::size_t>(batch.n);
  const std::size_t units = static_cast<std::size_t>(batch.units);
  const std::size_t run_weights = units * n;
  batch.weights.assign(runs.size() * run_weights, Real(0));
  batch.v.assign(runs.size() * units, Real(0));
  host_parallel_for(runs.size(), [&](std::size_t r) {
    const InitialWeights start = initial_weights(runs[r]);
    const std::size_t k_count = runs[r].params.K, m_count = runs[r].params.M;
    Real* const w = batch.weights.data() + r * run_weights;
    for (std::size_t i = 0; i < k_count * n; ++i) w[i] = static_cast<Real>(start.w[i]);
    Real* const wstar = w + static_cast<std::size_t>(batch.kmax) * n;
    for (std::size_t i = 0; i < m_count * n; ++i) wstar[i] = static_cast<Real>(start.wstar[i]);
    Real* const v = batch.v.data() + r * units;
    for (std::size_t k = 0; k < k_count; ++k) v[k] = static_cast<Real>(start.v[k]);
    for (std::size_t m = 0; m < m_count; ++m) v[batch.kmax + m] = static_cast<Real>(start.vstar[m]);
  });
  batch.teachers = shared_teachers(batch);
  return batch;
}

// Q, R, T, v, v* of every run from the Gram matrices of its rows (units x
// units per run, rows in the layout's order, already divided by N) and the
// second-layer weights (units per run).
template <typename Real>
void order_parameters_from_gram(const std::vector<RunParams<Real>>& params, int units, int kmax,
                                const double* gram, const Real* v,
                                std::vector<OrderParameters>& out) {
  out.resize(params.size());
  const std::size_t run_gram = static_cast<std::size_t>(units) * units;
  for (std::size_t r = 0; r < params.size(); ++r) {
    const int k_count = params[r].c.K, m_count = params[r].c.M;
    const double* const g = gram + r * run_gram;
    const Real* const run_v = v + r * units;
    const auto at = [&](int a, int b) { return g[a * units + b]; };
    OrderParameters& op = out[r];
    op.K = k_count;
    op.M = m_count;
    op.Q.resize(static_cast<std::size_t>(k_count) * k_count);
    op.R.resize(static_cast<std::size_t>(k_count) * m_count);
    op.T.resize(static_cast<std::size_t>(m_count) * m_count);
    op.v.resize(k_count);
    op.vstar.resize(m_count);
    for (int i = 0; i < k_count; ++i) {
      for (int k = 0; k < k_count; ++k) op.Q[i * k_count + k] = at(i, k);
      for (int m = 0; m < m_count; ++m) op.R[i * m_count + m] = at(i, kmax + m);
      op.v[i] = static_cast<double>(run_v[i]);
    }
    for (int a = 0; a < m_count; ++a) {
      for (int b = 0; b < m_count; ++b) op.T[a * m_count + b] = at(kmax + a, kmax + b);
      op.vstar[a] = static_cast<double>(run_v[kmax + a]);
    }
  }
}

// One run's weights (its units x n rows and units second-layer weights in the
// layout) in the layout of InitialWeights, promoted to double.
template <typename Real>
InitialWeights run_weights_from_layout(const RunParams<Real>& params, int n, int kmax,
                                       const Real* w, const Real* v) {
  const std::size_t rows_k = static_cast<std::size_t>(params.c.K) * n;
  const std::size_t rows_m = static_cast<std::size_t>(params.c.M) * n;
  const Real* const wstar = w + static_cast<std::size_t>(kmax) * n;
  InitialWeights out;
  out.w.assign(w, w + rows_k);
  out.wstar.assign(wstar, wstar + rows_m);
  out.v.assign(v, v + params.c.K);
  out.vstar.assign(v + kmax, v + kmax + params.c.M);
  return out;
}

// The inverse of run_weights_from_layout for the student: W's K x n rows
// and K second-layer weights (double, as run_weights_from_layout handed them
// back, so exact in Real) into a run's rows W_OUT and V_OUT of the layout; the
// teacher's rows and the padding rows past K are left as they are (resume).
template <typename Real>
void student_weights_to_layout(const RunParams<Real>& params, int n, const InitialWeights& in,
                               Real* w_out, Real* v_out) {
  const std::size_t rows_k = static_cast<std::size_t>(params.c.K) * n;
  if (in.w.size() != rows_k || in.v.size() != static_cast<std::size_t>(params.c.K))
    throw std::invalid_argument("cuda engine: resume with weights of another shape");
  for (std::size_t i = 0; i < rows_k; ++i) w_out[i] = static_cast<Real>(in.w[i]);
  for (int k = 0; k < params.c.K; ++k) v_out[k] = static_cast<Real>(in.v[k]);
}

// Resume's host side: every run's student weights written into the layout
// arrays W (nruns x units x n) and V (nruns x units), and its step counter
// and frozen flag set. The CUDA engine runs it on a host copy of the weights.
template <typename Real>
void resume_host_batch(HostBatch<Real>& batch, std::int64_t step,
                       const std::vector<InitialWeights>& weights, const std::vector<char>& frozen,
                       Real* w, Real* v) {
  if (weights.size() != batch.params.size() || frozen.size() != batch.params.size() || step < 0)
    throw std::invalid_argument("cuda engine: resume of another batch");
  const std::size_t run_weights = static_cast<std::size_t>(batch.units) * batch.n;
  for (std::size_t r = 0; r < batch.params.size(); ++r) {
    student_weights_to_layout(batch.params[r], batch.n, weights[r], w + r * run_weights,
                              v + r * batch.units);
    batch.params[r].step = step;
    batch.params[r].frozen = frozen[r] != 0 ? 1 : 0;
  }
}

}  // namespace tsgd
