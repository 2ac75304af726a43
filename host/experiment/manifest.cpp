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
  write_file_atomic(dir + "/manifest.json", j.dump(2) + "\n");
}

}  // namespace tsgd
