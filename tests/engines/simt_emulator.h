// A small SIMT emulator: runs a CUDA kernel written for it (cuda/fused_kernel.cuh,
// cuda/gram_kernel.cuh, cuda/cublas_kernels.cuh) on the host, so that the
// kernels' indexing, barriers, warp shuffles and shared-memory use are
// exercised, and their numbers compared with the CPU engine, on machines
// without a GPU (CI, development). It is not a model of timing or of memory
// ordering beyond barriers: a race that the barriers do not order may go
// unnoticed here (compute-sanitizer's racecheck on a GPU covers that).
//
// How it runs a block: every CUDA thread is a fiber (its own stack, switched
// to and from by hand, user-level, on the launching OS thread), and a fiber
// runs until it reaches a __syncthreads, __syncwarp or __shfl_xor_sync, where
// it hands over to the next thread. So the threads of a block interleave at
// barriers and nowhere else, deterministically, and a block costs no OS
// threads. The order in which waiting threads are resumed is chosen to make a
// missing barrier visible (Scheduling, below).
//
// What it provides: threadIdx, blockIdx, blockDim, gridDim (.x only),
// TSGD_BLOCK_SHARED and TSGD_DYNAMIC_SHARED (cuda/kernel_macros.cuh; fresh
// storage for every block, filled with 0xff bytes, a NaN pattern), __syncthreads,
// __syncwarp, __shfl_xor_sync (full warps and full masks only, as the kernels
// use it), __fmaf_rn and __fma_rn (one rounding, std::fma). A barrier that is
// not reached by every thread it waits for (a __syncthreads inside a branch
// some threads skip, a warp barrier some lanes skip) is reported as an error
// as soon as every other thread has finished or waits too, not hung on. An
// exception in one thread stops the block (the other threads unwind from
// their barriers) and reaches the launcher. Not seen: threads released by
// barriers at different call sites (as on the hardware: a barrier counts
// arrivals), races between blocks (they run in order), a kernel that loops
// forever without a barrier (it never hands over).
//
// Scheduling. Between two __syncthreads (a "phase") a block runs warp after
// warp, each until all its lanes wait at the next __syncthreads or have
// finished; within a warp, lane after lane, each until its next barrier or
// shuffle. Phase k of a launch (counted across its blocks) starts at thread
// s = 37 (k + 1) mod blockDim.x: s's warp from s's lane round, then the
// following warps in turn, each from the same lane. Why: a fiber runs until
// it blocks, so a missing __syncthreads between a write and a read is seen
// only if the reader runs before the writer. A fixed order hides whole
// classes of them: thread 0 first hides a missing barrier after thread 0
// fills shared memory for all (the fused kernel's task state, its
// coefficients) or reads what the others then overwrite (the Gram kernel's
// warp sums); thread 0 last, one after the warps store partial sums for
// thread 0. Rotating puts some reader before the writer in some phase (37 is
// prime and 32 + 5: the start moves to another warp and another lane every
// phase), and running a warp to its next __syncthreads puts all of a warp's
// writes after another warp's reads. Tried: leaving out any one of the fused
// kernel's six barriers or the Gram kernel's two fails engine tests; with
// thread 0 always first, three of them went unseen.
// EmulatedCuda.AMissingBarrierIsSeen leaves out each barrier of a kernel of
// that shape in turn.
//
// Include this header after every other header of the translation unit and
// before the kernel headers: it defines CUDA's keywords as macros.
#pragma once

#if defined(__CUDACC__)
#error "simt_emulator.h is for host compilers"
#endif

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <map>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

// The context switch: a dozen instructions of assembly on x86-64, 15 ns a
// round trip; POSIX ucontext elsewhere, or with TSGD_SIMT_UCONTEXT defined:
// swapcontext also sets the signal mask, a system call each way, 450 ns a
// round trip, which made the emulated tests three times slower.
#if defined(__x86_64__) && !defined(TSGD_SIMT_UCONTEXT)
#define TSGD_SIMT_ASM_SWITCH 1
#else
#include <ucontext.h>
#endif

