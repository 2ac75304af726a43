#include "experiment/config.h"

#include "experiment/file_io.h"
#include "theory/ode.h"

#include <cctype>
#include <cmath>
#include <fstream>
#include <functional>
#include <limits>
#include <set>
#include <sstream>

namespace tsgd {

using nlohmann::json;

namespace {

[[noreturn]] void fail(const std::string& path, const std::string& reason) {
  throw ConfigError(path, path + ": " + reason);
}

std::string describe(const json& value) {
  std::string s = value.dump();
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

std::string type_name(const json& value) {
  if (value.is_null()) return "null";
  if (value.is_boolean()) return "a boolean";
  if (value.is_number()) return "a number";
  if (value.is_string()) return "a string";
  if (value.is_array()) return "a list";
  return "an object";
}

double get_number(const json& value, const std::string& path) {
  if (!value.is_number() || value.is_boolean())
    fail(path, "expected a number, got " + type_name(value) + " " + describe(value));
  const double x = value.get<double>();
  if (!std::isfinite(x)) fail(path, "must be finite");
  return x;
}

std::int64_t get_integer(const json& value, const std::string& path) {
  if (value.is_number_integer()) return value.get<std::int64_t>();
  if (value.is_number_float()) {
    const double x = value.get<double>();
    fail(path, "expected an integer, got " + describe(value) +
                   (std::isfinite(x) && x == std::floor(x) ? " (write it without a decimal point)" : ""));
  }
  fail(path, "expected an integer, got " + type_name(value) + " " + describe(value));
}

bool get_bool(const json& value, const std::string& path) {
  if (!value.is_boolean()) fail(path, "expected true or false, got " + describe(value));
  return value.get<bool>();
}

std::string get_string(const json& value, const std::string& path) {
  if (!value.is_string()) fail(path, "expected a string, got " + type_name(value) + " " + describe(value));
  return value.get<std::string>();
}

template <typename Enum>
Enum get_enum(const json& value, const std::string& path,
              const std::vector<std::pair<const char*, Enum>>& choices) {
  std::string options;
  for (const auto& [name, e] : choices) options += (options.empty() ? "\"" : ", \"") + std::string(name) + "\"";
  if (!value.is_string()) fail(path, "expected one of " + options + ", got " + describe(value));
  const std::string s = value.get<std::string>();
  for (const auto& [name, e] : choices)
    if (s == name) return e;
  fail(path, "unknown value \"" + s + "\"; expected one of " + options);
}

double positive(double x, const std::string& path) {
  if (!(x > 0)) fail(path, "must be > 0, got " + std::to_string(x));
  return x;
}
double non_negative(double x, const std::string& path) {
  if (!(x >= 0)) fail(path, "must be >= 0, got " + std::to_string(x));
  return x;
}
int int_in(std::int64_t x, std::int64_t lo, std::int64_t hi, const std::string& path) {
  if (x < lo || x > hi)
    fail(path, "must be between " + std::to_string(lo) + " and " + std::to_string(hi) + ", got " +
                   std::to_string(x));
  return static_cast<int>(x);
}

const std::vector<std::pair<const char*, Activation>> kActivations = {
    {"erf", Activation::erf}, {"relu", Activation::relu}, {"linear", Activation::linear},
    {"quad", Activation::quad}, {"sign", Activation::sign}};

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
         q.teacher_activation = get_enum(v, p, kActivations);
       }},
      {"model", "student_activation", "erf",
       [](const json& v, const std::string& p, PointParams& q) {
         q.student_activation = get_enum(v, p, kActivations);
         if (q.student_activation == Activation::sign)
           fail(p, "\"sign\" is allowed for the teacher only: its derivative vanishes almost "
                   "everywhere, so SGD never moves a sign student");
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
         q.train = get_enum<TrainMode>(
             v, p, {{"first_layer", TrainMode::first_layer}, {"both_layers", TrainMode::both_layers}});
       }},
      {"model", "teacher_v", 1.0,
       [](const json& v, const std::string& p, PointParams& q) { q.teacher_v = get_number(v, p); }},
      {"model", "teacher_v_init", "uniform",
       [](const json& v, const std::string& p, PointParams& q) {
         q.teacher_v_init = get_enum<SecondLayerInit>(v, p,
                                                      {{"uniform", SecondLayerInit::uniform},
                                                       {"gaussian", SecondLayerInit::gaussian},
                                                       {"flip_half", SecondLayerInit::flip_half}});
       }},
      {"model", "student_v", 1.0,
       [](const json& v, const std::string& p, PointParams& q) { q.student_v = get_number(v, p); }},
      {"model", "student_v_init", "uniform",
       [](const json& v, const std::string& p, PointParams& q) {
         q.student_v_init = get_enum<SecondLayerInit>(
             v, p, {{"uniform", SecondLayerInit::uniform}, {"gaussian", SecondLayerInit::gaussian}});
       }},
      {"model", "output_scaling", "none",
       [](const json& v, const std::string& p, PointParams& q) {
         q.output_scaling = get_enum<OutputScaling>(v, p,
                                                    {{"none", OutputScaling::none},
                                                     {"1/K", OutputScaling::inverse},
                                                     {"1/sqrt(K)", OutputScaling::inverse_sqrt}});
       }},
      {"training", "lr", 0.1,
       [](const json& v, const std::string& p, PointParams& q) { q.lr = positive(get_number(v, p), p); }},
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
         q.init = get_enum<InitKind>(v, p,
                                     {{"large", InitKind::large},
                                      {"small", InitKind::small},
                                      {"mixed", InitKind::mixed},
                                      {"informed", InitKind::informed},
                                      {"denoise", InitKind::denoise}});
       }},
      {"training", "init_scale", 1e-3,
       [](const json& v, const std::string& p, PointParams& q) {
         q.init_scale = positive(get_number(v, p), p);
       }},
  };
  return keys;
}

