// The experiment configuration (docs/config.md): a JSON file
// read strictly into structs with defaults. Any scalar under "model" or
// "training" may be a list; the experiment's grid points are the Cartesian
// product of those lists. Every error names the key path and the reason.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/enum_names.h"
#include "core/model.h"
#include "experiment/config_error.h"
#include "experiment/dataset.h"
#include "theory/ode_settings.h"

namespace tsgd {

enum class Spacing { log, lin, decades };
enum class Backend { automatic, cpu, cuda };

template <>
struct EnumNames<Spacing> {
  static constexpr EnumName<Spacing> table[] = {
      {Spacing::log, "log"}, {Spacing::lin, "lin"}, {Spacing::decades, "decades"}};
};
template <>
struct EnumNames<Backend> {
  static constexpr EnumName<Backend> table[] = {
      {Backend::automatic, "auto"}, {Backend::cpu, "cpu"}, {Backend::cuda, "cuda"}};
};

struct SeedSettings {
  int count = 1;
  std::uint64_t first = 0;
  // seeds.teacher: the teacher's seed for every run (PointParams::teacher_seed);
  // students and data still from each run's own seed.
  std::optional<std::uint64_t> teacher;
};

// A weight file of the experiment (model.teacher_file, training.init_file): its
// key, its path (absolute once load_weight_files resolved it), and as read its
// size and FNV-1a hash, which the resolved configuration (and so the runs'
// fingerprint) and manifest.json record.
struct WeightFileRecord {
  std::string key;
  std::string path;
  std::uint64_t bytes = 0;
  std::string fnv1a;
};

struct RecordSettings {
  int points = 100;
  Spacing spacing = Spacing::log;
  bool order_parameters = true;
  double alpha_min = 0.01;  // first non-zero record time of a log-spaced schedule
  // decades: records at alpha_min 10^(k / per_decade), k = 0, 1, ..., below alpha,
  // then alpha: the same record times whatever alpha, so that a longer
  // training.alpha continues an experiment's runs (grow.h). Replaces points.
  int per_decade = 10;
  // The eps_g below which a run has escaped the plateau (escapes.h); empty: per
  // point, from the ODE's plateau or the default. Analysis only: not part of the
  // runs' identity (experiment_fingerprint leaves it out).
  std::optional<double> escape_eg;
  // Which result files to write and how (analysis only, like escape_eg: not
  // part of the runs' identity). order_parameters.jsonl only with jsonl (results.h5
  // holds the same numbers); runs.csv unless runs_csv is false; results.h5's
  // trajectories in this precision.
  bool jsonl = false;
  bool runs_csv = true;
  Precision hdf5_precision = Precision::float64;
  // Each run's final weights in the work units and results.h5. Part of the
  // configuration's fingerprint (the units must hold them), resolved only when
  // true, so configurations without it keep theirs.
  bool final_weights = false;
  // The training error et of a finite training set (data.train_size) is measured on
  // its first min(P, train_error_samples) samples (each record costs that many
  // forward passes per run). Part of the results, so of the fingerprint when given.
  int train_error_samples = 10000;
};

constexpr int kMaxTrainErrorSamples = 100000000;

struct SimulateSettings {
  bool enabled = true;
  Backend backend = Backend::automatic;
  std::optional<Precision> precision;  // empty: float64 on the CPU, float32 on the GPU
  // The Gaussian transform of the inputs and label noise (math/gaussian.h);
  // empty ("auto"): fast on the GPU, exact on the CPU (engine_rng_transform),
  // resolved for the chosen engine before anything is written
  // (resolve_rng_transform): part of the runs' identity.
  std::optional<RngTransform> rng_transform;
  // A run is diverged when eps_g is not finite or exceeds this bound; empty:
  // 1e4 * max(1, eps_g at alpha = 0) of the run.
  std::optional<double> diverge_eg;
  // A batch's state is saved to a checkpoint at the first record time this many
  // minutes after the last (or the batch's start); 0: never. Changes no run
  // (not part of the fingerprint; resolved only when given).
  double checkpoint_minutes = 10;
};

// Where `tsgd fixed-point` starts Newton: the ODE's end state at training.alpha,
// or the symmetric noise-free fixed point of theory/first_order.h (students on the
// teachers; with both layers, each teacher unit copied by K/M students: the
// denoising ansatz), from which Newton finds the fixed point with noise nearby.
enum class FixedPointStart { ode_end, denoise };
template <>
struct EnumNames<FixedPointStart> {
  static constexpr EnumName<FixedPointStart> table[] = {{FixedPointStart::ode_end, "ode_end"},
                                                        {FixedPointStart::denoise, "denoise"}};
};

// data.inputs from IDX files (docs/config.md, dataset.h): what the configuration
// names and, once load_data_files has read the files, the dataset whose inputs
// every grid point shares (PointParams::inputs).
struct DataInputSettings {
  bool files = false;             // false: Gaussian inputs (the default)
  DataFilesSpec spec;             // paths as given; absolute once loaded
  bool n_given = false;           // model.N given: it must agree with the files
  bool train_size_given = false;  // data.train_size given; else the training file's count
  std::shared_ptr<const Dataset> dataset;
};

struct Experiment {
  std::string name;
  std::string description;
  std::vector<PointParams> points;  // the grid, point_id = index
  std::vector<std::string> swept;   // key paths given as lists, e.g. "model.K"
  SeedSettings seeds;
  RecordSettings record;
  SimulateSettings simulate;
  OdeSettings ode;
  FixedPointStart fixed_point_start = FixedPointStart::ode_end;  // fixed_point.start
  std::string output;                                            // output directory
  std::vector<WeightFileRecord> weight_files;                    // loaded: load_weight_files
  DataInputSettings data;                                        // loaded: load_data_files
  // The configuration with every default filled in, except keys added after results
  // existed, which appear only when given (zip, fixed_point) or away from their
  // default (model.teacher_init), so older configurations keep their fingerprint.
  nlohmann::json resolved;
};

// Reads and checks a configuration file and the data and weight files it names
// (load_data_files, load_weight_files, relative paths from the file's directory); throws
// ConfigError (key path and reason; the message starts with the file name) or
// std::runtime_error when the file cannot be read or is not JSON.
Experiment load_experiment(const std::string& path);
// The same from an already parsed document, without reading weight or data
// files: the points that start from one have none attached (initial_weights
// throws), and no point has real inputs, as for merging or growing results,
// which never start a run.
Experiment parse_experiment(const nlohmann::json& document);
// Reads the weight files of E (paths relative to CONFIG_DIR; empty: the working
// directory), checks their shapes against each grid point that uses them and
// attaches them; records in E.resolved their absolute paths and, under
// "weight_files", their sizes and hashes (config_weights.cpp).
void load_weight_files(Experiment& e, const std::string& config_dir);
// Reads the data files of E (data.inputs; paths relative to CONFIG_DIR) once and
// puts their inputs on every grid point, with N (checked against a given
// model.N) and the training set's size (data.train_size: at most the training
// file's count, by default all of it) from the files; records in E.resolved
// their absolute paths, N, train_size, test_size and, under "data_files", each
// file's path, size and hash (config_data.cpp). Before load_weight_files, whose
// shapes need N.
void load_data_files(Experiment& e, const std::string& config_dir);

// The precision of the engine: simulate.precision, or for "auto" float32 on a
// GPU and float64 on the CPU.
Precision engine_precision(const SimulateSettings& simulate, bool gpu);

// The transform of the engine: simulate.rng_transform, or for "auto" fast on a
// GPU and exact on the CPU.
RngTransform engine_rng_transform(const SimulateSettings& simulate, bool gpu);

// Settles simulate.rng_transform to TRANSFORM (the chosen engine's, for
// "auto") in E and in its resolved configuration, which names it only when
// it is "fast": "exact" is what every run used before the key existed, so
// those configurations keep their fingerprint. Resume, shards, merge and
// growing compare resolved configurations, so they never mix transforms.
void resolve_rng_transform(Experiment& e, RngTransform transform);

// Whether the result files list model.teacher_init: exactly when the resolved
// configuration does (the key was given and is not the default "gaussian"), so the
// files of configurations without it keep the form they had before it existed.
bool lists_teacher_init(const Experiment& e);

// Whether the experiment has finite training sets (data.train_size given, not null):
// then, and only then, the result files list train_size and the training error et.
bool lists_train_size(const Experiment& e);

const char* to_string(Spacing s);
const char* to_string(Backend b);

}  // namespace tsgd
