// The fused SGD kernel (see fused_sgd.cuh for the shape of the work).
//
// Per step, for a task with `rows` rows (students and teachers of its runs)
// and B samples:
//   A. for b < B: every thread draws its 4 coordinates of x^b (Philox block
//      `thread` of sample mu = t B + b), forms the P partial dot products
//      w_p . x over them, and the warp reduces them; lane 0.. of each warp
//      writes the warp's sums to shared memory.                 __syncthreads
//   B. warp 0: fields = sum over warps / sqrt(N); one lane per (run, sample)
//      calls accumulate_sample; the lanes of trained v rows update v.
//                                                               __syncthreads
//   C. every thread: w_k <- w_keep w_k + sum_b coef_b[k] x^b on its coordinates
//      (x^0 still in registers when B = 1, redrawn otherwise).
// Two barriers per step; nothing leaves the chip until the last step.
//
// Bitwise invariance (DESIGN.md contract 1): a run's arithmetic does not
// depend on its task's other runs, on its rows' slots, or on P. Each partial
// dot product is the same fma chain; the warp reduction is the xor butterfly
// with offsets 16..1 whatever P is (and float addition commutes, so every lane
// of a butterfly holds the same bits); warps are summed in order.
#include "cuda_check.cuh"
#include "fused_sgd.cuh"
#include "math/gaussian.h"
#include "math/sgd_update.h"

namespace tsgd {
namespace {

constexpr unsigned kFullMask = 0xffffffffu;

__device__ __forceinline__ float fused_fma(float a, float b, float c) { return __fmaf_rn(a, b, c); }
__device__ __forceinline__ double fused_fma(double a, double b, double c) {
  return __fma_rn(a, b, c);
}

// What one block knows about its task; thread 0 fills it once.
template <typename Real, int P>
struct TaskShared {
  RunParams<Real> run[kFusedMaxRunsPerTask];
  long long unit[P];  // row p is global unit run * units + unit-in-run
  Real v[P];          // student rows: v_k (updated in place); teacher rows: v*_m
  Real w_keep[P];     // student rows: 1 - kappa_w / N of their run
  Real v_keep[P];
  int run_start[kFusedMaxRunsPerTask + 1];  // first row of each run
  int rows;
  unsigned student_mask;  // bit p: row p is a student row
  unsigned v_train_mask;  // bit p: row p is a student row whose run trains v
  int decay;              // some student row has w_keep != 1
};

// The four input coordinates 4 group .. 4 group + 3 of sample mu (0 past N).
template <typename Real>
__device__ __forceinline__ void draw_inputs(std::uint64_t seed, std::uint64_t mu, int group, int n,
                                            Real (&x)[4]) {
  float z[4];
  gaussian4(random_block(seed, Stream::input, mu, static_cast<std::uint32_t>(group)), z);
#pragma unroll
  for (int j = 0; j < 4; ++j) x[j] = 4 * group + j < n ? static_cast<Real>(z[j]) : Real(0);
}

// Warp sums of P values at once ("transposed" butterfly): at offset 16 a lane
// keeps half of its values and sends the other half to its partner, at 8 a
// quarter, ... so P values cost P/2 + P/4 + ... + 1 shuffles instead of 5 P.
// Afterwards every lane holds in v[0] the warp sum of value lane / (32 / P),
// computed by the same tree as a plain xor butterfly of that value.
template <int Count, int Offset, typename Real, int P>
__device__ __forceinline__ void transposed_warp_sum(Real (&v)[P], int lane) {
  if constexpr (Offset >= 1) {
    if constexpr (Count > 1) {
      constexpr int half = Count / 2;
      const bool upper = (lane & Offset) != 0;
#pragma unroll
      for (int i = 0; i < half; ++i) {
        const Real send = upper ? v[i] : v[i + half];
        const Real keep = upper ? v[i + half] : v[i];
        v[i] = keep + __shfl_xor_sync(kFullMask, send, Offset);
      }
      transposed_warp_sum<half, Offset / 2>(v, lane);
    } else {
      v[0] += __shfl_xor_sync(kFullMask, v[0], Offset);
      transposed_warp_sum<1, Offset / 2>(v, lane);
    }
  }
}

template <typename Real, int P>
__global__ void __launch_bounds__(kFusedMaxThreads) fused_sgd_kernel(FusedArgs<Real> a) {
  static_assert(P == 4 || P == 8 || P == 16, "row classes are 4, 8 and 16");
  constexpr int kLanesPerValue = 32 / P;
  __shared__ TaskShared<Real, P> task;
  extern __shared__ __align__(16) unsigned char fused_dynamic_shared[];

  const BatchLayout<Real>& batch = a.batch;
  const FusedTask my = a.tasks[blockIdx.x];
  const int n = batch.n;

  if (threadIdx.x == 0) {
    int rows = 0;
    unsigned student_mask = 0, v_train_mask = 0;
    int decay = 0;
    for (int r = 0; r < my.count; ++r) {
      const int run = a.task_runs[my.first + r];
      const RunParams<Real> params = batch.runs[run];
      task.run[r] = params;
      task.run_start[r] = rows;
      const long long first_unit = static_cast<long long>(run) * batch.units;
      for (int k = 0; k < params.c.K; ++k, ++rows) {
        task.unit[rows] = first_unit + k;
        task.v[rows] = batch.v[first_unit + k];
        task.w_keep[rows] = params.c.w_keep;
        task.v_keep[rows] = params.c.v_keep;
        student_mask |= 1u << rows;
        if (params.train_v) v_train_mask |= 1u << rows;
        if (params.c.w_keep != Real(1)) decay = 1;
      }
      for (int m = 0; m < params.c.M; ++m, ++rows) {
        task.unit[rows] = first_unit + batch.teacher_offset + m;
        task.v[rows] = batch.v[first_unit + batch.teacher_offset + m];
        task.w_keep[rows] = Real(1);
        task.v_keep[rows] = Real(1);
      }
    }
    task.run_start[my.count] = rows;
    task.rows = rows;
    task.student_mask = student_mask;
    task.v_train_mask = v_train_mask;
    task.decay = decay;
  }
  __syncthreads();

  const int rows = task.rows;
  const unsigned student_mask = task.student_mask;
  const bool decay = task.decay != 0;
  const int nruns = my.count;
  const int B = task.run[0].batch;  // shared by the task's runs
  const std::uint64_t seed = task.run[0].seed;
  const std::int64_t first_step = task.run[0].step;
  const int group = threadIdx.x;  // this thread's Philox block of 4 coordinates
  const bool owner = 4 * group < n;
  const int warp = threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  const int nwarps = blockDim.x / 32;
  const Real inv_sqrt_n = Real(1) / math_sqrt(static_cast<Real>(n));

  Real* const s_partial = reinterpret_cast<Real*>(fused_dynamic_shared);  // [B][nwarps][P]
  Real* const s_field = s_partial + B * nwarps * P;                       // [B][P]
  Real* const s_coef = s_field + B * P;                                   // [B][P]
  Real* const s_dv = s_coef + B * P;                                      // [B][P]

  // The weights of this thread's coordinates, for the whole call.
  Real w[P][4];
#pragma unroll
  for (int p = 0; p < P; ++p) {
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int i = 4 * group + j;
      w[p][j] = p < rows && i < n ? batch.weights[task.unit[p] * n + i] : Real(0);
    }
  }

