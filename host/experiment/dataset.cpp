// Real inputs: loading, checks, labels. See dataset.h.
#include "experiment/dataset.h"

#include <sys/stat.h>

#include <cmath>

#include "experiment/config_error.h"
#include "experiment/file_io.h"

namespace tsgd {

namespace {

[[noreturn]] void refuse(const std::string& key, const std::string& path, const std::string& why) {
  throw ConfigError(key, key + ": " + path + ": " + why);
}

FileIdentity identity_of(const std::string& path, const std::string& key) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) refuse(key, path, "cannot read the file");
  return FileIdentity{path, static_cast<std::uint64_t>(st.st_size), fnv1a_file_hex(path)};
}

// The first KEEP labels of PATH (a one-dimensional IDX file of SAMPLES integer
// classes 0..255, one per sample of its inputs' file) under TASK.
std::vector<float> read_labels(const std::string& path, const std::string& key, std::size_t samples,
                               std::size_t keep, const LabelTask& task) {
  const IdxArray labels = read_idx(path, key);
  if (labels.dims.size() != 1)
    refuse(key, path,
           "a label file has one dimension, this one " + std::to_string(labels.dims.size()));
  if (labels.count() != samples)
    refuse(key, path,
           std::to_string(labels.count()) + " labels for " + std::to_string(samples) + " samples");
  std::vector<float> out(keep);
  for (std::size_t i = 0; i < keep; ++i) {
    const double c = labels.values[i];
    if (!(c >= 0 && c <= 255) || c != std::floor(c))
      refuse(key, path, "label " + std::to_string(i) + " is not a class 0..255");
    out[i] = static_cast<float>(task_label(task, static_cast<int>(c)));
  }
  return out;
}

}  // namespace

LabelTask parse_label_task(const std::string& text, const std::string& key) {
  LabelTask task;
  if (text == "parity") return task;
  const std::string prefix = "one_vs_rest:";
  if (text.rfind(prefix, 0) == 0) {
    const std::string c = text.substr(prefix.size());
    const bool digits =
        !c.empty() && c.size() <= 3 && c.find_first_not_of("0123456789") == std::string::npos;
    if (digits && std::stoi(c) <= 255) {
      task.kind = LabelTask::Kind::one_vs_rest;
      task.positive_class = std::stoi(c);
      return task;
    }
  }
  throw ConfigError(
      key, key + ": expected \"parity\" or \"one_vs_rest:C\" with a class C in 0..255, got \"" +
               text + "\"");
}

double task_label(const LabelTask& task, int label) {
  if (task.kind == LabelTask::Kind::parity) return label % 2 == 0 ? 1.0 : -1.0;
  return label == task.positive_class ? 1.0 : -1.0;
}

std::shared_ptr<const Dataset> load_dataset(const DataFilesSpec& spec) {
  const std::string train_key = spec.key + ".train", test_key = spec.key + ".test";
  IdxArray train = read_idx(spec.train, train_key);
  IdxArray test = read_idx(spec.test, test_key);
  if (train.dims.size() < 2)
    refuse(train_key, spec.train,
           "a file of inputs has at least two dimensions "
           "(samples x values), this one 1");
  const std::vector<std::uint32_t> shape(train.dims.begin() + 1, train.dims.end());
  if (std::vector<std::uint32_t>(test.dims.begin() + (test.dims.empty() ? 0 : 1),
                                 test.dims.end()) != shape)
    refuse(test_key, spec.test,
           "its samples have " + std::to_string(test.sample_size()) +
               " values in another shape than the training file's " +
               std::to_string(train.sample_size()));
  if (spec.test_size > test.count())
    refuse("data.test_size", spec.test,
           "data.test_size = " + std::to_string(spec.test_size) + ", but the test file holds " +
               std::to_string(test.count()) + " samples");
  standardise(train, test, spec.standardise, spec.key + ".standardise", spec.train, spec.test);

  auto data = std::make_shared<Dataset>();
  auto in = std::make_shared<InputSet>();
  in->N = static_cast<int>(train.sample_size());
  in->train_count = train.count();
  in->test_count = spec.test_size > 0 ? spec.test_size : test.count();
  in->train.assign(train.values.begin(), train.values.end());
  in->test.assign(
      test.values.begin(),
      test.values.begin() + static_cast<std::ptrdiff_t>(in->test_count * std::size_t(in->N)));
  in->source = spec.train;
  data->inputs = in;
  data->files.push_back(identity_of(spec.train, train_key));
  data->files.push_back(identity_of(spec.test, test_key));
  if (spec.labelled) {
    const std::string labels_key = spec.key + ".labels";
    in->train_labels = read_labels(spec.train_labels, labels_key + ".train", in->train_count,
                                   in->train_count, spec.task);
    in->test_labels = read_labels(spec.test_labels, labels_key + ".test", test.count(),
                                  in->test_count, spec.task);
    data->files.push_back(identity_of(spec.train_labels, labels_key + ".train"));
    data->files.push_back(identity_of(spec.test_labels, labels_key + ".test"));
  }
  return data;
}

}  // namespace tsgd
