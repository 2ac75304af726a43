// The CUDA engine: host side of both SGD paths (fused_sgd.cuh, cublas_sgd.cuh)
// behind the Engine interface. Same semantics as the CPU engine: load builds
// every run from its identity (initial weights computed on the host, so both
// engines start from the same numbers), advance moves every run that is not
// frozen, order_parameters hands back Q, R, T, v, v* in double.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <limits>
#include <mutex>
#include <numeric>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "batch_layout.cuh"
#include "cublas_sgd.cuh"
#include "cuda_check.cuh"
#include "cuda_engine.h"
#include "device_buffer.cuh"
#include "fused_sgd.cuh"
#include "sgd_constants.h"
#include "order_parameters.cuh"

namespace tsgd {

namespace {

template <typename Real>
__global__ void advance_step_counters_kernel(RunParams<Real>* runs, int nruns, std::int64_t steps) {
  const int run = blockIdx.x * blockDim.x + threadIdx.x;
  if (run < nruns && !runs[run].frozen) runs[run].step += steps;
}

}  // namespace

template <typename Real>
void advance_step_counters(RunParams<Real>* runs, int nruns, std::int64_t steps,
                           cudaStream_t stream) {
  if (nruns == 0 || steps == 0) return;
  advance_step_counters_kernel<<<(nruns + 255) / 256, 256, 0, stream>>>(runs, nruns, steps);
  TSGD_CUDA_CHECK_LAUNCH("advance_step_counters_kernel");
}

namespace {

// cuda_bytes_per_run (cuda_engine.h) counts 256 bytes for a run's parameters.
static_assert(sizeof(RunParams<double>) <= 256, "update cuda_bytes_per_run");

// cuBLAS's own recommendation for Hopper; owned so graph capture never allocates.
constexpr std::size_t kCublasWorkspaceBytes = 32u << 20;
// Steps per CUDA graph of the cuBLAS path (each step is 4 or 5 nodes).
constexpr std::int64_t kGraphSteps = 32;
// Automatic path choice: the fused path redraws the inputs for B > 1, so
// beyond a few samples per step the GEMMs of the cuBLAS path win.
constexpr int kFusedAutoMaxBatch = 8;
// Fused path: block-steps per kernel launch (of blocks of N = 784, B = 1;
// scaled by N B) when CudaOptions does not say: a launch of 16896 such tasks
// does ~1000 steps, ~30 ms at 6e8 run-steps/s.
constexpr std::int64_t kFusedBlockStepsPerLaunch = std::int64_t{1} << 24;
// Shared memory a block may use without opting in.
constexpr std::size_t kDefaultSharedLimit = 48u << 10;

int use_device(int device) {
  TSGD_CUDA_CHECK(cudaSetDevice(device));
  return device;
}

// Runs body(i) for i < count on all host cores; rethrows the first exception.
template <typename Body>
void parallel_for(std::size_t count, Body body) {
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

template <typename Real>
class CudaEngineImpl final : public CudaEngine {
 public:
  CudaEngineImpl(const CudaOptions& options, detail::InitialWeightsFn initial_weights)
      : options_(options),
        initial_weights_(initial_weights),
        device_(use_device(options.device)),
        cublas_(stream_.get(), kCublasWorkspaceBytes) {}

  ~CudaEngineImpl() override {
    cudaSetDevice(device_);
    // No kernel outlives the buffers it uses (the class streams are joined to
    // stream_, unless a launch failed between fork and join).
    for (const CudaStream& side : class_streams_) cudaStreamSynchronize(side.get());
    cudaStreamSynchronize(stream_.get());
  }

  std::string name() const override { return "cuda"; }
  Precision precision() const override {
    return sizeof(Real) == 4 ? Precision::float32 : Precision::float64;
  }

  void load(const std::vector<RunSpec>& runs) override;
  void advance(std::int64_t steps) override;
  void order_parameters(std::vector<OrderParameters>& out) override;
  void freeze(std::size_t index) override;
  CudaPath path() const override { return fused_ ? CudaPath::fused : CudaPath::cublas; }
  InitialWeights weights(std::size_t index) override;
  double timed_advance(std::int64_t steps) override {
    use_device(device_);
    CudaEvent start, stop;
    start.record(stream_.get());
    advance(steps);
    stop.record(stream_.get());
    stop.synchronize();
    return 1e-3 * stop.milliseconds_since(start);
  }

 private:
  int nruns() const { return static_cast<int>(params_.size()); }
  BatchLayout<Real> layout() {
    return BatchLayout<Real>{runs_.data(), weights_.data(), v_.data(), nruns(), n_, units_, kmax_};
  }
  CublasWorkspace<Real> workspace() {
    return CublasWorkspace<Real>{x_.data(), fields_.data(), coef_.data(), dv_.data(),
                                 max_batch_, kmax_,         decay_,       train_v_};
  }
  void release_batch();
  void load_batch(const std::vector<RunSpec>& runs);
  bool fits_fused() const;
  void build_fused_tasks();
  void advance_fused(std::int64_t steps);
  void advance_cublas(std::int64_t steps);
  void cublas_steps(std::int64_t count);

  const CudaOptions options_;
  const detail::InitialWeightsFn initial_weights_;
  const int device_;
  CudaStream stream_;
  CublasHandle cublas_;

  // The batch (host mirror of the device parameters; steps advance on both).
  std::vector<RunParams<Real>> params_;
  int n_ = 0, kmax_ = 0, mmax_ = 0, units_ = 0, max_batch_ = 1;
  bool decay_ = false;
  bool train_v_ = false;
  bool fused_ = true;
  DeviceBuffer<RunParams<Real>> runs_;
  DeviceBuffer<Real> weights_;  // nruns x units x n (batch_layout.cuh)
  DeviceBuffer<Real> v_;        // nruns x units
  DeviceBuffer<double> gram_;   // nruns x units x units, on first use

  // Fused path: tasks grouped by row class 4, 8, 16 (rebuilt after load and freeze).
  bool tasks_stale_ = true;
  DeviceBuffer<FusedTask> tasks_;
  DeviceBuffer<int> task_runs_;
  int class_first_[3] = {0, 0, 0};
  int class_count_[3] = {0, 0, 0};
  // A launch per row class; when there are several, each on a stream of its
  // own (forked from and joined back to stream_), so that small classes run
  // side by side instead of one after the other.
  CudaStream class_streams_[3];
  CudaEvent fork_;
  CudaEvent class_done_[3];

  // cuBLAS path.
  DeviceBuffer<Real> x_, fields_, coef_, dv_;
  CudaGraphExec graph_;  // kGraphSteps steps, captured on first use after load
};

template <typename Real>
void CudaEngineImpl<Real>::load(const std::vector<RunSpec>& runs) {
  use_device(device_);
  stream_.synchronize();
  for (const RunSpec& run : runs) {
    const PointParams& p = run.params;
    if (p.N != runs.front().params.N)
      throw std::invalid_argument("cuda engine: all runs of a batch must have the same N");
    if (p.N < 1 || p.K < 1 || p.M < 1 || p.batch_size < 1)
      throw std::invalid_argument("cuda engine: N, K, M and batch_size must be positive");
  }
  if (runs.size() > static_cast<std::size_t>(std::numeric_limits<int>::max() / 2))
    throw std::invalid_argument("cuda engine: too many runs in one batch");

  // The previous batch goes first; a load that fails leaves an empty batch.
  release_batch();
  try {
    load_batch(runs);
  } catch (...) {
    release_batch();
    throw;
  }
}

template <typename Real>
void CudaEngineImpl<Real>::release_batch() {
  params_.clear();
  graph_ = CudaGraphExec();
  runs_ = DeviceBuffer<RunParams<Real>>();
  weights_ = DeviceBuffer<Real>();
  v_ = DeviceBuffer<Real>();
  gram_ = DeviceBuffer<double>();
  x_ = DeviceBuffer<Real>();
  fields_ = DeviceBuffer<Real>();
  coef_ = DeviceBuffer<Real>();
  dv_ = DeviceBuffer<Real>();
  tasks_ = DeviceBuffer<FusedTask>();
  task_runs_ = DeviceBuffer<int>();
  tasks_stale_ = true;
}

template <typename Real>
void CudaEngineImpl<Real>::load_batch(const std::vector<RunSpec>& runs) {
  n_ = runs.empty() ? 1 : runs.front().params.N;
  kmax_ = mmax_ = 0;
  max_batch_ = 1;
  decay_ = false;
  train_v_ = false;
  for (const RunSpec& run : runs) {
    RunParams<Real> params;
    params.c = sgd_constants<Real>(run.params);
    params.seed = run.seed;
    params.step = 0;
    params.batch = run.params.batch_size;
    params.train_v = run.params.train == TrainMode::both_layers;
    params.frozen = 0;
    params_.push_back(params);
    kmax_ = std::max(kmax_, run.params.K);
    mmax_ = std::max(mmax_, run.params.M);
    max_batch_ = std::max(max_batch_, run.params.batch_size);
    decay_ = decay_ || params.c.w_keep != Real(1);
    train_v_ = train_v_ || params.train_v;
  }
  units_ = kmax_ + mmax_;

  const bool fits = fits_fused();
  switch (options_.path) {
    case CudaPath::fused:
      if (!fits)
        throw std::invalid_argument(
            "cuda engine: the fused path holds N <= " + std::to_string(kFusedMaxN) +
            ", K + M <= " + std::to_string(fused_max_rows<Real>()) +
            " and batch_size <= " + std::to_string(kFusedMaxBatch) + "; use the cublas path");
      fused_ = true;
      break;
    case CudaPath::cublas:
      fused_ = false;
      break;
    case CudaPath::automatic:
      fused_ = fits && max_batch_ <= kFusedAutoMaxBatch;
      break;
  }

  // Initial weights on the host (initial_weights.h), in the device layout.
  const std::size_t run_weights = static_cast<std::size_t>(units_) * n_;
  std::vector<Real> host_weights(runs.size() * run_weights, Real(0));
  std::vector<Real> host_v(runs.size() * units_, Real(0));
  parallel_for(runs.size(), [&](std::size_t r) {
    const InitialWeights initial = initial_weights_(runs[r]);
    const int k_count = runs[r].params.K, m_count = runs[r].params.M;
    Real* const w = host_weights.data() + r * run_weights;
    for (std::size_t i = 0; i < static_cast<std::size_t>(k_count) * n_; ++i)
      w[i] = static_cast<Real>(initial.w[i]);
    Real* const wstar = w + static_cast<std::size_t>(kmax_) * n_;
    for (std::size_t i = 0; i < static_cast<std::size_t>(m_count) * n_; ++i)
      wstar[i] = static_cast<Real>(initial.wstar[i]);
    for (int k = 0; k < k_count; ++k) host_v[r * units_ + k] = static_cast<Real>(initial.v[k]);
    for (int m = 0; m < m_count; ++m)
      host_v[r * units_ + kmax_ + m] = static_cast<Real>(initial.vstar[m]);
  });

  runs_ = DeviceBuffer<RunParams<Real>>(params_.size());
  weights_ = DeviceBuffer<Real>(host_weights.size());
  v_ = DeviceBuffer<Real>(host_v.size());
  runs_.upload_async(params_.data(), stream_.get());
  weights_.upload_async(host_weights.data(), stream_.get());
  v_.upload_async(host_v.data(), stream_.get());
  if (!fused_ && !runs.empty()) {
    x_ = DeviceBuffer<Real>(runs.size() * max_batch_ * n_);
    fields_ = DeviceBuffer<Real>(runs.size() * max_batch_ * units_);
    coef_ = DeviceBuffer<Real>(runs.size() * max_batch_ * kmax_);
    dv_ = DeviceBuffer<Real>(runs.size() * max_batch_ * kmax_);
    x_.zero_async(stream_.get());  // sample rows past a run's own B stay zero
  }
  stream_.synchronize();  // the host vectors die here
}

template <typename Real>
bool CudaEngineImpl<Real>::fits_fused() const {
  if (n_ > kFusedMaxN || max_batch_ > kFusedMaxBatch) return false;
  for (const RunParams<Real>& params : params_)
    if (params.c.K + params.c.M > fused_max_rows<Real>()) return false;
  return fused_shared_bytes<Real>(n_, max_batch_, fused_max_rows<Real>()) <= kDefaultSharedLimit;
}

template <typename Real>
void CudaEngineImpl<Real>::advance(std::int64_t steps) {
  if (steps < 0) throw std::invalid_argument("cuda engine: advance by a negative number of steps");
  if (steps == 0 || params_.empty()) return;
  use_device(device_);
  if (fused_) {
    advance_fused(steps);
  } else {
    advance_cublas(steps);
  }
  for (RunParams<Real>& params : params_)
    if (!params.frozen) params.step += steps;
}

// Tasks: runs that share seed, batch size and step counter (so they see the
// same inputs) packed greedily into blocks of at most fused_max_rows rows.
// Without grouping, each run is its own task.
template <typename Real>
void CudaEngineImpl<Real>::build_fused_tasks() {
  std::vector<int> order;
  for (int r = 0; r < nruns(); ++r)
    if (!params_[r].frozen) order.push_back(r);
  auto key = [this](int r) {
    return std::make_tuple(params_[r].seed, params_[r].batch, params_[r].step);
  };
  if (options_.group_by_seed)
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return key(a) < key(b); });

