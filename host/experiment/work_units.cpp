#include "experiment/work_units.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <sstream>
#include <stdexcept>

#include "experiment/file_io.h"
#include "experiment/version.h"

namespace tsgd {

using nlohmann::json;
namespace fs = std::filesystem;

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

json without_run_neutral_keys(json j) {
  // Where the results go, the escape threshold of the statistics and which
  // result files are written how, so that changing them rewrites only the files.
  if (j.is_object()) j.erase("output");
  if (j.contains("simulate") && j["simulate"].is_object())
    j["simulate"].erase("checkpoint_minutes");
  if (j.contains("record") && j["record"].is_object())
    for (const char* key : {"escape_eg", "jsonl", "runs_csv", "hdf5_precision"})
      j["record"].erase(key);
  return j;
}

std::string experiment_fingerprint(const json& resolved) {
  json j = without_run_neutral_keys(resolved);
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

std::vector<json> read_work_unit(const std::string& path, const std::string& experiment,
                                 json* header_out) {
  std::vector<json> records;
  read_work_unit(path, experiment, header_out, [&](json&& j) { records.push_back(std::move(j)); });
  return records;
}

std::size_t read_work_unit(const std::string& path, const std::string& experiment, json* header_out,
                           const std::function<void(json&&)>& each) {
  const std::string text = read_file(path);
  if (text.size() < 2 || text.back() != '\n') throw corrupt_work_unit(path, "truncated");
  const std::size_t last_start = text.rfind('\n', text.size() - 2);
  if (last_start == std::string::npos) throw corrupt_work_unit(path, "truncated");
  const std::string_view body(text.data(), last_start + 1);
  std::size_t records = 0;
  try {
    const json end = json::parse(text.substr(last_start + 1));
    if (!end.is_object() || !end.contains("fnv1a") || end["fnv1a"] != fnv1a_hex(body))
      throw corrupt_work_unit(path, "checksum mismatch");
    std::size_t line_end = body.find('\n');
    const json header = json::parse(body.substr(0, line_end));
    if (header.is_object() && !header.contains("experiment"))
      throw std::runtime_error(path +
                               ": work unit written by an older tsgd, which did not record its "
                               "configuration; rerun with --force to recompute it");
    if (!header.is_object() || header["experiment"] != experiment)
      throw std::runtime_error(
          path +
          ": work unit of another configuration than this one (left by an earlier "
          "experiment in this directory); rerun with --force to start over, or "
          "use another --output");
    if (header_out) *header_out = header;
    for (std::size_t start = line_end + 1; start < body.size(); start = line_end + 1) {
      line_end = body.find('\n', start);
      each(json::parse(body.substr(start, line_end - start)));
      ++records;
    }
    if (records != end.at("end").get<std::size_t>())
      throw corrupt_work_unit(path, "record count mismatch");
  } catch (const json::exception& err) {
    throw corrupt_work_unit(path, err.what());
  }
  return records;
}

// ---- names: the one rule for the files of DIR/work ---------------------------------

std::string sgd_unit_name(const RunSpec& first, std::size_t count) {
  return "sgd-p" + std::to_string(first.point_id) + "-s" + std::to_string(first.seed) + "-n" +
         std::to_string(count) + ".jsonl";
}

std::string ode_unit_name(int point) { return "ode-p" + std::to_string(point) + ".jsonl"; }

bool is_unit_name(const std::string& name, UnitKind kind) {
  const std::string prefix = kind == UnitKind::sgd ? "sgd-" : "ode-p";
  return name.size() > prefix.size() + 6 && name.compare(0, prefix.size(), prefix) == 0 &&
         name.compare(name.size() - 6, 6, ".jsonl") == 0;
}

std::string checkpoint_name(const RunSpec& first, std::size_t count) {
  return "checkpoint-p" + std::to_string(first.point_id) + "-s" + std::to_string(first.seed) +
         "-n" + std::to_string(count) + ".ckpt";
}

bool is_checkpoint_name(const std::string& name) {
  return name.size() > 16 && name.compare(0, 11, "checkpoint-") == 0 &&
         name.compare(name.size() - 5, 5, ".ckpt") == 0;
}

// ---- provenance -----------------------------------------------------------------------

json unit_provenance(const std::string& backend, const std::string& device,
                     const std::string& precision) {
  return json{{"backend", backend},  {"device", device},          {"precision", precision},
              {"host", host_name()}, {"tsgd_version", version()}, {"git_commit", git_commit()}};
}

void ProvenanceCount::add(const json& by, std::size_t runs) {
  if (runs > 0) runs_[by.dump()] += runs;
}

json ProvenanceCount::list() const {
  json out = json::array();
  for (const auto& [by, runs] : runs_) {
    json entry = json::parse(by);
    entry["runs"] = runs;
    out.push_back(std::move(entry));
  }
  return out;
}

// ---- SGD units ------------------------------------------------------------------------

SgdUnitStore::SgdUnitStore(std::string directory, const Experiment& e)
    : directory_(std::move(directory)),
      experiment_(&e),
      fingerprint_(experiment_fingerprint(e.resolved)) {}

void SgdUnitStore::save(const std::vector<RunSpec>& batch, const std::vector<RunTrajectory>& runs,
                        bool all_states, const json& by) const {
  std::vector<json> records;
  for (const auto& t : runs) records.push_back(trajectory_json(t, all_states));
  write_work_unit(directory_ + "/" + sgd_unit_name(batch.at(0), batch.size()), fingerprint_,
                  json{{"unit", "sgd"}, {"format", 1}, {"runs", runs.size()}, {"by", by}}, records);
}

json trajectory_json(const RunTrajectory& t, bool all_states) {
  json j{{"point_id", t.point_id},
         {"seed", t.seed},
         {"diverged", t.diverged},
         {"diverged_alpha", t.diverged ? json(t.diverged_alpha) : json(nullptr)},
         {"alpha", t.alpha},
         {"eg", t.eg},
         {"all_states", all_states}};
  if (!t.et.empty()) j["et"] = t.et;                       // a finite training set only
  if (!t.class_err.empty()) j["class_err"] = t.class_err;  // file labels only
  json states = json::array();
  for (const auto& op : t.states) states.push_back(state_json(op));
  j["states"] = std::move(states);
  if (!t.final_w.empty()) j["w"] = doubles_base64(t.final_w);
  return j;
}

RunTrajectory trajectory_from_json(const json& j, const Experiment& e, const std::string& path) {
  RunTrajectory t;
  t.point_id = j.at("point_id").get<int>();
  t.seed = j.at("seed").get<std::uint64_t>();
  if (t.point_id < 0 || static_cast<std::size_t>(t.point_id) >= e.points.size() ||
      t.seed < e.seeds.first || t.seed - e.seeds.first >= static_cast<std::uint64_t>(e.seeds.count))
    throw corrupt_work_unit(path, "run (point " + std::to_string(t.point_id) + ", seed " +
                                      std::to_string(t.seed) + ") is not in this configuration");
  t.diverged = j.at("diverged").get<bool>();
  t.diverged_alpha = number_or_nan(j.at("diverged_alpha"));
  for (const auto& a : j.at("alpha")) t.alpha.push_back(number_or_nan(a));
  for (const auto& g : j.at("eg")) t.eg.push_back(number_or_nan(g));
  if (j.contains("et"))
    for (const auto& g : j.at("et")) t.et.push_back(number_or_nan(g));
  if (j.contains("class_err"))
    for (const auto& g : j.at("class_err")) t.class_err.push_back(number_or_nan(g));
  for (const auto& s : j.at("states")) t.states.push_back(state_from_json(s, path));
  if (j.contains("w")) t.final_w = doubles_from_base64(j["w"].get<std::string>(), path);
  return t;
}

void SgdUnitStore::for_each_run(const std::function<void(RunTrajectory&&, const std::string&)>& add,
                                ProvenanceCount* computed_by) const {
  if (!fs::exists(directory_)) return;
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(directory_)) {
    const std::string name = entry.path().filename().string();
    if (is_unit_name(name, UnitKind::sgd))
      names.push_back(name);
    else if (name.find(".tmp") != std::string::npos)
      fs::remove(entry.path());  // a write that was interrupted: never complete, never used
  }
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    const std::string path = directory_ + "/" + name;
    std::vector<RunTrajectory> runs;
    try {
      json header;
      const std::size_t records = read_work_unit(path, fingerprint_, &header, [&](json&& j) {
        runs.push_back(trajectory_from_json(j, *experiment_, path));
      });
      if (computed_by) computed_by->add(header.value("by", json{{"backend", "unknown"}}), records);
    } catch (const json::exception& err) {
      throw corrupt_work_unit(path, err.what());
    }
    for (auto& t : runs) add(std::move(t), path);
  }
}

