// The CUDA engine run by the SIMT emulator (tests/simt_emulator.h): the
// engine's own host code (cuda/batch_host.h: batch preparation, order
// parameters from the Gram matrices; cuda/fused_plan.h: task planning and
// launch splits; cuda/cublas_step.h: the cuBLAS path's step and GEMM
// arguments) around the engine's own kernels (cuda/fused_kernel.cuh,
// cuda/cublas_kernels.cuh, cuda/gram_kernel.cuh), on host memory, with the
// GEMMs computed by cuBLAS's documented definition (reference_gemm). What it
// leaves out of the real engine: device memory, streams, graphs, the CUDA
// API, cuBLAS itself and the device's arithmetic.
//
// It lets every engine test run the kernels on machines without a GPU. The
// fused path is slow (a fiber per CUDA thread, switched at every barrier and
// shuffle), so keep its batches small.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/engine.h"
#include "core/initial_weights.h"
#include "cuda/cublas_step.h"

namespace tsgd::testing {

struct EmulatedCudaOptions {
  bool cublas_path = false;                          // the cuBLAS path instead of the fused one
  bool group_by_seed = true;                         // CudaOptions::group_by_seed
  std::int64_t fused_steps_per_launch = 0;           // CudaOptions::fused_steps_per_launch
  bool keep_inputs = true;                           // CudaOptions::keep_inputs
  RngTransform rng_transform = RngTransform::exact;  // CudaOptions::rng_transform
};

// On the fused path, load throws std::invalid_argument for a batch it cannot hold.
std::unique_ptr<Engine> make_emulated_cuda_engine(Precision precision,
                                                  const EmulatedCudaOptions& options = {});

// Run `index`'s weights as the emulated engine holds them (CudaEngine::weights).
InitialWeights emulated_weights(Engine& engine, std::size_t index);

// The fused kernel's warp reduction of P values per lane (P = 4, 8, 16), run
// by one emulated warp: result[lane] is what lane `lane` holds afterwards in
// its first value, i.e. the warp sum of value lane / (32 / P). values[lane * P + p].
std::vector<float> emulated_transposed_warp_sums(const std::vector<float>& values, int P);
// The plain xor butterfly (offsets 16..1) of each value p, as one emulated
// warp computes it: result[lane * P + p].
std::vector<float> emulated_butterfly_sums(const std::vector<float>& values, int P);

// C_i <- alpha op(A_i) op(B_i) + beta C_i as cuBLAS's <t>gemmStridedBatched
// defines it (column-major; C not read when beta = 0); throws
// std::invalid_argument where cuBLAS returns CUBLAS_STATUS_INVALID_VALUE
// (negative sizes, leading dimensions too small).
template <typename Real>
void reference_gemm(const GemmCall<Real>& g);

// What thread 0 of each of `blocks` blocks first reads from a
// TSGD_BLOCK_SHARED uint32 that every block then sets to 42: fresh storage
// per block (0xffffffff), as on a GPU nothing carries over between blocks.
std::vector<std::uint32_t> emulated_block_shared_first_reads(int blocks);

// A kernel whose __syncthreads (with `warp`: whose __syncwarp) is skipped by
// some threads: the emulator must report it (an exception naming the
// barrier), not hang.
void emulate_divergent_barrier(bool warp = false);

// A block reduction with the barriers of the fused kernel (fill, reduce,
// broadcast), `threads` a multiple of 32: thread 0 sets a shared scale, and
// the values are 0.5 (t + 1) times it; then, `rounds` times, every warp sums
// its values by an xor butterfly into shared memory, thread 0 adds up the
// warps' sums, and every thread adds that total / threads to its value.
// skipped_barrier 1, 2 or 3 leaves out the first, second or third
// __syncthreads (0: none). Every thread's final value.
std::vector<double> emulated_block_sums(int threads, int rounds, int skipped_barrier);

// A kernel in which thread 37 of 64 throws std::runtime_error("thread 37
// failed") between two __syncthreads; `unwound` counts the threads whose
// locals were destroyed on the way out.
void emulate_throwing_thread(int& unwound);

}  // namespace tsgd::testing