// Checks that `object` is an object and has no keys outside `allowed`.
void check_keys(const json& object, const std::string& path, const std::set<std::string>& allowed) {
  if (!object.is_object()) fail(path, "expected an object {...}, got " + type_name(object));
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (!allowed.count(it.key())) {
      std::string known;
      for (const auto& k : allowed) known += (known.empty() ? "" : ", ") + k;
      fail(path.empty() ? it.key() : path + "." + it.key(), "unknown key (known keys: " + known + ")");
    }
  }
}

// Cross-key checks of one grid point; `where` describes the point.
void check_point(PointParams& q, const std::string& where) {
  if (q.lr2 < 0) q.lr2 = q.lr;
  if (q.weight_decay2 < 0) q.weight_decay2 = q.weight_decay;
  if ((q.init == InitKind::informed || q.init == InitKind::denoise) && q.K < q.M)
    fail("training.init", std::string("\"") + to_string(q.init) + "\" starts each teacher unit in a "
         "student, so it needs K >= M" + where);
  if (q.init == InitKind::denoise && q.train != TrainMode::both_layers)
    fail("training.init", "\"denoise\" splits the teacher's second layer over copies, so it needs "
         "model.train = \"both_layers\"" + where);
  if (q.alpha * q.N < 1.0)
    fail("training.alpha", "alpha * N = " + std::to_string(q.alpha * q.N) +
                               " is less than one SGD step" + where);
  if (q.alpha * q.N > 1e13)
    fail("training.alpha", "alpha * N = " + std::to_string(q.alpha * q.N) +
                               " SGD steps is beyond any machine" + where);
}

std::string point_description(const PointParams& q) {
  std::ostringstream s;
  s << " (grid point N=" << q.N << ", M=" << q.M << ", K=" << q.K << ", train=" << to_string(q.train)
    << ", init=" << to_string(q.init) << ")";
  return s.str();
}

