// The ODE engine: one grid point from an initial state to its last record time. See ode.h.
#include "theory/ode.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

#include "theory/generalisation_error.h"

namespace tsgd {

namespace {

void check_arguments(const std::vector<double>& record_alpha, const OdeSettings& s) {
  for (std::size_t i = 0; i < record_alpha.size(); ++i) {
    if (!(record_alpha[i] >= 0.0) || !std::isfinite(record_alpha[i]))
      throw std::invalid_argument("ODE record times must be finite and >= 0");
    if (i > 0 && record_alpha[i] < record_alpha[i - 1])
      throw std::invalid_argument("ODE record times must be sorted");
  }
  if (s.method == OdeMethod::adaptive && !(s.rtol > 0.0 && s.atol > 0.0))
    throw std::invalid_argument("ode.rtol and ode.atol must be > 0");
  if (s.method != OdeMethod::adaptive && !(s.dt > 0.0))
    throw std::invalid_argument("ode.dt must be > 0");
}

// Why STATE ends the integration (empty: it does not): a state the integrals
// refuse, or eps_g beyond ode.diverge_eg.
std::string divergence(OdeSystem& sys, const double* state, double diverge_eg) {
  std::string reason = sys.invalid_reason(state);
  if (!reason.empty()) return reason;
  const double eg = sys.generalisation_error(state);
  if (!std::isfinite(eg)) return "non-finite generalisation error";
  if (eg > diverge_eg) {
    std::ostringstream o;
    o << "generalisation error " << eg << " > ode.diverge_eg = " << diverge_eg;
    return o.str();
  }
  return "";
}

}  // namespace

OdeResult integrate_ode(const PointParams& p, const OrderParameters& initial,
                        const std::vector<double>& record_alpha, const OdeSettings& s) {
  check_arguments(record_alpha, s);
  OdeSystem sys(p, initial);  // throws for unsupported points and wrong shapes
  const int dim = sys.dimension();
  OdeResult result;
  result.alpha.reserve(record_alpha.size());
  result.eg.reserve(record_alpha.size());
  result.states.reserve(record_alpha.size());
  std::vector<double> y(dim);
  sys.pack(initial, y.data());

  const StepCheck check = [&](double t, const double* state) {
    const std::string reason = divergence(sys, state, s.diverge_eg);
    if (reason.empty()) return true;
    result.diverged = true;
    result.diverged_alpha = t;
    result.diverged_reason = reason;
    return false;
  };
  const RecordEmit emit = [&](std::size_t, double t, const double* state) {
    result.alpha.push_back(t);
    result.states.emplace_back();
    sys.unpack(state, result.states.back());
    result.eg.push_back(tsgd::generalisation_error(result.states.back(), p.student_activation,
                                                   p.teacher_activation));
  };

  if (!check(0.0, y.data())) return result;  // invalid initial state: diverged at alpha = 0
  std::size_t first = 0;
  while (first < record_alpha.size() && record_alpha[first] <= 0.0) emit(first++, 0.0, y.data());
  if (first == record_alpha.size()) return result;

  const OdeFunction f = [&](double, const double* state, double* dy) { sys.rhs(state, dy); };
  OdeStats stats;
  if (s.method == OdeMethod::adaptive) {
    double t_stop = 0.0;
    const StepperStatus status =
        dopri5(f, dim, 0.0, y, record_alpha, first, s.rtol, s.atol, stats, check, emit, &t_stop);
    if (status == StepperStatus::underflow && !result.diverged) {
      result.diverged = true;
      result.diverged_alpha = t_stop;
      result.diverged_reason =
          "step size underflow: the solution leaves the domain of the equations (blow-up)";
    }
  } else {
    fixed_steps(f, dim, s.method == OdeMethod::rk4, s.dt, y, record_alpha, first, stats, check,
                emit);
  }
  result.steps = stats.steps;
  result.rejected_steps = stats.rejected;
  result.rhs_evaluations = stats.evaluations;
  return result;
}

}  // namespace tsgd
