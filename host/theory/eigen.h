// Eigen's dense linear algebra (header-only, Debian's libeigen3-dev) for the theory
// layer, included once with the settings both of its users need.
#pragma once

// The matrices are small (the ODE's dimension) and the callers already run points in
// parallel: no OpenMP inside Eigen.
#define EIGEN_DONT_PARALLELIZE
// GCC 12's -Wmaybe-uninitialized misfires on the AVX-512 intrinsics that Eigen's packet
// reductions use under -march=native (avx512fintrin.h's _mm512_undefined_pd(), whose
// "__m512d __Y = __Y" is deliberate): about 180 warnings at system-header lines, all
// reported after inlining, where the system-header exemption no longer applies. Off
// for these headers' lines only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <Eigen/Eigenvalues>
#include <Eigen/LU>
#include <Eigen/SVD>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

namespace tsgd {
// The theory layer's matrices are row-major std::vectors.
using RowMajorMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
}  // namespace tsgd
