// A small SIMT emulator: runs a CUDA kernel written for it (cuda/fused_kernel.cuh,
// cuda/gram_kernel.cuh) on the host, one std::thread per CUDA thread, so that
// the kernels' indexing, barriers, warp shuffles and shared-memory use are
// exercised, and their numbers compared with the CPU engine, on machines
// without a GPU (CI, development). It is not a model of timing or of memory
// ordering beyond barriers: a race that the barriers do not order may go
// unnoticed here (compute-sanitizer's racecheck on a GPU covers that).
//
// What it provides: threadIdx, blockIdx, blockDim, gridDim (.x only),
// TSGD_BLOCK_SHARED and TSGD_DYNAMIC_SHARED (cuda/kernel_macros.cuh; fresh
// storage for every block, filled with 0xff bytes, a NaN pattern), __syncthreads,
// __syncwarp, __shfl_xor_sync (full warps and full masks only, as the kernels
// use it), __fmaf_rn and __fma_rn (one rounding, std::fma). A barrier that is
// not reached by every thread it waits for (a __syncthreads inside a branch
// some threads skip) is an error after a timeout, not a hang. Not seen:
// threads released by barriers at different call sites (as on the hardware:
// a barrier counts arrivals), races between blocks (they run in order).
//
// Include this header after every other header of the translation unit and
// before the kernel headers: it defines CUDA's keywords as macros.
#pragma once

#if defined(__CUDACC__)
#error "simt_emulator.h is for host compilers"
#endif

#include <array>
#include <atomic>
#include <map>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

namespace tsgd::simt {

struct Dim {
  unsigned x = 0, y = 0, z = 0;
};

// Thrown in the threads of a block when one of them failed: they stop at
// their next barrier instead of waiting for it forever.
struct BlockAborted {};

// How long a barrier waits for its last thread before it reports the
// barrier as not reached by all (a kernel bug, not slowness: the threads of
// a block only compute between barriers).
inline std::atomic<int> barrier_timeout_ms{60000};

// A reusable barrier for `count` threads that gives up (throws) when the
// block has failed or when it is not complete after `timeout`.
class Barrier {
 public:
  explicit Barrier(int count) : count_(count) {}

  void wait(const std::atomic<bool>& failed, const char* what) {
    std::unique_lock<std::mutex> lock(mutex_);
    const long generation = generation_;
    if (++arrived_ == count_) {
      arrived_ = 0;
      ++generation_;
      released_.notify_all();
      return;
    }
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(barrier_timeout_ms.load());
    while (generation_ == generation) {
      if (failed) throw BlockAborted{};
      if (released_.wait_until(lock, std::min(deadline, std::chrono::steady_clock::now() +
                                                             std::chrono::milliseconds(50))) ==
              std::cv_status::timeout &&
          std::chrono::steady_clock::now() >= deadline && generation_ == generation)
        throw std::runtime_error(std::string("simt emulator: ") + what + " not reached by all " +
                                 std::to_string(count_) + " threads it waits for (" +
                                 std::to_string(arrived_) + " arrived)");
    }
  }

  // Wakes the waiters so that they see the block's failure.
  void wake() {
    std::lock_guard<std::mutex> lock(mutex_);
    released_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable released_;
  const int count_;
  int arrived_ = 0;
  long generation_ = 0;
};

class Block {
 public:
  Block(unsigned threads, std::size_t dynamic_bytes)
      : threads_(threads), all_(static_cast<int>(threads)), dynamic_(dynamic_bytes, 0xff) {
    // Exactly the bytes asked for (AddressSanitizer sees an overrun); operator
    // new aligns them for any fundamental type, as the GPU's 16 bytes.
    const unsigned warps = (threads + 31) / 32;
    for (unsigned w = 0; w < warps; ++w) {
      const unsigned lanes = std::min(32u, threads - 32 * w);
      warp_barriers_.push_back(std::make_unique<Barrier>(static_cast<int>(lanes)));
    }
    exchange_.resize(warps);
  }

