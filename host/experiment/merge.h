// `tsgd merge DIR`: joins the shards of a sharded run (DIR/shard-I-of-N).
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "experiment/config.h"
#include "experiment/progress.h"
#include "experiment/records.h"
#include "experiment/run_table.h"
#include "experiment/work_units.h"

namespace tsgd {

// Checks that DIR's shards belong to one configuration and that none is
// missing, incomplete or duplicated, then writes the result files into DIR
// from all of them (identical to an unsharded run's). FORCE: replace what DIR
// holds of another configuration. COMMAND_LINE: for the manifest.
int merge_shards(const std::string& dir, bool force, bool quiet, const std::string& command_line,
                 std::ostream& out);

// What a merge or join ends with: the result files of DIR from RUNS (a table
// in DIR) and ODE,
// the manifest (BACKEND says what was joined; COMPUTED_BY the runs' engines;
// seconds since T_START), the summary unless QUIET. Returns 0.
int write_joined_results(const std::string& dir, const Experiment& e, const RunTable& runs,
                         std::vector<OdeCurve> ode, const ProvenanceCount& computed_by,
                         const std::string& backend, const std::string& command_line,
                         Clock::time_point t_start, bool quiet, std::ostream& out);

}  // namespace tsgd