// AddressSanitizer must be told when the stack changes, or it takes the
// fibers' frames for overflows of the launcher's stack.
#if defined(__SANITIZE_ADDRESS__)
#define TSGD_SIMT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TSGD_SIMT_ASAN 1
#endif
#endif
#ifdef TSGD_SIMT_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

#ifdef TSGD_SIMT_ASM_SWITCH
// tsgd_simt_switch_stack(from, to): pushes the callee-saved registers of the
// System V ABI (rbp, rbx, r12-r15) on the current stack, stores the stack
// pointer in *from, loads `to` and pops that stack's registers: the return
// goes to where `to`'s fiber last called it. The floating-point control
// registers are the OS thread's, shared by all fibers; no kernel changes them.
// tsgd_simt_fiber_start: the first return into a new fiber lands here and
// calls r12(r13) (fiber_stack_frame below); the entry never returns. In a
// COMDAT group: one copy however many translation units include this header.
asm(R"(
  .pushsection .text.tsgd_simt_switch_stack,"axG",@progbits,tsgd_simt_switch_stack,comdat
  .globl tsgd_simt_switch_stack
  .hidden tsgd_simt_switch_stack
  .type tsgd_simt_switch_stack, @function
  .p2align 4
tsgd_simt_switch_stack:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size tsgd_simt_switch_stack, .-tsgd_simt_switch_stack
  .globl tsgd_simt_fiber_start
  .hidden tsgd_simt_fiber_start
  .type tsgd_simt_fiber_start, @function
  .p2align 4
tsgd_simt_fiber_start:
  .cfi_startproc
  .cfi_undefined rip
  movq %r13, %rdi
  callq *%r12
  ud2
  .cfi_endproc
  .size tsgd_simt_fiber_start, .-tsgd_simt_fiber_start
  .popsection
)");
extern "C" __attribute__((visibility("hidden"))) void tsgd_simt_switch_stack(void** from, void* to);
extern "C" __attribute__((visibility("hidden"))) void tsgd_simt_fiber_start();
#endif

namespace tsgd::simt {

struct Dim {
  unsigned x = 0, y = 0, z = 0;
};

// Thrown in the threads of a block when one of them failed: they stop at
// their next barrier, unwinding their frames, instead of waiting for it.
struct BlockAborted {};

namespace detail {

// A fiber's stack: its own mapping, with an inaccessible guard page below it
// so that an overflow faults instead of writing into another stack. 128 KiB:
// the kernels keep a few hundred bytes of locals (the fused kernel's weights
// are P x 4 values); the rest is for what sanitizers and exceptions add.
class FiberStack {
 public:
  static constexpr std::size_t kBytes = std::size_t(128) << 10;

  FiberStack() {
    guard_bytes_ = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    int flags = MAP_PRIVATE | MAP_ANONYMOUS;
#ifdef MAP_STACK
    flags |= MAP_STACK;
#endif
    void* mapping = mmap(nullptr, guard_bytes_ + kBytes, PROT_READ | PROT_WRITE, flags, -1, 0);
    if (mapping == MAP_FAILED) throw std::bad_alloc();
    if (mprotect(mapping, guard_bytes_, PROT_NONE) != 0) {
      const int error = errno;
      munmap(mapping, guard_bytes_ + kBytes);
      throw std::system_error(error, std::generic_category(), "simt emulator: stack guard page");
    }
    mapping_ = static_cast<char*>(mapping);
  }
  ~FiberStack() {
#ifdef TSGD_SIMT_ASAN
    ASAN_UNPOISON_MEMORY_REGION(bottom(), kBytes);
#endif
    munmap(mapping_, guard_bytes_ + kBytes);
  }
  FiberStack(const FiberStack&) = delete;
  FiberStack& operator=(const FiberStack&) = delete;

  char* bottom() const { return mapping_ + guard_bytes_; }
  char* top() const { return bottom() + kBytes; }  // page-aligned