OdeExplicitState parse_explicit_state(const json& object, const std::string& path) {
  check_keys(object, path, {"Q", "R", "T", "v", "teacher_v"});
  auto vector_of = [](const json& a, const std::string& p) {
    if (!a.is_array()) fail(p, "expected a list of numbers");
    std::vector<double> out;
    for (std::size_t i = 0; i < a.size(); ++i) out.push_back(get_number(a[i], p + "[" + std::to_string(i) + "]"));
    return out;
  };
  auto matrix_of = [&](const json& a, const std::string& p) {
    if (!a.is_array()) fail(p, "expected a list of rows");
    std::vector<std::vector<double>> out;
    for (std::size_t i = 0; i < a.size(); ++i) out.push_back(vector_of(a[i], p + "[" + std::to_string(i) + "]"));
    return out;
  };
  OdeExplicitState s;
  for (const char* key : {"Q", "R", "T", "v"})
    if (!object.contains(key)) fail(path + "." + key, "missing (an explicit initial state needs Q, R, T and v)");
  s.Q = matrix_of(object["Q"], path + ".Q");
  s.R = matrix_of(object["R"], path + ".R");
  s.T = matrix_of(object["T"], path + ".T");
  s.v = vector_of(object["v"], path + ".v");
  if (object.contains("teacher_v")) s.teacher_v = vector_of(object["teacher_v"], path + ".teacher_v");
  return s;
}

// Checks that the ODE can integrate every grid point of the experiment
// (activations, initial state); throws ConfigError naming the key.
void check_ode_supported(const Experiment& e) {
  if (!e.ode.enabled) return;
  for (std::size_t i = 0; i < e.points.size(); ++i) {
    const PointParams& p = e.points[i];
    const std::string why = ode_unsupported_reason(p);
    if (!why.empty())
      throw ConfigError("ode.enabled", "ode.enabled: the ODE cannot integrate grid point " + std::to_string(i) +
                                           ": " + why + " (set ode.enabled to false to run SGD alone)");
    try {
      if (e.ode.init == OdeInit::expected) expected_initial_state(p);
      if (e.ode.init == OdeInit::explicit_state) explicit_initial_state(e.ode.state, p);
    } catch (const std::invalid_argument& err) {
      std::string message = err.what();
      std::string key = "ode.init";
      if (message.rfind("ode.init", 0) == 0) key = message.substr(0, message.find_first_of(": "));
      if (message.rfind(key, 0) != 0) message = key + ": " + message;
      throw ConfigError(key, message + (e.points.size() > 1 ? " (grid point " + std::to_string(i) + ")" : ""));
    }
  }
}

}  // namespace

Precision engine_precision(const SimulateSettings& s, bool gpu) {
  return s.precision ? *s.precision : (gpu ? Precision::float32 : Precision::float64);
}

const char* to_string(Spacing s) { return s == Spacing::log ? "log" : "lin"; }
const char* to_string(Backend b) {
  return b == Backend::cpu ? "cpu" : (b == Backend::cuda ? "cuda" : "auto");
}

