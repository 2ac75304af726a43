// Result files (DESIGN.md contract 5) and the work units they are built from.
//
// While an experiment runs, each completed batch of runs is saved as one
// work unit (work/sgd-*.jsonl, written atomically, ending in a checksum line).
// Resuming loads the units and runs only what is missing. The result files
// are then written from all trajectories, sorted by (point, seed), so that
// they do not depend on how the work was split or interrupted.
#pragma once

#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "experiment/config.h"
#include "experiment/records.h"
#include "theory/asymptotic.h"

namespace tsgd {

inline constexpr const char* kResultFiles[] = {
    "points.csv", "runs.csv", "curves.csv", "order_parameters.jsonl", "final_order_parameters.jsonl",
    "ode.csv", "ode_order_parameters.jsonl", "summary.json", "manifest.json", "fixed_points.csv",
    "fixed_points.jsonl"};
// The experiment's definition in an output directory (shard.json: in a shard's).
inline constexpr const char* kDefinitionFiles[] = {"config.json", "shard.json"};

// An ODE trajectory of a grid point, from one seed's initial weights or (seed
// empty) from the expected or explicit initial state.
struct OdeCurve {
  int point_id = 0;
  std::optional<std::uint64_t> seed;
  std::vector<double> alpha, eg;
  std::vector<OrderParameters> states;
  bool diverged = false;
  double diverged_alpha = 0;
  std::string diverged_reason;
};

struct ResultSet {
  const Experiment* experiment = nullptr;
  std::vector<RunTrajectory> runs;  // sorted by (point_id, seed)
  std::vector<OdeCurve> ode;        // sorted by (point_id, seed)
  // Per grid point (empty or one entry per point): the general small-eta rule
  // of MATH.md 6 at the noise-free fixed point reached from the ODE's end state,
  // holding or skipped with the reason.
  std::vector<TheoryReport> small_eta_rule;
};

// The small-eta rule for each grid point: Newton on the noise-free ODE from the end
// state of the point's first ODE curve, then small_eta_theory (theory.h) there.
std::vector<TheoryReport> small_eta_predictions(const Experiment& e, const std::vector<OdeCurve>& ode);

// What computed a work unit's runs: the "by" object of its header.
nlohmann::json unit_provenance(const std::string& backend, const std::string& device, const std::string& precision);

// Runs per distinct provenance: the manifest's "computed_by", a list of the
// provenance objects with "runs" added, in a fixed order.
class ProvenanceCount {
 public:
  void add(const nlohmann::json& by, std::size_t runs);
  nlohmann::json list() const;

 private:
  std::map<std::string, std::size_t> runs_;  // by.dump() -> runs
};

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

// Saves and loads the SGD work units of experiment E in one directory.
class UnitStore {
 public:
  UnitStore(std::string directory, const Experiment& e);
  // BY: unit_provenance of the engine that computed the runs.
  void save(const std::string& name, const std::vector<RunTrajectory>& runs, bool all_states,
            const nlohmann::json& by) const;
  // Every complete unit; throws std::runtime_error naming a file that is
  // corrupt, of another experiment, or holds a run that E does not have.
  // Counts the units' runs by provenance into COMPUTED_BY when given.
  std::vector<RunTrajectory> load_all(ProvenanceCount* computed_by = nullptr) const;

 private:
  std::string directory_;
  const Experiment* experiment_;
  std::string fingerprint_;
};

// Writes points.csv, runs.csv, curves.csv, order_parameters.jsonl (when
// record.order_parameters), final_order_parameters.jsonl, ode.csv (when
// there are ODE curves) and summary.json.
void write_results(const std::string& directory, const ResultSet& results);
void write_manifest(const std::string& directory, const Manifest& manifest);
void print_summary(std::ostream& out, const ResultSet& results, const std::string& directory);

// The record times (alpha) of a grid point.
std::vector<double> record_alphas(const Experiment& e, const PointParams& p);

// JSON form of order parameters (matrices as lists of rows) and back; the
// reader throws std::runtime_error naming `where` on a bad shape.
nlohmann::json state_json(const OrderParameters& op);
OrderParameters state_from_json(const nlohmann::json& j, const std::string& where);

// JSON form of one grid point's parameters (also the columns of points.csv).
nlohmann::json point_json(const PointParams& p);

}  // namespace tsgd
