// See join.h.
#include "experiment/join.h"

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <ostream>
#include <stdexcept>

#include "experiment/config.h"
#include "experiment/file_io.h"
#include "experiment/grow.h"
#include "experiment/merge.h"
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

// The keys of the configuration that may differ between the parts of one
// experiment without changing a run: where its files go and what it is called.
json comparable(const json& resolved) {
  json j = without_run_neutral_keys(resolved);
  for (const char* key : {"name", "description", "seeds"}) j.erase(key);
  return j;
}

// Whether KEY ("section.key") may take a list of values: the keys of model and
// training, and data.train_size (the rest of data is one set of files for every run).
bool grid_key(const std::string& key) {
  return key.rfind("model.", 0) == 0 || key.rfind("training.", 0) == 0 || key == "data.train_size";
}

// The "section.key" paths of model, training and data where A and B differ; a
// section's name for any other difference (returned alone).
std::vector<std::string> differing_keys(const json& a, const json& b) {
  std::vector<std::string> out;
  for (auto it = a.begin(); it != a.end(); ++it) {
    if (b.contains(it.key()) && b[it.key()] == it.value()) continue;
    const bool grid = it.key() == "model" || it.key() == "training" || it.key() == "data";
    if (!grid || !b.contains(it.key())) return {it.key()};
    for (auto k = it.value().begin(); k != it.value().end(); ++k)
      if (!b[it.key()].contains(k.key()) || b[it.key()][k.key()] != k.value())
        out.push_back(it.key() + "." + k.key());
  }
  for (auto it = b.begin(); it != b.end(); ++it)
    if (!a.contains(it.key())) return {it.key()};
  return out;
}

json as_list(const json& v) { return v.is_array() ? v : json::array({v}); }

// Seeds: contiguous and disjoint once sorted by their first seed.
json joined_seeds(const std::vector<json>& configs, const std::vector<std::string>& dirs) {
  std::vector<std::size_t> order(configs.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  const auto first = [&](std::size_t i) {
    return configs[i]["seeds"]["first"].get<std::uint64_t>();
  };
  const auto count = [&](std::size_t i) {
    return configs[i]["seeds"]["count"].get<std::uint64_t>();
  };
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return first(a) < first(b); });
  for (std::size_t k = 1; k < order.size(); ++k) {
    const std::size_t a = order[k - 1], b = order[k];
    if (first(a) + count(a) != first(b))
      throw std::runtime_error(
          "seeds: " + dirs[a] + " ends at seed " + std::to_string(first(a) + count(a) - 1) + ", " +
          dirs[b] + " starts at seed " + std::to_string(first(b)) +
          (first(a) + count(a) > first(b) ? " (the same runs twice)" : " (seeds in none of them)") +
          "; give the joined configuration with --config");
  }
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < configs.size(); ++i) total += count(i);
  return json{{"first", first(order[0])}, {"count", total}};
}

}  // namespace

json joined_configuration(const std::vector<json>& configs, const std::vector<std::string>& dirs) {
  json joined = configs.at(0);
  const json base = comparable(configs[0]);
  std::string varying;
  bool seeds_differ = false;
  for (std::size_t i = 1; i < configs.size(); ++i) {
    seeds_differ |= configs[i]["seeds"] != configs[0]["seeds"];
    const std::vector<std::string> keys = differing_keys(base, comparable(configs[i]));
    if (keys.empty()) continue;
    if (keys.size() > 1 || !grid_key(keys[0]) || (!varying.empty() && keys[0] != varying))
      throw std::runtime_error(
          dirs[i] + " and " + dirs[0] + " differ in " +
          (varying.empty() || varying == keys[0] ? keys[0] : varying + " and " + keys[0]) +
          (keys.size() > 1 ? " and " + keys[1] : std::string()) +
          "; tsgd joins directories that differ only in their seeds or in the "
          "values of one key: give the joined configuration with --config");
    varying = keys[0];
  }
  if (!varying.empty() && seeds_differ)
    throw std::runtime_error("the directories differ in their seeds and in " + varying +
                             ": give the joined configuration with --config");
  if (seeds_differ) joined["seeds"] = joined_seeds(configs, dirs);
  if (!varying.empty()) {
    const std::string section = varying.substr(0, varying.find('.'));
    const std::string key = varying.substr(varying.find('.') + 1);
    json values = as_list(configs[0][section][key]);
    for (const json& c : configs)
      for (const json& v : as_list(c[section][key]))
        if (std::find(values.begin(), values.end(), v) == values.end()) values.push_back(v);
    joined[section][key] = values;
  }
  return joined;
}

