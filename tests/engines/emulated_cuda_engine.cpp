// The CUDA engine, both paths, on the SIMT emulator (emulated_cuda_engine.h).
// Mirrors CudaEngineImpl (cuda/cuda_engine.cu) step for step with host
// memory in place of device memory: the same host functions (batch_host.h,
// fused_plan.h, cublas_step.h) and the same kernels (fused_kernel.cuh,
// cublas_kernels.cuh, gram_kernel.cuh); GEMMs by reference_gemm.
#include "tests/engines/emulated_cuda_engine.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/initial_weights.h"
#include "core/training_error.h"
#include "cuda/batch_host.h"
#include "cuda/cublas_step.h"
#include "cuda/fused_plan.h"
#include "math/fused_step.h"
#include "math/gaussian.h"
#include "math/sgd_update.h"

// After every other header: the emulator defines CUDA's keywords as macros,
// which the kernel headers after it use (their order is not clang-format's).
// clang-format off
#include "tests/engines/simt_emulator.h"

#include "cuda/cublas_kernels.cuh"
#include "cuda/fused_kernel.cuh"
#include "cuda/gram_kernel.cuh"
// clang-format on

namespace tsgd::testing {

template <typename Real>
void reference_gemm(const GemmCall<Real>& g) {
  const int rows_a = g.op_a == GemmOp::none ? g.m : g.k;  // A is stored rows_a x (k or m)
  const int rows_b = g.op_b == GemmOp::none ? g.k : g.n;
  if (g.m < 0 || g.n < 0 || g.k < 0 || g.count < 0)
    throw std::invalid_argument("gemm: negative size (CUBLAS_STATUS_INVALID_VALUE)");
  if (g.lda < std::max(1, rows_a) || g.ldb < std::max(1, rows_b) || g.ldc < std::max(1, g.m))
    throw std::invalid_argument("gemm: lda " + std::to_string(g.lda) + ", ldb " +
                                std::to_string(g.ldb) + ", ldc " + std::to_string(g.ldc) +
                                " below the rows of A (" + std::to_string(rows_a) + "), B (" +
                                std::to_string(rows_b) + "), C (" + std::to_string(g.m) +
                                ") (CUBLAS_STATUS_INVALID_VALUE)");
  for (int i = 0; i < g.count; ++i) {
    const Real* const a = g.a + i * g.stride_a;
    const Real* const b = g.b + i * g.stride_b;
    Real* const c = g.c + i * g.stride_c;
    for (int col = 0; col < g.n; ++col) {
      for (int row = 0; row < g.m; ++row) {
        Real sum = Real(0);
        for (int l = 0; l < g.k; ++l) {
          const Real x = g.op_a == GemmOp::none ? a[row + static_cast<long long>(l) * g.lda]
                                                : a[l + static_cast<long long>(row) * g.lda];
          const Real y = g.op_b == GemmOp::none ? b[l + static_cast<long long>(col) * g.ldb]
                                                : b[col + static_cast<long long>(l) * g.ldb];
          sum += x * y;
        }
        Real& out = c[row + static_cast<long long>(col) * g.ldc];
        out = g.beta == Real(0) ? g.alpha * sum : g.alpha * sum + g.beta * out;
      }
    }
  }
}

template void reference_gemm<float>(const GemmCall<float>&);
template void reference_gemm<double>(const GemmCall<double>&);

namespace {

// The device of cublas_step_sequence on the emulator: the same kernels with
// the same launch shapes (serially: they never synchronise), GEMMs by definition.
template <typename Real>
struct EmulatedDevice {
  void fill_inputs(const BatchLayout<Real>& batch, const CublasWorkspace<Real>& work,
                   std::int64_t t) {
    const std::int64_t count =
        static_cast<std::int64_t>(batch.nruns) * work.max_batch * ((batch.n + 3) / 4);
    simt::launch_serial(cublas_grid_for(count), kCublasThreads,
                        [&] { fill_inputs_kernel<Real>(batch, work.x, work.max_batch, t); });
  }
  void gemm(const GemmCall<Real>& g) { reference_gemm(g); }
  void coefficients(const BatchLayout<Real>& batch, const CublasWorkspace<Real>& work,
                    std::int64_t t) {
    const std::int64_t samples = static_cast<std::int64_t>(batch.nruns) * work.max_batch;
    simt::launch_serial(static_cast<unsigned>((samples + kCublasThreads - 1) / kCublasThreads),
                        kCublasThreads, [&] { sgd_coefficients_kernel<Real>(batch, work, t); });
  }
  void second_layer(const BatchLayout<Real>& batch, const CublasWorkspace<Real>& work) {
    simt::launch_serial((batch.nruns + kCublasThreads - 1) / kCublasThreads, kCublasThreads,
                        [&] { second_layer_kernel<Real>(batch, work); });
  }
  void decay(const BatchLayout<Real>& batch, const CublasWorkspace<Real>& work) {
    const std::int64_t count = static_cast<std::int64_t>(batch.nruns) * work.kmax * batch.n;
    simt::launch_serial(cublas_grid_for(count), kCublasThreads,
                        [&] { decay_weights_kernel<Real>(batch, work.kmax); });
  }
};

template <typename Real>
class EmulatedCudaEngine final : public Engine {
 public:
  explicit EmulatedCudaEngine(const EmulatedCudaOptions& options) : options_(options) {}