  std::vector<FusedTask> by_class[3];
  int task_rows = 0;
  FusedTask task{0, 0};
  auto close_task = [&] {
    if (task.count == 0) return;
    const int row_class = fused_row_class(task_rows);
    by_class[row_class == 4 ? 0 : (row_class == 8 ? 1 : 2)].push_back(task);
  };
  for (std::size_t i = 0; i < order.size(); ++i) {
    const int r = order[i];
    const int rows = params_[r].c.K + params_[r].c.M;
    const bool joins =
        options_.group_by_seed && task.count > 0 && key(order[task.first]) == key(r) &&
        task_rows + rows <= fused_max_rows<Real>() && task.count < kFusedMaxRunsPerTask;
    if (!joins) {
      close_task();
      task = FusedTask{static_cast<int>(i), 0};
      task_rows = 0;
    }
    ++task.count;
    task_rows += rows;
  }
  close_task();

  std::vector<FusedTask> tasks;
  for (int c = 0; c < 3; ++c) {
    class_first_[c] = static_cast<int>(tasks.size());
    class_count_[c] = static_cast<int>(by_class[c].size());
    tasks.insert(tasks.end(), by_class[c].begin(), by_class[c].end());
  }
  tasks_ = DeviceBuffer<FusedTask>(tasks.size());
  task_runs_ = DeviceBuffer<int>(order.size());
  tasks_.upload_async(tasks.data(), stream_.get());
  task_runs_.upload_async(order.data(), stream_.get());
  stream_.synchronize();  // the host vectors die here
  tasks_stale_ = false;
}

template <typename Real>
void CudaEngineImpl<Real>::advance_fused(std::int64_t steps) {
  if (tasks_stale_) build_fused_tasks();
  const int ntasks = class_count_[0] + class_count_[1] + class_count_[2];
  if (ntasks == 0) {
    advance_step_counters(runs_.data(), nruns(), steps, stream_.get());
    return;
  }
  std::int64_t per_launch = options_.fused_steps_per_launch;
  if (per_launch <= 0) {
    // Work of one launch-step: every task's B samples of N coordinates (the
    // draws and dot products dominate), against the reference shape N = 784, B = 1.
    const double step_work = static_cast<double>(ntasks) * max_batch_ * n_ / 784.0;
    per_launch = static_cast<std::int64_t>(
        std::clamp(static_cast<double>(kFusedBlockStepsPerLaunch) / step_work, 16.0, 4096.0));
  }
  constexpr int kRowClass[3] = {4, 8, 16};
  const int classes = (class_count_[0] > 0) + (class_count_[1] > 0) + (class_count_[2] > 0);
  for (std::int64_t done = 0; done < steps; done += per_launch) {
    const std::int64_t chunk = std::min(per_launch, steps - done);
    if (classes > 1) fork_.record(stream_.get());
    for (int c = 0; c < 3; ++c) {
      if (class_count_[c] == 0) continue;
      FusedArgs<Real> args{layout(), tasks_.data() + class_first_[c], task_runs_.data(), max_batch_,
                           chunk};
      if (classes == 1) {
        fused_sgd(args, class_count_[c], kRowClass[c], stream_.get());
        continue;
      }
      // The classes advance disjoint runs: side by side, then joined.
      fork_.make_wait(class_streams_[c].get());
      fused_sgd(args, class_count_[c], kRowClass[c], class_streams_[c].get());
      class_done_[c].record(class_streams_[c].get());
      class_done_[c].make_wait(stream_.get());
    }
    // The kernels read each task's first step from the device counters.
    advance_step_counters(runs_.data(), nruns(), chunk, stream_.get());
  }
}

// `count` steps launched one by one, then the runs' step counters.
template <typename Real>
void CudaEngineImpl<Real>::cublas_steps(std::int64_t count) {
  if (count == 0) return;
  const BatchLayout<Real> batch = layout();
  const CublasWorkspace<Real> work = workspace();
  for (std::int64_t t = 0; t < count; ++t)
    cublas_sgd_step(cublas_.get(), batch, work, t, stream_.get());
  advance_step_counters(runs_.data(), nruns(), count, stream_.get());
}

template <typename Real>
void CudaEngineImpl<Real>::advance_cublas(std::int64_t steps) {
  std::int64_t direct = steps;
  if (options_.use_graph && steps >= kGraphSteps) {
    if (graph_.empty()) {
      // The graph reads every step from the runs' device step counters and
      // advances them itself, so one capture serves every later launch.
      TSGD_CUDA_CHECK(cudaStreamBeginCapture(stream_.get(), cudaStreamCaptureModeThreadLocal));
      try {
        cublas_steps(kGraphSteps);
      } catch (...) {
        cudaGraph_t broken = nullptr;
        cudaStreamEndCapture(stream_.get(), &broken);
        if (broken != nullptr) cudaGraphDestroy(broken);
        throw;
      }
      cudaGraph_t captured = nullptr;
      TSGD_CUDA_CHECK(cudaStreamEndCapture(stream_.get(), &captured));
      const CudaGraph owner(captured);
      graph_ = CudaGraphExec(owner.get());
    }
    for (std::int64_t i = 0; i < steps / kGraphSteps; ++i) graph_.launch(stream_.get());
    direct = steps % kGraphSteps;
  }
  cublas_steps(direct);
}

template <typename Real>
void CudaEngineImpl<Real>::order_parameters(std::vector<OrderParameters>& out) {
  out.resize(params_.size());
  if (params_.empty()) return;
  use_device(device_);
  const std::size_t run_gram = static_cast<std::size_t>(units_) * units_;
  if (gram_.size() != params_.size() * run_gram) {
    gram_ = DeviceBuffer<double>(params_.size() * run_gram);
    gram_.zero_async(stream_.get());  // every entry is written below; zeroed for initcheck
  }
  gram_matrices(layout(), gram_.data(), stream_.get());
  std::vector<double> gram(gram_.size());
  std::vector<Real> v(v_.size());
  gram_.download_async(gram.data(), stream_.get());
  v_.download_async(v.data(), stream_.get());
  stream_.synchronize();

  for (std::size_t r = 0; r < params_.size(); ++r) {
    const int k_count = params_[r].c.K, m_count = params_[r].c.M;
    const double* const g = gram.data() + r * run_gram;
    const auto at = [&](int a, int b) { return g[a * units_ + b]; };
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
      for (int m = 0; m < m_count; ++m) op.R[i * m_count + m] = at(i, kmax_ + m);
      op.v[i] = static_cast<double>(v[r * units_ + i]);
    }
    for (int a = 0; a < m_count; ++a) {
      for (int b = 0; b < m_count; ++b) op.T[a * m_count + b] = at(kmax_ + a, kmax_ + b);
      op.vstar[a] = static_cast<double>(v[r * units_ + kmax_ + a]);
    }
  }
}

