// Shared-memory declarations of the kernels that the tests' SIMT emulator
// (tests/simt_emulator.h) also runs: with nvcc they are CUDA's own; under
// the emulator (which defines them before including a kernel header), each
// block gets fresh storage filled with a NaN pattern, as uninitialised
// shared memory would hold garbage on a GPU.
#pragma once

#if defined(__CUDACC__)
// The block's dynamic shared memory (the launch's third argument).
#define TSGD_DYNAMIC_SHARED(name) extern __shared__ __align__(16) unsigned char name[]
// One object of the block's static shared memory (type: a trivial type).
#define TSGD_BLOCK_SHARED(name, ...) __shared__ __VA_ARGS__ name
// A kernel's register budget per thread (a constant expression; at most
// 65536 / max_threads so that a block of max_threads launches): __maxnreg__
// from CUDA 12.4 on; before that, only __launch_bounds__(max_threads), which
// leaves the count to ptxas.
#if __CUDACC_VER_MAJOR__ > 12 || (__CUDACC_VER_MAJOR__ == 12 && __CUDACC_VER_MINOR__ >= 4)
#define TSGD_REGISTER_BUDGET(max_threads, registers) __maxnreg__(registers)
#else
#define TSGD_REGISTER_BUDGET(max_threads, registers) __launch_bounds__(max_threads)
#endif
#elif !defined(TSGD_SIMT_EMULATION)
#error "kernel headers: compile with nvcc, or include tests/simt_emulator.h first"
#endif

// TSGD_ASSUME(cond): what the launch guarantees (fused_launch_shape: a block
// is whole warps), told to nvcc so that it compiles no code for the other
// case (without it, nvcc kept a never-taken copy of phase B for a block of no
// warps, which the static model counted). On the host (the emulator) an
// assert: the emulated launches check what nvcc is told.
#if defined(__CUDA_ARCH__)
#define TSGD_ASSUME(cond) __builtin_assume(cond)
#else
#include <cassert>
#define TSGD_ASSUME(cond) assert(cond)
#endif
