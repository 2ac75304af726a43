// Which GPUs this build can use, or why none (`tsgd devices`, backend "auto").
// A device counts only if the kernels of this build have an image for it
// (they are built for CMAKE_CUDA_ARCHITECTURES, 90 by default), which is
// asked of the runtime rather than guessed from the compute capability.
#include <cuda_runtime.h>

#include <exception>
#include <string>
#include <vector>

#include "cuda/cuda_engine.h"

namespace tsgd {
namespace {

__global__ void probe_kernel() {}

std::string error_text(const char* call, cudaError_t status) {
  return std::string(call) + ": " + cudaGetErrorName(status) + ": " + cudaGetErrorString(status);
}

std::vector<GpuInfo> usable_gpus(std::string& why_none) {
  std::vector<GpuInfo> gpus;
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    cudaGetLastError();  // not sticky: leave no error behind for the caller
    why_none = error_text("cudaGetDeviceCount", status);
    return gpus;
  }
  if (count == 0) {
    why_none = "no CUDA device is visible";
    return gpus;
  }
  int previous = 0;
  cudaGetDevice(&previous);
  std::string reasons;
  for (int index = 0; index < count; ++index) {
    cudaDeviceProp properties{};
    cudaError_t error = cudaGetDeviceProperties(&properties, index);
    if (error == cudaSuccess) error = cudaSetDevice(index);
    cudaFuncAttributes attributes{};
    if (error == cudaSuccess) error = cudaFuncGetAttributes(&attributes, probe_kernel);
    if (error != cudaSuccess) {
      cudaGetLastError();
      reasons += (reasons.empty() ? "" : "; ") + std::string("device ") + std::to_string(index) +
                 " (" + properties.name + ", compute capability " +
                 std::to_string(properties.major) + "." + std::to_string(properties.minor) +
                 "): " + error_text("kernel image check", error);
      continue;
    }
    std::size_t free_bytes = 0, total_bytes = 0;
    if (cudaMemGetInfo(&free_bytes, &total_bytes) != cudaSuccess) {
      cudaGetLastError();
      free_bytes = properties.totalGlobalMem;  // the estimate falls back to the card's size
    }
    gpus.push_back(GpuInfo{index, properties.name, properties.totalGlobalMem, free_bytes,
                           properties.major, properties.minor, properties.multiProcessorCount});
  }
  cudaSetDevice(previous);
  if (gpus.empty()) why_none = reasons;
  return gpus;
}

}  // namespace

std::vector<GpuInfo> list_gpus(std::string* why_none) {
  std::string reason;
  std::vector<GpuInfo> gpus;
  try {
    gpus = usable_gpus(reason);
  } catch (const std::exception& e) {
    gpus.clear();
    reason = e.what();
  }
  if (why_none != nullptr) *why_none = gpus.empty() ? reason : std::string();
  return gpus;
}

bool cuda_available() { return !list_gpus(nullptr).empty(); }

bool cuda_built() { return true; }

}  // namespace tsgd