template <typename Real>
void CudaEngineImpl<Real>::freeze(std::size_t index) {
  if (index >= params_.size())
    throw std::out_of_range("cuda engine: freeze of a run not in the batch");
  if (params_[index].frozen) return;
  use_device(device_);
  params_[index].frozen = 1;
  // Only the flag: the device's step counter of this run is the current one.
  TSGD_CUDA_CHECK(cudaMemcpyAsync(&runs_.data()[index].frozen, &params_[index].frozen, sizeof(int),
                                  cudaMemcpyHostToDevice, stream_.get()));
  stream_.synchronize();
  tasks_stale_ = true;
}

template <typename Real>
InitialWeights CudaEngineImpl<Real>::weights(std::size_t index) {
  if (index >= params_.size())
    throw std::out_of_range("cuda engine: weights of a run not in the batch");
  use_device(device_);
  const std::size_t run_weights = static_cast<std::size_t>(units_) * n_;
  std::vector<Real> w(run_weights), v(units_);
  TSGD_CUDA_CHECK(cudaMemcpyAsync(w.data(), weights_.data() + index * run_weights,
                                  run_weights * sizeof(Real), cudaMemcpyDeviceToHost,
                                  stream_.get()));
  TSGD_CUDA_CHECK(cudaMemcpyAsync(v.data(), v_.data() + index * units_, units_ * sizeof(Real),
                                  cudaMemcpyDeviceToHost, stream_.get()));
  stream_.synchronize();
  const int k_count = params_[index].c.K, m_count = params_[index].c.M;
  const std::size_t n = static_cast<std::size_t>(n_);
  InitialWeights out;
  out.w.assign(w.begin(), w.begin() + k_count * n);
  out.wstar.assign(w.begin() + kmax_ * n, w.begin() + (kmax_ + m_count) * n);
  out.v.assign(v.begin(), v.begin() + k_count);
  out.vstar.assign(v.begin() + kmax_, v.begin() + kmax_ + m_count);
  return out;
}