 private:
  char* mapping_ = nullptr;
  std::size_t guard_bytes_ = 0;
};

// The stacks of this OS thread's launches, kept from one launch to the next
// (mapping them, and the page faults of first use, would cost more than
// many a launch). Freed when the thread ends.
inline thread_local std::vector<std::unique_ptr<FiberStack>> spare_stacks;

// A saved point of execution: where a suspended fiber (or the launcher,
// while a fiber runs) resumes.
struct Context {
#ifdef TSGD_SIMT_ASM_SWITCH
  void* stack_pointer = nullptr;
#else
  ucontext_t ucontext;
#endif
};

#ifndef TSGD_SIMT_ASM_SWITCH
// makecontext passes only int arguments: the fiber to start travels here.
inline thread_local void (*starting_entry)(void*) = nullptr;
inline thread_local void* starting_argument = nullptr;
inline void ucontext_start() { starting_entry(starting_argument); }
#endif

// Makes `context` start entry(argument) on `stack` when first switched to.
// entry must never return: it ends by switching away for good.
inline void fiber_stack_frame(Context& context, FiberStack& stack, void (*entry)(void*),
                              void* argument) {
#ifdef TSGD_SIMT_ASM_SWITCH
  // What tsgd_simt_switch_stack pops: r15, r14, r13 (argument), r12 (entry),
  // rbx, rbp (0: the end of the frame-pointer chain), then the return address
  // (tsgd_simt_fiber_start), which leaves the stack pointer 16-byte aligned for
  // its call, as the ABI requires.
  auto* frame = reinterpret_cast<std::uintptr_t*>(stack.top()) - 9;
  const std::uintptr_t words[9] = {0,
                                   0,
                                   reinterpret_cast<std::uintptr_t>(argument),
                                   reinterpret_cast<std::uintptr_t>(entry),
                                   0,
                                   0,
                                   reinterpret_cast<std::uintptr_t>(&tsgd_simt_fiber_start),
                                   0,
                                   0};
  std::memcpy(frame, words, sizeof(words));
  context.stack_pointer = frame;
#else
  if (getcontext(&context.ucontext) != 0)
    throw std::system_error(errno, std::generic_category(), "simt emulator: getcontext");
  context.ucontext.uc_stack.ss_sp = stack.bottom();
  context.ucontext.uc_stack.ss_size = FiberStack::kBytes;
  context.ucontext.uc_link = nullptr;
  makecontext(&context.ucontext, &ucontext_start, 0);
  // Read by ucontext_start on the first switch, which follows before any other.
  starting_entry = entry;
  starting_argument = argument;
#endif
}

inline void switch_context(Context& from, Context& to) {
#ifdef TSGD_SIMT_ASM_SWITCH
  tsgd_simt_switch_stack(&from.stack_pointer, to.stack_pointer);
#else
  // It fails only for a bad signal mask, and the mask is the thread's own.
  if (swapcontext(&from.ucontext, &to.ucontext) != 0) std::abort();
#endif
}

}  // namespace detail

class Block;

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

// The blocks of one launch, run one after another on the launching thread,
// each thread of a block a fiber. Holds the fibers' stacks for the launch.
class Block {
 public:
  Block(unsigned threads, std::size_t dynamic_bytes, unsigned grid)
      : threads_(threads),
        warps_((threads + 31) / 32),
        grid_(grid),
        fibers_(threads),
        block_barrier_{0, threads},
        exchange_(warps_),
        // Exactly the bytes asked for (AddressSanitizer sees an overrun);
        // operator new aligns them for any fundamental type, as the GPU's 16 bytes.
        dynamic_(dynamic_bytes) {
    for (unsigned w = 0; w < warps_; ++w)
      warp_barriers_.push_back(Barrier{32 * w, std::min(32u, threads - 32 * w)});
    std::vector<std::unique_ptr<detail::FiberStack>>& spare = detail::spare_stacks;
    stacks_.reserve(threads);
    while (stacks_.size() < threads && !spare.empty()) {
      stacks_.push_back(std::move(spare.back()));
      spare.pop_back();
    }
    while (stacks_.size() < threads) stacks_.push_back(std::make_unique<detail::FiberStack>());
  }
  ~Block() {
    for (auto& stack : stacks_) detail::spare_stacks.push_back(std::move(stack));
  }
  Block(const Block&) = delete;
  Block& operator=(const Block&) = delete;

