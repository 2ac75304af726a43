// The experiment configuration: the grid of "model" and "training", then one
// parse function per section. See config.h; the strict reading of values is
// config_reader.h.
#include "experiment/config.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <set>
#include <sstream>

#include "experiment/config_grid.h"
#include "experiment/config_reader.h"
#include "experiment/escapes.h"
#include "experiment/file_io.h"
#include "theory/ode.h"

namespace tsgd {

using nlohmann::json;
using namespace config;

namespace {

OdeExplicitState parse_explicit_state(const json& object, const std::string& path) {
  check_keys(object, path, {"Q", "R", "T", "v", "teacher_v"});
  auto vector_of = [](const json& a, const std::string& p) {
    if (!a.is_array()) fail(p, "expected a list of numbers");
    std::vector<double> out;
    for (std::size_t i = 0; i < a.size(); ++i)
      out.push_back(get_number(a[i], p + "[" + std::to_string(i) + "]"));
    return out;
  };
  auto matrix_of = [&](const json& a, const std::string& p) {
    if (!a.is_array()) fail(p, "expected a list of rows");
    std::vector<std::vector<double>> out;
    for (std::size_t i = 0; i < a.size(); ++i)
      out.push_back(vector_of(a[i], p + "[" + std::to_string(i) + "]"));
    return out;
  };
  OdeExplicitState s;
  for (const char* key : {"Q", "R", "T", "v"})
    if (!object.contains(key))
      fail(path + "." + key, "missing (an explicit initial state needs Q, R, T and v)");
  s.Q = matrix_of(object["Q"], path + ".Q");
  s.R = matrix_of(object["R"], path + ".R");
  s.T = matrix_of(object["T"], path + ".T");
  s.v = vector_of(object["v"], path + ".v");
  if (object.contains("teacher_v"))
    s.teacher_v = vector_of(object["teacher_v"], path + ".teacher_v");
  return s;
}

void parse_name(const json& doc, Experiment& e, json& resolved) {
  if (!doc.contains("name")) fail("name", "missing (every experiment needs a name)");
  e.name = get_string(doc["name"], "name");
  if (e.name.empty()) fail("name", "must not be empty");
  for (char c : e.name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.'))
      fail("name", "may contain only letters, digits, '_', '-' and '.', got \"" + e.name + "\"");
  resolved["name"] = e.name;
  if (doc.contains("description")) e.description = get_string(doc["description"], "description");
  resolved["description"] = e.description;
}

SeedSettings parse_seeds(const json& doc, std::size_t grid, json& resolved) {
  Section s(doc, "seeds", {"count", "first", "teacher"}, resolved);
  SeedSettings seeds;
  seeds.count = s.integer("count", seeds.count, 1, 100000000);
  if (s.has("first")) {
    if (!s.given("first").is_number_unsigned())
      fail("seeds.first", "expected an integer >= 0, got " + describe(s.given("first")));
    seeds.first = s.given("first").get<std::uint64_t>();
  }
  if (seeds.first > std::numeric_limits<std::uint64_t>::max() - seeds.count)
    fail("seeds.first", "first + count overflows 64 bits");
  s.resolve("first", seeds.first);
  if (s.has("teacher")) {  // resolved only when given, as configurations before it
    if (!s.given("teacher").is_number_unsigned())
      fail("seeds.teacher", "expected an integer >= 0, got " + describe(s.given("teacher")));
    seeds.teacher = s.given("teacher").get<std::uint64_t>();
    s.resolve("teacher", *seeds.teacher);
  }
  if (static_cast<double>(grid) * seeds.count >= 1e9)
    fail("seeds.count",
         "the experiment has " + format_double(static_cast<double>(grid) * seeds.count) +
             " runs (grid points x seeds); split it into experiments of fewer than 1e9 runs");
  return seeds;
}

RecordSettings parse_record(const json& doc, const std::vector<PointParams>& points,
                            json& resolved) {
  Section s(doc, "record",
            {"points", "spacing", "per_decade", "order_parameters", "alpha_min", "escape_eg",
             "jsonl", "runs_csv", "hdf5_precision", "final_weights", "train_error_samples"},
            resolved);
  RecordSettings r;
  r.spacing = s.choice("spacing", r.spacing);
  if (r.spacing == Spacing::decades) {
    if (s.has("points"))
      fail("record.points", "not used with spacing \"decades\": give record.per_decade");
    r.per_decade = s.integer("per_decade", r.per_decade, 1, 1000);
  } else {
    if (s.has("per_decade")) fail("record.per_decade", "only with spacing \"decades\"");
    r.points = s.integer("points", r.points, 1, 100000);
  }
  r.order_parameters = s.boolean("order_parameters", r.order_parameters);
  r.alpha_min = s.positive_number("alpha_min", r.alpha_min);
  // Resolved only when given: configurations without it keep their resolved form.
  if (s.has("escape_eg")) r.escape_eg = s.positive_number("escape_eg", kDefaultEscapeEg);
  if (s.has("jsonl")) r.jsonl = s.boolean("jsonl", r.jsonl);
  if (s.has("runs_csv")) r.runs_csv = s.boolean("runs_csv", r.runs_csv);
  if (s.has("hdf5_precision")) r.hdf5_precision = s.choice("hdf5_precision", r.hdf5_precision);
  if (s.has("final_weights"))
    r.final_weights = config::get_bool(s.given("final_weights"), s.path("final_weights"));
  if (r.final_weights) s.resolve("final_weights", true);
  if (s.has("train_error_samples"))
    r.train_error_samples =
        s.integer("train_error_samples", r.train_error_samples, 1, kMaxTrainErrorSamples);
  for (const auto& q : points)
    if (r.spacing != Spacing::lin && r.alpha_min >= q.alpha)
      fail("record.alpha_min",
           "must be smaller than training.alpha (" + format_double(q.alpha) + ")");
  return r;
}

SimulateSettings parse_simulate(const json& doc, json& resolved) {
  Section s(
      doc, "simulate",
      {"enabled", "backend", "precision", "rng_transform", "diverge_eg", "checkpoint_minutes"},
      resolved);
  SimulateSettings sim;
  sim.enabled = s.boolean("enabled", sim.enabled);
  sim.backend = s.choice("backend", sim.backend);
  // "auto" (the default) leaves the choice to the engine (engine_precision).
  if (s.has("precision"))
    sim.precision =
        get_enum_or_automatic<Precision>(s.given("precision"), s.path("precision"), "auto");
  s.resolve("precision", sim.precision ? enum_name(*sim.precision) : "auto");
  // Resolved only as "fast" (resolve_rng_transform); "auto" when the engine is chosen.
  if (s.has("rng_transform"))
    sim.rng_transform = get_enum_or_automatic<RngTransform>(s.given("rng_transform"),
                                                            s.path("rng_transform"), "auto");
  if (sim.rng_transform == RngTransform::fast) s.resolve("rng_transform", "fast");
  if (s.has("diverge_eg") && !s.given("diverge_eg").is_null())
    sim.diverge_eg =
        positive(get_number(s.given("diverge_eg"), "simulate.diverge_eg"), "simulate.diverge_eg");
  s.resolve("diverge_eg", sim.diverge_eg ? json(*sim.diverge_eg) : json(nullptr));
  if (s.has("checkpoint_minutes")) {
    sim.checkpoint_minutes =
        non_negative(get_number(s.given("checkpoint_minutes"), s.path("checkpoint_minutes")),
                     s.path("checkpoint_minutes"));
    s.resolve("checkpoint_minutes", sim.checkpoint_minutes);
  }
  return sim;
}

// FINITE_DATA: some grid point trains on a finite training set (data.train_size,
// or real inputs: data.inputs), where the ODE has no theory: ode.enabled defaults
// to false and true is refused.
OdeSettings parse_ode(const json& doc, bool finite_data, json& resolved) {
  Section s(doc, "ode", {"enabled", "method", "rtol", "atol", "dt", "init", "diverge_eg"},
            resolved);
  OdeSettings ode;
  if (finite_data && s.has("enabled") && get_bool(s.given("enabled"), "ode.enabled"))
    fail("ode.enabled",
         "must be false with data.train_size or data.inputs files: the ODE describes online "
         "learning (a fresh Gaussian sample every step), not multi-pass SGD over a finite "
         "training set");
  ode.enabled = s.boolean("enabled", finite_data ? false : ode.enabled);
  ode.method = s.choice("method", ode.method);
  ode.rtol = s.positive_number("rtol", ode.rtol);
  ode.atol = s.positive_number("atol", ode.atol);
  ode.dt = s.positive_number("dt", ode.dt);
  ode.diverge_eg = s.positive_number("diverge_eg", ode.diverge_eg);
  if (s.has("init") && s.given("init").is_object()) {
    ode.init = OdeInit::explicit_state;
    ode.state = parse_explicit_state(s.given("init"), "ode.init");
    s.resolve("init", s.given("init"));
  } else {
    ode.init = s.choice("init", ode.init);
  }
  if (ode.rtol >= 1) fail("ode.rtol", "must be < 1");
  return ode;
}

// "fixed_point": {"start": ...}. Resolved only when given, so that configurations
// written before the section existed keep their resolved form (and their runs).
FixedPointStart parse_fixed_point(const json& doc, json& resolved) {
  if (!doc.contains("fixed_point")) return FixedPointStart::ode_end;
  json section = json::object();
  Section s(doc, "fixed_point", {"start"}, section);
  const FixedPointStart start = s.choice("start", FixedPointStart::ode_end);
  resolved["fixed_point"] = section["fixed_point"];
  return start;
}

std::string parse_output(const json& doc, const std::string& name, json& resolved) {
  std::string output = "results/" + name;
  if (doc.contains("output")) {
    output = get_string(doc["output"], "output");
    if (output.empty()) fail("output", "must not be empty");
  }
  resolved["output"] = output;
  return output;
}

}  // namespace

// Checks that the ODE can integrate every grid point of the experiment
// (activations, initial state); throws ConfigError naming the key.
static void check_ode_supported(const Experiment& e) {
  if (!e.ode.enabled) return;
  for (std::size_t i = 0; i < e.points.size(); ++i) {
    const PointParams& p = e.points[i];
    const std::string why = ode_unsupported_reason(p);
    if (!why.empty())
      throw ConfigError("ode.enabled", "ode.enabled: the ODE cannot integrate grid point " +
                                           std::to_string(i) + ": " + why +
                                           " (set ode.enabled to false to run SGD alone)");
    try {
      if (e.ode.init == OdeInit::expected) expected_initial_state(p);
      if (e.ode.init == OdeInit::explicit_state) explicit_initial_state(e.ode.state, p);
    } catch (const std::invalid_argument& err) {
      std::string message = err.what();
      std::string key = "ode.init";
      if (message.rfind("ode.init", 0) == 0) key = message.substr(0, message.find_first_of(": "));
      if (message.rfind(key, 0) != 0) message = key + ": " + message;
      throw ConfigError(
          key, message + (e.points.size() > 1 ? " (grid point " + std::to_string(i) + ")" : ""));
    }
  }
}

Precision engine_precision(const SimulateSettings& s, bool gpu) {
  return s.precision ? *s.precision : (gpu ? Precision::float32 : Precision::float64);
}

RngTransform engine_rng_transform(const SimulateSettings& s, bool gpu) {
  return s.rng_transform ? *s.rng_transform : (gpu ? RngTransform::fast : RngTransform::exact);
}

void resolve_rng_transform(Experiment& e, RngTransform transform) {
  e.simulate.rng_transform = transform;
  json& simulate = e.resolved["simulate"];
  if (transform == RngTransform::fast)
    simulate["rng_transform"] = "fast";
  else
    simulate.erase("rng_transform");
}

bool lists_teacher_init(const Experiment& e) {
  return e.resolved.contains("model") && e.resolved["model"].contains("teacher_init");
}

bool lists_train_size(const Experiment& e) {
  return e.resolved.contains("data") && e.resolved["data"].contains("train_size");
}

const char* to_string(Spacing s) { return enum_name(s); }
const char* to_string(Backend b) { return enum_name(b); }

Experiment parse_experiment(const json& doc) {
  check_keys(doc, "",
             {"name", "description", "model", "training", "data", "zip", "seeds", "record",
              "simulate", "ode", "fixed_point", "output", "weight_files", "data_files"});
  Experiment e;
  json resolved = json::object();
  parse_name(doc, e, resolved);
  parse_grid(doc, e, resolved);
  e.seeds = parse_seeds(doc, e.points.size(), resolved);
  parse_weight_keys(doc, e, resolved);
  parse_data_keys(doc, e, resolved);
  e.record = parse_record(doc, e.points, resolved);
  e.simulate = parse_simulate(doc, resolved);
  e.ode =
      parse_ode(doc,
                e.data.files || std::any_of(e.points.begin(), e.points.end(),
                                            [](const PointParams& p) { return p.train_size > 0; }),
                resolved);
  e.fixed_point_start = parse_fixed_point(doc, resolved);
  e.output = parse_output(doc, e.name, resolved);
  if (!e.simulate.enabled && !e.ode.enabled)
    fail("simulate.enabled", "nothing to do: both simulate and ode are disabled");
  e.resolved = resolved;
  check_ode_supported(e);
  return e;
}

Experiment load_experiment(const std::string& path) {
  std::ifstream in(path);
  if (std::filesystem::is_directory(path))
    throw std::runtime_error(path + ": is a directory, not a configuration file");
  if (!in) throw std::runtime_error(path + ": cannot open the configuration file");
  json doc;
  // nlohmann keeps the last of two equal keys without a word; in a
  // configuration that is a mistake (which "lr" was meant?), so it is refused.
  struct Frame {
    std::set<std::string> keys;
    std::string current;
  };
  std::vector<Frame> objects;
  std::string duplicate;
  const json::parser_callback_t find_duplicates = [&](int, json::parse_event_t event,
                                                      json& parsed) {
    if (event == json::parse_event_t::object_start) {
      objects.emplace_back();
    } else if (event == json::parse_event_t::object_end) {
      if (!objects.empty()) objects.pop_back();
    } else if (event == json::parse_event_t::key && !objects.empty()) {
      objects.back().current = parsed.get<std::string>();
      if (!objects.back().keys.insert(objects.back().current).second && duplicate.empty())
        for (const Frame& f : objects) duplicate += (duplicate.empty() ? "" : ".") + f.current;
    }
    return true;
  };
  try {
    doc = json::parse(in, find_duplicates, true, /*ignore_comments=*/true);
  } catch (const json::exception& err) {  // syntax, and numbers beyond double (1e400)
    throw std::runtime_error(path + ": not valid JSON: " + err.what());
  }
  if (!duplicate.empty())
    throw ConfigError(duplicate,
                      path + ": " + duplicate + ": given twice (JSON keeps only the last)");
  try {
    Experiment e = parse_experiment(doc);
    const std::string dir = std::filesystem::path(path).parent_path().string();
    load_data_files(e, dir);  // first: the weight files' shapes need N from the files
    load_weight_files(e, dir);
    return e;
  } catch (const ConfigError& err) {
    throw ConfigError(err.key_path(), path + ": " + err.what());
  }
}

}  // namespace tsgd
