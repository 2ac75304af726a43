// `tsgd merge OUT DIR1 DIR2 ...`: joins the result directories of one
// experiment computed separately (disjoint seeds or grid points, on different
// machines, say) into OUT, as if the joined configuration had been run there:
// every run of each directory kept (grow.h: its units rewritten for the joined
// configuration's point numbers and fingerprint), the ODE curves of a point
// taken from the directories that have them (per seed with ode.init
// "measured"), and the result files written when nothing is missing.
#pragma once

#include <iosfwd>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace tsgd {

// The configuration the resolved configurations CONFIGS (one per directory, in
// order) are parts of, when they differ only in their seeds (contiguous,
// disjoint ranges: the joined range is their union) or only in the values of
// one model or training key (the joined list: the first's values, then each
// next one's new values in order). Throws std::runtime_error naming what else
// differs (and that --config can give the joined configuration).
nlohmann::json joined_configuration(const std::vector<nlohmann::json>& configs,
                                    const std::vector<std::string>& dirs);

// Joins DIRS into OUT. CONFIG: the joined configuration's file (default:
// joined_configuration). Returns 0 when OUT has its result files, 1 when runs
// or ODE curves of the joined configuration are in none of the directories
// (OUT then holds the joined work; `tsgd run OUT/config.json --output OUT`
// computes the rest). Throws naming the directory and key that do not fit.
int join_directories(const std::string& out_dir, const std::vector<std::string>& dirs,
                     const std::optional<std::string>& config, bool force, bool quiet,
                     const std::string& command_line, std::ostream& out);

}  // namespace tsgd
