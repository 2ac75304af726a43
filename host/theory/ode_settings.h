// Settings of the ODE engine (config section "ode").
#pragma once

#include <optional>
#include <vector>

#include "core/enum_names.h"

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
  double dt = 0.01;  // fixed-step methods
  OdeInit init = OdeInit::measured;
  OdeExplicitState state;   // when init == explicit_state
  double diverge_eg = 1e6;  // eg above this (or non-finite) marks a diverged point
};

template <>
struct EnumNames<OdeMethod> {
  static constexpr EnumName<OdeMethod> table[] = {
      {OdeMethod::adaptive, "adaptive"}, {OdeMethod::rk4, "rk4"}, {OdeMethod::euler, "euler"}};
};
// An explicit state is an object in the configuration, not a name.
template <>
struct EnumNames<OdeInit> {
  static constexpr EnumName<OdeInit> table[] = {{OdeInit::measured, "measured"},
                                                {OdeInit::expected, "expected"}};
};

}  // namespace tsgd
