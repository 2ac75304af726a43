// Minimum-norm least-squares solution x = A^+ b of a square system (Newton's step in
// fixed_point.cpp): singular values at or below RCOND times the largest are taken as
// zero, so directions the Jacobian (nearly) does not act on are left alone.
#pragma once

#include <vector>

namespace tsgd {

// A: N x N, row-major. A matrix with a non-finite entry gives x = 0.
std::vector<double> least_squares(const std::vector<double>& a, int n, const std::vector<double>& b,
                                  double rcond);

}  // namespace tsgd
