// Owners of device resources (docs/architecture.md, Conventions: "Every device
// resource owned"): device memory, a stream, an event, a cuBLAS handle and an
// instantiated CUDA graph.
// Each is move-only and releases its resource in its destructor; destructors
// never throw (a failure there has nowhere to go and is ignored).
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <utility>

#include "cuda/cuda_check.cuh"

namespace tsgd {

// `count` elements of T in device memory (plain cudaMalloc), uninitialised.
template <typename T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(std::size_t count) : count_(count) {
    if (count > 0) TSGD_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&data_), count * sizeof(T)));
  }
  ~DeviceBuffer() {
    if (data_ != nullptr) cudaFree(data_);
  }
  DeviceBuffer(DeviceBuffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), count_(std::exchange(other.count_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept {
    if (this != &other) {
      if (data_ != nullptr) cudaFree(data_);
      data_ = std::exchange(other.data_, nullptr);
      count_ = std::exchange(other.count_, 0);
    }
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  T* data() { return data_; }
  const T* data() const { return data_; }
  std::size_t size() const { return count_; }
  std::size_t bytes() const { return count_ * sizeof(T); }

  void zero_async(cudaStream_t stream) {
    if (count_ > 0) TSGD_CUDA_CHECK(cudaMemsetAsync(data_, 0, bytes(), stream));
  }
  // Copies size() elements from / to host memory, ordered on `stream`.
  void upload_async(const T* host, cudaStream_t stream) {
    if (count_ > 0)
      TSGD_CUDA_CHECK(cudaMemcpyAsync(data_, host, bytes(), cudaMemcpyHostToDevice, stream));
  }
  void download_async(T* host, cudaStream_t stream) const {
    if (count_ > 0)
      TSGD_CUDA_CHECK(cudaMemcpyAsync(host, data_, bytes(), cudaMemcpyDeviceToHost, stream));
  }

 private:
  T* data_ = nullptr;
  std::size_t count_ = 0;
};

class CudaStream {
 public:
  CudaStream() { TSGD_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking)); }
  ~CudaStream() {
    if (stream_ != nullptr) cudaStreamDestroy(stream_);
  }
  CudaStream(CudaStream&& other) noexcept : stream_(std::exchange(other.stream_, nullptr)) {}
  CudaStream& operator=(CudaStream&&) = delete;
  CudaStream(const CudaStream&) = delete;
  CudaStream& operator=(const CudaStream&) = delete;

  cudaStream_t get() const { return stream_; }
  void synchronize() const { TSGD_CUDA_CHECK(cudaStreamSynchronize(stream_)); }

 private:
  cudaStream_t stream_ = nullptr;
};

class CudaEvent {
 public:
  // timing = false: an event only for ordering streams (cheaper to record and wait on).
  explicit CudaEvent(bool timing = true) {
    TSGD_CUDA_CHECK(
        cudaEventCreateWithFlags(&event_, timing ? cudaEventDefault : cudaEventDisableTiming));
  }
  ~CudaEvent() {
    if (event_ != nullptr) cudaEventDestroy(event_);
  }
  CudaEvent(CudaEvent&& other) noexcept : event_(std::exchange(other.event_, nullptr)) {}
  CudaEvent& operator=(CudaEvent&&) = delete;
  CudaEvent(const CudaEvent&) = delete;
  CudaEvent& operator=(const CudaEvent&) = delete;

  cudaEvent_t get() const { return event_; }
  void record(cudaStream_t stream) { TSGD_CUDA_CHECK(cudaEventRecord(event_, stream)); }
  // Work submitted to `stream` after this call waits for this event.
  void make_wait(cudaStream_t stream) const {
    TSGD_CUDA_CHECK(cudaStreamWaitEvent(stream, event_, 0));
  }
  void synchronize() const { TSGD_CUDA_CHECK(cudaEventSynchronize(event_)); }
  // Milliseconds from `start` to this event (both recorded and complete).
  float milliseconds_since(const CudaEvent& start) const {
    float ms = 0.0f;
    TSGD_CUDA_CHECK(cudaEventElapsedTime(&ms, start.event_, event_));
    return ms;
  }

 private:
  cudaEvent_t event_ = nullptr;
};