  // Runs block `index` of the launch to its end; rethrows the first exception
  // of its threads, or reports a barrier that cannot complete.
  template <typename Kernel>
  void run(unsigned index, Kernel& kernel) {
    kernel_ = &kernel;
    run_kernel_ = [](void* k) { (*static_cast<Kernel*>(k))(); };
    failure_ = nullptr;
    aborted_ = false;
    exited_ = 0;
    ++block_serial_;
    std::fill(dynamic_.begin(), dynamic_.end(), static_cast<unsigned char>(0xff));
    block_barrier_.arrived = 0;
    for (Barrier& barrier : warp_barriers_) barrier.arrived = 0;
    for (unsigned t = 0; t < threads_; ++t) {
      Fiber& fiber = fibers_[t];
      fiber.owner = this;
      fiber.stack = stacks_[t].get();
      fiber.thread = ThreadContext{Dim{t, 0, 0}, Dim{index, 0, 0}, Dim{threads_, 1, 1},
                                   Dim{grid_, 1, 1}, this};
      fiber.state = State::unstarted;
      fiber.barrier = nullptr;
      fiber.waiting_for = nullptr;
    }
    schedule();
    kernel_ = nullptr;
    if (failure_) std::rethrow_exception(failure_);
  }

  void sync_block(unsigned thread) { wait(thread, block_barrier_, "__syncthreads"); }
  void sync_warp(unsigned thread) { wait(thread, warp_barriers_[thread / 32], "__syncwarp"); }

  template <typename T>
  T shfl_xor(unsigned mask, T value, int offset, unsigned thread) {
    static_assert(sizeof(T) <= sizeof(std::uint64_t), "shuffles of at most 8 bytes");
    const unsigned warp = thread / 32, lane = thread % 32;
    if (mask != 0xffffffffu)
      throw std::logic_error("simt emulator: __shfl_xor_sync supports the full mask only");
    if (threads_ < 32 * (warp + 1))
      throw std::logic_error("simt emulator: __shfl_xor_sync with a full mask in a partial warp");
    if (offset < 1 || offset > 31)
      throw std::logic_error("simt emulator: __shfl_xor_sync lane offset out of range");
    Barrier& barrier = warp_barriers_[warp];
    // Two slots, by the parity of the warp barrier's generation: the slot a
    // lane writes now is written next two generations on, which needs every
    // lane past the barrier in between, i.e. done reading this one.
    std::array<std::uint64_t, 32>& slot = exchange_[warp][barrier.generation % 2];
    std::uint64_t bits = 0;
    std::memcpy(&bits, &value, sizeof(T));
    slot[lane] = bits;
    wait(thread, barrier, "__shfl_xor_sync");  // every lane has written
    bits = slot[lane ^ static_cast<unsigned>(offset)];
    T out;
    std::memcpy(&out, &bits, sizeof(T));
    return out;
  }

  unsigned char* dynamic_shared() { return dynamic_.data(); }

  // The block's object of a TSGD_BLOCK_SHARED declaration (key: the
  // declaration), filled with 0xff when the block first reaches it.
  void* shared_object(const void* key, std::size_t bytes) {
    SharedObject& object = shared_objects_[key];
    if (object.block_serial != block_serial_) {
      object.block_serial = block_serial_;
      object.storage.resize(bytes / sizeof(std::max_align_t) + 1);
      std::memset(object.storage.data(), 0xff, object.storage.size() * sizeof(std::max_align_t));
    }
    return object.storage.data();
  }

 private:
  enum class State : unsigned char { unstarted, ready, running, waiting, exited };

  // A barrier for the threads first .. first + count - 1.
  struct Barrier {
    unsigned first, count;
    unsigned arrived = 0;
    unsigned long generation = 0;  // completions so far
  };

