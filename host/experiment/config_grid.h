// The grid part of the configuration reader (config_grid.cpp): "model" and
// "training" (any scalar may be a list) and "zip".
#pragma once

#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "experiment/config.h"

namespace tsgd {

// Reads "model", "training" and "zip" of DOC into E.points and E.swept, recording
// their resolved values in RESOLVED; refuses a swept key no grid point uses.
void parse_grid(const nlohmann::json& doc, Experiment& e, nlohmann::json& resolved);

// The cross-key checks of one grid point Q (fills lr2 and weight_decay2 when
// they follow lr and weight_decay); WHERE, appended to an error, says which point.
// Run by parse_grid, and again by load_data_files once the files set N.
void check_point(PointParams& q, const std::string& where);

// " (grid point N=..., M=..., K=..., train=..., init=...)": a point in an error.
std::string point_description(const PointParams& q);

// The keys of "model" and "training" that are not swept (one value for every
// grid point): the names allowed besides the sweep keys.
const std::set<std::string>& fixed_model_keys();
const std::set<std::string>& fixed_training_keys();

// Reads those keys (model.teacher_file, model.teacher_sparsity,
// training.init_file) and seeds.teacher (from E.seeds) into every point of E;
// refuses a file key without the init that reads it and the reverse, and a
// sparsity with a teacher from a file (config_weights.cpp).
void parse_weight_keys(const nlohmann::json& doc, Experiment& e, nlohmann::json& resolved);

// The keys of "data" that are not swept: inputs and test_size.
const std::set<std::string>& fixed_data_keys();

// Reads data.inputs and data.test_size into E.data (no file is read: load_data_files),
// and carries a resolved configuration's "data_files" record; refuses test_size
// without files and null (online) training sets with them (config_data.cpp).
void parse_data_keys(const nlohmann::json& doc, Experiment& e, nlohmann::json& resolved);

}  // namespace tsgd
