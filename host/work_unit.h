// Work units: what a completed piece of an experiment leaves in DIR/work/.
// JSON lines: a header object, one record per line, and a closing line
// {"end": <records>, "fnv1a": <checksum of everything before it>}, written
// atomically. A unit that is truncated or edited fails its checksum and is
// reported by name; it is never silently reused.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tsgd {

void write_work_unit(const std::string& path, const nlohmann::json& header,
                     const std::vector<nlohmann::json>& records);

// The records of a unit; throws std::runtime_error naming the file when it is
// truncated, fails its checksum or holds the wrong number of records.
std::vector<nlohmann::json> read_work_unit(const std::string& path);

// std::runtime_error "<path>: corrupt work unit (<why>); delete it ...".
std::runtime_error corrupt_work_unit(const std::string& path, const std::string& why);

}  // namespace tsgd
