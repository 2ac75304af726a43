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

#include "experiment/config_reader.h"
#include "experiment/file_io.h"
#include "theory/ode.h"

namespace tsgd {

using nlohmann::json;
using namespace config;

namespace {

// A sweepable key of "model" or "training": its default, and how one scalar
// value is checked and stored in a PointParams.
struct SweepKey {
  const char* section;
  const char* name;
  json default_value;
  std::function<void(const json&, const std::string&, PointParams&)> apply;
};

const std::vector<SweepKey>& sweep_keys() {
  static const std::vector<SweepKey> keys = {
      {"model", "teacher_activation", "erf",
       [](const json& v, const std::string& p, PointParams& q) {
         q.teacher_activation = get_enum<Activation>(v, p);
       }},
      {"model", "student_activation", "erf",
       [](const json& v, const std::string& p, PointParams& q) {
         if (v.is_string() && v.get<std::string>() == "sign")
           fail(p,
                "\"sign\" is allowed for the teacher only: its derivative vanishes almost "
                "everywhere, so SGD never moves a sign student");
         q.student_activation = get_enum<Activation>(v, p, {Activation::sign});
       }},
      {"model", "N", 500,
       [](const json& v, const std::string& p, PointParams& q) {
         q.N = int_in(get_integer(v, p), 1, 10000000, p);
       }},
      {"model", "M", 2,
       [](const json& v, const std::string& p, PointParams& q) {
         q.M = int_in(get_integer(v, p), 1, 4096, p);
       }},
      {"model", "K", 2,
       [](const json& v, const std::string& p, PointParams& q) {
         q.K = int_in(get_integer(v, p), 1, 4096, p);
       }},
      {"model", "train", "first_layer",
       [](const json& v, const std::string& p, PointParams& q) {
         q.train = get_enum<TrainMode>(v, p);
       }},
      {"model", "teacher_v", 1.0,
       [](const json& v, const std::string& p, PointParams& q) { q.teacher_v = get_number(v, p); }},
      {"model", "teacher_v_init", "uniform",
       [](const json& v, const std::string& p, PointParams& q) {
         q.teacher_v_init = get_enum<SecondLayerInit>(v, p);
       }},
      {"model", "student_v", 1.0,
       [](const json& v, const std::string& p, PointParams& q) { q.student_v = get_number(v, p); }},
      {"model", "student_v_init", "uniform",
       [](const json& v, const std::string& p, PointParams& q) {
         q.student_v_init = get_enum<SecondLayerInit>(v, p, {SecondLayerInit::flip_half});
       }},
      {"model", "output_scaling", "none",
       [](const json& v, const std::string& p, PointParams& q) {
         q.output_scaling = get_enum<OutputScaling>(v, p);
       }},
      {"training", "lr", 0.1,
       [](const json& v, const std::string& p, PointParams& q) {
         q.lr = positive(get_number(v, p), p);
       }},
      {"training", "lr2", nullptr,
       [](const json& v, const std::string& p, PointParams& q) {
         q.lr2 = v.is_null() ? -1.0 : positive(get_number(v, p), p);  // -1: same as lr
       }},
      {"training", "sigma", 0.0,
       [](const json& v, const std::string& p, PointParams& q) {
         q.sigma = non_negative(get_number(v, p), p);
       }},
      {"training", "weight_decay", 0.0,
       [](const json& v, const std::string& p, PointParams& q) {
         q.weight_decay = non_negative(get_number(v, p), p);
       }},
      {"training", "weight_decay2", nullptr,
       [](const json& v, const std::string& p, PointParams& q) {
         q.weight_decay2 = v.is_null() ? -1.0 : non_negative(get_number(v, p), p);  // -1: same
       }},
      {"training", "batch_size", 1,
       [](const json& v, const std::string& p, PointParams& q) {
         q.batch_size = int_in(get_integer(v, p), 1, 1 << 20, p);
       }},
      {"training", "alpha", 10.0,
       [](const json& v, const std::string& p, PointParams& q) {
         q.alpha = positive(get_number(v, p), p);
       }},
      {"training", "init", "large",
       [](const json& v, const std::string& p, PointParams& q) {
         q.init = get_enum<InitKind>(v, p);
       }},
      {"training", "init_scale", 1e-3,
       [](const json& v, const std::string& p, PointParams& q) {
         q.init_scale = positive(get_number(v, p), p);
       }},
  };
  return keys;
}

// Cross-key checks of one grid point; `where` describes the point.
void check_point(PointParams& q, const std::string& where) {
  if (q.lr2 < 0) q.lr2 = q.lr;
  if (q.weight_decay2 < 0) q.weight_decay2 = q.weight_decay;
  if ((q.init == InitKind::informed || q.init == InitKind::denoise) && q.K < q.M)
    fail("training.init", std::string("\"") + to_string(q.init) +
                              "\" starts each teacher unit in a "
                              "student, so it needs K >= M" +
                              where);
  if (q.init == InitKind::denoise && q.train != TrainMode::both_layers)
    fail("training.init",
         "\"denoise\" splits the teacher's second layer over copies, so it needs "
         "model.train = \"both_layers\"" +
             where);
  if (q.alpha * q.N < 1.0)
    fail("training.alpha",
         "alpha * N = " + format_double(q.alpha * q.N) + " is less than one SGD step" + where);
  if (q.alpha * q.N > 1e13)
    fail("training.alpha", "alpha * N = " + format_double(q.alpha * q.N) +
                               " SGD steps is beyond any machine" + where);
}

std::string point_description(const PointParams& q) {
  std::ostringstream s;
  s << " (grid point N=" << q.N << ", M=" << q.M << ", K=" << q.K
    << ", train=" << to_string(q.train) << ", init=" << to_string(q.init) << ")";
  return s.str();
}

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

// One sweep key's values: a scalar, or a list of them (a swept key, added to SWEPT).
std::vector<json> key_values(const json& doc, const SweepKey& key, std::vector<std::string>& swept,
                             json& resolved) {
  const std::string path = std::string(key.section) + "." + key.name;
  json given = key.default_value;
  if (doc.contains(key.section) && doc[key.section].contains(key.name))
    given = doc[key.section][key.name];
  std::vector<json> list;
  if (given.is_array()) {
    if (given.empty()) fail(path, "an empty list gives an empty grid");
    for (std::size_t i = 0; i < given.size(); ++i) {
      if (given[i].is_array() || given[i].is_object())
        fail(path + "[" + std::to_string(i) + "]", "a swept list holds scalars only");
      list.push_back(given[i]);
    }
    swept.push_back(path);
  } else {
    if (given.is_object()) fail(path, "expected a scalar or a list of scalars, got an object");
    list.push_back(given);
  }
  for (std::size_t i = 0; i < list.size(); ++i) {
    PointParams scratch;
    key.apply(list[i], given.is_array() ? path + "[" + std::to_string(i) + "]" : path, scratch);
  }
  resolved[key.section][key.name] = given;
  return list;
}

// The top-level "zip": groups of swept keys whose lists have one length and are
// advanced together (e.g. [["model.K", "training.lr"]] for lr = 1/K). Returns, for
// each sweep key, the key whose index it follows: itself unless it is a group's
// second or later key, which follow the group's first key in sweep-key order.
std::vector<std::size_t> zip_leaders(const json& doc, const std::vector<SweepKey>& keys,
                                     const std::vector<std::vector<json>>& values, json& resolved) {
  std::vector<std::size_t> leader(keys.size());
  for (std::size_t k = 0; k < keys.size(); ++k) leader[k] = k;
  if (!doc.contains("zip")) return leader;
  const json& zip = doc["zip"];
  if (!zip.is_array())
    fail("zip", "expected a list of key lists, e.g. [[\"model.K\", \"training.lr\"]]");
  std::vector<std::string> group_of(keys.size());
  for (std::size_t g = 0; g < zip.size(); ++g) {
    const std::string where = "zip[" + std::to_string(g) + "]";
    if (!zip[g].is_array() || zip[g].size() < 2)
      fail(where, "expected a list of at least two swept keys, got " + describe(zip[g]));
    std::vector<std::size_t> members;
    for (std::size_t j = 0; j < zip[g].size(); ++j) {
      const std::string at = where + "[" + std::to_string(j) + "]";
      const std::string name = get_string(zip[g][j], at);
      std::size_t k = 0;
      while (k < keys.size() && std::string(keys[k].section) + "." + keys[k].name != name) ++k;
      if (k == keys.size())
        fail(at, "unknown key \"" + name + "\" (a key under model or training, e.g. model.K)");
      if (!doc.contains(keys[k].section) || !doc[keys[k].section].contains(keys[k].name) ||
          !doc[keys[k].section][keys[k].name].is_array())
        fail(at, name + " is not a list: only swept keys can be paired");
      if (!group_of[k].empty()) fail(at, name + " is already paired in " + group_of[k]);
      group_of[k] = where;
      members.push_back(k);
    }
    std::sort(members.begin(), members.end());
    for (std::size_t k : members) {
      if (values[k].size() != values[members[0]].size())
        fail(where, "the paired lists differ in length: " + std::string(keys[members[0]].section) +
                        "." + keys[members[0]].name + " has " +
                        std::to_string(values[members[0]].size()) + ", " + keys[k].section + "." +
                        keys[k].name + " has " + std::to_string(values[k].size()));
      leader[k] = members[0];
    }
  }
  if (!zip.empty()) resolved["zip"] = zip;
  return leader;
}

// A swept key that some grid point does not use makes points that differ only in it
// identical: the same experiment run twice under two point ids. Refused, naming the key.
void check_swept_keys_are_used(const Experiment& e) {
  struct Unused {
    const char* key;
    bool (*ignores)(const PointParams&);
    const char* why;
  };
  static const Unused unused[] = {
      {"training.init_scale",
       [](const PointParams& q) { return q.init == InitKind::large || q.init == InitKind::mixed; },
       "init \"large\" and \"mixed\" do not use it (only small, informed and denoise do)"},
      {"training.lr2", [](const PointParams& q) { return q.train == TrainMode::first_layer; },
       "it is the second layer's rate, and model.train \"first_layer\" does not train that layer"},
      {"training.weight_decay2",
       [](const PointParams& q) { return q.train == TrainMode::first_layer; },
       "it is the second layer's decay, and model.train \"first_layer\" does not train that layer"},
  };
  for (const Unused& u : unused) {
    if (std::find(e.swept.begin(), e.swept.end(), u.key) == e.swept.end()) continue;
    for (std::size_t i = 0; i < e.points.size(); ++i)
      if (u.ignores(e.points[i]))
        fail(u.key, std::string("swept, but grid point ") + std::to_string(i) +
                        " does not use it: " + u.why +
                        ", so the points that differ only in it would be identical runs");
  }
}

// The grid points: the Cartesian product of the sweep keys' values (a zipped group
// counting as one key, at the place of its first key), the last key varying fastest.
void parse_grid(const json& doc, Experiment& e, json& resolved) {
  const auto& keys = sweep_keys();
  for (const char* section : {"model", "training"}) {
    std::set<std::string> allowed;
    for (const auto& k : keys)
      if (std::string(k.section) == section) allowed.insert(k.name);
    if (doc.contains(section)) check_keys(doc[section], section, allowed);
    resolved[section] = json::object();
  }
  std::vector<std::vector<json>> values;
  for (const auto& key : keys) values.push_back(key_values(doc, key, e.swept, resolved));
  const std::vector<std::size_t> leader = zip_leaders(doc, keys, values, resolved);
  std::size_t grid = 1;
  for (std::size_t k = 0; k < keys.size(); ++k) {
    if (leader[k] != k) continue;
    if (grid > 1000000 / values[k].size())
      fail(e.swept.empty() ? "model" : e.swept.back(), "the grid has more than 1e6 points");
    grid *= values[k].size();
  }
  e.points.reserve(grid);
  std::vector<std::size_t> index(values.size(), 0);
  for (std::size_t point = 0; point < grid; ++point) {
    PointParams q;
    for (std::size_t k = 0; k < keys.size(); ++k) keys[k].apply(values[k][index[leader[k]]], "", q);
    check_point(q, grid > 1 ? point_description(q) : "");
    e.points.push_back(q);
    for (std::size_t k = values.size(); k-- > 0;) {  // odometer: the last key varies fastest
      if (leader[k] != k) continue;
      if (++index[k] < values[k].size()) break;
      index[k] = 0;
    }
  }
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
  Section s(doc, "seeds", {"count", "first"}, resolved);
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
  if (static_cast<double>(grid) * seeds.count >= 1e9)
    fail("seeds.count",
         "the experiment has " + format_double(static_cast<double>(grid) * seeds.count) +
             " runs (grid points x seeds); split it into experiments of fewer than 1e9 runs");
  return seeds;
}

RecordSettings parse_record(const json& doc, const std::vector<PointParams>& points,
                            json& resolved) {
  Section s(doc, "record", {"points", "spacing", "order_parameters", "alpha_min"}, resolved);
  RecordSettings r;
  r.points = s.integer("points", r.points, 1, 100000);
  r.spacing = s.choice("spacing", r.spacing);
  r.order_parameters = s.boolean("order_parameters", r.order_parameters);
  r.alpha_min = s.positive_number("alpha_min", r.alpha_min);
  for (const auto& q : points)
    if (r.spacing == Spacing::log && r.alpha_min >= q.alpha)
      fail("record.alpha_min",
           "must be smaller than training.alpha (" + format_double(q.alpha) + ")");
  return r;
}

SimulateSettings parse_simulate(const json& doc, json& resolved) {
  Section s(doc, "simulate", {"enabled", "backend", "precision", "diverge_eg"}, resolved);
  SimulateSettings sim;
  sim.enabled = s.boolean("enabled", sim.enabled);
  sim.backend = s.choice("backend", sim.backend);
  // "auto" (the default) leaves the choice to the engine (engine_precision).
  if (s.has("precision"))
    sim.precision =
        get_enum_or_automatic<Precision>(s.given("precision"), s.path("precision"), "auto");
  s.resolve("precision", sim.precision ? enum_name(*sim.precision) : "auto");
  if (s.has("diverge_eg") && !s.given("diverge_eg").is_null())
    sim.diverge_eg =
        positive(get_number(s.given("diverge_eg"), "simulate.diverge_eg"), "simulate.diverge_eg");
  s.resolve("diverge_eg", sim.diverge_eg ? json(*sim.diverge_eg) : json(nullptr));
  return sim;
}

OdeSettings parse_ode(const json& doc, json& resolved) {
  Section s(doc, "ode", {"enabled", "method", "rtol", "atol", "dt", "init", "diverge_eg"},
            resolved);
  OdeSettings ode;
  ode.enabled = s.boolean("enabled", ode.enabled);
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

const char* to_string(Spacing s) { return enum_name(s); }
const char* to_string(Backend b) { return enum_name(b); }

Experiment parse_experiment(const json& doc) {
  check_keys(doc, "",
             {"name", "description", "model", "training", "zip", "seeds", "record", "simulate",
              "ode", "fixed_point", "output"});
  Experiment e;
  json resolved = json::object();
  parse_name(doc, e, resolved);
  parse_grid(doc, e, resolved);
  check_swept_keys_are_used(e);
  e.seeds = parse_seeds(doc, e.points.size(), resolved);
  e.record = parse_record(doc, e.points, resolved);
  e.simulate = parse_simulate(doc, resolved);
  e.ode = parse_ode(doc, resolved);
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
    return parse_experiment(doc);
  } catch (const ConfigError& err) {
    throw ConfigError(err.key_path(), path + ": " + err.what());
  }
}

}  // namespace tsgd
