// `tsgd merge DIR`: joins the shards of a sharded run (DIR/shard-I-of-N).
#pragma once

#include <iosfwd>
#include <string>

namespace tsgd {

// Checks that DIR's shards belong to one configuration and that none is
// missing, incomplete or duplicated, then writes the result files into DIR
// from all of them (identical to an unsharded run's). FORCE: replace what DIR
// holds of another configuration. COMMAND_LINE: for the manifest.
int merge_shards(const std::string& dir, bool force, bool quiet, const std::string& command_line,
                 std::ostream& out);

}  // namespace tsgd