  void sync_block() { all_.wait(failed_, "__syncthreads"); }
  void sync_warp(unsigned warp) { warp_barriers_[warp]->wait(failed_, "__syncwarp"); }

  template <typename T>
  T shfl_xor(unsigned mask, T value, int offset, unsigned warp, unsigned lane) {
    static_assert(sizeof(T) <= sizeof(std::uint64_t), "shuffles of at most 8 bytes");
    if (mask != 0xffffffffu)
      throw std::logic_error("simt emulator: __shfl_xor_sync supports the full mask only");
    if (threads_ < 32 * (warp + 1))
      throw std::logic_error("simt emulator: __shfl_xor_sync with a full mask in a partial warp");
    if (offset < 1 || offset > 31)
      throw std::logic_error("simt emulator: __shfl_xor_sync lane offset out of range");
    std::uint64_t bits = 0;
    std::memcpy(&bits, &value, sizeof(T));
    exchange_[warp][lane] = bits;
    sync_warp(warp);  // every lane has written
    bits = exchange_[warp][lane ^ static_cast<unsigned>(offset)];
    sync_warp(warp);  // every lane has read before the next shuffle writes
    T out;
    std::memcpy(&out, &bits, sizeof(T));
    return out;
  }

  unsigned char* dynamic_shared() { return dynamic_.data(); }

  // The block's object of a TSGD_BLOCK_SHARED declaration (key: the
  // declaration), made by the first thread that reaches it, filled with 0xff.
  void* shared_object(const void* key, std::size_t bytes) {
    std::lock_guard<std::mutex> lock(shared_mutex_);
    std::vector<std::max_align_t>& storage = shared_objects_[key];
    if (storage.empty()) {
      storage.resize(bytes / sizeof(std::max_align_t) + 1);
      std::memset(storage.data(), 0xff, storage.size() * sizeof(std::max_align_t));
    }
    return storage.data();
  }

  void fail() {
    failed_ = true;
    all_.wake();
    for (auto& barrier : warp_barriers_) barrier->wake();
  }

