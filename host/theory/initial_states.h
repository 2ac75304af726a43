// Initial order parameters of the ODE when they are not measured from a run's
// weights (ode.init "expected" or an explicit state in the configuration).
#pragma once

#include "core/model.h"
#include "theory/ode_settings.h"

namespace tsgd {

// The N -> infinity expectation of the order parameters of initial_weights.h:
// T = I (teacher rows ~ N(0, I); with teacher_init "orthonormal" T = I exactly,
// and every student rule below has the same expectation); students, with s = init_scale:
//   large: Q = I, R = 0;  small: Q = s^2 I, R = 0;  mixed: Q = I/N, R = 0;
//   informed: Q_kl = [k,l < M] delta_kl + s^2 delta_kl, R_kn = [k < M] delta_kn;
//   denoise:  Q_kl = delta_(k mod M, l mod M) + s^2 delta_kl, R_kn = delta_(k mod M, n).
// Second layers per initial_weights.cpp, times the output scaling. A Gaussian second
// layer (student_v_init or teacher_v_init "gaussian", or the random s G and G/sqrt(K)
// student v of small / mixed / informed-extra units with both layers trained) has no
// useful expectation (its mean, 0, would be a fixed point the run never sits on):
// throws std::invalid_argument naming ode.init, so the user takes "measured".
OrderParameters expected_initial_state(const PointParams& p);

// The explicit state of the config (ode.init as an object): checks the shapes
// Q K x K, R K x M, T M x M, v K, teacher_v M (empty teacher_v: the expected v* of
// the teacher rule), symmetry of Q and T, finiteness and Q_ii, T_nn >= 0; throws
// std::invalid_argument with a message naming ode.init.Q etc.
OrderParameters explicit_initial_state(const OdeExplicitState& state, const PointParams& p);

}  // namespace tsgd