// ---- ODE units ------------------------------------------------------------------------

OdeUnitStore::OdeUnitStore(std::string directory, const Experiment& e)
    : directory_(std::move(directory)), fingerprint_(experiment_fingerprint(e.resolved)) {}

std::string OdeUnitStore::path(int point) const { return directory_ + "/" + ode_unit_name(point); }

bool OdeUnitStore::has(int point) const { return file_exists(path(point)); }

void OdeUnitStore::save(int point, const std::vector<OdeCurve>& curves) const {
  std::vector<json> records;
  for (const auto& c : curves) {
    json states = json::array();
    for (const auto& s : c.states) states.push_back(state_json(s));
    records.push_back({{"point_id", c.point_id},
                       {"seed", c.seed ? json(*c.seed) : json(nullptr)},
                       {"alpha", c.alpha},
                       {"eg", c.eg},
                       {"diverged", c.diverged},
                       {"diverged_alpha", c.diverged_alpha},
                       {"diverged_reason", c.diverged_reason},
                       {"states", states}});
  }
  write_work_unit(path(point), fingerprint_,
                  json{{"unit", "ode"}, {"format", 1}, {"curves", curves.size()}}, records);
}

std::vector<OdeCurve> OdeUnitStore::load(int point) const {
  const std::string file = path(point);
  std::vector<OdeCurve> curves;
  try {
    for (const json& j : read_work_unit(file, fingerprint_)) {
      OdeCurve c;
      c.point_id = j.at("point_id").get<int>();
      if (!j.at("seed").is_null()) c.seed = j["seed"].get<std::uint64_t>();
      for (const auto& a : j.at("alpha")) c.alpha.push_back(number_or_nan(a));
      for (const auto& g : j.at("eg")) c.eg.push_back(number_or_nan(g));
      c.diverged = j.at("diverged").get<bool>();
      c.diverged_alpha = number_or_nan(j.at("diverged_alpha"));
      c.diverged_reason = j.at("diverged_reason").get<std::string>();
      for (const auto& s : j.at("states")) c.states.push_back(state_from_json(s, file));
      curves.push_back(std::move(c));
    }
  } catch (const json::exception& err) {
    throw corrupt_work_unit(file, err.what());
  }
  return curves;
}

std::vector<OdeCurve> OdeUnitStore::load_all(int points) const {
  std::vector<OdeCurve> out;
  for (int p = 0; p < points; ++p) {
    if (!has(p)) continue;
    for (auto& c : load(p)) out.push_back(std::move(c));
  }
  return out;
}

}  // namespace tsgd
