// See merge.h.
#include "experiment/merge.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <stdexcept>

#include "core/threads.h"
#include "experiment/config.h"
#include "experiment/file_io.h"
#include "experiment/manifest.h"
#include "experiment/output_directory.h"
#include "experiment/pipeline.h"
#include "experiment/progress.h"
#include "experiment/recorded_inputs.h"
#include "experiment/summary.h"
#include "experiment/work_units.h"

namespace tsgd {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// The shards present in DIR (index -> path), all of one split, none missing.
std::map<int, std::string> find_shards(const std::string& dir, int* count_out) {
  std::map<int, std::string> shards;
  int count = -1;
  if (!fs::is_directory(dir)) throw std::runtime_error(dir + ": no such directory");
  remove_interrupted_writes(dir);
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    int index = 0, of = 0;
    char tail = 0;
    if (!entry.is_directory() ||
        std::sscanf(name.c_str(), "shard-%d-of-%d%c", &index, &of, &tail) != 2)
      continue;
    if (count >= 0 && of != count)
      throw std::runtime_error(dir + ": shards of different splits (" + std::to_string(count) +
                               " and " + std::to_string(of) + "): remove the stale ones");
    count = of;
    if (!shards.emplace(index, entry.path().string()).second)
      throw std::runtime_error(dir + ": shard " + std::to_string(index) + " is duplicated");
  }
  if (count <= 0) throw std::runtime_error(dir + ": no shard directories (shard-I-of-N) to merge");
  std::string missing;
  for (int i = 0; i < count; ++i) {
    const auto it = shards.find(i);
    if (it == shards.end() || !file_exists(it->second + "/shard.json"))
      missing += (missing.empty() ? "" : ", ") + std::to_string(i);
  }
  if (!missing.empty())
    throw std::runtime_error(dir + ": shard(s) " + missing + " of " + std::to_string(count) +
                             " missing or incomplete; run them with tsgd run CONFIG --shard I/" +
                             std::to_string(count));
  *count_out = count;
  return shards;
}

// The configuration of shard 0, after checking that every shard has it.
json common_configuration(const std::map<int, std::string>& shards) {
  const json reference = json::parse(read_file(shards.at(0) + "/config.json"));
  const std::string fingerprint = experiment_fingerprint(reference);
  for (const auto& [index, path] : shards)
    if (experiment_fingerprint(json::parse(read_file(path + "/config.json"))) != fingerprint)
      throw std::runtime_error(path + "/config.json: shard " + std::to_string(index) +
                               " belongs to a different configuration than shard 0");
  return reference;
}

// Every run of the configuration exactly once (all of them when it simulates).
void check_runs(const std::string& dir, const Experiment& e, const RunTable& runs) {
  std::size_t absent = 0;
  for (std::size_t p = 0; p < e.points.size(); ++p)
    for (std::size_t i = 0; i < runs.seeds(); ++i) {
      const int copies = runs.copies(static_cast<int>(p), i);
      if (copies > 1)
        throw std::runtime_error(dir + ": run (point " + std::to_string(p) + ", seed " +
                                 std::to_string(e.seeds.first + i) +
                                 ") appears in more than one shard");
      if (copies == 0) ++absent;
    }
  if (e.simulate.enabled && absent > 0)
    throw std::runtime_error(dir + ": " + std::to_string(absent) +
                             " run(s) missing from the shards");
}

}  // namespace

int merge_shards(const std::string& dir, bool force, bool quiet, const std::string& command_line,
                 std::ostream& out) {
  const auto t_start = Clock::now();
  int count = 0;
  const std::map<int, std::string> shards = find_shards(dir, &count);
  const json reference = common_configuration(shards);
  Experiment e = parse_experiment(reference);
  // Real inputs: the points' test sets (eg_source, class_err) as the runs had them,
  // from config.json: the data files need not be there (their hashes are in the
  // units' fingerprint, checked as each unit is read).
  describe_recorded_inputs(e);
  // final/wstar of a file teacher needs the file (its path is absolute in a
  // resolved configuration).
  if (e.record.final_weights) load_weight_files(e, dir);
  // DIR itself may hold another experiment's results (and work units that a
  // later `tsgd run` there would resume from): refused, or replaced with --force.
  // First, since the runs' table is a scratch file in DIR.
  prepare_output_directory(dir, reference, force, ForceScope::everything);
  RunTable runs(e, dir);
  ProvenanceCount computed_by;
  std::vector<OdeCurve> ode;
  for (const auto& [index, path] : shards) {
    SgdUnitStore(path + "/work", e)
        .for_each_run([&](RunTrajectory&& t, const std::string& unit) { runs.add(t, unit); },
                      &computed_by);
    if (e.ode.enabled)
      for (auto& c : OdeUnitStore(path + "/work", e).load_all(static_cast<int>(e.points.size())))
        ode.push_back(std::move(c));
  }
  check_runs(dir, e, runs);
  return write_joined_results(dir, e, runs, std::move(ode), computed_by,
                              "merge of " + std::to_string(count) + " shards", command_line,
                              t_start, quiet, out);
}

int write_joined_results(const std::string& dir, const Experiment& e, const RunTable& runs,
                         std::vector<OdeCurve> ode, const ProvenanceCount& computed_by,
                         const std::string& backend, const std::string& command_line,
                         Clock::time_point t_start, bool quiet, std::ostream& out) {
  // tsgd merge has no --threads: every core, as for the fixed points before.
  const ResultSet results = write_experiment_results(dir, e, runs, std::move(ode), thread_count(0));
  Manifest manifest;
  manifest.command_line = command_line;
  manifest.backend = backend;
  manifest.computed_by = computed_by;
  manifest.stage_seconds["merge"] = seconds_since(t_start);
  write_manifest(dir, manifest);
  if (!quiet) print_summary(out, results, dir);
  return 0;
}

}  // namespace tsgd
