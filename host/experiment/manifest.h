// manifest.json: what produced an output directory (version, commit, host,
// engine, precision, threads, seconds per stage, the runs computed by each
// engine over every session and shard) and the size and FNV-1a hash of every
// other file there, so that a changed file is noticed; and the path, size and
// hash of each weight file the runs started from ("weight_files", from
// config.json: model.teacher_file, training.init_file) and each data file
// ("data_files": data.inputs' IDX files).
#pragma once

#include <map>
#include <string>

#include "experiment/work_units.h"

namespace tsgd {

struct Manifest {
  std::string command_line;
  std::string backend = "none";
  std::string precision = "none";
  std::string device;
  int threads = 0;
  std::map<std::string, double> stage_seconds;
  // Which engine, device, host and build computed the SGD runs, over every
  // session and shard that contributed (a resumed or merged run included).
  ProvenanceCount computed_by;
};

// Written last: it checksums the files written before it.
void write_manifest(const std::string& directory, const Manifest& manifest);

}  // namespace tsgd