// A cuBLAS handle bound to one stream, with a workspace of its own so that
// stream capture into a CUDA graph never allocates (cublasSetStream resets
// the workspace, so it is set after the stream).
class CublasHandle {
 public:
  CublasHandle(cudaStream_t stream, std::size_t workspace_bytes) : workspace_(workspace_bytes) {
    TSGD_CUBLAS_CHECK(cublasCreate(&handle_));
    try {
      TSGD_CUBLAS_CHECK(cublasSetStream(handle_, stream));
      TSGD_CUBLAS_CHECK(cublasSetWorkspace(handle_, workspace_.data(), workspace_.bytes()));
      // Plain IEEE float products: never TF32 tensor-core rounding.
      TSGD_CUBLAS_CHECK(cublasSetMathMode(handle_, CUBLAS_DEFAULT_MATH));
    } catch (...) {
      cublasDestroy(handle_);
      throw;
    }
  }
  ~CublasHandle() {
    if (handle_ != nullptr) cublasDestroy(handle_);
  }
  CublasHandle(const CublasHandle&) = delete;
  CublasHandle& operator=(const CublasHandle&) = delete;
  CublasHandle(CublasHandle&&) = delete;
  CublasHandle& operator=(CublasHandle&&) = delete;

  cublasHandle_t get() const { return handle_; }

 private:
  DeviceBuffer<unsigned char> workspace_;
  cublasHandle_t handle_ = nullptr;
};

// An instantiated CUDA graph (empty until assigned).
// The device that was current when save() was called, made current again
// when this is destroyed (an engine's destructor must not change its
// caller's device). Never throws.
class CallerDevice {
 public:
  CallerDevice() = default;
  CallerDevice(const CallerDevice&) = delete;
  CallerDevice& operator=(const CallerDevice&) = delete;
  ~CallerDevice() {
    if (saved_ >= 0) cudaSetDevice(saved_);
  }
  void save() {
    if (cudaGetDevice(&saved_) != cudaSuccess) {
      saved_ = -1;
      cudaGetLastError();
    }
  }
  // Makes the saved device current again now (the constructor's caller's).
  void restore() const {
    if (saved_ >= 0) cudaSetDevice(saved_);
  }

 private:
  int saved_ = -1;
};

// DEVICE current for the scope, the caller's device current again after it
// (also when it ends by an exception): an engine's calls leave the caller's
// current device as they found it.
class DeviceScope {
 public:
  explicit DeviceScope(int device) {
    saved_.save();
    TSGD_CUDA_CHECK(cudaSetDevice(device));
  }
  DeviceScope(const DeviceScope&) = delete;
  DeviceScope& operator=(const DeviceScope&) = delete;

 private:
  CallerDevice saved_;  // restores on destruction
};

class CudaGraphExec {
 public:
  CudaGraphExec() = default;
  explicit CudaGraphExec(cudaGraph_t graph) {
    TSGD_CUDA_CHECK(cudaGraphInstantiate(&exec_, graph, 0));
  }
  ~CudaGraphExec() {
    if (exec_ != nullptr) cudaGraphExecDestroy(exec_);
  }
  CudaGraphExec(CudaGraphExec&& other) noexcept : exec_(std::exchange(other.exec_, nullptr)) {}
  CudaGraphExec& operator=(CudaGraphExec&& other) noexcept {
    if (this != &other) {
      if (exec_ != nullptr) cudaGraphExecDestroy(exec_);
      exec_ = std::exchange(other.exec_, nullptr);
    }
    return *this;
  }
  CudaGraphExec(const CudaGraphExec&) = delete;
  CudaGraphExec& operator=(const CudaGraphExec&) = delete;

  bool empty() const { return exec_ == nullptr; }
  void launch(cudaStream_t stream) const { TSGD_CUDA_CHECK(cudaGraphLaunch(exec_, stream)); }

 private:
  cudaGraphExec_t exec_ = nullptr;
};

// Owns a captured (not yet instantiated) graph.
class CudaGraph {
 public:
  explicit CudaGraph(cudaGraph_t graph) : graph_(graph) {}
  ~CudaGraph() {
    if (graph_ != nullptr) cudaGraphDestroy(graph_);
  }
  CudaGraph(const CudaGraph&) = delete;
  CudaGraph& operator=(const CudaGraph&) = delete;
  cudaGraph_t get() const { return graph_; }

 private:
  cudaGraph_t graph_ = nullptr;
};

}  // namespace tsgd
