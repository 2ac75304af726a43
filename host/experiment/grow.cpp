// See grow.h.
#include "experiment/grow.h"

#include <algorithm>
#include <filesystem>
#include <limits>
#include <set>
#include <stdexcept>
#include <vector>

#include "experiment/checkpoint.h"
#include "experiment/config_grid.h"
#include "experiment/config_reader.h"
#include "experiment/file_io.h"
#include "experiment/plan.h"
#include "experiment/records.h"
#include "experiment/work_units.h"

namespace tsgd {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Whether A and B differ; if so, PATH ends with the keys down to their first
// difference (keys may hold dots themselves: data_files' "data.inputs.train").
bool first_difference(const json& a, const json& b, std::vector<std::string>& path) {
  if (!a.is_object() || !b.is_object()) return a != b;  // numbers by value: 2 == 2.0
  for (auto it = a.begin(); it != a.end(); ++it) {
    path.push_back(it.key());
    if (!b.contains(it.key()) || first_difference(it.value(), b[it.key()], path)) return true;
    path.pop_back();
  }
  for (auto it = b.begin(); it != b.end(); ++it)
    if (!a.contains(it.key())) {
      path.push_back(it.key());
      return true;
    }
  return false;
}

const json* at_path(const json& j, const std::vector<std::string>& path) {
  const json* node = &j;
  for (const std::string& key : path) {
    if (!node->is_object() || !node->contains(key)) return nullptr;
    node = &(*node)[key];
  }
  return node;
}

std::string dotted(const std::vector<std::string>& path) {
  std::string out;
  for (const std::string& key : path) out += (out.empty() ? "" : ".") + key;
  return out;
}

// The keys that may differ between an experiment and its growth: those of the
// grid (checked point by point), the seeds (checked below), and those that change no run.
json fixed_part(const json& resolved) {
  json j = without_run_neutral_keys(resolved);
  for (const char* key : {"name", "description", "model", "training", "zip", "seeds"}) j.erase(key);
  // data.train_size is a grid key (each point's train_size is compared below); the
  // rest of the data section (its files) is one value for every run.
  if (j.contains("data")) {
    j["data"].erase("train_size");
    if (j["data"].empty()) j.erase("data");
  }
  // Their keys that no grid point or seed lists, one value for every run (a changed
  // sparsity, weight file or teacher seed changes every run): compared here.
  std::vector<std::pair<std::string, std::string>> fixed = {{"seeds", "teacher"}};
  for (const std::string& key : fixed_model_keys()) fixed.emplace_back("model", key);
  for (const std::string& key : fixed_training_keys()) fixed.emplace_back("training", key);
  for (const auto& [section, key] : fixed)
    if (resolved.contains(section) && resolved[section].contains(key))
      j[section][key] = resolved[section][key];
  return j;
}

// A value for a message: numbers in their shortest form that reads back (4, not 4.0).
std::string text_of(const json& value) {
  return value.is_number() ? format_double(value.get<double>()) : config::describe(value);
}

[[noreturn]] void refuse(const std::string& key, const std::string& why) {
  throw std::runtime_error(key + ": " + why);
}

void check_fixed_part(const json& existing, const json& grown) {
  const json a = fixed_part(existing), b = fixed_part(grown);
  std::vector<std::string> path;
  if (!first_difference(a, b, path)) return;
  const json* was = at_path(a, path);
  const json* is = at_path(b, path);
  refuse(dotted(path), "changed from " + (was ? text_of(*was) : std::string("absent")) + " to " +
                           (is ? text_of(*is) : std::string("absent")));
}

// The existing seeds [first, first + count) must all be in the grown range.
void check_seeds(const json& existing, const Experiment& grown) {
  const json& seeds = existing.at("seeds");
  const std::uint64_t first = seeds.at("first").get<std::uint64_t>();
  const std::uint64_t count = seeds.at("count").get<std::uint64_t>();
  const std::uint64_t grown_count = static_cast<std::uint64_t>(grown.seeds.count);
  if (first < grown.seeds.first)
    refuse("seeds.first", "seed " + std::to_string(first) +
                              " of the existing results is below seeds.first = " +
                              std::to_string(grown.seeds.first));
  if (first + count > grown.seeds.first + grown_count)
    refuse("seeds.count", "seed " + std::to_string(first + count - 1) +
                              " of the existing results is not among the " +
                              std::to_string(grown_count) + " seeds from " +
                              std::to_string(grown.seeds.first) + " (fewer seeds)");
}

// Refuses an existing grid point that GROWN lacks, naming a parameter whose
// value no grown point has (or, when each value is there, the combination).
[[noreturn]] void refuse_missing_point(const json& existing, const json& point,
                                       const std::vector<json>& grown_points) {
  for (auto it = point.begin(); it != point.end(); ++it) {
    bool found = false;
    for (const json& g : grown_points) found |= g.contains(it.key()) && g[it.key()] == it.value();
    if (found) continue;
    const std::string key = it.key() == "alpha"                       ? "training.alpha"
                            : it.key() == "train_size"                ? "data.train_size"
                            : existing.at("model").contains(it.key()) ? "model." + it.key()
                                                                      : "training." + it.key();
    refuse(key, text_of(it.value()) + " of the existing results is not in this configuration" +
                    (it.key() == "alpha" ? " (runs continue to a longer alpha only with "
                                           "record.final_weights: true and record.spacing: "
                                           "\"decades\")"
                                         : ""));
  }
  refuse("zip", "the grid point " + point.dump() +
                    " of the existing results is not in this configuration (each of its values "
                    "is, but not together)");
}

std::vector<json> point_records(const Experiment& e) {
  std::vector<json> out;
  for (const PointParams& p : e.points)
    out.push_back(point_json(p, true, true));  // the whole identity
  return out;
}

// The grown point that continues OLD to a longer alpha: the one point equal to
// it but for a larger alpha; NEW_POINTS.size() when there is none (or several).
std::size_t continuation_of(const json& old, const std::vector<json>& new_points) {
  std::size_t found = new_points.size(), count = 0;
  json key = old;
  key.erase("alpha");
  for (std::size_t q = 0; q < new_points.size(); ++q) {
    json other = new_points[q];
    other.erase("alpha");
    if (other == key && new_points[q].at("alpha").get<double>() > old.at("alpha").get<double>()) {
      found = q;
      ++count;
    }
  }
  return count == 1 ? found : new_points.size();
}

// Runs go on to a longer alpha only from their stored final weights and with
// record times that do not depend on alpha.
bool continuable(const json& existing) {
  const json& record = existing.at("record");
  return record.value("final_weights", false) && record.value("spacing", "") == "decades";
}

}  // namespace

