// The cuBLAS SGD path (see cublas_sgd.cuh for the step).
#include <algorithm>
#include <cmath>

#include "cublas_sgd.cuh"
#include "cuda_check.cuh"
#include "math/gaussian.h"
#include "math/sgd_update.h"

namespace tsgd {
namespace {

constexpr int kThreads = 256;

// Enough blocks of kThreads for `count` threads, capped: the kernels loop.
int grid_for(std::int64_t count) {
  const std::int64_t blocks = (count + kThreads - 1) / kThreads;
  return static_cast<int>(std::clamp<std::int64_t>(blocks, 1, 65535));
}

// X: thread per (run, sample b, block of 4 coordinates).
template <typename Real>
__global__ void fill_inputs_kernel(BatchLayout<Real> batch, Real* x, int max_batch,
                                   std::int64_t t) {
  const int n = batch.n;
  const int groups = (n + 3) / 4;
  const std::int64_t total = static_cast<std::int64_t>(batch.nruns) * max_batch * groups;
  for (std::int64_t index = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
       index < total; index += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const int group = static_cast<int>(index % groups);
    const std::int64_t sample_row = index / groups;  // run * max_batch + b
    const int b = static_cast<int>(sample_row % max_batch);
    const RunParams<Real>& params = batch.runs[sample_row / max_batch];
    if (params.frozen || b >= params.batch) continue;  // padded rows stay zero
    const std::uint64_t mu = static_cast<std::uint64_t>(params.step + t) * params.batch + b;
    float z[4];
    gaussian4(random_block(params.seed, Stream::input, mu, static_cast<std::uint32_t>(group)), z);
    Real* const row = x + sample_row * n;
#pragma unroll
    for (int j = 0; j < 4; ++j)
      if (4 * group + j < n) row[4 * group + j] = static_cast<Real>(z[j]);
  }
}

// Thread per (run, sample b): coef_b[k] and dv_b[k] of that sample (zero for
// frozen runs and for the padded samples b >= B of a run). Every thread reads
// v before any changes it (second_layer_kernel runs after).
template <typename Real>
__global__ void sgd_coefficients_kernel(BatchLayout<Real> batch, CublasWorkspace<Real> work,
                                        std::int64_t t) {
  const std::int64_t index = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
  if (index >= static_cast<std::int64_t>(batch.nruns) * work.max_batch) return;
  const int run = static_cast<int>(index / work.max_batch);
  const int b = static_cast<int>(index % work.max_batch);
  const RunParams<Real>& params = batch.runs[run];
  const int kmax = work.kmax;
  Real* const coef = work.coef + index * kmax;  // (run max_batch + b) kmax
  Real* const dv = work.dv + index * kmax;
  for (int k = 0; k < kmax; ++k) {
    coef[k] = Real(0);
    dv[k] = Real(0);
  }
  if (params.frozen || b >= params.batch) return;

  const SgdConstants<Real> c = params.c;
  const Real* const v = batch.v + static_cast<std::size_t>(run) * batch.units;
  const std::uint64_t mu = static_cast<std::uint64_t>(params.step + t) * params.batch + b;
  const Real* const field = work.fields + index * batch.units;
  // zeta is addressed by (seed, mu): not drawing it when sigma = 0 shifts nothing.
  const Real zeta = c.sigma != Real(0)
                        ? static_cast<Real>(gaussian_at(params.seed, Stream::label_noise, mu, 0))
                        : Real(0);
  accumulate_sample(c, field, v, field + batch.teacher_offset, v + batch.teacher_offset, zeta, coef,
                    dv);
}

// Thread per run: v_k <- v_keep v_k + sum_b dv_b[k], the samples in order
// (the CPU engine's sum: -d_0 - d_1 - ... is the same as (-d_0) + (-d_1) + ...).
template <typename Real>
__global__ void second_layer_kernel(BatchLayout<Real> batch, CublasWorkspace<Real> work) {
  const int run = blockIdx.x * blockDim.x + threadIdx.x;
  if (run >= batch.nruns) return;
  const RunParams<Real>& params = batch.runs[run];
  if (params.frozen || !params.train_v) return;
  const int kmax = work.kmax;
  const Real* const dv = work.dv + static_cast<std::size_t>(run) * work.max_batch * kmax;
  Real* const v = batch.v + static_cast<std::size_t>(run) * batch.units;
  for (int k = 0; k < params.c.K; ++k) {
    Real change = Real(0);
    for (int b = 0; b < params.batch; ++b) change += dv[b * kmax + k];
    v[k] = params.c.v_keep * v[k] + change;
  }
}

// Weight decay: W_students *= w_keep before the rank-B update adds C X.
template <typename Real>
__global__ void decay_weights_kernel(BatchLayout<Real> batch, int kmax) {
  const int n = batch.n;
  const std::int64_t total = static_cast<std::int64_t>(batch.nruns) * kmax * n;
  for (std::int64_t index = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
       index < total; index += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::int64_t row = index / n;  // run * kmax + k
    const int run = static_cast<int>(row / kmax);
    const int k = static_cast<int>(row % kmax);
    const RunParams<Real>& params = batch.runs[run];
    if (params.frozen || k >= params.c.K) continue;
    batch.weights[(static_cast<std::int64_t>(run) * batch.units + k) * n + index % n] *=
        params.c.w_keep;
  }
}

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

}  // namespace

template <typename Real>
void cublas_sgd_step(cublasHandle_t handle, const BatchLayout<Real>& batch,
                     const CublasWorkspace<Real>& work, std::int64_t t, cudaStream_t stream) {
  if (batch.nruns == 0) return;
  const int n = batch.n, units = batch.units, kmax = work.kmax, max_batch = work.max_batch;
  const long long run_weights = static_cast<long long>(units) * n;
  const long long run_inputs = static_cast<long long>(max_batch) * n;

  fill_inputs_kernel<<<grid_for(static_cast<std::int64_t>(batch.nruns) * max_batch * ((n + 3) / 4)),
                       kThreads, 0, stream>>>(batch, work.x, max_batch, t);
  TSGD_CUDA_CHECK_LAUNCH("fill_inputs_kernel");

  // Column-major views: run r's weights are W^T (n x units, ld n), its inputs
  // X^T (n x max_batch, ld n). F (units x max_batch) = W X^T / sqrt(N).
  TSGD_CUBLAS_CHECK(gemm_strided_batched(handle, CUBLAS_OP_T, CUBLAS_OP_N, units, max_batch, n,
                                         Real(1) / std::sqrt(static_cast<Real>(n)), batch.weights,
                                         n, run_weights, work.x, n, run_inputs, Real(0),
                                         work.fields, units,
                                         static_cast<long long>(units) * max_batch, batch.nruns));

  const std::int64_t samples = static_cast<std::int64_t>(batch.nruns) * max_batch;
  sgd_coefficients_kernel<<<static_cast<unsigned>((samples + kThreads - 1) / kThreads), kThreads, 0,
                            stream>>>(batch, work, t);
  TSGD_CUDA_CHECK_LAUNCH("sgd_coefficients_kernel");
  if (work.train_v) {
    second_layer_kernel<<<(batch.nruns + kThreads - 1) / kThreads, kThreads, 0, stream>>>(batch,
                                                                                          work);
    TSGD_CUDA_CHECK_LAUNCH("second_layer_kernel");
  }

  if (work.decay) {
    decay_weights_kernel<<<grid_for(static_cast<std::int64_t>(batch.nruns) * kmax * n), kThreads, 0,
                           stream>>>(batch, kmax);
    TSGD_CUDA_CHECK_LAUNCH("decay_weights_kernel");
  }

  // W_students^T (n x kmax, ld n) += X^T (n x max_batch) C^T, with C stored
  // column-major kmax x max_batch (ld kmax).
  TSGD_CUBLAS_CHECK(gemm_strided_batched(handle, CUBLAS_OP_N, CUBLAS_OP_T, n, kmax, max_batch,
                                         Real(1), work.x, n, run_inputs, work.coef, kmax,
                                         static_cast<long long>(kmax) * max_batch, Real(1),
                                         batch.weights, n, run_weights, batch.nruns));
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
