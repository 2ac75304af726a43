// The averages of the ODE (docs/theory.md §2, §4.6) when the fields carry different
// activations: students g_s, teachers g_t, chosen independently (any of erf, ReLU,
// linear, quad for the student; those or sign for the teacher). Eq. (9) of the paper
// needs g_s' only on the student fields a (and b):
//   I2(a,b)     = < g_a(a) g_b(b) >
//   I3(a,b,c)   = < g_s'(a) b g_c(c) >
//   I4(a,b,c,d) = < g_s'(a) g_s'(b) g_c(c) g_d(d) >
// with g_c, g_d the activation of field c, d (student or teacher).
//
// Reduction (docs/theory.md §4.6): an erf student's g' = sqrt(2/pi) exp(-x^2/2) is a
// Gaussian weight, absorbed into the covariance (exact tilting); every other factor is
// a polynomial times steps: relu(x) = x step(x), sign(x) = 2 step(x) - 1, quad = x^2,
// and erf(x/sqrt2) = E_z[sign(x - z)] with z ~ N(0,1) independent (a step of an
// augmented field of variance C_xx + 1). Gaussian integration by parts (Stein) removes
// the polynomial factors, each step hit turning into a conditioning at 0; what remains
// are orthant probabilities of up to four fields: elementary up to three, a 1-D
// integral (Plackett's identity along a path, tanh-sinh in u, t = 1 - u^2) for four.
// Only a ReLU student with a sign or erf teacher reaches the 4-field orthant (the
// teacher-teacher terms of I4); everything else is a closed form.
//
// Accuracy (tests/theory/test_mixed_integrals.cpp): the closed-form terms to rounding;
// the 4-field orthant to <= 1e-10 absolute on generic covariances (its quadrature
// refined from 73 to 145 nodes changes it by < 1e-11). Steps of two fields collinear to
// 1 - |corr| < 1e-13 are merged (step(x) step(x) = step(x), step(x) step(-x) = 0);
// a step field that a conditioning leaves without variance counts as 1/2 (the
// symmetric limit). Zero-variance fields follow integrals.h: g(0) = 0, ReLU g'(0) = 0.
#pragma once

#include "theory/integrals.h"

namespace tsgd {

// The activation of each field of a local-field Covariance: students 0..K-1, then teachers.
struct FieldActivations {
  Activation student = Activation::erf;
  Activation teacher = Activation::erf;
  int K = 0;
  Activation operator()(int p) const { return p < K ? student : teacher; }
};

// < ga(a) gb(b) >: closed form when ga == gb (integrals.h), else the reduction above.
double I2_fields(const Covariance& C, Activation ga, int a, Activation gb, int b);
// < gs'(a) b gc(c) >: the closed form of integrals.h when gc == gs, else the reduction.
// gs must not be sign (std::invalid_argument).
double I3_fields(Activation gs, const Covariance& C, int a, int b, Activation gc, int c);
// < gs'(a) gs'(b) gc(c) gd(d) >: integrals.h when gc == gd == gs, else the reduction.
double I4_fields(Activation gs, const Covariance& C, int a, int b, Activation gc, int c,
                 Activation gd, int d);

namespace detail {
// For tests: the reduction even for matched pairs; `refine` halves the step of the
// 4-field orthant quadrature that many times (0: 73 nodes, 1: 145, 2: 289).
double I2_reduced(const Covariance& C, Activation ga, int a, Activation gb, int b);
double I3_reduced(Activation gs, const Covariance& C, int a, int b, Activation gc, int c);
double I4_reduced(Activation gs, const Covariance& C, int a, int b, Activation gc, int c,
                  Activation gd, int d, int refine = 0);
// P(x_0 > 0, ..., x_3 > 0) for unit variances and the correlations
// r = (r01, r02, r03, r12, r13, r23), at the quadrature level `refine`.
double orthant4(const double r[6], int refine = 0);
}  // namespace detail

}  // namespace tsgd