Growth growth_of(const json& existing, const Experiment& grown, bool continue_alpha) {
  check_fixed_part(existing, grown.resolved);
  check_seeds(existing, grown);
  const Experiment before = parse_experiment(existing);
  const std::vector<json> old_points = point_records(before), new_points = point_records(grown);
  Growth g;
  g.seeds_added = grown.seeds.count != before.seeds.count;
  std::set<std::size_t> targets;
  for (std::size_t p = 0; p < old_points.size(); ++p) {
    std::size_t q = 0;
    while (q < new_points.size() && new_points[q] != old_points[p]) ++q;
    if (q == new_points.size() && continue_alpha && continuable(existing)) {
      q = continuation_of(old_points[p], new_points);
      if (q < new_points.size()) g.continued.insert(static_cast<int>(p));
    }
    if (q == new_points.size()) refuse_missing_point(existing, old_points[p], new_points);
    if (!targets.insert(q).second)
      refuse("training.alpha",
             "two grid points of the existing results would continue into the "
             "same grown point " +
                 new_points[q].dump());
    g.points[static_cast<int>(p)] = static_cast<int>(q);
  }
  return g;
}

namespace {

// The runs of an existing work unit (RECORDS, renumbered to the grown point,
// HEADER its header) as the checkpoint of the grown batch at the old end
// OLD_STEPS.back(): what the batch would hold at that step of a fresh run of the
// grown configuration, whose record times below it are the old ones
// (record.spacing "decades"). Written into STAGING; returns the runs.
std::size_t continue_unit(const std::string& staging, const std::string& file, const json& header,
                          std::vector<json>& records, const Experiment& grown,
                          const std::vector<std::int64_t>& old_steps) {
  if (records.empty()) return 0;
  // A batch's runs (of one or several grid points) share their record steps.
  const int point = records[0].at("point_id").get<int>();
  const std::vector<std::int64_t> steps =
      record_steps(grown.record, grown.points.at(static_cast<std::size_t>(point)));
  const std::int64_t end = old_steps.back();
  if (std::vector<std::int64_t>(steps.begin(),
                                steps.begin() + std::min(steps.size(), old_steps.size() - 1)) !=
      std::vector<std::int64_t>(old_steps.begin(), old_steps.end() - 1))
    throw std::runtime_error(file + ": its record times are not those of the grown configuration");
  BatchState state;
  state.step = end;
  while (state.records < steps.size() && steps[state.records] <= end) ++state.records;
  const bool end_recorded = steps[state.records - 1] == end;
  // In the order the SGD stage gives a batch's runs (by seed, then grid point):
  // the grown numbering may have reordered a seed's points.
  std::stable_sort(records.begin(), records.end(), [](const json& a, const json& b) {
    const auto sa = a.at("seed").get<std::uint64_t>(), sb = b.at("seed").get<std::uint64_t>();
    return sa != sb ? sa < sb : a.at("point_id").get<int>() < b.at("point_id").get<int>();
  });
  std::vector<RunSpec> batch;
  for (json& j : records) {
    RunTrajectory t = trajectory_from_json(j, grown, file);
    if (t.final_w.empty())
      throw std::runtime_error(file + ": a run without its final weights (record.final_weights)");
    batch.push_back(
        RunSpec{t.point_id, t.seed, grown.points.at(static_cast<std::size_t>(t.point_id))});
    InitialWeights w;
    w.w = std::move(t.final_w);
    w.v = t.states.back().v;
    state.weights.push_back(std::move(w));
    const double eg0 = t.eg.empty() ? 0.0 : t.eg[0];
    state.bound.push_back(grown.simulate.diverge_eg ? *grown.simulate.diverge_eg
                                                    : 1e4 * std::max(1.0, eg0));
    // A run stopped at the old end, where the grown schedule has no record,
    // would only be found diverged at the grown's next record: it goes on.
    if (t.diverged && !end_recorded && t.alpha.size() == old_steps.size()) {
      t.diverged = false;
      t.diverged_alpha = std::numeric_limits<double>::quiet_NaN();
    }
    state.live.push_back(t.diverged ? 0 : 1);
    const std::size_t keep = std::min(t.alpha.size(), state.records);
    t.alpha.resize(keep);
    t.eg.resize(keep);
    if (!t.et.empty()) t.et.resize(keep);                // a finite training set's training error
    if (!t.class_err.empty()) t.class_err.resize(keep);  // file labels' class error
    if (grown.record.order_parameters && t.states.size() > keep) t.states.resize(keep);
    state.runs.push_back(std::move(t));
  }
  const CheckpointStore store(staging, grown, header.at("by"));
  store.save(batch, state);
  return records.size();
}

}  // namespace

