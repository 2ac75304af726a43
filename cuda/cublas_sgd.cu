// The cuBLAS SGD path on the GPU: the step of cublas_step.h with the kernels
// of cublas_kernels.cuh launched on a stream and the GEMMs by cuBLAS.
#include <cstdint>
#include <vector>

#include "cuda/cublas_kernels.cuh"
#include "cuda/cublas_sgd.cuh"
#include "cuda/cuda_check.cuh"

namespace tsgd {
namespace {

cublasStatus_t gemm_strided_batched(cublasHandle_t handle, cublasOperation_t op_a,
                                    cublasOperation_t op_b, int m, int n, int k, float alpha,
                                    const float* a, int lda, long long stride_a, const float* b,
                                    int ldb, long long stride_b, float beta, float* c, int ldc,
                                    long long stride_c, int count) {
  return cublasSgemmStridedBatched(handle, op_a, op_b, m, n, k, &alpha, a, lda, stride_a, b, ldb,
                                   stride_b, &beta, c, ldc, stride_c, count);
}

cublasStatus_t gemm_strided_batched(cublasHandle_t handle, cublasOperation_t op_a,
                                    cublasOperation_t op_b, int m, int n, int k, double alpha,
                                    const double* a, int lda, long long stride_a, const double* b,
                                    int ldb, long long stride_b, double beta, double* c, int ldc,
                                    long long stride_c, int count) {
  return cublasDgemmStridedBatched(handle, op_a, op_b, m, n, k, &alpha, a, lda, stride_a, b, ldb,
                                   stride_b, &beta, c, ldc, stride_c, count);
}

cublasOperation_t cublas_op(GemmOp op) { return op == GemmOp::none ? CUBLAS_OP_N : CUBLAS_OP_T; }

// The device of cublas_step_sequence: kernels on `stream`, GEMMs by cuBLAS.
template <typename Real>
struct GpuDevice {
  cublasHandle_t handle;
  cudaStream_t stream;

  void fill_inputs(const BatchLayout<Real>& batch, const CublasWorkspace<Real>& work,
                   std::int64_t t) {
    const std::int64_t count =
        static_cast<std::int64_t>(batch.nruns) * work.max_batch * ((batch.n + 3) / 4);
    fill_inputs_kernel<<<cublas_grid_for(count), kCublasThreads, 0, stream>>>(batch, work.x,
                                                                              work.max_batch, t);
    TSGD_CUDA_CHECK_LAUNCH("fill_inputs_kernel", stream);
  }
  void gemm(const GemmCall<Real>& g) {
    TSGD_CUBLAS_CHECK(gemm_strided_batched(handle, cublas_op(g.op_a), cublas_op(g.op_b), g.m, g.n,
                                           g.k, g.alpha, g.a, g.lda, g.stride_a, g.b, g.ldb,
                                           g.stride_b, g.beta, g.c, g.ldc, g.stride_c, g.count));
  }
  void coefficients(const BatchLayout<Real>& batch, const CublasWorkspace<Real>& work,
                    std::int64_t t) {
    const std::int64_t samples = static_cast<std::int64_t>(batch.nruns) * work.max_batch;
    sgd_coefficients_kernel<<<static_cast<unsigned>((samples + kCublasThreads - 1) /
                                                    kCublasThreads),
                              kCublasThreads, 0, stream>>>(batch, work, t);
    TSGD_CUDA_CHECK_LAUNCH("sgd_coefficients_kernel", stream);
  }
  void second_layer(const BatchLayout<Real>& batch, const CublasWorkspace<Real>& work) {
    second_layer_kernel<<<(batch.nruns + kCublasThreads - 1) / kCublasThreads, kCublasThreads, 0,
                          stream>>>(batch, work);
    TSGD_CUDA_CHECK_LAUNCH("second_layer_kernel", stream);
  }
  void decay(const BatchLayout<Real>& batch, const CublasWorkspace<Real>& work) {
    const std::int64_t count = static_cast<std::int64_t>(batch.nruns) * work.kmax * batch.n;
    decay_weights_kernel<<<cublas_grid_for(count), kCublasThreads, 0, stream>>>(batch, work.kmax);
    TSGD_CUDA_CHECK_LAUNCH("decay_weights_kernel", stream);
  }
};

}  // namespace

template <typename Real>
void cublas_sgd_step(cublasHandle_t handle, const BatchLayout<Real>& batch,
                     const CublasWorkspace<Real>& work, std::int64_t t, cudaStream_t stream) {
  GpuDevice<Real> device{handle, stream};
  cublas_step_sequence(device, batch, work, t);
}

std::vector<CudaKernelInfo> cublas_kernel_info() {
  return {kernel_attributes("fill_inputs_kernel<float>", fill_inputs_kernel<float>),
          kernel_attributes("sgd_coefficients_kernel<float>", sgd_coefficients_kernel<float>),
          kernel_attributes("second_layer_kernel<float>", second_layer_kernel<float>),
          kernel_attributes("decay_weights_kernel<float>", decay_weights_kernel<float>),
          kernel_attributes("fill_inputs_kernel<double>", fill_inputs_kernel<double>),
          kernel_attributes("sgd_coefficients_kernel<double>", sgd_coefficients_kernel<double>),
          kernel_attributes("second_layer_kernel<double>", second_layer_kernel<double>),
          kernel_attributes("decay_weights_kernel<double>", decay_weights_kernel<double>)};
}

template void cublas_sgd_step<float>(cublasHandle_t, const BatchLayout<float>&,
                                     const CublasWorkspace<float>&, std::int64_t, cudaStream_t);
template void cublas_sgd_step<double>(cublasHandle_t, const BatchLayout<double>&,
                                      const CublasWorkspace<double>&, std::int64_t, cudaStream_t);

}  // namespace tsgd
