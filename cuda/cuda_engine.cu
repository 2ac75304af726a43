// The CUDA engine: host side of both SGD paths (fused_sgd.cuh, cublas_sgd.cuh)
// behind the Engine interface. Same semantics as the CPU engine: load builds
// every run from its identity (initial weights computed on the host, so both
// engines start from the same numbers), advance moves every run that is not
// frozen, order_parameters hands back Q, R, T, v, v* in double.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/training_error.h"
#include "cuda/batch_host.h"
#include "cuda/batch_layout.cuh"
#include "cuda/cublas_sgd.cuh"
#include "cuda/cuda_check.cuh"
#include "cuda/cuda_engine.h"
#include "cuda/device_buffer.cuh"
#include "cuda/device_inputs.cuh"
#include "cuda/engine_options.h"
#include "cuda/fused_sgd.cuh"
#include "cuda/order_parameters.cuh"

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
  TSGD_CUDA_CHECK_LAUNCH("advance_step_counters_kernel", stream);
}

namespace {

// cuda_bytes_per_run (cuda_engine.h) counts 256 bytes for a run's parameters.
static_assert(sizeof(RunParams<double>) <= 256, "update cuda_bytes_per_run");

// cuBLAS's own recommendation for Hopper; owned so graph capture never allocates.
constexpr std::size_t kCublasWorkspaceBytes = 32u << 20;
// Steps per CUDA graph of the cuBLAS path (each step is 4 or 5 nodes).
constexpr std::int64_t kGraphSteps = 32;
// Automatic path choice: per step the fused path works through the B samples'
// coefficients on one warp (and draws the inputs twice where they do not fit in
// shared memory), so beyond a few samples per step the cuBLAS path's GEMMs are
// expected to win (an estimate: bench_gpu's mini-batch cases measure it).
constexpr int kFusedAutoMaxBatch = 8;

// DEVICE made current for the engine's members, the caller's device saved in
// CALLER first (the constructor restores it once they are built).
int use_device(CallerDevice& caller, int device) {
  caller.save();
  TSGD_CUDA_CHECK(cudaSetDevice(device));
  return device;
}

template <typename Real>
class CudaEngineImpl final : public CudaEngine {
 public:
  explicit CudaEngineImpl(const CudaOptions& options)
      : options_(options),
        device_(use_device(caller_device_, options.device)),
        cublas_(stream_.get(), kCublasWorkspaceBytes) {
    caller_device_.restore();  // the engine's calls make device_ current themselves
  }

