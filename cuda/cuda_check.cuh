// Status checks for CUDA runtime and cuBLAS calls: a failure throws CudaError
// holding the call's text, the error text and file:line (docs/architecture.md,
// Conventions: "Errors carry their place"). No exit() anywhere in the library.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <string>

#include "cuda/cuda_engine.h"

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
// After a kernel launch: a bad configuration shows up here, not at the next call.
#define TSGD_CUDA_CHECK_LAUNCH(kernel_name) \
  ::tsgd::detail::check_cuda(cudaGetLastError(), "launch of " kernel_name, __FILE__, __LINE__)
