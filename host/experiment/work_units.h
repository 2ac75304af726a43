// Work units: what a completed piece of an experiment leaves in DIR/work/.
// JSON lines: a header object, one record per line, and a closing line
// {"end": <records>, "fnv1a": <checksum of everything before it>}, written
// atomically. A unit that is truncated or edited fails its checksum and is
// reported by name; it is never silently reused. The header names the
// experiment the unit belongs to (experiment_fingerprint), so a unit left
// in a directory by another configuration is refused, not mixed into the
// results.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/model.h"
#include "experiment/config.h"
#include "experiment/records.h"

namespace tsgd {

// The experiment a unit belongs to: FNV-1a of the resolved configuration
// without "output" and record.escape_eg (they change no run), numbers by value (2 and 2.0 are
// equal); also the equality an output directory's config.json is checked with.
std::string experiment_fingerprint(const nlohmann::json& resolved);
// RESOLVED without the keys that change no run: "output" and record.escape_eg
// (the one rule of the fingerprint, growing and joining).
nlohmann::json without_run_neutral_keys(nlohmann::json resolved);

// Writes HEADER (plus {"experiment": EXPERIMENT}), the records and the
// checksum line.
void write_work_unit(const std::string& path, const std::string& experiment, nlohmann::json header,
                     const std::vector<nlohmann::json>& records);

// The records of a unit; throws std::runtime_error naming the file when it is
// truncated, fails its checksum, holds the wrong number of records, or
// belongs to another experiment than EXPERIMENT. HEADER, when given, gets the
// unit's header.
std::vector<nlohmann::json> read_work_unit(const std::string& path, const std::string& experiment,
                                           nlohmann::json* header = nullptr);
// The same, each record handed to EACH as it is parsed (memory: the file's text
// and one record); returns the number of records.
std::size_t read_work_unit(const std::string& path, const std::string& experiment,
                           nlohmann::json* header,
                           const std::function<void(nlohmann::json&&)>& each);

// The record of run T in an SGD unit (and a checkpoint): its identity, records
// (every state with ALL_STATES, else the last) and, when T has them, its final
// weights ("w": doubles_base64). And back: throws naming PATH on a run that E
// does not have (std::runtime_error) or a bad record (json's exceptions).
nlohmann::json trajectory_json(const RunTrajectory& t, bool all_states);
RunTrajectory trajectory_from_json(const nlohmann::json& j, const Experiment& e,
                                   const std::string& path);

// std::runtime_error "<path>: corrupt work unit (<why>); delete it ...".
std::runtime_error corrupt_work_unit(const std::string& path, const std::string& why);

// The file names of DIR/work, one rule: sgd-p<point>-s<first seed>-n<runs>.jsonl
// for a batch of SGD runs, ode-p<point>.jsonl for a grid point's ODE curves.
enum class UnitKind { sgd, ode };
std::string sgd_unit_name(const RunSpec& first, std::size_t count);
std::string ode_unit_name(int point);
bool is_unit_name(const std::string& name, UnitKind kind);
// A batch's checkpoint (experiment/checkpoint.h): checkpoint-p<point>-s<first seed>-n<runs>.ckpt.
std::string checkpoint_name(const RunSpec& first, std::size_t count);
bool is_checkpoint_name(const std::string& name);

// What computed a work unit's runs: the "by" object of its header (engine,
// device, precision, host, tsgd version and commit).
nlohmann::json unit_provenance(const std::string& backend, const std::string& device,
                               const std::string& precision);

// Runs per distinct provenance: the manifest's "computed_by", a list of the
// provenance objects with "runs" added, in a fixed order.
class ProvenanceCount {
 public:
  void add(const nlohmann::json& by, std::size_t runs);
  nlohmann::json list() const;

 private:
  std::map<std::string, std::size_t> runs_;  // by.dump() -> runs
};

// The SGD work units of experiment E in one directory: one unit per batch.
class SgdUnitStore {
 public:
  SgdUnitStore(std::string directory, const Experiment& e);
  // BY: unit_provenance of the engine that computed the runs of BATCH.
  void save(const std::vector<RunSpec>& batch, const std::vector<RunTrajectory>& runs,
            bool all_states, const nlohmann::json& by) const;
  // Every complete unit, one at a time in the order of their names (memory:
  // one unit), its runs handed to ADD with the unit's path; throws
  // std::runtime_error naming a file that is corrupt, of another experiment,
  // or holds a run that E does not have. Counts the units' runs by provenance
  // into COMPUTED_BY when given.
  void for_each_run(const std::function<void(RunTrajectory&&, const std::string&)>& add,
                    ProvenanceCount* computed_by = nullptr) const;

 private:
  std::string directory_;
  const Experiment* experiment_;
  std::string fingerprint_;
};

// The ODE work units of experiment E in one directory: one unit per grid point.
class OdeUnitStore {
 public:
  OdeUnitStore(std::string directory, const Experiment& e);
  bool has(int point) const;
  void save(int point, const std::vector<OdeCurve>& curves) const;
  // Throws std::runtime_error naming the file when it is corrupt or of another experiment.
  std::vector<OdeCurve> load(int point) const;
  // The curves of every point 0 .. POINTS-1 that has a unit.
  std::vector<OdeCurve> load_all(int points) const;

 private:
  std::string path(int point) const;
  std::string directory_;
  std::string fingerprint_;
};

}  // namespace tsgd
