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
#include "experiment/resources.h"
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
void check_runs(const std::string& dir, const Experiment& e,
                const std::vector<RunTrajectory>& trajectories) {
  const std::size_t seeds = static_cast<std::size_t>(e.seeds.count);
  std::vector<int> seen(e.points.size() * seeds, 0);
  for (const auto& t : trajectories) {
    if (t.point_id < 0 || static_cast<std::size_t>(t.point_id) >= e.points.size() ||
        t.seed < e.seeds.first || t.seed - e.seeds.first >= seeds)
      throw std::runtime_error(dir + ": a shard holds run (point " + std::to_string(t.point_id) +
                               ", seed " + std::to_string(t.seed) +
                               ") that is not in the configuration");
    if (++seen[t.point_id * seeds + (t.seed - e.seeds.first)] > 1)
      throw std::runtime_error(dir + ": run (point " + std::to_string(t.point_id) + ", seed " +
                               std::to_string(t.seed) + ") appears in more than one shard");
  }
  if (e.simulate.enabled) {
    const auto absent = std::count(seen.begin(), seen.end(), 0);
    if (absent > 0)
      throw std::runtime_error(dir + ": " + std::to_string(absent) +
                               " run(s) missing from the shards");
  }
}

void check_merge_memory(const std::string& dir, const Experiment& e) {
  const ResourceEstimate r = estimate_resources(e, 1);
  if (r.results_bytes > 0.5 * r.memory_bytes)
    throw std::runtime_error(
        dir + ": the merged records need about " + format_bytes(r.results_bytes) +
        " of memory, more than half of this machine's (" + format_bytes(r.memory_bytes) +
        "); merge on a machine with more memory, or rerun the sweep with "
        "record.order_parameters false or fewer record.points");
}

}  // namespace

int merge_shards(const std::string& dir, bool force, bool quiet, const std::string& command_line,
                 std::ostream& out) {
  const auto t_start = Clock::now();
  int count = 0;
  const std::map<int, std::string> shards = find_shards(dir, &count);
  const json reference = common_configuration(shards);
  const Experiment e = parse_experiment(reference);
  check_merge_memory(dir, e);
  std::vector<RunTrajectory> trajectories;
  ProvenanceCount computed_by;
  std::vector<OdeCurve> ode;
  for (const auto& [index, path] : shards) {
    for (auto& t : SgdUnitStore(path + "/work", e).load_all(&computed_by))
      trajectories.push_back(std::move(t));
    if (e.ode.enabled)
      for (auto& c : OdeUnitStore(path + "/work", e).load_all(static_cast<int>(e.points.size())))
        ode.push_back(std::move(c));
  }
  check_runs(dir, e, trajectories);
  // DIR itself may hold another experiment's results (and work units that a
  // later `tsgd run` there would resume from): refused, or replaced with --force.
  prepare_output_directory(dir, reference, force, ForceScope::everything);
  return write_joined_results(dir, e, std::move(trajectories), std::move(ode), computed_by,
                              "merge of " + std::to_string(count) + " shards", command_line,
                              t_start, quiet, out);
}

int write_joined_results(const std::string& dir, const Experiment& e,
                         std::vector<RunTrajectory> runs, std::vector<OdeCurve> ode,
                         const ProvenanceCount& computed_by, const std::string& backend,
                         const std::string& command_line, Clock::time_point t_start, bool quiet,
                         std::ostream& out) {
  // tsgd merge has no --threads: every core, as for the fixed points before.
  const ResultSet results =
      write_experiment_results(dir, e, std::move(runs), std::move(ode), thread_count(0));
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
