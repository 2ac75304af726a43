#include "experiment/work_unit.h"

#include <cmath>
#include <cstdint>
#include <sstream>
#include <stdexcept>

#include "experiment/file_io.h"

namespace tsgd {

using nlohmann::json;

std::runtime_error corrupt_work_unit(const std::string& path, const std::string& why) {
  return std::runtime_error(path + ": corrupt work unit (" + why +
                            "); delete it to recompute what it held, or rerun with --force");
}

namespace {

// Numbers by value: an integral float within 2^53 becomes an integer, so that
// 2, 2.0 and 2e0 (and -0.0 and 0) are one number, as json's == has them.
void canonical_numbers(json& j) {
  if (j.is_structured()) {
    for (auto& v : j) canonical_numbers(v);
  } else if (j.is_number_float()) {
    const double x = j.get<double>();
    if (std::isfinite(x) && x == std::floor(x) && std::fabs(x) <= 9007199254740992.0)
      j = static_cast<std::int64_t>(x);
  } else if (j.is_number_unsigned() && j.get<std::uint64_t>() <= 9223372036854775807ull) {
    j = static_cast<std::int64_t>(j.get<std::uint64_t>());
  }
}

}  // namespace

std::string experiment_fingerprint(const json& resolved) {
  json j = resolved;
  if (j.is_object()) j.erase("output");
  canonical_numbers(j);
  return fnv1a_hex(j.dump());
}

void write_work_unit(const std::string& path, const std::string& experiment, json header,
                     const std::vector<json>& records) {
  header["experiment"] = experiment;
  std::string body = header.dump() + "\n";
  for (const json& r : records) body += r.dump() + "\n";
  body += json{{"end", records.size()}, {"fnv1a", fnv1a_hex(body)}}.dump() + "\n";
  write_file_atomic(path, body);
}

std::vector<json> read_work_unit(const std::string& path, const std::string& experiment, json* header_out) {
  const std::string text = read_file(path);
  if (text.size() < 2 || text.back() != '\n') throw corrupt_work_unit(path, "truncated");
  const std::size_t last_start = text.rfind('\n', text.size() - 2);
  if (last_start == std::string::npos) throw corrupt_work_unit(path, "truncated");
  const std::string body = text.substr(0, last_start + 1);
  std::vector<json> records;
  try {
    const json end = json::parse(text.substr(last_start + 1));
    if (!end.is_object() || !end.contains("fnv1a") || end["fnv1a"] != fnv1a_hex(body))
      throw corrupt_work_unit(path, "checksum mismatch");
    std::istringstream lines(body);
    std::string line;
    std::getline(lines, line);
    const json header = json::parse(line);
    if (header.is_object() && !header.contains("experiment"))
      throw std::runtime_error(path + ": work unit written by an older tsgd, which did not record its "
                                      "configuration; rerun with --force to recompute it");
    if (!header.is_object() || header["experiment"] != experiment)
      throw std::runtime_error(path + ": work unit of another configuration than this one (left by an earlier "
                                      "experiment in this directory); rerun with --force to start over, or "
                                      "use another --output");
    if (header_out) *header_out = header;
    while (std::getline(lines, line)) records.push_back(json::parse(line));
    if (records.size() != end.at("end").get<std::size_t>()) throw corrupt_work_unit(path, "record count mismatch");
  } catch (const json::exception& err) {
    throw corrupt_work_unit(path, err.what());
  }
  return records;
}

}  // namespace tsgd