  struct Fiber {
    Block* owner = nullptr;
    detail::FiberStack* stack = nullptr;
    detail::Context context;
    ThreadContext thread;
    State state = State::unstarted;
    Barrier* barrier = nullptr;         // where it waits
    const char* waiting_for = nullptr;  // the call that waits there
#ifdef TSGD_SIMT_ASAN
    void* fake_stack = nullptr;  // AddressSanitizer's, while suspended
#endif
  };

  struct SharedObject {
    unsigned long block_serial = 0;
    std::vector<std::max_align_t> storage;
  };

  // Every fiber starts here, on its own stack.
  static void fiber_main(void* argument) {
    Fiber& fiber = *static_cast<Fiber*>(argument);
    Block& block = *fiber.owner;
#ifdef TSGD_SIMT_ASAN
    __sanitizer_finish_switch_fiber(nullptr, &block.launcher_stack_bottom_,
                                    &block.launcher_stack_size_);
#endif
    try {
      block.run_kernel_(block.kernel_);
    } catch (const BlockAborted&) {
    } catch (...) {
      if (!block.failure_) block.failure_ = std::current_exception();
    }
    fiber.state = State::exited;
    ++block.exited_;
    // For good: nothing on this frame needs destroying, and the stack is
    // reused from its top by the fiber it next carries.
#ifdef TSGD_SIMT_ASAN
    __sanitizer_start_switch_fiber(nullptr, block.launcher_stack_bottom_,
                                   block.launcher_stack_size_);
#endif
    detail::switch_context(fiber.context, block.launcher_);
    std::abort();  // never resumed
  }

  // From the launcher into `fiber`, until it waits at a barrier or exits.
  void resume(Fiber& fiber) {
    if (fiber.state == State::unstarted) {
#ifdef TSGD_SIMT_ASAN
      // The frames of the stack's last fiber: left poisoned where it switched away for good.
      ASAN_UNPOISON_MEMORY_REGION(fiber.stack->bottom(), detail::FiberStack::kBytes);
#endif
      detail::fiber_stack_frame(fiber.context, *fiber.stack, &Block::fiber_main, &fiber);
    }
    fiber.state = State::running;
    current_context = &fiber.thread;
#ifdef TSGD_SIMT_ASAN
    void* fake_stack = nullptr;
    __sanitizer_start_switch_fiber(&fake_stack, fiber.stack->bottom(), detail::FiberStack::kBytes);
#endif
    detail::switch_context(launcher_, fiber.context);
#ifdef TSGD_SIMT_ASAN
    __sanitizer_finish_switch_fiber(fake_stack, nullptr, nullptr);
#endif
    current_context = nullptr;
  }

  // From a fiber back to the launcher; returns when the fiber is resumed.
  void suspend(Fiber& fiber) {
#ifdef TSGD_SIMT_ASAN
    __sanitizer_start_switch_fiber(&fiber.fake_stack, launcher_stack_bottom_, launcher_stack_size_);
#endif
    detail::switch_context(fiber.context, launcher_);
#ifdef TSGD_SIMT_ASAN
    __sanitizer_finish_switch_fiber(fiber.fake_stack, &launcher_stack_bottom_,
                                    &launcher_stack_size_);
#endif
  }

  // A thread arrives at `barrier`: the last one to arrive releases all, and
  // each hands over to the launcher, which resumes it in its turn.
  void wait(unsigned thread, Barrier& barrier, const char* what) {
    if (aborted_) throw BlockAborted{};
    Fiber& fiber = fibers_[thread];
    if (++barrier.arrived == barrier.count) {
      barrier.arrived = 0;
      ++barrier.generation;
      for (unsigned t = barrier.first; t < barrier.first + barrier.count; ++t) {
        Fiber& other = fibers_[t];
        if (other.state == State::waiting && other.barrier == &barrier) other.state = State::ready;
      }
      if (&barrier == &block_barrier_) ++phase_;
      fiber.state = State::ready;
    } else {
      fiber.state = State::waiting;
      fiber.barrier = &barrier;
      fiber.waiting_for = what;
    }
    suspend(fiber);
    if (aborted_) throw BlockAborted{};
  }

