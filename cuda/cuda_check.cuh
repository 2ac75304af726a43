// Status checks for CUDA runtime and cuBLAS calls: a failure throws CudaError
// holding the call's text, the error text and file:line (docs/architecture.md,
// Conventions: "Errors carry their place"). No exit() anywhere in the library.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "cuda/cuda_engine.h"

// Whether launches are checked by a synchronize (check_launch) unless the
// environment says otherwise: CMake's TSGD_CUDA_SYNC_CHECK (on in Debug builds).
#ifndef TSGD_CUDA_SYNC_CHECK_DEFAULT
#define TSGD_CUDA_SYNC_CHECK_DEFAULT 0
#endif

namespace tsgd {
namespace detail {

[[noreturn]] inline void throw_cuda_error(const char* call, const char* what, const char* file,
                                          int line) {
  throw CudaError(std::string(call) + " failed: " + what + " (" + file + ":" +
                  std::to_string(line) + ")");
}

inline void check_cuda(cudaError_t status, const char* call, const char* file, int line) {
  if (status != cudaSuccess) {
    // Clear the thread's last error, so that the next launch check does not
    // blame its kernel for this failure (sticky errors stay regardless).
    cudaGetLastError();
    throw_cuda_error(
        call, (std::string(cudaGetErrorName(status)) + ": " + cudaGetErrorString(status)).c_str(),
        file, line);
  }
}

inline void check_cublas(cublasStatus_t status, const char* call, const char* file, int line) {
  if (status != CUBLAS_STATUS_SUCCESS) {
    throw_cuda_error(
        call,
        (std::string(cublasGetStatusName(status)) + ": " + cublasGetStatusString(status)).c_str(),
        file, line);
  }
}

// Synchronize after every launch? TSGD_CUDA_SYNC_CHECK=1 / =0 in the
// environment, else the build's default. Read once.
inline bool launch_checks_on() {
  static const bool on = [] {
    const char* value = std::getenv("TSGD_CUDA_SYNC_CHECK");
    if (value != nullptr && *value != '\0') return std::strcmp(value, "0") != 0;
    return TSGD_CUDA_SYNC_CHECK_DEFAULT != 0;
  }();
  return on;
}

// After a launch on `stream`: a bad configuration shows up here. With launch
// checks on (launch_checks_on: compute-sanitizer runs, debugging), the
// stream is also synchronized, so that a fault of the kernel is reported with
// its name and the launch's file:line rather than by the next synchronizing
// call elsewhere. Not while the stream is captured into a graph (a
// synchronize would invalidate the capture): the graph's launch is checked.
inline void check_launch(cudaStream_t stream, const char* what, const char* file, int line) {
  check_cuda(cudaGetLastError(), what, file, line);
  if (!launch_checks_on()) return;
  cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
  check_cuda(cudaStreamIsCapturing(stream, &capture), what, file, line);
  if (capture != cudaStreamCaptureStatusNone) return;
  check_cuda(cudaStreamSynchronize(stream),
             (std::string(what) + " (the kernel, at the synchronize after it)").c_str(), file,
             line);
}

}  // namespace detail

// Registers, shared and local memory of a compiled kernel (benchmarks print
// them), and, given a launch shape (threads > 0), how many of its blocks fit
// on one multiprocessor of the current device.
template <typename Kernel>
CudaKernelInfo kernel_attributes(const char* name, Kernel kernel, int threads = 0,
                                 std::size_t dynamic_shared = 0) {
  cudaFuncAttributes attributes{};
  detail::check_cuda(cudaFuncGetAttributes(&attributes, kernel), "cudaFuncGetAttributes", __FILE__,
                     __LINE__);
  CudaKernelInfo info{name, attributes.numRegs, attributes.sharedSizeBytes,
                      attributes.localSizeBytes, attributes.maxThreadsPerBlock};
  if (threads > 0) {
    detail::check_cuda(cudaOccupancyMaxActiveBlocksPerMultiprocessor(
                           &info.blocks_per_multiprocessor, kernel, threads, dynamic_shared),
                       "cudaOccupancyMaxActiveBlocksPerMultiprocessor", __FILE__, __LINE__);
    info.occupancy_threads = threads;
  }
  return info;
}

}  // namespace tsgd

#define TSGD_CUDA_CHECK(call) ::tsgd::detail::check_cuda((call), #call, __FILE__, __LINE__)
#define TSGD_CUBLAS_CHECK(call) ::tsgd::detail::check_cublas((call), #call, __FILE__, __LINE__)
// After a kernel launch on `stream`: a bad configuration shows up here, not at
// the next call; with launch checks on, the kernel's faults too (check_launch).
#define TSGD_CUDA_CHECK_LAUNCH(kernel_name, stream) \
  ::tsgd::detail::check_launch((stream), "launch of " kernel_name, __FILE__, __LINE__)
