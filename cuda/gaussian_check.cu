// The GPU's own Gaussian draws, copied back, so that a test can hold them
// against the host's (DESIGN.md contract 1: same data on every backend).
// Same call as the SGD kernels make: gaussian4(random_block(...)).
#include "cuda_check.cuh"
#include "cuda_engine.h"
#include "device_buffer.cuh"

namespace tsgd {
namespace {

__global__ void gaussians_kernel(std::uint64_t seed, Stream stream, std::uint64_t index, int count,
                                 float* out) {
  const int block = blockIdx.x * blockDim.x + threadIdx.x;
  if (4 * block >= count) return;
  float z[4];
  gaussian4(random_block(seed, stream, index, static_cast<std::uint32_t>(block)), z);
  for (int j = 0; j < 4 && 4 * block + j < count; ++j) out[4 * block + j] = z[j];
}

}  // namespace

std::vector<float> cuda_gaussians(std::uint64_t seed, Stream stream, std::uint64_t index, int count,
                                  int device) {
  std::vector<float> host(static_cast<std::size_t>(count > 0 ? count : 0));
  if (host.empty()) return host;
  TSGD_CUDA_CHECK(cudaSetDevice(device));
  DeviceBuffer<float> values(host.size());
  const int blocks = (count + 3) / 4;
  gaussians_kernel<<<(blocks + 127) / 128, 128>>>(seed, stream, index, count, values.data());
  TSGD_CUDA_CHECK_LAUNCH("gaussians_kernel");
  TSGD_CUDA_CHECK(cudaMemcpy(host.data(), values.data(), values.bytes(), cudaMemcpyDeviceToHost));
  return host;
}

}  // namespace tsgd