std::size_t rewrite_unit(const std::string& work, const std::string& staging,
                         const std::string& name, const std::string& old_fingerprint,
                         const std::string& new_fingerprint, const Experiment& grown,
                         const Growth& growth, const Experiment* before) {
  json header;
  std::vector<json> records = read_work_unit(work + "/" + name, old_fingerprint, &header);
  const int old_point = records.empty() ? 0 : records[0].at("point_id").get<int>();
  std::size_t continued = 0;
  for (json& r : records) {
    const int from = r.at("point_id").get<int>();
    continued += growth.continued.count(from);
    r["point_id"] = growth.points.at(from);
  }
  if (continued != 0 && continued != records.size())
    throw std::runtime_error(work + "/" + name + ": a batch of runs of which only some continue");
  if (before && continued != 0 && is_unit_name(name, UnitKind::sgd))
    return continue_unit(
        staging, work + "/" + name, header, records, grown,
        record_steps(before->record, before->points.at(static_cast<std::size_t>(old_point))));
  header.erase("experiment");
  const int first_point = records.empty() ? 0 : records[0]["point_id"].get<int>();
  std::string new_name = ode_unit_name(first_point);
  if (is_unit_name(name, UnitKind::sgd)) {
    const RunSpec first{first_point, records.at(0).at("seed").get<std::uint64_t>(),
                        grown.points.at(first_point)};
    new_name = sgd_unit_name(first, records.size());
  }
  if (file_exists(staging + "/" + new_name))
    throw std::runtime_error(work + "/" + name + ": its runs are already in " + staging + "/" +
                             new_name + " (the same runs twice)");
  write_work_unit(staging + "/" + new_name, new_fingerprint, header, records);
  return records.size();
}