  // Runs the block's fibers in the order of the banner's Scheduling until
  // all have exited.
  void schedule() {
    while (exited_ < threads_) {
      const unsigned long phase = phase_;
      const unsigned start = static_cast<unsigned>((phase + 1) * 37 % threads_);
      bool ran = false;
      for (unsigned w = 0; w < warps_ && phase_ == phase && !failure_; ++w)
        ran |= run_warp((start / 32 + w) % warps_, start % 32, phase);
      if (failure_ && !aborted_) {
        abort_all();
        return;
      }
      // No thread could run, and some have not exited: they wait at barriers
      // that cannot complete.
      if (!ran && phase_ == phase) {
        failure_ = std::make_exception_ptr(std::runtime_error(deadlock_report()));
        abort_all();
        return;
      }
    }
  }

  // Runs warp `warp`'s lanes, from `first_lane` round, until none can run or
  // a __syncthreads completes (a new phase) or a thread failed. Whether any ran.
  bool run_warp(unsigned warp, unsigned first_lane, unsigned long phase) {
    const Barrier& lanes = warp_barriers_[warp];
    bool ran_any = false;
    for (;;) {
      bool ran = false;
      for (unsigned i = 0; i < lanes.count; ++i) {
        Fiber& fiber = fibers_[lanes.first + (first_lane + i) % lanes.count];
        if (fiber.state != State::unstarted && fiber.state != State::ready) continue;
        resume(fiber);
        ran = ran_any = true;
        if (phase_ != phase || failure_) return true;
      }
      if (!ran) return ran_any;
    }
  }

  // The block failed: every fiber that has started unwinds from its barrier
  // (BlockAborted) and exits; the others never start.
  void abort_all() {
    aborted_ = true;
    for (Fiber& fiber : fibers_) {
      if (fiber.state == State::unstarted) {
        fiber.state = State::exited;
        ++exited_;
      } else if (fiber.state != State::exited) {
        resume(fiber);
      }
    }
  }

  // Which barrier cannot complete: a __syncthreads if any thread waits at
  // one, else the first warp barrier with a waiting lane.
  std::string deadlock_report() const {
    const Fiber* waiting = nullptr;
    for (const Fiber& fiber : fibers_) {
      if (fiber.state != State::waiting) continue;
      if (waiting == nullptr || fiber.barrier == &block_barrier_) waiting = &fiber;
      if (fiber.barrier == &block_barrier_) break;
    }
    if (waiting == nullptr) return "simt emulator: no thread can run";  // not reached
    const Barrier& barrier = *waiting->barrier;
    unsigned exited = 0;
    for (unsigned t = barrier.first; t < barrier.first + barrier.count; ++t)
      exited += fibers_[t].state == State::exited ? 1 : 0;
    const unsigned elsewhere = barrier.count - barrier.arrived - exited;
    std::string report = std::string("simt emulator: ") + waiting->waiting_for +
                         " not reached by all " + std::to_string(barrier.count) +
                         " threads it waits for (" + std::to_string(barrier.arrived) +
                         " arrived, " + std::to_string(exited) + " exited";
    if (elsewhere > 0) report += ", " + std::to_string(elsewhere) + " wait at another barrier";
    if (&barrier != &block_barrier_) report += "; warp " + std::to_string(barrier.first / 32);
    return report + ")";
  }

