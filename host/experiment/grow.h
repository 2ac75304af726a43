// Growing an experiment (issue 15 point 1). A run's identity is (grid point,
// seed) and never its batch (docs/architecture.md contract 1), so a configuration that only
// adds seeds or grid points (or values to a swept list) can reuse every run an
// output directory holds: its work units are rewritten for the grown
// configuration (new point numbers, its fingerprint) and only the new runs
// are computed. The final files equal those of a fresh run of the grown
// configuration (manifest.json aside). Anything else, shrinking included, is
// refused naming the first key that differs.
//
// The rewrite is staged in DIR/work.grow and switched in by renames, with
// DIR/work.grow/target naming the configuration it is for, so a kill at any
// point leaves either the old directory or the grown one:
//   1. DIR/work.grow: every unit rewritten, then `target` (the new fingerprint);
//   2. DIR/config.json: the grown configuration (atomic);
//   3. DIR/work -> DIR/work.old, DIR/work.grow -> DIR/work, DIR/work.old removed.
// finish_interrupted_growth completes step 3 when config.json is the target,
// and otherwise discards the staged units.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "experiment/config.h"

namespace tsgd {

struct Growth {
  std::map<int, int> points;  // grid point of the existing results -> grid point of the grown
  bool seeds_added = false;
  // Existing grid points whose runs go on to the grown point's longer
  // training.alpha (only with record.final_weights and record.spacing "decades",
  // whose record times do not depend on alpha): their work units become
  // checkpoints (checkpoint.h) at the old end, from which the SGD stage
  // continues each run bit for bit; their ODE is computed again.
  std::set<int> continued;
};

// How GROWN grows the experiment whose resolved configuration is EXISTING
// (its seeds all among GROWN's, its grid points all in GROWN's grid, or with
// CONTINUE_ALPHA the same but for a longer training.alpha, see Growth::continued);
// throws std::runtime_error "KEY: why" naming the first key that does not allow
// it (a changed key, a value gone from a list, fewer seeds).
Growth growth_of(const nlohmann::json& existing, const Experiment& grown,
                 bool continue_alpha = false);

// The work unit NAME (SGD or ODE) of directory WORK, of the experiment with
// fingerprint OLD_FINGERPRINT, written into TARGET for GROWN (fingerprint
// NEW_FINGERPRINT), its points renumbered by GROWTH; the header (provenance) is
// kept. A unit of a point that Growth::continued lists becomes its batch's
// checkpoint instead (BEFORE, the existing experiment, gives its record times).
// Returns its records; throws when TARGET already holds a unit of that name.
std::size_t rewrite_unit(const std::string& work, const std::string& target,
                         const std::string& name, const std::string& old_fingerprint,
                         const std::string& new_fingerprint, const Experiment& grown,
                         const Growth& growth, const Experiment* before = nullptr);

// Rewrites the work units of DIR (of configuration EXISTING) for GROWN and
// writes GROWN_RESOLVED as DIR/config.json, as described above. ODE units are
// kept unless their curves are one per seed (ode.init "measured") and seeds were
// added: those points' ODE is computed again. fixed_points.csv/.jsonl (of the
// old grid's point numbers) are removed. Returns the runs kept.
std::size_t grow_output_directory(const std::string& dir, const nlohmann::json& existing,
                                  const Experiment& grown, const nlohmann::json& grown_resolved,
                                  const Growth& growth);

// Completes or discards a growth that a kill interrupted (see above).
void finish_interrupted_growth(const std::string& dir);

}  // namespace tsgd
