// Settings of the ODE engine (config section "ode").
#pragma once

#include <optional>
#include <vector>

namespace tsgd {

enum class OdeMethod { adaptive, rk4, euler };
// Initial order parameters: those of each seed's actual initial weights
// ("measured", default), their N -> infinity expectation ("expected"), or
// given explicitly in the config.
enum class OdeInit { measured, expected, explicit_state };

struct OdeExplicitState {
  std::vector<std::vector<double>> Q, R, T;
  std::vector<double> v, teacher_v;
};

struct OdeSettings {
  bool enabled = true;
  OdeMethod method = OdeMethod::adaptive;
  double rtol = 1e-8;
  double atol = 1e-12;
  double dt = 0.01;             // fixed-step methods
  OdeInit init = OdeInit::measured;
  OdeExplicitState state;       // when init == explicit_state
  double diverge_eg = 1e6;      // eg above this (or non-finite) marks a diverged point
};

}  // namespace tsgd