 private:
  const unsigned threads_;
  std::atomic<bool> failed_{false};
  Barrier all_;
  std::vector<std::unique_ptr<Barrier>> warp_barriers_;
  std::vector<std::array<std::uint64_t, 32>> exchange_;
  std::vector<unsigned char> dynamic_;
  std::mutex shared_mutex_;
  std::map<const void*, std::vector<std::max_align_t>> shared_objects_;
};

struct ThreadContext {
  Dim thread, block, dim, grid;
  Block* block_state = nullptr;  // null in a serial launch: no barriers there
};

inline thread_local ThreadContext* current_context = nullptr;

inline ThreadContext& current() {
  if (current_context == nullptr)
    throw std::logic_error("simt emulator: a device function called outside simt::launch");
  return *current_context;
}

// Runs kernel() as a grid of `grid` blocks of `threads` threads with
// `dynamic_bytes` of dynamic shared memory; blocks one after another, the
// threads of a block concurrently. Rethrows the first exception of a thread.
template <typename Kernel>
void launch(unsigned grid, unsigned threads, std::size_t dynamic_bytes, Kernel kernel) {
  if (threads == 0 || threads > 1024)
    throw std::invalid_argument("simt emulator: " + std::to_string(threads) + " threads per block");
  if (dynamic_bytes > (48u << 10))
    throw std::invalid_argument("simt emulator: " + std::to_string(dynamic_bytes) +
                                " bytes of dynamic shared memory (more than 48 KB)");
  for (unsigned b = 0; b < grid; ++b) {
    Block block(threads, dynamic_bytes);
    std::mutex failure_mutex;
    std::exception_ptr failure;
    std::vector<std::thread> pool;
    pool.reserve(threads);
    auto join_all = [&] {
      for (auto& thread : pool) thread.join();
    };
    for (unsigned t = 0; t < threads; ++t) {
      try {
        pool.emplace_back([&, t] {
          ThreadContext context{Dim{t, 0, 0}, Dim{b, 0, 0}, Dim{threads, 1, 1}, Dim{grid, 1, 1}, &block};
          current_context = &context;
          try {
            kernel();
          } catch (const BlockAborted&) {
          } catch (...) {
            {
              std::lock_guard<std::mutex> lock(failure_mutex);
              if (!failure) failure = std::current_exception();
            }
            block.fail();
          }
          current_context = nullptr;
        });
      } catch (...) {  // no thread (a resource limit): stop the others, then report
        block.fail();
        join_all();
        throw;
      }
    }
    join_all();
    if (failure) std::rethrow_exception(failure);
  }
}

// Runs kernel() for every thread of every block one after another on this
// thread: for element-wise kernels, which never synchronise (a barrier or a
// shuffle there throws). Much faster than launch().
template <typename Kernel>
void launch_serial(unsigned grid, unsigned threads, Kernel kernel) {
  if (threads == 0 || threads > 1024)
    throw std::invalid_argument("simt emulator: " + std::to_string(threads) + " threads per block");
  for (unsigned b = 0; b < grid; ++b) {
    for (unsigned t = 0; t < threads; ++t) {
      ThreadContext context{Dim{t, 0, 0}, Dim{b, 0, 0}, Dim{threads, 1, 1}, Dim{grid, 1, 1}, nullptr};
      current_context = &context;
      try {
        kernel();
      } catch (...) {
        current_context = nullptr;
        throw;
      }
      current_context = nullptr;
    }
  }
}

inline Block& block_of(ThreadContext& c) {
  if (c.block_state == nullptr)
    throw std::logic_error("simt emulator: a barrier or shuffle in a kernel launched serially");
  return *c.block_state;
}
// TSGD_BLOCK_SHARED: the block's object for the declaration `Key` (a
// __COUNTER__ value) of type T (trivially copyable; never constructed, as on a GPU).
template <typename T, int Key>
T& block_shared() {
  static_assert(std::is_trivially_copyable<T>::value, "shared objects are plain data");
  static const char declaration = 0;
  return *static_cast<T*>(block_of(current()).shared_object(&declaration, sizeof(T)));
}

inline void syncthreads() { block_of(current()).sync_block(); }
inline void syncwarp(unsigned mask = 0xffffffffu) {
  if (mask != 0xffffffffu) throw std::logic_error("simt emulator: __syncwarp supports the full mask only");
  ThreadContext& c = current();
  block_of(c).sync_warp(c.thread.x / 32);
}
template <typename T>
T shfl_xor_sync(unsigned mask, T value, int offset) {
  ThreadContext& c = current();
  return block_of(c).shfl_xor(mask, value, offset, c.thread.x / 32, c.thread.x % 32);
}

}  // namespace tsgd::simt

#define TSGD_SIMT_EMULATION 1
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define TSGD_REGISTER_BUDGET(...)
#define TSGD_BLOCK_SHARED(name, ...) __VA_ARGS__& name = ::tsgd::simt::block_shared<__VA_ARGS__, __COUNTER__>()
#define TSGD_DYNAMIC_SHARED(name) unsigned char* const name = ::tsgd::simt::block_of(::tsgd::simt::current()).dynamic_shared()
#define threadIdx (::tsgd::simt::current().thread)
#define blockIdx (::tsgd::simt::current().block)
#define blockDim (::tsgd::simt::current().dim)
#define gridDim (::tsgd::simt::current().grid)
#define __syncthreads ::tsgd::simt::syncthreads
#define __syncwarp ::tsgd::simt::syncwarp
#define __shfl_xor_sync ::tsgd::simt::shfl_xor_sync
inline float __fmaf_rn(float a, float b, float c) { return std::fma(a, b, c); }
inline double __fma_rn(double a, double b, double c) { return std::fma(a, b, c); }