  Real x[4] = {Real(0), Real(0), Real(0), Real(0)};
  for (std::int64_t t = 0; t < a.steps; ++t) {
    const std::uint64_t first_sample = static_cast<std::uint64_t>(first_step + t) * B;

    // A. partial fields of every sample, from the weights before the step.
    for (int b = 0; b < B; ++b) {
      if (owner) draw_inputs(seed, first_sample + b, group, n, x);
      Real partial[P];
#pragma unroll
      for (int p = 0; p < P; ++p) {
        Real dot = Real(0);
        if (p < rows) {
          dot = w[p][0] * x[0];
          dot = fused_fma(w[p][1], x[1], dot);
          dot = fused_fma(w[p][2], x[2], dot);
          dot = fused_fma(w[p][3], x[3], dot);
        }
        partial[p] = dot;
      }
      transposed_warp_sum<P, 16>(partial, lane);
      if (lane % kLanesPerValue == 0)
        s_partial[(b * nwarps + warp) * P + lane / kLanesPerValue] = partial[0];
    }
    __syncthreads();

    // B. the step's coefficients (warp 0).
    if (warp == 0) {
      for (int q = lane; q < B * P; q += 32) {
        const int b = q / P, p = q % P;
        Real sum = Real(0);
        for (int k = 0; k < nwarps; ++k) sum += s_partial[(b * nwarps + k) * P + p];
        s_field[q] = sum * inv_sqrt_n;
        s_coef[q] = Real(0);
        s_dv[q] = Real(0);
      }
      __syncwarp();
      for (int q = lane; q < nruns * B; q += 32) {
        const int r = q / B, b = q % B;
        const SgdConstants<Real> c = task.run[r].c;
        const int start = task.run_start[r];
        // zeta is addressed by (seed, mu): not drawing it when sigma = 0 shifts nothing.
        const Real zeta =
            c.sigma != Real(0)
                ? static_cast<Real>(gaussian_at(seed, Stream::label_noise, first_sample + b, 0))
                : Real(0);
        Real* const field = s_field + b * P + start;
        accumulate_sample(c, field, &task.v[start], field + c.K, &task.v[start + c.K], zeta,
                          s_coef + b * P + start, s_dv + b * P + start);
      }
      __syncwarp();
      // v_k <- v_keep v_k + sum_b dv_b[k], after every sample has read v.
      if (lane < rows && ((task.v_train_mask >> lane) & 1u) != 0) {
        Real change = Real(0);
        for (int b = 0; b < B; ++b) change += s_dv[b * P + lane];
        task.v[lane] = task.v_keep[lane] * task.v[lane] + change;
      }
    }
    __syncthreads();

    // C. w_k <- w_keep w_k + sum_b coef_b[k] x^b (student rows).
    if (decay) {
#pragma unroll
      for (int p = 0; p < P; ++p) {
        if ((student_mask >> p) & 1u) {
          const Real keep = task.w_keep[p];
#pragma unroll
          for (int j = 0; j < 4; ++j) w[p][j] *= keep;
        }
      }
    }
    for (int b = 0; b < B; ++b) {
      if (B > 1 && owner) draw_inputs(seed, first_sample + b, group, n, x);  // B = 1: x^0 is in x
#pragma unroll
      for (int p = 0; p < P; ++p) {
        if ((student_mask >> p) & 1u) {
          const Real coef = s_coef[b * P + p];
#pragma unroll
          for (int j = 0; j < 4; ++j) w[p][j] = fused_fma(coef, x[j], w[p][j]);
        }
      }
    }
  }