Experiment parse_experiment(const json& doc) {
  check_keys(doc, "", {"name", "description", "model", "training", "seeds", "record", "simulate", "ode", "output"});
  Experiment e;
  json resolved = json::object();

  if (!doc.contains("name")) fail("name", "missing (every experiment needs a name)");
  e.name = get_string(doc["name"], "name");
  if (e.name.empty()) fail("name", "must not be empty");
  for (char c : e.name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.'))
      fail("name", "may contain only letters, digits, '_', '-' and '.', got \"" + e.name + "\"");
  resolved["name"] = e.name;
  if (doc.contains("description")) e.description = get_string(doc["description"], "description");
  resolved["description"] = e.description;

  // ---- model and training: the grid ----
  std::vector<std::vector<json>> values;  // per sweep key
  const auto& keys = sweep_keys();
  for (const char* section : {"model", "training"}) {
    std::set<std::string> allowed;
    for (const auto& k : keys)
      if (std::string(k.section) == section) allowed.insert(k.name);
    if (doc.contains(section)) check_keys(doc[section], section, allowed);
    resolved[section] = json::object();
  }
  for (const auto& key : keys) {
    const std::string path = std::string(key.section) + "." + key.name;
    json given = key.default_value;
    if (doc.contains(key.section) && doc[key.section].contains(key.name)) given = doc[key.section][key.name];
    std::vector<json> list;
    if (given.is_array()) {
      if (given.empty()) fail(path, "an empty list gives an empty grid");
      for (std::size_t i = 0; i < given.size(); ++i) {
        if (given[i].is_array() || given[i].is_object())
          fail(path + "[" + std::to_string(i) + "]", "a swept list holds scalars only");
        list.push_back(given[i]);
      }
      e.swept.push_back(path);
    } else {
      if (given.is_object()) fail(path, "expected a scalar or a list of scalars, got an object");
      list.push_back(given);
    }
    for (std::size_t i = 0; i < list.size(); ++i) {
      PointParams scratch;
      key.apply(list[i], given.is_array() ? path + "[" + std::to_string(i) + "]" : path, scratch);
    }
    values.push_back(list);
    resolved[key.section][key.name] = given;
  }
  std::size_t grid = 1;
  for (const auto& v : values) {
    if (grid > 1000000 / v.size()) fail(e.swept.empty() ? "model" : e.swept.back(), "the grid has more than 1e6 points");
    grid *= v.size();
  }
  e.points.reserve(grid);
  std::vector<std::size_t> index(values.size(), 0);
  for (std::size_t point = 0; point < grid; ++point) {
    PointParams q;
    for (std::size_t k = 0; k < keys.size(); ++k) keys[k].apply(values[k][index[k]], "", q);
    check_point(q, grid > 1 ? point_description(q) : "");
    e.points.push_back(q);
    for (std::size_t k = values.size(); k-- > 0;) {  // odometer: the last key varies fastest
      if (++index[k] < values[k].size()) break;
      index[k] = 0;
    }
  }

  // ---- seeds ----
  if (doc.contains("seeds")) {
    const json& s = doc["seeds"];
    check_keys(s, "seeds", {"count", "first"});
    if (s.contains("count")) e.seeds.count = int_in(get_integer(s["count"], "seeds.count"), 1, 100000000, "seeds.count");
    if (s.contains("first")) {
      if (!s["first"].is_number_unsigned()) fail("seeds.first", "expected an integer >= 0, got " + describe(s["first"]));
      e.seeds.first = s["first"].get<std::uint64_t>();
    }
  }
  if (e.seeds.first > std::numeric_limits<std::uint64_t>::max() - e.seeds.count)
    fail("seeds.first", "first + count overflows 64 bits");
  resolved["seeds"] = {{"count", e.seeds.count}, {"first", e.seeds.first}};
  if (static_cast<double>(grid) * e.seeds.count >= 1e9)
    fail("seeds.count", "the experiment has " + format_double(static_cast<double>(grid) * e.seeds.count) +
                            " runs (grid points x seeds); split it into experiments of fewer than 1e9 runs");

  // ---- record ----
  if (doc.contains("record")) {
    const json& r = doc["record"];
    check_keys(r, "record", {"points", "spacing", "order_parameters", "alpha_min"});
    if (r.contains("points")) e.record.points = int_in(get_integer(r["points"], "record.points"), 1, 100000, "record.points");
    if (r.contains("spacing"))
      e.record.spacing = get_enum<Spacing>(r["spacing"], "record.spacing", {{"log", Spacing::log}, {"lin", Spacing::lin}});
    if (r.contains("order_parameters")) e.record.order_parameters = get_bool(r["order_parameters"], "record.order_parameters");
    if (r.contains("alpha_min")) e.record.alpha_min = positive(get_number(r["alpha_min"], "record.alpha_min"), "record.alpha_min");
  }
  for (const auto& q : e.points)
    if (e.record.spacing == Spacing::log && e.record.alpha_min >= q.alpha)
      fail("record.alpha_min", "must be smaller than training.alpha (" + std::to_string(q.alpha) + ")");
  resolved["record"] = {{"points", e.record.points},
                        {"spacing", to_string(e.record.spacing)},
                        {"order_parameters", e.record.order_parameters},
                        {"alpha_min", e.record.alpha_min}};

  // ---- simulate ----
  if (doc.contains("simulate")) {
    const json& s = doc["simulate"];
    check_keys(s, "simulate", {"enabled", "backend", "precision", "diverge_eg"});
    if (s.contains("enabled")) e.simulate.enabled = get_bool(s["enabled"], "simulate.enabled");
    if (s.contains("backend"))
      e.simulate.backend = get_enum<Backend>(s["backend"], "simulate.backend",
                                             {{"auto", Backend::automatic}, {"cpu", Backend::cpu}, {"cuda", Backend::cuda}});
    if (s.contains("precision")) {
      const std::string p = get_enum<std::string>(s["precision"], "simulate.precision",
                                                  {{"auto", "auto"}, {"float32", "float32"}, {"float64", "float64"}});
      if (p == "float32") e.simulate.precision = Precision::float32;
      if (p == "float64") e.simulate.precision = Precision::float64;
    }
    if (s.contains("diverge_eg") && !s["diverge_eg"].is_null())
      e.simulate.diverge_eg = positive(get_number(s["diverge_eg"], "simulate.diverge_eg"), "simulate.diverge_eg");
  }
  resolved["simulate"] = {{"enabled", e.simulate.enabled},
                          {"backend", to_string(e.simulate.backend)},
                          {"precision", e.simulate.precision ? to_string(*e.simulate.precision) : "auto"},
                          {"diverge_eg", e.simulate.diverge_eg ? json(*e.simulate.diverge_eg) : json(nullptr)}};

  // ---- ode ----
  if (doc.contains("ode")) {
    const json& o = doc["ode"];
    check_keys(o, "ode", {"enabled", "method", "rtol", "atol", "dt", "init", "diverge_eg"});
    if (o.contains("enabled")) e.ode.enabled = get_bool(o["enabled"], "ode.enabled");
    if (o.contains("method"))
      e.ode.method = get_enum<OdeMethod>(o["method"], "ode.method",
                                         {{"adaptive", OdeMethod::adaptive}, {"rk4", OdeMethod::rk4}, {"euler", OdeMethod::euler}});
    if (o.contains("rtol")) e.ode.rtol = positive(get_number(o["rtol"], "ode.rtol"), "ode.rtol");
    if (o.contains("atol")) e.ode.atol = positive(get_number(o["atol"], "ode.atol"), "ode.atol");
    if (o.contains("dt")) e.ode.dt = positive(get_number(o["dt"], "ode.dt"), "ode.dt");
    if (o.contains("diverge_eg")) e.ode.diverge_eg = positive(get_number(o["diverge_eg"], "ode.diverge_eg"), "ode.diverge_eg");
    if (o.contains("init")) {
      if (o["init"].is_object()) {
        e.ode.init = OdeInit::explicit_state;
        e.ode.state = parse_explicit_state(o["init"], "ode.init");
      } else {
        e.ode.init = get_enum<OdeInit>(o["init"], "ode.init",
                                       {{"measured", OdeInit::measured}, {"expected", OdeInit::expected}});
      }
    }
    if (e.ode.rtol >= 1) fail("ode.rtol", "must be < 1");
  }
  resolved["ode"] = {{"enabled", e.ode.enabled},
                     {"method", e.ode.method == OdeMethod::adaptive ? "adaptive" : (e.ode.method == OdeMethod::rk4 ? "rk4" : "euler")},
                     {"rtol", e.ode.rtol}, {"atol", e.ode.atol}, {"dt", e.ode.dt},
                     {"diverge_eg", e.ode.diverge_eg}};
  if (e.ode.init == OdeInit::explicit_state)
    resolved["ode"]["init"] = doc["ode"]["init"];
  else
    resolved["ode"]["init"] = e.ode.init == OdeInit::measured ? "measured" : "expected";

  // ---- output ----
  e.output = "results/" + e.name;
  if (doc.contains("output")) {
    e.output = get_string(doc["output"], "output");
    if (e.output.empty()) fail("output", "must not be empty");
  }
  resolved["output"] = e.output;

  if (!e.simulate.enabled && !e.ode.enabled) fail("simulate.enabled", "nothing to do: both simulate and ode are disabled");
  e.resolved = resolved;
  check_ode_supported(e);
  return e;
}

Experiment load_experiment(const std::string& path) {
  std::ifstream in(path);
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
  const json::parser_callback_t find_duplicates = [&](int, json::parse_event_t event, json& parsed) {
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
    throw ConfigError(duplicate, path + ": " + duplicate + ": given twice (JSON keeps only the last)");
  try {
    return parse_experiment(doc);
  } catch (const ConfigError& err) {
    throw ConfigError(err.key_path(), path + ": " + err.what());
  }
}

}  // namespace tsgd
