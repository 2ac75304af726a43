// summary.json (per grid point: final and tail eps_g with their intervals,
// diverged runs, the ODE, the theory that holds and what is skipped) and the
// table `tsgd run` prints from it.
#pragma once

#include <cstddef>
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "experiment/aggregation.h"
#include "experiment/result_set.h"

namespace tsgd {

// summary.json's object of grid point P, whose runs are RESULTS.runs[S.runs_begin, S.runs_end).
nlohmann::json summary_point(const ResultSet& results, std::size_t p, const PointStatistics& s,
                             bool teacher_init);
// summary.json from the objects of every point (summary_point).
void write_summary_json(const std::string& directory, const Experiment& e,
                        const nlohmann::json& points);

// The table of final eps_g per point, read back from DIRECTORY/summary.json.
void print_summary(std::ostream& out, const ResultSet& results, const std::string& directory);

}  // namespace tsgd
