// The integrators of the ODE engine, on a generic system y' = f(t, y):
// adaptive Dormand-Prince 5(4) with Hairer's dense output (DOPRI5: FSAL, a PI
// step-size controller with Lund stabilisation), and fixed-step RK4 / Euler.
// The ODE (ode.h) supplies f, a check after every accepted step, and what to
// do at each record time.
#pragma once

#include <cstddef>
#include <functional>
#include <vector>

namespace tsgd {

using OdeFunction = std::function<void(double t, const double* y, double* dy)>;
// Called after every accepted step; false stops the integration.
using StepCheck = std::function<bool(double t, const double* y)>;
// Called for each record, in order, with the state there.
using RecordEmit = std::function<void(std::size_t index, double t, const double* y)>;

namespace detail {
struct GenericOdeStats {
  long steps = 0, rejected = 0, evaluations = 0;
};
}  // namespace detail
using OdeStats = detail::GenericOdeStats;

enum class StepperStatus { finished, stopped, underflow };

// Integrates from (t0, y) to the last of RECORDS, emitting records FIRST.. in
// (t0, t_end] from the dense output. Returns underflow (with *t_stop) when
// rejections shrink the step below rounding: the solution blows up.
StepperStatus dopri5(const OdeFunction& f, int dim, double t0, std::vector<double>& y,
                     const std::vector<double>& records, std::size_t first, double rtol,
                     double atol, OdeStats& stats, const StepCheck& check, const RecordEmit& emit,
                     double* t_stop = nullptr);

// Fixed steps on the grid t = j dt (computed, not accumulated) from t = 0, one
// shorter step from the last grid point to a record between grid points (off the
// grid trajectory). Returns false when CHECK stopped it.
bool fixed_steps(const OdeFunction& f, int dim, bool rk4, double dt, std::vector<double>& y,
                 const std::vector<double>& records, std::size_t first, OdeStats& stats,
                 const StepCheck& check, const RecordEmit& emit);

namespace detail {
// Dormand-Prince 5(4) with dense output on a generic system, for tests of the stepper.
// f(t, y, dy); records at record_t (sorted, >= t0); returns the states at the records.
// Fails (returns fewer records) only on step-size underflow.
std::vector<std::vector<double>> dopri5_generic(
    void (*f)(double t, const double* y, double* dy, void* ctx), void* ctx, int dim, double t0,
    std::vector<double> y0, const std::vector<double>& record_t, double rtol, double atol,
    GenericOdeStats* stats = nullptr);
}  // namespace detail

}  // namespace tsgd
