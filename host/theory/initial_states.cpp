// Initial order parameters for the ODE: expected and explicit. See initial_states.h.
#include "theory/initial_states.h"

#include <sstream>
#include <stdexcept>
#include <string>

#include "core/initial_weights.h"

namespace tsgd {

namespace {

std::string shape_error(const char* what, int rows, int cols, int want_rows, int want_cols) {
  std::ostringstream s;
  s << what << " is " << rows << " x " << cols << ", expected " << want_rows << " x " << want_cols;
  return s.str();
}

}  // namespace

namespace {

// Expected value of a second-layer weight of initial_weights.cpp: uniform -> value,
// flip_half -> the last floor(units/2) negated, gaussian -> no expectation (throws).
double expected_second_layer(SecondLayerInit init, double value, int unit, int units,
                             const char* which) {
  switch (init) {
    case SecondLayerInit::uniform:
      return value;
    case SecondLayerInit::flip_half:
      return unit >= units - units / 2 ? -value : value;
    case SecondLayerInit::gaussian:
      throw std::invalid_argument(
          std::string("ode.init: the expected initial state is undefined for a gaussian ") + which +
          " (its mean, 0, is not a state any run starts from); use ode.init = "
          "\"measured\" or an explicit state");
  }
  return value;
}

[[noreturn]] void random_student_v(const PointParams& p) {
  throw std::invalid_argument(
      std::string("ode.init: the expected initial state is undefined with both layers trained "
                  "and init \"") +
      to_string(p.init) +
      "\": the student second layer starts random (s G or G/sqrt(K)), and its mean, 0, is a "
      "fixed point no run starts from; use ode.init = \"measured\" or an explicit state");
}

}  // namespace

OrderParameters expected_initial_state(const PointParams& p) {
  const int K = p.K, M = p.M;
  if (K < 1 || M < 1) throw std::invalid_argument("ode.init: K and M must be >= 1");
  if ((p.init == InitKind::informed || p.init == InitKind::denoise) && K < M)
    throw std::invalid_argument("ode.init: informed and denoise initialisations need K >= M");
  if (p.teacher_init == TeacherInit::file || p.init == InitKind::file || p.teacher_sparsity > 0)
    throw std::invalid_argument(
        std::string("ode.init: the expected initial state is that of random weights; with ") +
        (p.teacher_sparsity > 0 ? "a sparse teacher (model.teacher_sparsity)"
                                : "weights from a file") +
        " use ode.init = \"measured\" (the runs' actual initial weights) or an explicit state");
  OrderParameters op;
  op.resize(K, M);
  const double s2 = p.init_scale * p.init_scale;
  for (int n = 0; n < M; ++n) {
    op.T[n * M + n] = 1.0;  // rows ~ N(0, I_N): T = W* W*^T / N -> I; orthonormal: T = I
    op.vstar[n] = output_scale(p.output_scaling, M) *
                  expected_second_layer(p.teacher_v_init, p.teacher_v, n, M, "teacher_v_init");
  }
  const bool both = p.train == TrainMode::both_layers;
  std::vector<int> copies(M, 0);
  for (int k = 0; k < K; ++k) copies[k % M] += 1;
  for (int k = 0; k < K; ++k) {
    // The first-layer rule (and "large" init's second layer).
    auto first_layer_v = [&] {
      return output_scale(p.output_scaling, K) *
             expected_second_layer(p.student_v_init, p.student_v, k, K, "student_v_init");
    };
    switch (p.init) {
      case InitKind::large:  // w = G: Q = I, R = 0
        op.Q[k * K + k] = 1.0;
        op.v[k] = first_layer_v();
        break;
      case InitKind::small:  // w = s G: Q = s^2 I
        op.Q[k * K + k] = s2;
        if (both) random_student_v(p);
        op.v[k] = first_layer_v();
        break;
      case InitKind::mixed:  // w = G / sqrt(N): Q = I / N
        op.Q[k * K + k] = 1.0 / p.N;
        if (both) random_student_v(p);
        op.v[k] = first_layer_v();
        break;
      case InitKind::informed:  // k < M: w = w*_k + s G; else s G
        if (k < M) {
          op.Q[k * K + k] = 1.0 + s2;
          op.R[k * M + k] = 1.0;
          op.v[k] = both ? op.vstar[k] : first_layer_v();
        } else {
          op.Q[k * K + k] = s2;
          if (both) random_student_v(p);
          op.v[k] = first_layer_v();
        }
        break;
      case InitKind::denoise: {  // w = w*_(k mod M) + s G, v = v*_m / copies(m)
        const int m = k % M;
        for (int l = 0; l < K; ++l)
          op.Q[k * K + l] = (l % M == m ? 1.0 : 0.0) + (l == k ? s2 : 0.0);
        op.R[k * M + m] = 1.0;
        op.v[k] = op.vstar[m] / copies[m];
        break;
      }
      case InitKind::file:  // refused above
        break;
    }
  }
  return op;
}

OrderParameters explicit_initial_state(const OdeExplicitState& st, const PointParams& p) {
  const int K = p.K, M = p.M;
  auto fail = [](const std::string& key, const std::string& why) {
    throw std::invalid_argument("ode.init." + key + ": " + why);
  };
  auto check_matrix = [&](const std::vector<std::vector<double>>& a, const char* key, int rows,
                          int cols) {
    const int got_cols = a.empty() ? 0 : static_cast<int>(a[0].size());
    bool ok = static_cast<int>(a.size()) == rows;
    for (const auto& row : a) ok = ok && static_cast<int>(row.size()) == cols;
    if (!ok) fail(key, shape_error(key, static_cast<int>(a.size()), got_cols, rows, cols));
    for (const auto& row : a)
      for (double x : row)
        if (!std::isfinite(x)) fail(key, "non-finite entry");
  };
  check_matrix(st.Q, "Q", K, K);
  check_matrix(st.R, "R", K, M);
  check_matrix(st.T, "T", M, M);
  if (static_cast<int>(st.v.size()) != K)
    fail("v", "has " + std::to_string(st.v.size()) + " entries, expected K = " + std::to_string(K));
  if (!st.teacher_v.empty() && static_cast<int>(st.teacher_v.size()) != M)
    fail("teacher_v", "has " + std::to_string(st.teacher_v.size()) +
                          " entries, expected M = " + std::to_string(M));
  for (double x : st.v)
    if (!std::isfinite(x)) fail("v", "non-finite entry");
  for (double x : st.teacher_v)
    if (!std::isfinite(x)) fail("teacher_v", "non-finite entry");
  auto check_symmetric = [&](const std::vector<std::vector<double>>& a, const char* key) {
    const int n = static_cast<int>(a.size());
    for (int i = 0; i < n; ++i) {
      if (a[i][i] < 0.0) fail(key, "negative diagonal entry (a squared norm)");
      for (int k = i + 1; k < n; ++k)
        if (std::abs(a[i][k] - a[k][i]) > 1e-12 * (std::abs(a[i][k]) + std::abs(a[k][i]) + 1e-300))
          fail(key, "not symmetric");
    }
  };
  check_symmetric(st.Q, "Q");
  check_symmetric(st.T, "T");
  // Overlaps of real weight vectors obey Cauchy-Schwarz (1e-9 relative: rounding of
  // hand-typed or computed values).
  auto cauchy_schwarz = [&](double c, double a, double b, const char* key, int i, int k) {
    if (std::abs(c) > (1.0 + 1e-9) * std::sqrt(a * b))
      fail(key, "entry (" + std::to_string(i) + ", " + std::to_string(k) +
                    ") exceeds sqrt of the product of the two squared norms: not the "
                    "overlaps of real weight vectors");
  };
  for (int i = 0; i < K; ++i) {
    for (int k = i + 1; k < K; ++k) cauchy_schwarz(st.Q[i][k], st.Q[i][i], st.Q[k][k], "Q", i, k);
    for (int m = 0; m < M; ++m) cauchy_schwarz(st.R[i][m], st.Q[i][i], st.T[m][m], "R", i, m);
  }
  for (int n = 0; n < M; ++n)
    for (int m = n + 1; m < M; ++m) cauchy_schwarz(st.T[n][m], st.T[n][n], st.T[m][m], "T", n, m);
  OrderParameters op;
  op.resize(K, M);
  for (int i = 0; i < K; ++i) {
    for (int k = 0; k < K; ++k) op.Q[i * K + k] = st.Q[i][k];
    for (int m = 0; m < M; ++m) op.R[i * M + m] = st.R[i][m];
    op.v[i] = st.v[i];
  }
  for (int n = 0; n < M; ++n) {
    for (int m = 0; m < M; ++m) op.T[n * M + m] = st.T[n][m];
    op.vstar[n] = st.teacher_v.empty()
                      ? output_scale(p.output_scaling, M) *
                            expected_second_layer(p.teacher_v_init, p.teacher_v, n, M,
                                                  "teacher_v_init (give ode.init.teacher_v)")
                      : st.teacher_v[n];
  }
  return op;
}

}  // namespace tsgd