  std::string name() const override { return "cuda-emulated"; }
  Precision precision() const override {
    return sizeof(Real) == 4 ? Precision::float32 : Precision::float64;
  }
  RngTransform rng_transform() const override { return options_.rng_transform; }

  void load(const std::vector<RunSpec>& runs) override {
    check_cuda_batch(runs);
    batch_ = HostBatch<Real>();
    stale_ = true;
    HostBatch<Real> next = prepare_host_batch<Real>(runs);
    if (!options_.cublas_path && !fused_path_fits<Real>(next.n, next.max_batch, next.params))
      throw std::invalid_argument("emulated cuda engine: the batch does not fit the fused path");
    batch_ = std::move(next);
    specs_ = runs;
    et_cache_.clear();
    if (options_.cublas_path) {
      // As the CUDA engine allocates them; x is zeroed (sample rows past a run's B stay zero).
      const std::size_t samples = batch_.params.size() * static_cast<std::size_t>(batch_.max_batch);
      x_.assign(samples * batch_.n, Real(0));
      fields_.assign(samples * batch_.units, Real(0));
      coef_.assign(samples * batch_.kmax, Real(0));
      dv_.assign(samples * batch_.kmax, Real(0));
    }
  }

  void advance(std::int64_t steps) override {
    if (steps < 0) throw std::invalid_argument("emulated cuda engine: negative steps");
    if (steps == 0 || batch_.params.empty()) return;
    if (options_.cublas_path) {
      // cublas_steps: the steps in order, then the step counters.
      EmulatedDevice<Real> device;
      const CublasWorkspace<Real> work{x_.data(),    fields_.data(),   coef_.data(),
                                       dv_.data(),   batch_.max_batch, batch_.kmax,
                                       batch_.decay, batch_.train_v};
      for (std::int64_t t = 0; t < steps; ++t)
        cublas_step_sequence(device, batch_.layout(options_.rng_transform), work, t);
      batch_.count_steps(steps);
      return;
    }
    if (stale_) {
      plan_ = plan_fused_tasks(batch_.params, batch_.teachers, options_.group_by_seed);
      stale_ = false;
    }
    const int ntasks = plan_.ntasks();
    const std::int64_t per_launch =
        ntasks == 0 ? steps
                    : fused_steps_per_launch(options_.fused_steps_per_launch, ntasks,
                                             batch_.max_batch, batch_.n);
    for (std::int64_t done = 0; done < steps; done += per_launch) {
      const std::int64_t chunk = std::min(per_launch, steps - done);
      for (int c = 0; c < 3; ++c) {
        if (plan_.class_count[c] == 0) continue;
        const FusedArgs<Real> args{batch_.layout(options_.rng_transform),
                                   plan_.tasks.data() + plan_.class_first[c],
                                   plan_.task_runs.data(),
                                   plan_.class_max_batch[c],
                                   chunk,
                                   options_.keep_inputs};
        launch(args, plan_.class_count[c], kFusedRowClasses[c]);
      }
      // advance_step_counters (the layout's params are the host's own here)
      batch_.count_steps(chunk);
    }
  }

