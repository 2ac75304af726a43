// The CUDA engine: the GPU twin of the CPU reference engine (host/cpu_engine.h),
// and the questions a host program asks about GPUs. A plain C++ header: host
// .cpp files include it without nvcc; the kernels live in the .cu files beside it.
//
// Two paths advance the runs (docs/gpu.md):
//   fused  - one thread block per run (or per few runs sharing a seed) keeps the
//            weights in registers for a whole advance(); inputs drawn on chip.
//            For N <= 2048, K + M <= 16 (float) or 8 (double), batch size <= 16.
//   cublas - any shape: batched GEMMs for the local fields and the rank-B update.
// Both give the CPU engine's numbers to float rounding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/engine.h"
#include "core/initial_weights.h"
#include "core/model.h"
#include "math/gaussian.h"

namespace tsgd {

// A failed CUDA or cuBLAS call: the call's text, the error text and file:line.
class CudaError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class CudaPath {
  automatic,  // fused where the batch fits it, else cublas; TSGD_CUDA_PATH=fused|cublas overrides
  fused,      // fails (std::invalid_argument) on a batch the fused path cannot hold
  cublas,
};

struct CudaOptions {
  int device = 0;
  CudaPath path = CudaPath::automatic;
  // Fused path: a block advances several runs of one seed together and draws
  // each input once for all of them (docs/gpu.md, "The fused (on-chip) path").
  // TSGD_CUDA_GROUP=0 turns it off.
  bool group_by_seed = true;
  // cuBLAS path: replay the step loop as a CUDA graph. TSGD_CUDA_GRAPH=0 turns it off.
  bool use_graph = true;
  // Fused path: steps per kernel launch; 0: about 2^24 block-steps per launch
  // (tens of milliseconds on an H200), so that no launch runs into a display
  // GPU's watchdog. The weights go to device memory between launches; a
  // run's numbers do not depend on the split (tested).
  std::int64_t fused_steps_per_launch = 0;
  // Fused path, mini-batches: keep a step's inputs in shared memory for the
  // update instead of drawing them twice, where they fit (fused_plan.h); the
  // same numbers either way (tested). TSGD_CUDA_KEEP_INPUTS=0 turns it off.
  bool keep_inputs = true;
  // The Gaussian transform of the inputs and label noise (math/gaussian.h):
  // exact (the CPU's draws bit for bit) or fast (hardware approximations,
  // within the bound stated there). experiment/ chooses it (simulate.rng_transform).
  RngTransform rng_transform = RngTransform::exact;
};

// The engine's own face, beyond the Engine interface: what tests and
// benchmarks ask of it (make_cuda_engine's result is one of these).
class CudaEngine : public Engine {
 public:
  using Engine::weights;
  // The path the loaded batch runs on (fused or cublas, never automatic).
  virtual CudaPath path() const = 0;
  // Real-input sets (PointParams::inputs) uploaded to the device since the
  // engine was made: a set is uploaded once, not again when the next batch
  // loads it too (cuda/device_inputs.cuh).
  virtual std::size_t input_uploads() const = 0;
  // Run `index`'s weights as the engine holds them, promoted to double, in the
  // layout of InitialWeights (w K x N, w* M x N, v, v*): for bitwise checks.
  virtual InitialWeights weights(std::size_t index) = 0;
  // advance(steps), timed by CUDA events recorded on the engine's stream
  // around it; waits for the steps to finish. Seconds (benchmarks).
  virtual double timed_advance(std::int64_t steps) = 0;
};

// The CUDA engine on GPU `options.device`. Throws CudaError when the device
// cannot be used (and always in a build without the CUDA engine: cuda/no_cuda.cpp
// provides every function of this header there, so callers need no #ifdef).
std::unique_ptr<Engine> make_cuda_engine(Precision precision, const CudaOptions& options);
inline std::unique_ptr<Engine> make_cuda_engine(Precision precision, int device = 0) {
  CudaOptions options;
  options.device = device;
  return make_cuda_engine(precision, options);
}

struct GpuInfo {
  int index = 0;
  std::string name;
  std::size_t memory_bytes = 0;
  std::size_t free_bytes = 0;  // free when listed (other processes hold the rest)
  int major = 0;
  int minor = 0;
  int multiprocessors = 0;
};

// The usable GPUs; empty, with the reason in *why_none (if given), when there
// are none (no driver, no device, an error). Never throws.
std::vector<GpuInfo> list_gpus(std::string* why_none);

// Runs of one batch on the cuBLAS path: some of cuBLAS's batched kernels take
// the batch count as a grid dimension (at most 65535), so a larger batch is
// refused by load; the runner's waves never exceed it (runner.h).
constexpr int kCublasMaxRuns = 65535;

// Device memory the CUDA engine holds per run of a batch whose largest K, M
// and mini-batch size are kmax, mmax and max_batch (batch_layout.cuh): the
// weights and v of kmax + mmax rows, the run's parameters, the double Gram
// matrix of its records, and the cuBLAS path's per-sample buffers (counted
// whatever the path: it is chosen at load). Plain arithmetic, no GPU needed.
inline double cuda_bytes_per_run(int n, int kmax, int mmax, int max_batch, Precision precision) {
  const double real = precision == Precision::float32 ? 4.0 : 8.0;
  const double units = static_cast<double>(kmax) + mmax;
  const double per_sample = static_cast<double>(n) + units + 2.0 * kmax;  // x, fields, coef, dv
  return real * (units * n + units + static_cast<double>(max_batch) * per_sample) +
         8.0 * units * units + 256.0;
}

// At least one usable GPU. Never throws.
bool cuda_available();

// Whether this build holds the CUDA engine (false: cuda/no_cuda.cpp stands in).
bool cuda_built();

// The first `count` standard Gaussians of (seed, stream, index) as the GPU
// draws them with TRANSFORM (math/gaussian.h), to check them against the
// host's: bit for bit (exact), within the stated bound (fast).
std::vector<float> cuda_gaussians(std::uint64_t seed, Stream stream, std::uint64_t index, int count,
                                  int device = 0, RngTransform transform = RngTransform::exact);

// Standard Gaussians per second GPU `device` draws as the SGD kernels draw
// their inputs with TRANSFORM, and nothing else (benchmarks: the bound of the fused path).
double cuda_gaussian_rate(int device = 0, RngTransform transform = RngTransform::exact);

// Device memory bandwidth (bytes read + written per second) of a 1 GiB
// device-to-device copy on GPU `device`, the best of three (benchmarks: the
// bound of the cuBLAS path, which streams the weights every step).
double cuda_copy_bandwidth(int device = 0);

// Resource use of one compiled kernel (cudaFuncGetAttributes), for benchmarks.
struct CudaKernelInfo {
  std::string name;
  int registers = 0;
  std::size_t shared_bytes = 0;  // static shared memory per block
  std::size_t local_bytes = 0;   // stack / spills per thread
  int max_threads = 0;
  // Blocks of occupancy_threads threads resident per multiprocessor (0: not
  // computed); the fused kernels at N = 784, B = 1 (the benchmark's case (a)).
  int blocks_per_multiprocessor = 0;
  int occupancy_threads = 0;
};
std::vector<CudaKernelInfo> cuda_kernel_info();

}  // namespace tsgd
