#include "theory/generalisation_error.h"

#include "theory/integrals.h"

namespace tsgd {

double generalisation_error(const OrderParameters& op, Activation student, Activation teacher) {
  const int K = op.K, M = op.M;
  // Symmetric double sums: diagonal once, off-diagonal pairs twice.
  double students = 0.0;  // sum_{i,k} v_i v_k I2(i,k)
  for (int i = 0; i < K; ++i) {
    students += op.v[i] * op.v[i] * I2_pair(student, op.q(i, i), op.q(i, i), op.q(i, i));
    for (int k = i + 1; k < K; ++k)
      students += 2.0 * op.v[i] * op.v[k] * I2_pair(student, op.q(i, i), op.q(k, k), op.q(i, k));
  }
  double teachers = 0.0;  // sum_{n,m} v*_n v*_m I2(n,m)
  for (int n = 0; n < M; ++n) {
    teachers += op.vstar[n] * op.vstar[n] * I2_pair(teacher, op.t(n, n), op.t(n, n), op.t(n, n));
    for (int m = n + 1; m < M; ++m)
      teachers +=
          2.0 * op.vstar[n] * op.vstar[m] * I2_pair(teacher, op.t(n, n), op.t(m, m), op.t(n, m));
  }
  double cross = 0.0;  // sum_{i,n} v_i v*_n E[g_s(lambda_i) g_t(rho_n)]
  for (int i = 0; i < K; ++i)
    for (int n = 0; n < M; ++n)
      cross +=
          op.v[i] * op.vstar[n] * I2_mixed(student, teacher, op.q(i, i), op.t(n, n), op.r(i, n));
  return 0.5 * (students + teachers - 2.0 * cross);
}

bool generalisation_error_defined(Activation student, Activation /*teacher*/) {
  return student != Activation::sign;
}

}  // namespace tsgd