  void order_parameters(std::vector<OrderParameters>& out) override {
    out.resize(batch_.params.size());
    if (batch_.params.empty()) return;
    const std::size_t run_gram = static_cast<std::size_t>(batch_.units) * batch_.units;
    std::vector<double> gram(batch_.params.size() * run_gram, 0.0);
    const BatchLayout<Real> layout = batch_.layout(options_.rng_transform);
    simt::launch(static_cast<unsigned>(layout.nruns), kGramThreads, 0,
                 [&] { gram_kernel<Real>(layout, gram.data()); });
    order_parameters_from_gram(batch_.params, batch_.units, batch_.kmax, gram.data(),
                               batch_.v.data(), out);
  }

  void freeze(std::size_t index) override {
    if (index >= batch_.params.size())
      throw std::out_of_range("emulated cuda engine: freeze of a run not in the batch");
    if (batch_.params[index].frozen) return;
    batch_.params[index].frozen = 1;
    stale_ = true;
  }

  void weights(std::size_t index, InitialWeights& out) override { out = weights(index); }

  void resume(std::int64_t step, const std::vector<InitialWeights>& weights,
              const std::vector<char>& frozen) override {
    // The CUDA engine's resume, on the host copy it downloads.
    resume_host_batch(batch_, step, weights, frozen, batch_.weights.data(), batch_.v.data());
    stale_ = true;
  }

  // As the CUDA engine: on the host from its weights.
  void training_errors(int samples, std::vector<double>& out) override {
    std::vector<InitialWeights> current(specs_.size());
    for (std::size_t r = 0; r < specs_.size(); ++r)
      if (specs_[r].params.train_size > 0) current[r] = weights(r);
    tsgd::training_errors(specs_, current, samples, options_.rng_transform, &draw_input_blocks, 1,
                          out, &et_cache_);
  }

  InitialWeights weights(std::size_t index) const {
    if (index >= batch_.params.size())
      throw std::out_of_range("emulated cuda engine: weights of a run not in the batch");
    const std::size_t run_weights = static_cast<std::size_t>(batch_.units) * batch_.n;
    return run_weights_from_layout(batch_.params[index], batch_.n, batch_.kmax,
                                   batch_.weights.data() + index * run_weights,
                                   batch_.v.data() + index * batch_.units);
  }

 private:
  std::vector<RunSpec> specs_;
  TrainingErrorCache et_cache_;
  template <int P>
  void launch_class(const FusedArgs<Real>& args, int ntasks) {
    FusedArgs<Real> launched = args;  // as cuda/fused_sgd.cu launches it
    const FusedLaunchShape shape = prepare_fused_launch<Real, P>(launched);
    simt::launch(static_cast<unsigned>(ntasks), static_cast<unsigned>(shape.threads),
                 shape.shared_bytes, [&] { fused_sgd_kernel<Real, P>(launched); });
  }

  void launch(const FusedArgs<Real>& args, int ntasks, int row_class) {
    switch (row_class) {
      case 4:
        launch_class<4>(args, ntasks);
        return;
      case 8:
        launch_class<8>(args, ntasks);
        return;
      default:
        if constexpr (fused_max_rows<Real>() >= 16) {
          launch_class<16>(args, ntasks);
          return;
        }
    }
    throw std::invalid_argument("emulated cuda engine: no kernel for " + std::to_string(row_class) +
                                " rows");
  }

