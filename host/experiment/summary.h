// summary.json (per grid point: final and tail eps_g with their intervals,
// diverged runs, the ODE, the theory that holds and what is skipped) and the
// table `tsgd run` prints from it.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "experiment/aggregation.h"
#include "experiment/result_set.h"

namespace tsgd {

void write_summary_json(const std::string& directory, const ResultSet& results,
                        const std::vector<PointStatistics>& statistics);

// The table of final eps_g per point, read back from DIRECTORY/summary.json.
void print_summary(std::ostream& out, const ResultSet& results, const std::string& directory);

}  // namespace tsgd
