// Generalisation error of a student from its order parameters (docs/theory.md §1, §3):
//   eps_g = 1/2 < (phi(x) - phi*(x))^2 >
//         = 1/2 [ sum_{i,k} v_i v_k I2(i,k) + sum_{n,m} v*_n v*_m I2(n,m)
//                 - 2 sum_{i,n} v_i v*_n I2(i,n) ]
// without the label noise sigma^2/2 (Goldt et al.'s convention). Student pairs use
// the student activation, teacher pairs the teacher activation, and the cross
// terms E[g_student(lambda_i) g_teacher(rho_n)]: closed form when the two
// activations are equal, numerical (integrals.h I2_mixed) otherwise.
#pragma once

#include "core/model.h"
#include "math/activation.h"

namespace tsgd {

// Cost: (K+M)(K+M+1)/2 closed-form kernels when the activations are equal (called at
// every record of every run); K*M one-dimensional quadratures (~150 nodes) more otherwise.
double generalisation_error(const OrderParameters& op, Activation student, Activation teacher);

// False only for a sign student: sign has no SGD dynamics (docs/theory.md §4.5), so an
// eps_g for it is not a quantity this program produces. A sign teacher is fine.
bool generalisation_error_defined(Activation student, Activation teacher);

}  // namespace tsgd
