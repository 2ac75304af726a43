// The GPU's own Gaussian draws, copied back, so that a test can hold them
// against the host's (docs/architecture.md contract 1: same data on every backend).
// Same call as the SGD kernels make: gaussian4(random_block(...)).
#include <algorithm>

#include "cuda/cuda_check.cuh"
#include "cuda/cuda_engine.h"
#include "cuda/device_buffer.cuh"

namespace tsgd {
namespace {

__global__ void gaussians_kernel(std::uint64_t seed, Stream stream, std::uint64_t index, int count,
                                 RngTransform transform, float* out) {
  const int block = blockIdx.x * blockDim.x + threadIdx.x;
  if (4 * block >= count) return;
  float z[4];
  gaussian4(random_block(seed, stream, index, static_cast<std::uint32_t>(block)), z, transform);
  for (int j = 0; j < 4 && 4 * block + j < count; ++j) out[4 * block + j] = z[j];
}

// Draws `blocks_per_thread` Philox blocks per thread as the SGD kernels draw
// inputs (gaussian4(random_block(seed, input, mu, group))) and keeps a sum so
// that nothing is optimised away: the rate of the draws alone.
__global__ void gaussian_rate_kernel(std::uint64_t seed, int blocks_per_thread,
                                     RngTransform transform, float* sink) {
  const std::uint32_t group = blockIdx.x * blockDim.x + threadIdx.x;
  float sum = 0;
  for (int mu = 0; mu < blocks_per_thread; ++mu) {
    float z[4];
    gaussian4(random_block(seed, Stream::input, static_cast<std::uint64_t>(mu), group), z,
              transform);
    sum += (z[0] + z[1]) + (z[2] + z[3]);
  }
  if (sum == 12345.678f) sink[0] = sum;  // practically never: keeps the draws alive
}

}  // namespace

double cuda_gaussian_rate(int device, RngTransform transform) {
  TSGD_CUDA_CHECK(cudaSetDevice(device));
  int sms = 0;
  TSGD_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  DeviceBuffer<float> sink(1);
  CudaStream stream;
  const int threads = 256, blocks = 32 * sms;  // many waves of blocks: the device full
  int per_thread = 64;
  double seconds = 0;
  for (;;) {
    CudaEvent start, stop;
    start.record(stream.get());
    gaussian_rate_kernel<<<blocks, threads, 0, stream.get()>>>(1, per_thread, transform,
                                                               sink.data());
    TSGD_CUDA_CHECK_LAUNCH("gaussian_rate_kernel", stream.get());
    stop.record(stream.get());
    stop.synchronize();
    seconds = 1e-3 * stop.milliseconds_since(start);
    if (seconds > 0.1 || per_thread >= (1 << 20)) break;
    per_thread *= 4;
  }
  return 4.0 * blocks * threads * static_cast<double>(per_thread) / seconds;
}

double cuda_copy_bandwidth(int device) {
  TSGD_CUDA_CHECK(cudaSetDevice(device));
  const std::size_t bytes = std::size_t{1} << 30;
  DeviceBuffer<unsigned char> from(bytes), to(bytes);
  CudaStream stream;
  from.zero_async(stream.get());
  double best = 0;
  for (int i = 0; i < 4; ++i) {  // the first copy warms up; the best of the rest
    CudaEvent start, stop;
    start.record(stream.get());
    TSGD_CUDA_CHECK(
        cudaMemcpyAsync(to.data(), from.data(), bytes, cudaMemcpyDeviceToDevice, stream.get()));
    stop.record(stream.get());
    stop.synchronize();
    const double seconds = 1e-3 * stop.milliseconds_since(start);
    if (i > 0) best = std::max(best, 2.0 * static_cast<double>(bytes) / seconds);
  }
  return best;
}

std::vector<float> cuda_gaussians(std::uint64_t seed, Stream stream, std::uint64_t index, int count,
                                  int device, RngTransform transform) {
  std::vector<float> host(static_cast<std::size_t>(count > 0 ? count : 0));
  if (host.empty()) return host;
  TSGD_CUDA_CHECK(cudaSetDevice(device));
  DeviceBuffer<float> values(host.size());
  const int blocks = (count + 3) / 4;
  gaussians_kernel<<<(blocks + 127) / 128, 128>>>(seed, stream, index, count, transform,
                                                  values.data());
  TSGD_CUDA_CHECK_LAUNCH("gaussians_kernel", nullptr);
  TSGD_CUDA_CHECK(cudaMemcpy(host.data(), values.data(), values.bytes(), cudaMemcpyDeviceToHost));
  return host;
}

}  // namespace tsgd
