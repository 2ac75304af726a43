// Work units: what a completed piece of an experiment leaves in DIR/work/.
// JSON lines: a header object, one record per line, and a closing line
// {"end": <records>, "fnv1a": <checksum of everything before it>}, written
// atomically. A unit that is truncated or edited fails its checksum and is
// reported by name; it is never silently reused. The header names the
// experiment the unit belongs to (experiment_fingerprint), so a unit left
// in a directory by another configuration is refused, not mixed into the
// results.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tsgd {

// The experiment a unit belongs to: FNV-1a of the resolved configuration
// without "output", numbers by value (2 and 2.0 are equal); also the equality
// an output directory's config.json is checked with.
std::string experiment_fingerprint(const nlohmann::json& resolved);

// Writes HEADER (plus {"experiment": EXPERIMENT}), the records and the
// checksum line.
void write_work_unit(const std::string& path, const std::string& experiment, nlohmann::json header,
                     const std::vector<nlohmann::json>& records);

// The records of a unit; throws std::runtime_error naming the file when it is
// truncated, fails its checksum, holds the wrong number of records, or
// belongs to another experiment than EXPERIMENT. HEADER, when given, gets the
// unit's header.
std::vector<nlohmann::json> read_work_unit(const std::string& path, const std::string& experiment,
                                           nlohmann::json* header = nullptr);

// std::runtime_error "<path>: corrupt work unit (<why>); delete it ...".
std::runtime_error corrupt_work_unit(const std::string& path, const std::string& why);

}  // namespace tsgd
