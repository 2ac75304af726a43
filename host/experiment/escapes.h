// Escape from the plateau (issue 15 point 2). A run escapes at the first
// record where its eps_g falls below the point's escape threshold:
// record.escape_eg when given, else a tenth of the point's ODE plateau value
// where its ODE curve has a plateau, else kDefaultEscapeEg.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace tsgd {

inline constexpr double kDefaultEscapeEg = 1e-3;

// A plateau of an eps_g curve: the record where the curve is flattest between
// two falls. With the log-log slope s_j = d ln eps_g / d ln alpha by central
// differences, the candidates are the records where s_j is a local maximum
// (s_j >= both neighbours': the initial fall and the escape are steeper) with
// s_j > kPlateauSlope, which the curve later leaves downwards to below a tenth
// of eps_g there; the plateau is the candidate with the largest s_j (the
// earliest of equals), its value eps_g there. Empty when there is none: a
// curve that never escapes, or settles after its first fall, has no plateau.
// At finite N and large eta a plateau is not flat (e.g. s = -0.3 over a decade
// at N = 100, eta = 0.5), hence a bound of -1/2 rather than 0.
inline constexpr double kPlateauSlope = -0.5;
std::optional<double> plateau_value(const std::vector<double>& alpha,
                                    const std::vector<double>& eg);

struct EscapeThreshold {
  double eg = kDefaultEscapeEg;
  std::string from;  // "record.escape_eg", "ODE plateau" or "default"
};

// GIVEN: record.escape_eg; ODE_ALPHA/ODE_EG: the point's mean ODE curve (may be empty).
EscapeThreshold escape_threshold(std::optional<double> given, const std::vector<double>& ode_alpha,
                                 const std::vector<double>& ode_eg);

// The record time of the first record with EG < THRESHOLD; empty if none.
std::optional<double> escape_alpha(const std::vector<double>& alpha, const std::vector<double>& eg,
                                   double threshold);

}  // namespace tsgd
