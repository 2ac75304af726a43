// The ODE engine (docs/architecture.md contract 3): integrates the order-parameter ODEs of a
// grid point (ode_system.h) from an initial state (measured from a run's weights,
// initial_states.h, or explicit) and records eps_g and the order parameters at
// the record times, with the adaptive Dormand-Prince or fixed-step integrators of
// steppers.h. Includes the system and the initial states: what a caller of the
// ODE needs.
#pragma once

#include <limits>
#include <string>
#include <vector>

#include "core/model.h"
#include "theory/initial_states.h"
#include "theory/ode_settings.h"
#include "theory/ode_system.h"
#include "theory/steppers.h"

namespace tsgd {

struct OdeResult {
  std::vector<double> alpha;            // the record times reached, in order
  std::vector<double> eg;               // eps_g at each of them
  std::vector<OrderParameters> states;  // the order parameters at each of them
  bool diverged = false;                // true: the records stop before record_alpha's end
  double diverged_alpha = std::numeric_limits<double>::quiet_NaN();
  std::string diverged_reason;
  long steps = 0;           // accepted steps (fixed-step: grid steps plus partial steps to records)
  long rejected_steps = 0;  // adaptive only
  long rhs_evaluations = 0;
};

// Integrates from `initial` at alpha = 0 and records at each alpha of record_alpha
// (sorted, >= 0; alpha = 0 records the initial state). The adaptive method reaches
// record times by its dense output (4th order, within the step's tolerance); the
// fixed-step methods follow the grid alpha = j dt and reach a record time between
// grid points by one shorter step from the last grid point, off the grid trajectory.
// After every step the state is checked (OdeSystem::invalid_reason) and eps_g is
// compared with s.diverge_eg; the first failure ends the integration with
// diverged = true at that step's end alpha, and no record from that step on.
// Throws std::invalid_argument for an unsupported point, a state of the wrong shape,
// unsorted or negative record times, or non-positive rtol/atol/dt.
OdeResult integrate_ode(const PointParams& p, const OrderParameters& initial,
                        const std::vector<double>& record_alpha, const OdeSettings& s);

}  // namespace tsgd
