// Gram matrices of the runs' weights (see order_parameters.cuh).
#include "cuda/cuda_check.cuh"
#include "cuda/gram_kernel.cuh"
#include "cuda/order_parameters.cuh"

namespace tsgd {

template <typename Real>
void gram_matrices(const BatchLayout<Real>& batch, double* gram, cudaStream_t stream) {
  if (batch.nruns == 0) return;
  gram_kernel<Real><<<batch.nruns, kGramThreads, 0, stream>>>(batch, gram);
  TSGD_CUDA_CHECK_LAUNCH("gram_kernel", stream);
}

std::vector<CudaKernelInfo> order_parameter_kernel_info() {
  return {kernel_attributes("gram_kernel<float>", gram_kernel<float>),
          kernel_attributes("gram_kernel<double>", gram_kernel<double>)};
}

template void gram_matrices<float>(const BatchLayout<float>&, double*, cudaStream_t);
template void gram_matrices<double>(const BatchLayout<double>&, double*, cudaStream_t);

}  // namespace tsgd
