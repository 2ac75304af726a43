// eps* to first order in sigma^2, exact in eta: the linear response of the ODE's
// fixed point to label noise (fixed_point.h, noise_response) at the symmetric
// noise-free fixed point that the paper's perturbation theory expands around.
//   - First layer trained, K >= M: student k < M equal to teacher k, the K - M
//     superfluous units at zero and identical (their differences are marginal
//     directions; the response is taken on the manifold where they stay
//     identical). For the erf SCM with v = v* = 1 this is the paper's eq. (10),
//     eps* = sigma^2 eta f(M, L, eta) / (2 pi) + O(sigma^3); for linear networks
//     it equals eq. (12).
//   - Both layers trained, K = Z M: every teacher unit copied by Z students whose
//     second-layer weights are v*_m / Z (the denoising fixed point, SM section E;
//     M = 1 is eq. (15)'s fixed point). The same copies with only the first layer
//     trained from a denoise start, whose v = v*_m / Z stays.
// T = I (the expected teacher) in both.
#pragma once

#include <optional>
#include <string>

#include "core/model.h"
#include "theory/asymptotic.h"

namespace tsgd {

// The symmetric noise-free fixed point of P, or empty with the reason in *why
// (an activation pair without ODE, a mixed student/teacher pair, a gaussian second
// layer, K < M, M not dividing K with both layers trained, a student v that differs
// from the teacher's v*, a teacher from a file or a sparse one: not the T = I it assumes).
std::optional<OrderParameters> symmetric_fixed_point(const PointParams& p, std::string* why);

// The entry "eq. (10)" (erf SCM, first layer, v = v* = 1), "first order in sigma^2"
// (any other first-layer case) or "denoising, first order in sigma^2" (both layers),
// holding where the symmetric fixed point exists, attracts at this eta, and has a
// stationary positive first order; else skipped with the reason.
TheoryReport first_order_theory(const PointParams& p);

}  // namespace tsgd
