// See output_directory.h.
#include "experiment/output_directory.h"

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <stdexcept>

#include "experiment/file_io.h"
#include "experiment/grow.h"
#include "experiment/work_units.h"

namespace tsgd {

namespace fs = std::filesystem;
using nlohmann::json;

void remove_interrupted_writes(const std::string& dir) {
  if (!fs::is_directory(dir)) return;
  std::vector<std::string> ours(std::begin(kDefinitionFiles), std::end(kDefinitionFiles));
  for (const char* f : kResultFiles) ours.push_back(f);
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    for (const std::string& file : ours) {
      const std::string prefix = file + ".tmp";
      if (name.size() > prefix.size() && name.compare(0, prefix.size(), prefix) == 0 &&
          name.find_first_not_of("0123456789", prefix.size()) == std::string::npos) {
        fs::remove(entry.path());
        break;
      }
    }
  }
}

void resolve_rng_transform_from_directory(Experiment& e, const std::string& dir) {
  RngTransform transform = RngTransform::exact;
  if (e.simulate.rng_transform) {
    transform = *e.simulate.rng_transform;
  } else if (file_exists(dir + "/config.json")) {
    try {
      const json existing = json::parse(read_file(dir + "/config.json"));
      const json* simulate = existing.contains("simulate") ? &existing["simulate"] : nullptr;
      if (simulate && simulate->is_object() && simulate->value("rng_transform", "") == "fast")
        transform = RngTransform::fast;
    } catch (const json::exception&) {
      // Unreadable: prepare_output_directory refuses the directory by name.
    }
  }
  resolve_rng_transform(e, transform);
}

namespace {

// tsgd's own files in DIR/work, by name: SGD units (sgd-*.jsonl) and their
// batches' checkpoints (checkpoint-*.ckpt) and, or only, ODE units
// (ode-p*.jsonl). Nothing else there is touched.
void remove_work_units(const std::string& work, bool sgd, bool ode) {
  if (!fs::is_directory(work)) return;
  for (const auto& entry : fs::directory_iterator(work)) {
    const std::string name = entry.path().filename().string();
    if ((sgd && (is_unit_name(name, UnitKind::sgd) || is_checkpoint_name(name))) ||
        (ode && is_unit_name(name, UnitKind::ode)))
      fs::remove(entry.path());
  }
}

}  // namespace

namespace {

// DIR holds results of another configuration than GROWN's: grows them when GROWN
// only adds seeds or grid points (grow.h); else throws naming the key that differs.
void grow_or_refuse(const std::string& dir, const json& existing, const Experiment* grown,
                    const json& resolved) {
  const std::string config_path = dir + "/config.json";
  const std::string advice = "; use another --output or --force";
  if (!grown)
    throw std::runtime_error(dir + " holds results of a different configuration (" + config_path +
                             ")" + advice);
  if (file_exists(dir + "/shard.json"))
    throw std::runtime_error(dir + " is a shard of a different configuration (" + config_path +
                             "); a shard does not grow: grow the unsharded experiment, or shard "
                             "the grown one into another directory" +
                             advice);
  Growth growth;
  try {
    growth = growth_of(existing, *grown, /*continue_alpha=*/true);
  } catch (const std::exception& err) {
    throw std::runtime_error(
        dir + " holds results of a different configuration (" + config_path + "): " + err.what() +
        "; an experiment grows only by more seeds or grid points, or by a longer "
        "training.alpha with record.final_weights and record.spacing "
        "\"decades\"" +
        advice);
  }
  const std::size_t kept = grow_output_directory(dir, existing, *grown, resolved, growth);
  std::cerr << "tsgd: growing " << dir << ": " << kept << " runs of "
            << existing.at("seeds").at("count").dump() << " seed(s) x " << growth.points.size()
            << " grid point(s) kept, for " << grown->seeds.count << " seed(s) x "
            << grown->points.size() << " grid point(s)";
  if (!growth.continued.empty())
    std::cerr << " (" << growth.continued.size()
              << " point(s) continued to a longer alpha from their final weights)";
  std::cerr << "\n";
}

}  // namespace

void prepare_output_directory(const std::string& dir, const json& resolved, bool force,
                              ForceScope scope, const Experiment* grown) {
  remove_interrupted_writes(dir);
  finish_interrupted_growth(dir);
  const std::string config_path = dir + "/config.json";
  const bool ours = file_exists(config_path);  // a directory tsgd wrote before
  bool same = false;
  if (ours) {
    bool readable = true;
    json existing;
    try {
      existing = json::parse(read_file(config_path));
    } catch (const json::exception&) {
      readable = false;
    }
    // The work units' equality (numbers compared by value: 2 and 2.0 are one experiment).
    same = readable && experiment_fingerprint(existing) == experiment_fingerprint(resolved);
    if (!readable && !force)
      throw std::runtime_error(config_path + ": unreadable; rerun with --force to start over in " +
                               dir);
    if (!same && !force) {
      grow_or_refuse(dir, existing, grown, resolved);
      return;  // config.json is the grown configuration's now
    }
  }
  if (force) {
    // Only what tsgd wrote, by name: never plots/, shard directories, Slurm
    // scripts or anything else. A directory of another (or an unknown)
    // configuration loses all of it; the same configuration only what SCOPE names.
    const bool all = !same || scope == ForceScope::everything;
    remove_work_units(dir + "/work", all, all || scope == ForceScope::ode_units);
    if (ours && all) {
      for (const char* f : kResultFiles) fs::remove(dir + "/" + f);
      fs::remove(dir + "/shard.json");
    }
  }
  make_directories(dir + "/work");
  write_file_atomic(config_path, resolved.dump(2) + "\n");
}

void report_changed_results(const std::string& dir) {
  const std::string manifest_path = dir + "/manifest.json";
  if (!file_exists(manifest_path)) return;
  json manifest;
  try {
    manifest = json::parse(read_file(manifest_path));
  } catch (const json::exception&) {
    std::cerr << "tsgd: warning: " << manifest_path
              << " is not valid JSON; the result files are rewritten\n";
    return;
  }
  if (!manifest.contains("files") || !manifest["files"].is_object()) return;
  for (auto it = manifest["files"].begin(); it != manifest["files"].end(); ++it) {
    const std::string path = dir + "/" + it.key();
    if (std::find(std::begin(kDefinitionFiles), std::end(kDefinitionFiles), it.key()) !=
        std::end(kDefinitionFiles))
      continue;  // rewritten before this, by design
    if (!file_exists(path)) continue;
    if (!it->contains("fnv1a") || (*it)["fnv1a"] != fnv1a_file_hex(path))
      std::cerr << "tsgd: warning: " << path << " changed since tsgd wrote it (checksum in "
                << manifest_path << "); it is rewritten from the work units\n";
  }
}

}  // namespace tsgd
