// The output directory of an experiment: which files in it are tsgd's, making
// it the directory of one configuration (refusing another's unless forced),
// and noticing result files changed by hand since tsgd wrote them.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "experiment/config.h"

namespace tsgd {

// The result files tsgd writes into an output directory, by name.
inline constexpr const char* kResultFiles[] = {"points.csv",
                                               "runs.csv",
                                               "results.h5",
                                               "curves.csv",
                                               "table.csv",
                                               "escapes.csv",
                                               "order_parameters.jsonl",
                                               "final_order_parameters.jsonl",
                                               "ode.csv",
                                               "ode_order_parameters.jsonl",
                                               "summary.json",
                                               "manifest.json",
                                               "fixed_points.csv",
                                               "fixed_points.jsonl"};
// The experiment's definition in an output directory (shard.json: in a shard's).
inline constexpr const char* kDefinitionFiles[] = {"config.json", "shard.json"};

// What --force discards in a directory of the same configuration (one of
// another configuration loses all of tsgd's work units and result files).
enum class ForceScope {
  everything,  // run, merge: start over
  ode_units,   // ode: recompute the ODE, keep the SGD runs
  nothing,     // fixed-point: it keeps no work units
};

// Makes DIR the output directory of the experiment whose resolved
// configuration is RESOLVED: refuses (std::runtime_error) a directory whose
// config.json holds another configuration (compared as the work units'
// experiment_fingerprint), unless FORCE or the configuration grows it: with
// GROWN (the experiment of RESOLVED; not for a shard), a configuration that
// only adds seeds or grid points keeps every run (grow.h), and the refusal of
// any other names the key that differs. With FORCE, removes tsgd's work
// units (by name, in DIR/work) and result files as SCOPE says, never other
// files (plots/, shard directories, Slurm scripts). Writes config.json.
void prepare_output_directory(const std::string& dir, const nlohmann::json& resolved, bool force,
                              ForceScope scope, const Experiment* grown = nullptr);

// For a command that simulates nothing (tsgd ode, tsgd fixed-point): settles
// an "auto" simulate.rng_transform of E to the transform of the runs DIR
// already holds (its config.json; exact where there is none), so that the
// directory of a `tsgd run` on a GPU is recognised as this experiment's.
void resolve_rng_transform_from_directory(Experiment& e, const std::string& dir);

// Result files that differ from the checksums of the manifest that wrote them
// were changed (edited, truncated) since: says so on stderr. They are never
// read back: the work units are the record, and the files are rewritten from them.
void report_changed_results(const std::string& dir);

// Removes the temporary files of writes that a kill interrupted in DIR
// (write_file_atomic's NAME.tmpPID for tsgd's own files): never complete, never read.
void remove_interrupted_writes(const std::string& dir);

}  // namespace tsgd
