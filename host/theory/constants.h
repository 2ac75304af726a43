// Numbers the closed-form Gaussian averages share (integrals.cpp, the ODE's erf
// fast path, the asymptotic formulas), written once.
#pragma once

namespace tsgd {

inline constexpr double kPi = 3.14159265358979323846;
inline constexpr double kTwoOverPi = 0.63661977236758134308;    // 2 / pi
inline constexpr double kFourOverPi2 = 0.40528473456935108578;  // 4 / pi^2
inline constexpr double kInvSqrt2Pi = 0.39894228040143267794;   // 1 / sqrt(2 pi)
inline constexpr double kInvSqrt2 = 0.70710678118654752440;     // 1 / sqrt(2)

// A correlation clamped into [-1, 1]: rounding can push |C_ab| / sqrt(C_aa C_bb)
// just past 1 (docs/theory.md §5).
inline double clamp_unit(double x) { return x > 1.0 ? 1.0 : (x < -1.0 ? -1.0 : x); }

}  // namespace tsgd