  const EmulatedCudaOptions options_;
  HostBatch<Real> batch_;
  std::vector<Real> x_, fields_, coef_, dv_;  // the cuBLAS path's workspace
  FusedPlan plan_;
  bool stale_ = true;
};

template <int P>
std::vector<float> transposed_sums(const std::vector<float>& values) {
  std::vector<float> out(32);
  simt::launch(1, 32, 0, [&] {
    const int lane = static_cast<int>(threadIdx.x);
    float v[P];
    for (int p = 0; p < P; ++p) v[p] = values[lane * P + p];
    transposed_warp_sum<P, 16>(v, lane);
    out[lane] = v[0];
  });
  return out;
}

}  // namespace

std::unique_ptr<Engine> make_emulated_cuda_engine(Precision precision,
                                                  const EmulatedCudaOptions& options) {
  if (precision == Precision::float32) return std::make_unique<EmulatedCudaEngine<float>>(options);
  return std::make_unique<EmulatedCudaEngine<double>>(options);
}

InitialWeights emulated_weights(Engine& engine, std::size_t index) {
  if (auto* e = dynamic_cast<EmulatedCudaEngine<float>*>(&engine)) return e->weights(index);
  if (auto* e = dynamic_cast<EmulatedCudaEngine<double>*>(&engine)) return e->weights(index);
  throw std::invalid_argument("emulated_weights: not an emulated cuda engine");
}

std::vector<float> emulated_transposed_warp_sums(const std::vector<float>& values, int P) {
  if (values.size() != static_cast<std::size_t>(32 * P))
    throw std::invalid_argument("emulated_transposed_warp_sums: 32 x P values");
  switch (P) {
    case 4:
      return transposed_sums<4>(values);
    case 8:
      return transposed_sums<8>(values);
    case 16:
      return transposed_sums<16>(values);
  }
  throw std::invalid_argument("emulated_transposed_warp_sums: P is 4, 8 or 16");
}

std::vector<float> emulated_butterfly_sums(const std::vector<float>& values, int P) {
  std::vector<float> out(values.size());
  simt::launch(1, 32, 0, [&] {
    const int lane = static_cast<int>(threadIdx.x);
    for (int p = 0; p < P; ++p) {
      float v = values[lane * P + p];
      for (int offset = 16; offset >= 1; offset /= 2) v += __shfl_xor_sync(kFullMask, v, offset);
      out[lane * P + p] = v;
    }
  });
  return out;
}

std::vector<std::uint32_t> emulated_block_shared_first_reads(int blocks) {
  std::vector<std::uint32_t> seen(blocks);
  simt::launch(static_cast<unsigned>(blocks), 32, 0, [&] {
    TSGD_BLOCK_SHARED(value, std::uint32_t);
    if (threadIdx.x == 0) seen[blockIdx.x] = value;
    __syncthreads();
    if (threadIdx.x == 0) value = 42;
  });
  return seen;
}

void emulate_divergent_barrier(bool warp) {
  simt::launch(1, 64, 0, [warp] {
    if (warp) {
      if (threadIdx.x % 32 < 20) __syncwarp();
    } else if (threadIdx.x < 40) {
      __syncthreads();
    }
  });
}

std::vector<double> emulated_block_sums(int threads, int rounds, int skipped_barrier) {
  if (threads <= 0 || threads % 32 != 0)
    throw std::invalid_argument("emulated_block_sums: threads a multiple of 32");
  struct WarpSums {
    double sum[32];
  };
  std::vector<double> out(threads);
  simt::launch(1, static_cast<unsigned>(threads), 0, [&] {
    TSGD_BLOCK_SHARED(scale, double);
    TSGD_BLOCK_SHARED(warp_sums, WarpSums);
    TSGD_BLOCK_SHARED(total, double);
    const int t = static_cast<int>(threadIdx.x), lane = t % 32, warp = t / 32;
    const int nwarps = static_cast<int>(blockDim.x) / 32;
    if (t == 0) scale = 0.5;
    if (skipped_barrier != 1) __syncthreads();  // scale is set
    double v = scale * (t + 1);
    for (int r = 0; r < rounds; ++r) {
      double s = v;
      for (int offset = 16; offset >= 1; offset /= 2) s += __shfl_xor_sync(kFullMask, s, offset);
      if (lane == 0) warp_sums.sum[warp] = s;
      if (skipped_barrier != 2) __syncthreads();  // every warp's sum is stored
      if (t == 0) {
        double sum = 0;
        for (int w = 0; w < nwarps; ++w) sum += warp_sums.sum[w];
        total = sum;
      }
      if (skipped_barrier != 3) __syncthreads();  // total is stored, the warp sums are read
      v += total / threads;
    }
    out[t] = v;
  });
  return out;
}

void emulate_throwing_thread(int& unwound) {
  struct Counted {
    int& count;
    ~Counted() { ++count; }
  };
  simt::launch(1, 64, 0, [&] {
    const Counted local{unwound};
    __syncthreads();
    if (threadIdx.x == 37) throw std::runtime_error("thread 37 failed");
    __syncthreads();
  });
}

}  // namespace tsgd::testing