CudaPath path_from_environment(CudaPath requested) {
  const char* value = std::getenv("TSGD_CUDA_PATH");
  if (requested != CudaPath::automatic || value == nullptr || *value == '\0') return requested;
  if (std::strcmp(value, "fused") == 0) return CudaPath::fused;
  if (std::strcmp(value, "cublas") == 0) return CudaPath::cublas;
  if (std::strcmp(value, "auto") == 0) return CudaPath::automatic;
  throw std::invalid_argument(std::string("TSGD_CUDA_PATH: expected fused, cublas or auto, not '") +
                              value + "'");
}

bool switched_off(const char* variable) {
  const char* value = std::getenv(variable);
  return value != nullptr && std::strcmp(value, "0") == 0;
}

}  // namespace

namespace detail {

std::unique_ptr<Engine> create_cuda_engine(Precision precision, const CudaOptions& options,
                                           InitialWeightsFn initial_weights) {
  CudaOptions resolved = options;
  resolved.path = path_from_environment(options.path);
  if (switched_off("TSGD_CUDA_GROUP")) resolved.group_by_seed = false;
  if (switched_off("TSGD_CUDA_GRAPH")) resolved.use_graph = false;
  if (precision == Precision::float32)
    return std::make_unique<CudaEngineImpl<float>>(resolved, initial_weights);
  return std::make_unique<CudaEngineImpl<double>>(resolved, initial_weights);
}

}  // namespace detail

std::vector<CudaKernelInfo> cuda_kernel_info() {
  std::vector<CudaKernelInfo> info = fused_kernel_info();
  for (const auto& more : {cublas_kernel_info(), order_parameter_kernel_info()})
    info.insert(info.end(), more.begin(), more.end());
  return info;
}

template void advance_step_counters<float>(RunParams<float>*, int, std::int64_t, cudaStream_t);
template void advance_step_counters<double>(RunParams<double>*, int, std::int64_t, cudaStream_t);

}  // namespace tsgd