  // Back to device memory: the students (teachers never change).
#pragma unroll
  for (int p = 0; p < P; ++p) {
    if ((student_mask >> p) & 1u) {
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const int i = 4 * group + j;
        if (i < n) batch.weights[task.unit[p] * n + i] = w[p][j];
      }
    }
  }
  if (threadIdx.x < rows && ((student_mask >> threadIdx.x) & 1u) != 0)
    batch.v[task.unit[threadIdx.x]] = task.v[threadIdx.x];
}

int fused_threads(int n) {
  const int groups = (n + 3) / 4;
  return (groups + 31) / 32 * 32;
}

template <typename Real, int P>
void launch_fused(const FusedArgs<Real>& args, int ntasks, cudaStream_t stream) {
  const int threads = fused_threads(args.batch.n);
  const std::size_t shared = fused_shared_bytes<Real>(args.batch.n, args.max_batch, P);
  fused_sgd_kernel<Real, P><<<ntasks, threads, shared, stream>>>(args);
  TSGD_CUDA_CHECK_LAUNCH("fused_sgd_kernel");
}

}  // namespace

template <typename Real>
std::size_t fused_shared_bytes(int n, int max_batch, int row_class) {
  const int nwarps = fused_threads(n) / 32;
  return static_cast<std::size_t>(max_batch) * row_class * (nwarps + 3) * sizeof(Real);
}

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
  return {kernel_attributes("fused_sgd_kernel<float, 4>", fused_sgd_kernel<float, 4>),
          kernel_attributes("fused_sgd_kernel<float, 8>", fused_sgd_kernel<float, 8>),
          kernel_attributes("fused_sgd_kernel<float, 16>", fused_sgd_kernel<float, 16>),
          kernel_attributes("fused_sgd_kernel<double, 4>", fused_sgd_kernel<double, 4>),
          kernel_attributes("fused_sgd_kernel<double, 8>", fused_sgd_kernel<double, 8>)};
}

template std::size_t fused_shared_bytes<float>(int, int, int);
template std::size_t fused_shared_bytes<double>(int, int, int);
template void fused_sgd<float>(const FusedArgs<float>&, int, int, cudaStream_t);
template void fused_sgd<double>(const FusedArgs<double>&, int, int, cudaStream_t);

}  // namespace tsgd