  ~CudaEngineImpl() override {
    // The members are released on this engine's device; the caller's
    // current device is restored after the last of them (caller_device_).
    caller_device_.save();
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
  RngTransform rng_transform() const override { return options_.rng_transform; }

  void load(const std::vector<RunSpec>& runs) override;
  void advance(std::int64_t steps) override;
  void order_parameters(std::vector<OrderParameters>& out) override;
  void freeze(std::size_t index) override;
  // On the host, from the downloaded weights (core/training_error.h).
  void training_errors(int samples, std::vector<double>& out) override {
    std::vector<InitialWeights> current(specs_.size());
    for (std::size_t r = 0; r < specs_.size(); ++r)
      if (specs_[r].params.train_size > 0) current[r] = weights(r);
    tsgd::training_errors(specs_, current, samples, options_.rng_transform, &draw_input_blocks, 0,
                          out, &et_cache_);
  }
  CudaPath path() const override { return fused_ ? CudaPath::fused : CudaPath::cublas; }
  std::size_t input_uploads() const override { return inputs_.uploads(); }
  InitialWeights weights(std::size_t index) override;
  void weights(std::size_t index, InitialWeights& out) override { out = weights(index); }
  void resume(std::int64_t step, const std::vector<InitialWeights>& weights,
              const std::vector<char>& frozen) override;
  double timed_advance(std::int64_t steps) override {
    const DeviceScope scope(device_);
    CudaEvent start, stop;
    start.record(stream_.get());
    advance(steps);
    stop.record(stream_.get());
    stop.synchronize();
    return 1e-3 * stop.milliseconds_since(start);
  }

 private:
  int nruns() const { return host_.nruns(); }
  BatchLayout<Real> layout() {
    return BatchLayout<Real>{runs_.data(), weights_.data(), v_.data(),  nruns(),
                             host_.n,      host_.units,     host_.kmax, options_.rng_transform};
  }
  CublasWorkspace<Real> workspace() {
    return CublasWorkspace<Real>{x_.data(),       fields_.data(), coef_.data(), dv_.data(),
                                 host_.max_batch, host_.kmax,     host_.decay,  host_.train_v};
  }
  void release_batch();
  void load_batch(const std::vector<RunSpec>& runs);
  void build_fused_tasks();
  void advance_fused(std::int64_t steps);
  void advance_cublas(std::int64_t steps);
  void cublas_steps(std::int64_t count);

  // First member, so destroyed last: restores the device that was current
  // when the destructor began, after every other member is released (and,
  // in the constructor, the caller's device once the members are built).
  CallerDevice caller_device_;
  const CudaOptions options_;
  const int device_;
  CudaStream stream_;
  CublasHandle cublas_;

  // The batch's shape and the host mirror of the device parameters (steps
  // advance on both); its weights and v are released once on the device.
  HostBatch<Real> host_;
  std::vector<RunSpec> specs_;   // the batch's identities (training_errors)
  TrainingErrorCache et_cache_;  // its training sets' inputs and labels
  DeviceInputSets inputs_;       // the real inputs of the batch, kept for the next load
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
  int class_max_batch_[3] = {1, 1, 1};
  // A launch per row class; when there are several, each on a stream of its
  // own (forked from and joined back to stream_), so that small classes run
  // side by side instead of one after the other.
  CudaStream class_streams_[3];
  CudaEvent fork_{false};
  CudaEvent class_done_[3] = {CudaEvent(false), CudaEvent(false), CudaEvent(false)};

  // cuBLAS path.
  DeviceBuffer<Real> x_, fields_, coef_, dv_;
  CudaGraphExec graph_;       // kGraphSteps steps, captured on first use after load
  bool cublas_warm_ = false;  // a step ran outside capture since the load
};

template <typename Real>
void CudaEngineImpl<Real>::load(const std::vector<RunSpec>& runs) {
  const DeviceScope scope(device_);
  stream_.synchronize();
  check_cuda_batch(runs);

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
  host_ = HostBatch<Real>();
  specs_.clear();
  et_cache_.clear();
  graph_ = CudaGraphExec();
  cublas_warm_ = false;
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
  host_ = prepare_host_batch<Real>(runs);
  specs_ = runs;
  inputs_.bind(runs, host_.params, stream_.get());  // before the parameters go up

  const bool fits = fused_path_fits<Real>(host_.n, host_.max_batch, host_.params);
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
      // Beyond kFusedAutoMaxBatch too when the cuBLAS path cannot take the batch.
      fused_ = fits && (host_.max_batch <= kFusedAutoMaxBatch ||
                        runs.size() > static_cast<std::size_t>(kCublasMaxRuns));
      break;
  }
  if (!fused_ && runs.size() > static_cast<std::size_t>(kCublasMaxRuns))
    throw std::invalid_argument(
        "cuda engine: the cuBLAS path takes at most " + std::to_string(kCublasMaxRuns) +
        " runs per batch, not " + std::to_string(runs.size()) +
        " (cuBLAS's batched kernels take the count as a grid dimension); load fewer");

