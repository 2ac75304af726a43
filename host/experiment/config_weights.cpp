// The keys of the configuration that set where the teacher and the student
// start, beyond the sweep keys: model.teacher_file, model.teacher_sparsity,
// training.init_file and seeds.teacher (docs/config.md), and the reading of
// the weight files (experiment/weight_file.h). Part of the configuration
// reader (config.cpp); see config.h and config_grid.h.
#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>

#include "experiment/config_grid.h"
#include "experiment/config_reader.h"
#include "experiment/weight_file.h"

namespace tsgd {

using nlohmann::json;
using namespace config;
namespace fs = std::filesystem;

const std::set<std::string>& fixed_model_keys() {
  static const std::set<std::string> keys = {"teacher_file", "teacher_sparsity"};
  return keys;
}

const std::set<std::string>& fixed_training_keys() {
  static const std::set<std::string> keys = {"init_file"};
  return keys;
}

namespace {

const json* given(const json& doc, const char* section, const char* key) {
  if (!doc.contains(section) || !doc[section].is_object() || !doc[section].contains(key))
    return nullptr;
  return &doc[section][key];
}

// A file key: a non-empty path, given exactly when some point's init reads it.
std::string file_key(const json& doc, const char* section, const char* key, bool used,
                     const std::string& init_key, json& resolved) {
  const std::string path = std::string(section) + "." + key;
  const json* value = given(doc, section, key);
  if (!value) {
    if (used) fail(path, "missing: " + init_key + " \"file\" reads the weights from it");
    return "";
  }
  if (value->is_array()) fail(path, "one file for every grid point (a list is not swept)");
  const std::string file = get_string(*value, path);
  if (file.empty()) fail(path, "must not be empty");
  if (!used) fail(path, "given, but no grid point has " + init_key + " \"file\", which reads it");
  resolved[section][key] = file;
  return file;
}

}  // namespace

void parse_weight_keys(const json& doc, Experiment& e, json& resolved) {
  const bool file_teacher = std::any_of(e.points.begin(), e.points.end(), [](const PointParams& p) {
    return p.teacher_init == TeacherInit::file;
  });
  const bool file_student = std::any_of(e.points.begin(), e.points.end(), [](const PointParams& p) {
    return p.init == InitKind::file;
  });
  const std::string teacher =
      file_key(doc, "model", "teacher_file", file_teacher, "model.teacher_init", resolved);
  const std::string student =
      file_key(doc, "training", "init_file", file_student, "training.init", resolved);
  if (!teacher.empty()) e.weight_files.push_back({"model.teacher_file", teacher, 0, ""});
  if (!student.empty()) e.weight_files.push_back({"training.init_file", student, 0, ""});

  double sparsity = 0.0;
  if (const json* value = given(doc, "model", "teacher_sparsity")) {
    if (value->is_array()) fail("model.teacher_sparsity", "one value for every grid point");
    sparsity = get_number(*value, "model.teacher_sparsity");
    if (!(sparsity >= 0.0 && sparsity < 1.0))
      fail("model.teacher_sparsity",
           "must be in [0, 1) (the fraction of teacher weights set to zero), got " +
               describe(*value));
    if (sparsity > 0.0 && file_teacher)
      fail("model.teacher_sparsity",
           "a teacher from model.teacher_file is used as read; set its zeros in the file");
    // Resolved only away from 0, so that configurations without it keep their fingerprint.
    if (sparsity > 0.0) resolved["model"]["teacher_sparsity"] = *value;
  }
  if (e.seeds.teacher && std::all_of(e.points.begin(), e.points.end(), [](const PointParams& p) {
        return p.teacher_init == TeacherInit::file;
      }))
    fail("seeds.teacher",
         "every grid point's teacher is read from model.teacher_file, which no seed changes");
  for (PointParams& p : e.points) {
    p.teacher_sparsity = sparsity;
    p.teacher_seed = e.seeds.teacher;
  }

  // The record of the files as read (load_weight_files): carried through a
  // resolved configuration read back (merge, join, grow), which reads no file.
  if (doc.contains("weight_files")) {
    const json& files = doc["weight_files"];
    if (!files.is_object()) fail("weight_files", "expected an object (written by tsgd)");
    for (auto it = files.begin(); it != files.end(); ++it)
      if (!std::any_of(e.weight_files.begin(), e.weight_files.end(),
                       [&](const WeightFileRecord& r) { return r.key == it.key(); }) ||
          !it.value().is_object() || !it.value().contains("bytes") || !it.value().contains("fnv1a"))
        fail("weight_files." + it.key(), "not a weight file of this configuration");
    resolved["weight_files"] = files;
  }
}

void load_weight_files(Experiment& e, const std::string& config_dir) {
  if (e.weight_files.empty()) return;
  json record = json::object();
  for (WeightFileRecord& file : e.weight_files) {
    fs::path path(file.path);
    if (path.is_relative()) path = fs::path(config_dir) / path;
    file.path = fs::absolute(path).lexically_normal().string();
    const bool teacher = file.key == "model.teacher_file";
    // One read per distinct shape (a swept N, M or K gives a point another shape,
    // which the file cannot have: its check names the key and the file).
    std::map<std::pair<int, int>, std::shared_ptr<const FileWeights>> read;
    for (PointParams& p : e.points) {
      if (teacher ? p.teacher_init != TeacherInit::file : p.init != InitKind::file) continue;
      const int rows = teacher ? p.M : p.K;
      std::shared_ptr<const FileWeights>& weights = read[{rows, p.N}];
      if (!weights) {
        LoadedWeights loaded =
            read_weight_file(file.path, file.key, rows, teacher ? "model.M" : "model.K", p.N);
        file.bytes = loaded.bytes;
        file.fnv1a = loaded.fnv1a;
        weights = std::make_shared<const FileWeights>(std::move(loaded.weights));
      }
      (teacher ? p.teacher_file : p.student_file) = weights;
    }
    const std::size_t dot = file.key.find('.');
    e.resolved[file.key.substr(0, dot)][file.key.substr(dot + 1)] = file.path;
    record[file.key] = {{"bytes", file.bytes}, {"fnv1a", file.fnv1a}};
  }
  e.resolved["weight_files"] = record;
}

}  // namespace tsgd
