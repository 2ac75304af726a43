// The keys of "data" beyond the sweep key train_size: data.inputs (Gaussian, or
// real inputs from IDX files) and data.test_size (docs/config.md), and the
// reading of the files (experiment/dataset.h), which sets N, the training set's
// size and the inputs of every grid point. Part of the configuration reader
// (config.cpp); see config.h and config_grid.h.
#include <algorithm>
#include <filesystem>

#include "experiment/config_grid.h"
#include "experiment/config_reader.h"
#include "experiment/file_io.h"

namespace tsgd {

using nlohmann::json;
using namespace config;
namespace fs = std::filesystem;

const std::set<std::string>& fixed_data_keys() {
  static const std::set<std::string> keys = {"inputs", "test_size"};
  return keys;
}

namespace {

// A path key of OBJECT (at PARENT): a non-empty string.
std::string path_key(const json& object, const std::string& parent, const char* key,
                     const char* what) {
  const std::string path = parent + "." + key;
  if (!object.contains(key)) fail(path, std::string("missing: the IDX file of the ") + what);
  const std::string file = get_string(object[key], path);
  if (file.empty()) fail(path, "must not be empty");
  return file;
}

// data.inputs.labels: the files' classes mapped to +-1 by a task.
void parse_labels(const json& labels, DataFilesSpec& spec, json& resolved) {
  const std::string path = "data.inputs.labels";
  if (!labels.is_object())
    fail(path, "expected an object {\"train\": PATH, \"test\": PATH, \"task\": ...}, got " +
                   describe(labels));
  check_keys(labels, path, {"train", "test", "task"});
  spec.labelled = true;
  spec.train_labels = path_key(labels, path, "train", "training labels");
  spec.test_labels = path_key(labels, path, "test", "test labels");
  if (!labels.contains("task"))
    fail(path + ".task", "missing: \"parity\" or \"one_vs_rest:C\" maps the classes to +-1");
  const std::string task = get_string(labels["task"], path + ".task");
  spec.task = parse_label_task(task, path + ".task");
  resolved = {{"train", spec.train_labels}, {"test", spec.test_labels}, {"task", task}};
}

// data.inputs as an object of files.
void parse_input_files(const json& inputs, DataFilesSpec& spec, json& resolved) {
  const std::string path = "data.inputs";
  check_keys(inputs, path, {"train", "test", "standardise", "labels"});
  spec.train = path_key(inputs, path, "train", "training inputs");
  spec.test = path_key(inputs, path, "test", "test inputs");
  std::string standardise = "global";
  if (inputs.contains("standardise")) {
    standardise = get_string(inputs["standardise"], path + ".standardise");
    if (standardise != "global" && standardise != "per_pixel")
      fail(path + ".standardise",
           "unknown value \"" + standardise + "\"; expected one of \"global\", \"per_pixel\"");
  }
  spec.standardise = standardise == "global" ? Standardisation::global : Standardisation::per_pixel;
  resolved = {{"train", spec.train}, {"test", spec.test}, {"standardise", standardise}};
  if (inputs.contains("labels")) parse_labels(inputs["labels"], spec, resolved["labels"]);
}

bool has_key(const json& doc, const char* section, const char* key) {
  return doc.contains(section) && doc[section].is_object() && doc[section].contains(key);
}

// The keys of the files of SPEC, in load_dataset's order.
std::vector<std::string> file_keys(const DataFilesSpec& spec) {
  std::vector<std::string> keys = {"data.inputs.train", "data.inputs.test"};
  if (spec.labelled) {
    keys.emplace_back("data.inputs.labels.train");
    keys.emplace_back("data.inputs.labels.test");
  }
  return keys;
}

std::string absolute(const std::string& file, const std::string& config_dir) {
  fs::path path(file);
  if (path.is_relative()) path = fs::path(config_dir) / path;
  return fs::absolute(path).lexically_normal().string();
}

}  // namespace

void parse_data_keys(const json& doc, Experiment& e, json& resolved) {
  DataInputSettings& d = e.data;
  const json* inputs = has_key(doc, "data", "inputs") ? &doc["data"]["inputs"] : nullptr;
  if (inputs && inputs->is_string()) {
    if (inputs->get<std::string>() != "gaussian")
      fail("data.inputs", "unknown value " + describe(*inputs) +
                              "; expected \"gaussian\" or an object {\"train\": PATH, "
                              "\"test\": PATH, ...} of IDX files");
    inputs = nullptr;  // the default: not in the resolved configuration, as before the key
  } else if (inputs && !inputs->is_object()) {
    fail("data.inputs",
         "expected \"gaussian\" or an object {\"train\": PATH, \"test\": PATH, "
         "...} of IDX files, got " +
             describe(*inputs));
  }
  if (!inputs) {
    if (has_key(doc, "data", "test_size"))
      fail("data.test_size",
           "only with data.inputs from files: Gaussian inputs have no test set (eps_g is the "
           "closed form from the order parameters)");
    if (doc.contains("data_files")) fail("data_files", "given, but data.inputs names no file");
    return;
  }
  d.files = true;
  parse_input_files(*inputs, d.spec, resolved["data"]["inputs"]);
  if (has_key(doc, "data", "test_size")) {
    const json& size = doc["data"]["test_size"];
    if (size.is_array()) fail("data.test_size", "one value for every grid point (not swept)");
    const std::int64_t n = get_integer(size, "data.test_size");
    if (n < 1 || n > (std::int64_t{1} << 40))
      fail("data.test_size", "must be a number of test samples from 1, got " + describe(size));
    d.spec.test_size = static_cast<std::size_t>(n);
    resolved["data"]["test_size"] = n;
  }
  d.n_given = has_key(doc, "model", "N");
  d.train_size_given = has_key(doc, "data", "train_size");
  for (const PointParams& p : e.points)
    if (d.train_size_given && p.train_size == 0)
      fail("data.train_size",
           "null (online learning, a fresh sample every step) is not possible with data.inputs "
           "from files, which hold finitely many training samples: give a number, or leave the "
           "key out for the whole training file");
  // The record of the files as read (load_data_files): carried through a resolved
  // configuration read back (merge, join, grow), which reads no file.
  if (doc.contains("data_files")) {
    const json& files = doc["data_files"];
    if (!files.is_object()) fail("data_files", "expected an object (written by tsgd)");
    const std::vector<std::string> keys = file_keys(d.spec);
    for (auto it = files.begin(); it != files.end(); ++it)
      if (std::find(keys.begin(), keys.end(), it.key()) == keys.end() || !it.value().is_object() ||
          !it.value().contains("bytes") || !it.value()["bytes"].is_number_unsigned() ||
          !it.value().contains("fnv1a") || !it.value()["fnv1a"].is_string())
        fail("data_files." + it.key(), "not a data file of this configuration");
    // Every file is recorded: one without its record would be read unchecked.
    const std::vector<std::string> paths = {d.spec.train, d.spec.test, d.spec.train_labels,
                                            d.spec.test_labels};
    for (std::size_t f = 0; f < keys.size(); ++f)
      if (!files.contains(keys[f]))
        fail("data_files." + keys[f], "missing: the record of " + paths[f] + " (" + keys[f] +
                                          ") that the runs read (written by tsgd)");
    resolved["data_files"] = files;
  }
}

void load_data_files(Experiment& e, const std::string& config_dir) {
  DataInputSettings& d = e.data;
  if (!d.files) return;
  DataFilesSpec& spec = d.spec;
  json& inputs = e.resolved["data"]["inputs"];
  inputs["train"] = spec.train = absolute(spec.train, config_dir);
  inputs["test"] = spec.test = absolute(spec.test, config_dir);
  if (spec.labelled) {
    inputs["labels"]["train"] = spec.train_labels = absolute(spec.train_labels, config_dir);
    inputs["labels"]["test"] = spec.test_labels = absolute(spec.test_labels, config_dir);
  }
  d.dataset = load_dataset(spec);
  const InputSet& in = *d.dataset->inputs;
  for (std::size_t i = 0; i < e.points.size(); ++i) {
    PointParams& p = e.points[i];
    const std::string where =
        e.points.size() > 1 ? " (grid point " + std::to_string(i) + ")" : std::string();
    if (d.n_given && p.N != in.N)
      fail("model.N", "model.N = " + std::to_string(p.N) + ", but the samples of " + spec.train +
                          " (data.inputs.train) have " + std::to_string(in.N) + " values" + where);
    p.N = in.N;
    if (!d.train_size_given) p.train_size = in.train_count;
    if (p.train_size > in.train_count)
      fail("data.train_size", "data.train_size = " + std::to_string(p.train_size) + ", but " +
                                  spec.train + " holds " + std::to_string(in.train_count) +
                                  " training samples" + where);
    // parse_grid checked the point with the default (or given) N: again with the files'.
    check_point(
        p, " (N = " + std::to_string(p.N) + " from " + spec.train + ", data.inputs.train)" + where);
    p.inputs = d.dataset->inputs;
  }
  e.resolved["model"]["N"] = in.N;
  if (!d.train_size_given) e.resolved["data"]["train_size"] = in.train_count;
  e.resolved["data"]["test_size"] = in.test_count;
  // A resolved configuration read back (merge, join) records the files its runs
  // read: a file changed since then is refused, never mixed with them.
  const json recorded = e.resolved.value("data_files", json::object());
  json record = json::object();
  const std::vector<std::string> keys = file_keys(spec);
  for (std::size_t f = 0; f < keys.size(); ++f) {
    const FileIdentity& file = d.dataset->files.at(f);
    record[keys[f]] = {{"path", file.path}, {"bytes", file.bytes}, {"fnv1a", file.fnv1a}};
    if (recorded.contains(keys[f]) && (recorded[keys[f]].value("fnv1a", "") != file.fnv1a ||
                                       recorded[keys[f]].value("bytes", 0) != file.bytes))
      fail("data_files." + keys[f], file.path + " is not the file the runs read (" +
                                        recorded[keys[f]].dump() + "): it changed since");
  }
  e.resolved["data_files"] = record;
}

}  // namespace tsgd