  runs_ = DeviceBuffer<RunParams<Real>>(host_.params.size());
  weights_ = DeviceBuffer<Real>(host_.weights.size());
  v_ = DeviceBuffer<Real>(host_.v.size());
  runs_.upload_async(host_.params.data(), stream_.get());
  weights_.upload_async(host_.weights.data(), stream_.get());
  v_.upload_async(host_.v.data(), stream_.get());
  if (!fused_ && !runs.empty()) {
    x_ = DeviceBuffer<Real>(runs.size() * host_.max_batch * host_.n);
    fields_ = DeviceBuffer<Real>(runs.size() * host_.max_batch * host_.units);
    coef_ = DeviceBuffer<Real>(runs.size() * host_.max_batch * host_.kmax);
    dv_ = DeviceBuffer<Real>(runs.size() * host_.max_batch * host_.kmax);
    x_.zero_async(stream_.get());  // sample rows past a run's own B stay zero
  }
  stream_.synchronize();
  // The device holds the weights from here on.
  std::vector<Real>().swap(host_.weights);
  std::vector<Real>().swap(host_.v);
}

template <typename Real>
void CudaEngineImpl<Real>::advance(std::int64_t steps) {
  if (steps < 0) throw std::invalid_argument("cuda engine: advance by a negative number of steps");
  if (steps == 0 || host_.params.empty()) return;
  const DeviceScope scope(device_);
  // Each path counts its steps on the host (HostBatch::count_steps) as it
  // enqueues the device's counter updates, launch by launch.
  if (fused_) {
    advance_fused(steps);
  } else {
    advance_cublas(steps);
  }
}

// The plan of fused_plan.h, uploaded.
template <typename Real>
void CudaEngineImpl<Real>::build_fused_tasks() {
  const FusedPlan plan = plan_fused_tasks(host_.params, host_.teachers, options_.group_by_seed);
  std::copy(plan.class_first, plan.class_first + 3, class_first_);
  std::copy(plan.class_count, plan.class_count + 3, class_count_);
  std::copy(plan.class_max_batch, plan.class_max_batch + 3, class_max_batch_);
  tasks_ = DeviceBuffer<FusedTask>(plan.tasks.size());
  task_runs_ = DeviceBuffer<int>(plan.task_runs.size());
  tasks_.upload_async(plan.tasks.data(), stream_.get());
  task_runs_.upload_async(plan.task_runs.data(), stream_.get());
  stream_.synchronize();  // the plan dies here
  tasks_stale_ = false;
}

template <typename Real>
void CudaEngineImpl<Real>::advance_fused(std::int64_t steps) {
  if (tasks_stale_) build_fused_tasks();
  const int ntasks = class_count_[0] + class_count_[1] + class_count_[2];
  if (ntasks == 0) {
    advance_step_counters(runs_.data(), nruns(), steps, stream_.get());
    host_.count_steps(steps);
    return;
  }
  const std::int64_t per_launch =
      fused_steps_per_launch(options_.fused_steps_per_launch, ntasks, host_.max_batch, host_.n);
  const int classes = (class_count_[0] > 0) + (class_count_[1] > 0) + (class_count_[2] > 0);
  for (std::int64_t done = 0; done < steps; done += per_launch) {
    const std::int64_t chunk = std::min(per_launch, steps - done);
    if (classes > 1) fork_.record(stream_.get());
    for (int c = 0; c < 3; ++c) {
      if (class_count_[c] == 0) continue;
      FusedArgs<Real> args{layout(),
                           tasks_.data() + class_first_[c],
                           task_runs_.data(),
                           class_max_batch_[c],
                           chunk,
                           options_.keep_inputs};
      if (classes == 1) {
        fused_sgd(args, class_count_[c], kFusedRowClasses[c], stream_.get());
        continue;
      }
      // The classes advance disjoint runs: side by side, then joined.
      fork_.make_wait(class_streams_[c].get());
      try {
        fused_sgd(args, class_count_[c], kFusedRowClasses[c], class_streams_[c].get());
      } catch (...) {
        // Join what was forked, so that nothing outlives a later release of the batch.
        for (int d = 0; d <= c; ++d) {
          if (class_count_[d] == 0) continue;
          cudaEventRecord(class_done_[d].get(), class_streams_[d].get());
          cudaStreamWaitEvent(stream_.get(), class_done_[d].get(), 0);
        }
        throw;
      }
      class_done_[c].record(class_streams_[c].get());
      class_done_[c].make_wait(stream_.get());
    }
    // The kernels read each task's first step from the device counters.
    advance_step_counters(runs_.data(), nruns(), chunk, stream_.get());
    host_.count_steps(chunk);
  }
}

// `count` steps launched one by one, then the runs' step counters on the
// device. Also what a graph captures: the caller counts the steps on the host
// (HostBatch::count_steps) for each direct call and each graph launch.
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
  if (options_.use_graph && !cublas_warm_ && steps >= kGraphSteps) {
    // The first use of the cuBLAS handle and of the kernels after a load
    // (lazy module loading, cuBLAS's own setup) outside any capture: one step
    // directly, once.
    cublas_steps(1);
    host_.count_steps(1);
    cublas_warm_ = true;
    --steps;
  }
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
        cudaGetLastError();  // the capture's own failure is not the next launch's
        throw;
      }
      cudaGraph_t captured = nullptr;
      TSGD_CUDA_CHECK(cudaStreamEndCapture(stream_.get(), &captured));
      const CudaGraph owner(captured);
      graph_ = CudaGraphExec(owner.get());
    }
    for (std::int64_t i = 0; i < steps / kGraphSteps; ++i) {
      graph_.launch(stream_.get());
      TSGD_CUDA_CHECK_LAUNCH("graph of the cuBLAS path's steps", stream_.get());
      host_.count_steps(kGraphSteps);
    }
    direct = steps % kGraphSteps;
  }
  cublas_steps(direct);
  host_.count_steps(direct);
}

