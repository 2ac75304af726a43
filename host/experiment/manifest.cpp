// See manifest.h.
#include "experiment/manifest.h"

#include <ctime>
#include <filesystem>

#include "experiment/file_io.h"
#include "experiment/output_directory.h"
#include "experiment/version.h"

namespace tsgd {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::string iso_time_now() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

// The weight files the runs started from (config_weights.cpp), as the
// directory's config.json records them: each key's path, size and hash.
json weight_files(const std::string& dir) {
  const std::string path = dir + "/config.json";
  if (!fs::exists(path)) return json::object();
  const json config = json::parse(read_file(path));
  json out = json::object();
  if (!config.contains("weight_files")) return out;
  for (auto it = config["weight_files"].begin(); it != config["weight_files"].end(); ++it) {
    const std::string& key = it.key();
    const std::size_t dot = key.find('.');
    json entry = it.value();
    const json& section = config.value(key.substr(0, dot), json::object());
    entry["path"] = section.value(key.substr(dot + 1), std::string());
    out[key] = entry;
  }
  return out;
}

// The data files of data.inputs (config_data.cpp) as config.json records them:
// each key's path, size and hash.
json data_files(const std::string& dir) {
  const std::string path = dir + "/config.json";
  if (!fs::exists(path)) return json::object();
  return json::parse(read_file(path)).value("data_files", json::object());
}

}  // namespace

void write_manifest(const std::string& dir, const Manifest& m) {
  const std::string host = host_name();
  json files = json::object();
  // The experiment's definition (config.json, and shard.json in a shard's
  // directory) is checksummed with the results it produced.
  std::vector<std::string> names(std::begin(kDefinitionFiles), std::end(kDefinitionFiles));
  for (const char* f : kResultFiles)
    if (std::string(f) != "manifest.json") names.emplace_back(f);
  for (const std::string& f : names) {
    const std::string path = dir + "/" + f;
    if (fs::exists(path))
      files[f] = {{"fnv1a", fnv1a_file_hex(path)}, {"bytes", fs::file_size(path)}};
  }
  json j{{"tsgd_version", version()},
         {"git_commit", git_commit()},
         {"host", host},
         {"finished_at", iso_time_now()},
         {"command_line", m.command_line},
         {"backend", m.backend},
         {"precision", m.precision},
         {"device", m.device},
         {"threads", m.threads},
         {"seconds", m.stage_seconds},
         {"computed_by", m.computed_by.list()},
         {"files", files}};
  const json weights = weight_files(dir);
  if (!weights.empty()) j["weight_files"] = weights;
  const json data = data_files(dir);
  if (!data.empty()) j["data_files"] = data;
  write_file_atomic(dir + "/manifest.json", j.dump(2) + "\n");
}

}  // namespace tsgd
