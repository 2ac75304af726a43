// Portability macros for headers read by both the host compiler and nvcc.
//
// Everything under host/math/ is written once and included by the CPU engine
// and by the CUDA kernels (docs/architecture.md, Conventions: "Math written once"). These headers
// may only use plain C++ that nvcc accepts in device code: no STL containers, no exceptions, no
// std:: math (use the C names, overloaded below).
#pragma once

#include <math.h>

#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#define TSGD_HD __host__ __device__
#define TSGD_FORCEINLINE __forceinline__
#else
#define TSGD_HD
#if defined(__GNUC__)
#define TSGD_FORCEINLINE inline __attribute__((always_inline))
#else
#define TSGD_FORCEINLINE inline
#endif
#endif

namespace tsgd {

// Overloads that resolve to the float or double C function on both compilers.
TSGD_HD TSGD_FORCEINLINE float math_erf(float x) { return erff(x); }
TSGD_HD TSGD_FORCEINLINE double math_erf(double x) { return erf(x); }
TSGD_HD TSGD_FORCEINLINE float math_exp(float x) { return expf(x); }
TSGD_HD TSGD_FORCEINLINE double math_exp(double x) { return exp(x); }
TSGD_HD TSGD_FORCEINLINE float math_sqrt(float x) { return sqrtf(x); }
TSGD_HD TSGD_FORCEINLINE double math_sqrt(double x) { return sqrt(x); }

// Float arithmetic with the rounding spelled out, for code whose bits must be
// the same on the CPU and the GPU (the Gaussian transform): compilers may fuse
// a * b + c into one FMA (rounded once) or not, each by its own rules, so the
// code says which. rn_fma is one fused multiply-add on the GPU and on a host
// built with FMA (x86 -march=native on any CPU since 2013, ARMv8); a host
// without it rounds twice, and about 1% of its draws differ from the GPU's by
// an ulp (measured: 1.26% of 4M). rn_mul / rn_add /
// rn_sub are never fused: on the GPU by the _rn intrinsics, on the host by
// -ffp-contract=off (CMakeLists.txt).
TSGD_HD TSGD_FORCEINLINE float rn_fma(float a, float b, float c) {
#if defined(__CUDA_ARCH__)
  return __fmaf_rn(a, b, c);
#elif defined(__FMA__) || defined(__ARM_FEATURE_FMA)
  return __builtin_fmaf(a, b, c);
#else
  return a * b + c;
#endif
}
// In float for the Gaussian transform; in float and double for the SGD
// arithmetic between the local fields and the updates (math/sgd_update.h,
// math/fused_step.h): written with these, it is one sequence of roundings
// whatever nvcc's contraction decides in each instantiation of a kernel, and
// the same sequence as the host's.
#if defined(__CUDA_ARCH__)
#define TSGD_RN_OP(intrinsic, op) return intrinsic(a, b)
#else
#define TSGD_RN_OP(intrinsic, op) return a op b
#endif
TSGD_HD TSGD_FORCEINLINE float rn_mul(float a, float b) { TSGD_RN_OP(__fmul_rn, *); }
TSGD_HD TSGD_FORCEINLINE float rn_add(float a, float b) { TSGD_RN_OP(__fadd_rn, +); }
TSGD_HD TSGD_FORCEINLINE float rn_sub(float a, float b) { TSGD_RN_OP(__fsub_rn, -); }
TSGD_HD TSGD_FORCEINLINE double rn_mul(double a, double b) { TSGD_RN_OP(__dmul_rn, *); }
TSGD_HD TSGD_FORCEINLINE double rn_add(double a, double b) { TSGD_RN_OP(__dadd_rn, +); }
TSGD_HD TSGD_FORCEINLINE double rn_sub(double a, double b) { TSGD_RN_OP(__dsub_rn, -); }
#undef TSGD_RN_OP
// True when rn_fma is one rounding on this host (tests: bitwise CPU = GPU).
constexpr bool kHostHasFma =
#if defined(__FMA__) || defined(__ARM_FEATURE_FMA)
    true;
#else
    false;
#endif

TSGD_HD TSGD_FORCEINLINE float bits_to_float(std::uint32_t u) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(u);
#else
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
#endif
}

TSGD_HD TSGD_FORCEINLINE std::uint32_t float_to_bits(float f) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(f);
#else
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
#endif
}

}  // namespace tsgd