  const unsigned threads_, warps_, grid_;
  std::vector<std::unique_ptr<detail::FiberStack>> stacks_;
  std::vector<Fiber> fibers_;
  detail::Context launcher_;
#ifdef TSGD_SIMT_ASAN
  const void* launcher_stack_bottom_ = nullptr;
  std::size_t launcher_stack_size_ = 0;
#endif
  void* kernel_ = nullptr;
  void (*run_kernel_)(void*) = nullptr;
  std::exception_ptr failure_;
  bool aborted_ = false;
  unsigned exited_ = 0;
  unsigned long phase_ = 0;         // __syncthreads completed in the launch
  unsigned long block_serial_ = 0;  // blocks started in the launch
  Barrier block_barrier_;
  std::vector<Barrier> warp_barriers_;
  std::vector<std::array<std::array<std::uint64_t, 32>, 2>> exchange_;
  std::vector<unsigned char> dynamic_;
  std::map<const void*, SharedObject> shared_objects_;
};

// Runs kernel() as a grid of `grid` blocks of `threads` threads with
// `dynamic_bytes` of dynamic shared memory; blocks one after another, the
// threads of a block as fibers on this thread. Rethrows the first exception
// of a thread.
template <typename Kernel>
void launch(unsigned grid, unsigned threads, std::size_t dynamic_bytes, Kernel kernel) {
  if (threads == 0 || threads > 1024)
    throw std::invalid_argument("simt emulator: " + std::to_string(threads) + " threads per block");
  if (dynamic_bytes > (48u << 10))
    throw std::invalid_argument("simt emulator: " + std::to_string(dynamic_bytes) +
                                " bytes of dynamic shared memory (more than 48 KB)");
  if (current_context != nullptr) throw std::logic_error("simt emulator: a launch inside a kernel");
  if (grid == 0) return;
  Block block(threads, dynamic_bytes, grid);
  for (unsigned b = 0; b < grid; ++b) block.run(b, kernel);
}

// Runs kernel() for every thread of every block one after another on this
// thread: for element-wise kernels, which never synchronise (a barrier or a
// shuffle there throws). Faster than launch().
template <typename Kernel>
void launch_serial(unsigned grid, unsigned threads, Kernel kernel) {
  if (threads == 0 || threads > 1024)
    throw std::invalid_argument("simt emulator: " + std::to_string(threads) + " threads per block");
  if (current_context != nullptr) throw std::logic_error("simt emulator: a launch inside a kernel");
  for (unsigned b = 0; b < grid; ++b) {
    for (unsigned t = 0; t < threads; ++t) {
      ThreadContext context{Dim{t, 0, 0}, Dim{b, 0, 0}, Dim{threads, 1, 1}, Dim{grid, 1, 1},
                            nullptr};
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

inline void syncthreads() {
  ThreadContext& c = current();
  block_of(c).sync_block(c.thread.x);
}
inline void syncwarp(unsigned mask = 0xffffffffu) {
  if (mask != 0xffffffffu)
    throw std::logic_error("simt emulator: __syncwarp supports the full mask only");
  ThreadContext& c = current();
  block_of(c).sync_warp(c.thread.x);
}
template <typename T>
T shfl_xor_sync(unsigned mask, T value, int offset) {
  ThreadContext& c = current();
  return block_of(c).shfl_xor(mask, value, offset, c.thread.x);
}

}  // namespace tsgd::simt

#define TSGD_SIMT_EMULATION 1
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define TSGD_REGISTER_BUDGET(...)
#define TSGD_BLOCK_SHARED(name, ...) \
  __VA_ARGS__& name = ::tsgd::simt::block_shared<__VA_ARGS__, __COUNTER__>()
#define TSGD_DYNAMIC_SHARED(name) \
  unsigned char* const name = ::tsgd::simt::block_of(::tsgd::simt::current()).dynamic_shared()
#define threadIdx (::tsgd::simt::current().thread)
#define blockIdx (::tsgd::simt::current().block)
#define blockDim (::tsgd::simt::current().dim)
#define gridDim (::tsgd::simt::current().grid)
#define __syncthreads ::tsgd::simt::syncthreads
#define __syncwarp ::tsgd::simt::syncwarp
#define __shfl_xor_sync ::tsgd::simt::shfl_xor_sync
inline float __fmaf_rn(float a, float b, float c) { return std::fma(a, b, c); }
inline double __fma_rn(double a, double b, double c) { return std::fma(a, b, c); }
