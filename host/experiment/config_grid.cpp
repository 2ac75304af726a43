// The grid of an experiment: the sweepable keys of "model" and "training", their
// lists, the pairs of the top-level "zip", and the grid points they make (the
// Cartesian product, the last key fastest). Part of the configuration reader
// (config.cpp); see config.h and docs/config.md.
#include "experiment/config_grid.h"

#include <algorithm>
#include <functional>
#include <set>
#include <sstream>

#include "experiment/config_reader.h"
#include "experiment/file_io.h"

namespace tsgd {

using nlohmann::json;
using namespace config;

namespace {

// A sweepable key of "model" or "training": its default, and how one scalar
// value is checked and stored in a PointParams. A key added after results existed
// is left out of the resolved configuration while it holds its default
// (resolved_at_default false), so that configurations without it keep their
// resolved form, and with it their fingerprint and runs.
struct SweepKey {
  const char* section;
  const char* name;
  json default_value;
  std::function<void(const json&, const std::string&, PointParams&)> apply;
  bool resolved_at_default = true;
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
      {"model", "teacher_init", "gaussian",
       [](const json& v, const std::string& p, PointParams& q) {
         q.teacher_init = get_enum<TeacherInit>(v, p);
       },
       /*resolved_at_default=*/false},
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
      // Added after results existed: resolved only when given (null: online).
      {"data", "train_size", nullptr,
       [](const json& v, const std::string& p, PointParams& q) {
         if (v.is_null()) {
           q.train_size = 0;
           return;
         }
         const std::int64_t size = get_integer(v, p);
         if (size < 1 || size > (std::int64_t{1} << 62))
           fail(p,
                "must be a number of samples from 1 to 2^62 (or null: online), got " + describe(v));
         q.train_size = static_cast<std::uint64_t>(size);
       },
       /*resolved_at_default=*/false},
  };
  return keys;
}

}  // namespace

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
  if (q.teacher_init == TeacherInit::orthonormal && q.M > q.N)
    fail("model.teacher_init",
         "\"orthonormal\" needs M <= N (M orthonormal rows in N "
         "dimensions), got model.M = " +
             std::to_string(q.M) + " > model.N = " + std::to_string(q.N) + where);
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

namespace {

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
  if (key.resolved_at_default || given != key.default_value)
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
       [](const PointParams& q) {
         return q.init == InitKind::large || q.init == InitKind::mixed || q.init == InitKind::file;
       },
       "init \"large\", \"mixed\" and \"file\" do not use it (only small, informed and denoise "
       "do)"},
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
}  // namespace

void parse_grid(const json& doc, Experiment& e, json& resolved) {
  const auto& keys = sweep_keys();
  for (const char* section : {"model", "training", "data"}) {
    std::set<std::string> allowed = std::string(section) == "model"      ? fixed_model_keys()
                                    : std::string(section) == "training" ? fixed_training_keys()
                                                                         : fixed_data_keys();
    for (const auto& k : keys)
      if (std::string(k.section) == section) allowed.insert(k.name);
    if (doc.contains(section)) check_keys(doc[section], section, allowed);
    resolved[section] = json::object();
  }
  std::vector<std::vector<json>> values;
  for (const auto& key : keys) values.push_back(key_values(doc, key, e.swept, resolved));
  // "data" came after results existed: in the resolved configuration only when it says something.
  if (resolved["data"].empty()) resolved.erase("data");
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
  check_swept_keys_are_used(e);
}

}  // namespace tsgd
