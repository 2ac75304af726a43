// The CUDA engine's interface (cuda/cuda_engine.h) in a build without nvcc:
// no GPU is ever usable, and each function says so the way the real ones do
// when no device can be used. Compiled instead of the .cu files (CMakeLists.txt),
// so that code above the engines asks the same questions in every build and
// holds no #ifdef.
#include <string>
#include <vector>

#include "cuda/cuda_engine.h"

namespace tsgd {

namespace {
constexpr const char* kNoCuda = "this tsgd was built without the CUDA engine (nvcc was not found)";
}

std::vector<GpuInfo> list_gpus(std::string* why_none) {
  if (why_none) *why_none = kNoCuda;
  return {};
}

bool cuda_available() { return false; }

bool cuda_built() { return false; }

std::unique_ptr<Engine> make_cuda_engine(Precision, const CudaOptions&) {
  throw CudaError(kNoCuda);
}

std::vector<float> cuda_gaussians(std::uint64_t, Stream, std::uint64_t, int, int, RngTransform) {
  throw CudaError(kNoCuda);
}

double cuda_gaussian_rate(int, RngTransform) { throw CudaError(kNoCuda); }

double cuda_copy_bandwidth(int) { throw CudaError(kNoCuda); }

std::vector<CudaKernelInfo> cuda_kernel_info() { return {}; }

}  // namespace tsgd
