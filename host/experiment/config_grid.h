// The grid part of the configuration reader (config_grid.cpp): "model" and
// "training" (any scalar may be a list) and "zip".
#pragma once

#include <nlohmann/json.hpp>

#include "experiment/config.h"

namespace tsgd {

// Reads "model", "training" and "zip" of DOC into E.points and E.swept, recording
// their resolved values in RESOLVED; refuses a swept key no grid point uses.
void parse_grid(const nlohmann::json& doc, Experiment& e, nlohmann::json& resolved);

}  // namespace tsgd