template <typename Real>
void CudaEngineImpl<Real>::order_parameters(std::vector<OrderParameters>& out) {
  out.resize(host_.params.size());
  if (host_.params.empty()) return;
  const DeviceScope scope(device_);
  const std::size_t run_gram = static_cast<std::size_t>(host_.units) * host_.units;
  if (gram_.size() != host_.params.size() * run_gram) {
    gram_ = DeviceBuffer<double>(host_.params.size() * run_gram);
    gram_.zero_async(stream_.get());  // every entry is written below; zeroed for initcheck
  }
  gram_matrices(layout(), gram_.data(), stream_.get());
  std::vector<double> gram(gram_.size());
  std::vector<Real> v(v_.size());
  gram_.download_async(gram.data(), stream_.get());
  v_.download_async(v.data(), stream_.get());
  stream_.synchronize();

  order_parameters_from_gram(host_.params, host_.units, host_.kmax, gram.data(), v.data(), out);
}

template <typename Real>
void CudaEngineImpl<Real>::freeze(std::size_t index) {
  if (index >= host_.params.size())
    throw std::out_of_range("cuda engine: freeze of a run not in the batch");
  if (host_.params[index].frozen) return;
  const DeviceScope scope(device_);
  host_.params[index].frozen = 1;
  // Only the flag: the device's step counter of this run is the current one.
  TSGD_CUDA_CHECK(cudaMemcpyAsync(&runs_.data()[index].frozen, &host_.params[index].frozen,
                                  sizeof(int), cudaMemcpyHostToDevice, stream_.get()));
  stream_.synchronize();
  tasks_stale_ = true;
}

template <typename Real>
InitialWeights CudaEngineImpl<Real>::weights(std::size_t index) {
  if (index >= host_.params.size())
    throw std::out_of_range("cuda engine: weights of a run not in the batch");
  const DeviceScope scope(device_);
  const std::size_t run_weights = static_cast<std::size_t>(host_.units) * host_.n;
  std::vector<Real> w(run_weights), v(host_.units);
  TSGD_CUDA_CHECK(cudaMemcpyAsync(w.data(), weights_.data() + index * run_weights,
                                  run_weights * sizeof(Real), cudaMemcpyDeviceToHost,
                                  stream_.get()));
  TSGD_CUDA_CHECK(cudaMemcpyAsync(v.data(), v_.data() + index * host_.units,
                                  host_.units * sizeof(Real), cudaMemcpyDeviceToHost,
                                  stream_.get()));
  stream_.synchronize();
  return run_weights_from_layout(host_.params[index], host_.n, host_.kmax, w.data(), v.data());
}

// The whole layout downloaded, the students written into it on the host
// (resume_host_batch, tested through the emulator), uploaded back with the
// runs' parameters: simple rather than fast (once per resumed batch).
template <typename Real>
void CudaEngineImpl<Real>::resume(std::int64_t step, const std::vector<InitialWeights>& weights,
                                  const std::vector<char>& frozen) {
  if (host_.params.empty())
    return resume_host_batch<Real>(host_, step, weights, frozen, nullptr, nullptr);
  const DeviceScope scope(device_);
  std::vector<Real> w(weights_.size()), v(v_.size());
  weights_.download_async(w.data(), stream_.get());
  v_.download_async(v.data(), stream_.get());
  stream_.synchronize();
  resume_host_batch(host_, step, weights, frozen, w.data(), v.data());
  weights_.upload_async(w.data(), stream_.get());
  v_.upload_async(v.data(), stream_.get());
  runs_.upload_async(host_.params.data(), stream_.get());
  stream_.synchronize();
  tasks_stale_ = true;  // the fused plan leaves out the frozen runs
}

}  // namespace

std::unique_ptr<Engine> make_cuda_engine(Precision precision, const CudaOptions& options) {
  const CudaOptions resolved = options_from_environment(options);
  if (precision == Precision::float32) return std::make_unique<CudaEngineImpl<float>>(resolved);
  return std::make_unique<CudaEngineImpl<double>>(resolved);
}

std::vector<CudaKernelInfo> cuda_kernel_info() {
  std::vector<CudaKernelInfo> info = fused_kernel_info();
  for (const auto& more : {cublas_kernel_info(), order_parameter_kernel_info()})
    info.insert(info.end(), more.begin(), more.end());
  return info;
}

template void advance_step_counters<float>(RunParams<float>*, int, std::int64_t, cudaStream_t);
template void advance_step_counters<double>(RunParams<double>*, int, std::int64_t, cudaStream_t);

}  // namespace tsgd
