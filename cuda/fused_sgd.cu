// Launches of the fused SGD kernel (fused_kernel.cuh).
#include <stdexcept>
#include <string>

#include "cuda/cuda_check.cuh"
#include "cuda/fused_kernel.cuh"
#include "cuda/fused_sgd.cuh"

namespace tsgd {
namespace {

template <typename Real, int P>
void launch_fused(const FusedArgs<Real>& args, int ntasks, cudaStream_t stream) {
  FusedArgs<Real> launched = args;
  const FusedLaunchShape shape = prepare_fused_launch<Real, P>(launched);
  fused_sgd_kernel<Real, P><<<ntasks, shape.threads, shape.shared_bytes, stream>>>(launched);
  TSGD_CUDA_CHECK_LAUNCH("fused_sgd_kernel", stream);
}

}  // namespace

template <typename Real>
void fused_sgd(const FusedArgs<Real>& args, int ntasks, int row_class, cudaStream_t stream) {
  if (ntasks == 0 || args.steps == 0) return;
  switch (row_class) {
    case 4:
      launch_fused<Real, 4>(args, ntasks, stream);
      return;
    case 8:
      launch_fused<Real, 8>(args, ntasks, stream);
      return;
    default:
      if constexpr (fused_max_rows<Real>() >= 16) {
        launch_fused<Real, 16>(args, ntasks, stream);
        return;
      }
  }
  throw std::invalid_argument("fused_sgd: no kernel for " + std::to_string(row_class) + " rows");
}

std::vector<CudaKernelInfo> fused_kernel_info() {
  // Occupancy at the benchmark's case (a): N = 784, B = 1.
  const int threads = fused_threads(784);
  auto info = [&](const char* name, auto kernel, std::size_t shared) {
    return kernel_attributes(name, kernel, threads, shared);
  };
  return {info("fused_sgd_kernel<float, 4>", fused_sgd_kernel<float, 4>,
               fused_launch_shape<float, 4>(784, 1, true).shared_bytes),
          info("fused_sgd_kernel<float, 8>", fused_sgd_kernel<float, 8>,
               fused_launch_shape<float, 8>(784, 1, true).shared_bytes),
          info("fused_sgd_kernel<float, 16>", fused_sgd_kernel<float, 16>,
               fused_launch_shape<float, 16>(784, 1, true).shared_bytes),
          info("fused_sgd_kernel<double, 4>", fused_sgd_kernel<double, 4>,
               fused_launch_shape<double, 4>(784, 1, true).shared_bytes),
          info("fused_sgd_kernel<double, 8>", fused_sgd_kernel<double, 8>,
               fused_launch_shape<double, 8>(784, 1, true).shared_bytes)};
}

template void fused_sgd<float>(const FusedArgs<float>&, int, int, cudaStream_t);
template void fused_sgd<double>(const FusedArgs<double>&, int, int, cudaStream_t);

}  // namespace tsgd