namespace {

struct Part {
  std::string dir;
  json config;
  Experiment experiment;
  Growth growth;
};

std::vector<Part> read_parts(const std::vector<std::string>& dirs) {
  std::vector<Part> parts;
  for (const std::string& dir : dirs) {
    const std::string path = dir + "/config.json";
    if (!file_exists(path))
      throw std::runtime_error(dir + ": not a tsgd results directory (no config.json)");
    if (file_exists(dir + "/shard.json"))
      throw std::runtime_error(dir + ": a shard; join the shards first with tsgd merge " +
                               fs::path(dir).parent_path().string());
    Part p;
    p.dir = dir;
    p.config = json::parse(read_file(path));
    p.experiment = parse_experiment(p.config);
    parts.push_back(std::move(p));
  }
  return parts;
}

// Every SGD unit of every part rewritten into WORK; the same run twice is refused.
void join_sgd_units(const std::vector<Part>& parts, const Experiment& joined,
                    const std::string& work) {
  const std::string fingerprint = experiment_fingerprint(joined.resolved);
  for (const Part& p : parts) {
    const std::string from = p.dir + "/work";
    if (!fs::is_directory(from)) continue;
    for (const auto& entry : fs::directory_iterator(from)) {
      const std::string name = entry.path().filename().string();
      if (is_unit_name(name, UnitKind::sgd))
        rewrite_unit(from, work, name, experiment_fingerprint(p.config), fingerprint, joined,
                     p.growth);
    }
  }
}

// The runs of the joined experiment: each once; returns how many are missing.
std::size_t check_joined_runs(const Experiment& e, const RunTable& runs) {
  std::size_t absent = 0;
  for (std::size_t p = 0; p < e.points.size(); ++p)
    for (std::size_t i = 0; i < runs.seeds(); ++i) {
      const int copies = runs.copies(static_cast<int>(p), i);
      if (copies > 1)
        throw std::runtime_error("run (point " + std::to_string(p) + ", seed " +
                                 std::to_string(e.seeds.first + i) +
                                 ") is in more than one directory");
      if (copies == 0) ++absent;
    }
  return e.simulate.enabled ? absent : 0;
}

// The ODE curves of each joined point from the parts that have them (one per
// seed, or one); saved where complete. Returns the points without them.
std::size_t join_ode_units(const std::vector<Part>& parts, const Experiment& joined,
                           const std::string& work, std::vector<OdeCurve>& all) {
  if (!joined.ode.enabled) return 0;
  const bool per_seed = joined.ode.init == OdeInit::measured;
  std::size_t missing = 0;
  const OdeUnitStore store(work, joined);
  for (int point = 0; point < static_cast<int>(joined.points.size()); ++point) {
    std::map<std::int64_t, OdeCurve> curves;  // by seed; -1: the one curve without a seed
    for (const Part& p : parts) {
      const OdeUnitStore from(p.dir + "/work", p.experiment);
      for (const auto& [old_point, new_point] : p.growth.points) {
        if (new_point != point || !from.has(old_point)) continue;
        for (OdeCurve& c : from.load(old_point)) {
          c.point_id = point;
          curves.emplace(c.seed ? static_cast<std::int64_t>(*c.seed) : -1, std::move(c));
        }
      }
    }
    const std::size_t wanted = per_seed ? static_cast<std::size_t>(joined.seeds.count) : 1;
    std::vector<OdeCurve> kept;
    for (auto& [seed, c] : curves)
      if (!per_seed || (seed >= static_cast<std::int64_t>(joined.seeds.first) &&
                        seed - static_cast<std::int64_t>(joined.seeds.first) < joined.seeds.count))
        kept.push_back(std::move(c));
    if (kept.size() != wanted) {
      ++missing;
      continue;
    }
    store.save(point, kept);
    for (OdeCurve& c : kept) all.push_back(std::move(c));
  }
  return missing;
}

}  // namespace

int join_directories(const std::string& out_dir, const std::vector<std::string>& dirs,
                     const std::optional<std::string>& config, bool force, bool quiet,
                     const std::string& command_line, std::ostream& out) {
  const auto t_start = Clock::now();
  for (const std::string& d : dirs)
    if (fs::exists(out_dir) && fs::exists(d) && fs::equivalent(out_dir, d))
      throw std::runtime_error(out_dir +
                               ": the output of a join must not be one of the joined "
                               "directories");
  std::vector<Part> parts = read_parts(dirs);
  std::vector<json> configs;
  for (const Part& p : parts) configs.push_back(p.config);
  Experiment joined =
      config ? load_experiment(*config) : parse_experiment(joined_configuration(configs, dirs));
  // As merge_shards: final/wstar of a file teacher needs the file.
  if (!config && joined.record.final_weights) load_weight_files(joined, dirs.at(0));
  // As merge_shards: real inputs' test sets (eg_source, class_err) as the runs had
  // them, from the configurations (the data files need not be there).
  if (!config) describe_recorded_inputs(joined);
  for (Part& p : parts) {
    try {
      p.growth = growth_of(p.config, joined);
    } catch (const std::exception& err) {
      throw std::runtime_error(p.dir + " is not part of the joined configuration: " + err.what());
    }
  }
  json resolved = joined.resolved;
  resolved["output"] = out_dir;
  prepare_output_directory(out_dir, resolved, force, ForceScope::everything);
  const std::string work = out_dir + "/work";
  for (const auto& entry : fs::directory_iterator(work))
    if (is_unit_name(entry.path().filename().string(), UnitKind::sgd) ||
        is_unit_name(entry.path().filename().string(), UnitKind::ode))
      throw std::runtime_error(out_dir +
                               " already holds work units; join into a new directory, or "
                               "use --force to replace them");
  join_sgd_units(parts, joined, work);
  ProvenanceCount computed_by;
  RunTable runs(joined, out_dir);
  SgdUnitStore(work, joined)
      .for_each_run([&](RunTrajectory&& t, const std::string& unit) { runs.add(t, unit); },
                    &computed_by);
  const std::size_t missing_runs = check_joined_runs(joined, runs);
  std::vector<OdeCurve> ode;
  const std::size_t missing_ode = join_ode_units(parts, joined, work, ode);
  if (missing_runs + missing_ode > 0) {
    std::cerr << "tsgd: joined " << runs.runs() << " runs into " << out_dir << "; " << missing_runs
              << " run(s) and the ODE of " << missing_ode
              << " grid point(s) of the joined configuration are in none of the directories: "
                 "tsgd run "
              << out_dir << "/config.json --output " << out_dir << " computes them\n";
    return 1;
  }
  return write_joined_results(out_dir, joined, runs, std::move(ode), computed_by,
                              "join of " + std::to_string(dirs.size()) + " directories",
                              command_line, t_start, quiet, out);
}

}  // namespace tsgd