namespace {

bool continued_ode_unit(const std::string& name, const Growth& growth) {
  for (int p : growth.continued)
    if (name == ode_unit_name(p)) return true;
  return false;
}

}  // namespace

std::size_t grow_output_directory(const std::string& dir, const json& existing,
                                  const Experiment& grown, const json& grown_resolved,
                                  const Growth& growth) {
  const std::string work = dir + "/work", staging = dir + "/work.grow";
  fs::remove_all(staging);
  make_directories(staging);
  const std::string old_fingerprint = experiment_fingerprint(existing);
  const std::string new_fingerprint = experiment_fingerprint(grown_resolved);
  const bool ode_per_seed = grown.ode.init == OdeInit::measured && growth.seeds_added;
  const Experiment before = parse_experiment(existing);
  std::size_t runs = 0;
  if (fs::is_directory(work))
    for (const auto& entry : fs::directory_iterator(work)) {
      const std::string name = entry.path().filename().string();
      const bool sgd = is_unit_name(name, UnitKind::sgd);
      if (!sgd && (!is_unit_name(name, UnitKind::ode) || ode_per_seed)) continue;
      // A continued point's ODE runs to the longer alpha: computed again.
      if (!sgd && continued_ode_unit(name, growth)) continue;
      const std::size_t n = rewrite_unit(work, staging, name, old_fingerprint, new_fingerprint,
                                         grown, growth, &before);
      if (sgd) runs += n;
    }
  // tsgd fixed-point's files number the old grid's points: gone with it (rerun fixed-point).
  for (const char* f : {"/fixed_points.csv", "/fixed_points.jsonl"}) fs::remove(dir + f);
  write_file_atomic(staging + "/target", new_fingerprint);
  write_file_atomic(dir + "/config.json", grown_resolved.dump(2) + "\n");
  finish_interrupted_growth(dir);
  return runs;
}

void finish_interrupted_growth(const std::string& dir) {
  const std::string work = dir + "/work", staging = dir + "/work.grow", old = dir + "/work.old";
  if (fs::exists(staging)) {
    std::string target, current;
    try {
      target = read_file(staging + "/target");
      current = experiment_fingerprint(json::parse(read_file(dir + "/config.json")));
    } catch (const std::exception&) {
      target.clear();  // staging incomplete, or no readable config.json: not switched in
    }
    if (target.empty() || target != current) {
      fs::remove_all(staging);
    } else {
      if (fs::exists(work) && fs::exists(old))
        throw std::runtime_error(dir +
                                 ": both work/ and work.old/ exist beside work.grow/; "
                                 "remove the one that is not wanted");
      if (fs::exists(work)) fs::rename(work, old);
      fs::rename(staging, work);
    }
  }
  if (fs::exists(old)) fs::remove_all(old);
  if (fs::exists(work + "/target")) fs::remove(work + "/target");
}

}  // namespace tsgd
