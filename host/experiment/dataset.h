// Real inputs for data.inputs (issue 16): the training and test images of IDX
// files (idx_file.h), standardised with the training set's statistics, with
// optional class labels mapped to +-1 by a task, and the size and hash of every
// file (for the manifest and the work units' fingerprint: an edited file is
// never mixed with old runs). Loaded once per process and shared, read-only, by
// every run of every grid point (the engines read inputs from it instead of
// drawing them).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/model.h"
#include "experiment/idx_file.h"

namespace tsgd {

// A classification task on the files' labels: the class parity (even: +1,
// odd: -1) or one class against the rest (class C: +1, every other: -1).
struct LabelTask {
  enum class Kind { parity, one_vs_rest } kind = Kind::parity;
  int positive_class = 0;  // one_vs_rest's C
};

// Parses "parity" or "one_vs_rest:C" (C an integer 0..255); throws ConfigError
// naming KEY otherwise.
LabelTask parse_label_task(const std::string& text, const std::string& key);

// +1 or -1 for class LABEL under TASK.
double task_label(const LabelTask& task, int label);

// What data.inputs names (paths as given, already resolved against the
// configuration's directory).
struct DataFilesSpec {
  std::string train, test;
  Standardisation standardise = Standardisation::global;
  bool labelled = false;  // data.inputs.labels given: the files' classes, not a teacher
  std::string train_labels, test_labels;
  LabelTask task;
  std::size_t test_size = 0;        // data.test_size: the first this many test samples (0: all)
  std::string key = "data.inputs";  // the key path errors name
};

// One file's identity for the manifest and the fingerprint.
struct FileIdentity {
  std::string path;
  std::uint64_t bytes = 0;
  std::string fnv1a;  // 16 hex digits of the file's bytes
};

struct Dataset {
  // The samples the engines read (core/model.h), standardised in double, then
  // stored as float (the images' 8 bits survive it; 60,000 x 784 values are 188 MB).
  std::shared_ptr<InputSet> inputs;
  // (inputs->train_labels / test_labels: the task's +-1 where labelled)
  std::vector<FileIdentity> files;  // every file read, in the order train, test, labels
};

// Reads and checks every file of SPEC: each one a readable IDX file (idx_file.h's
// errors), training and test samples of the same shape, label files
// one-dimensional with one label per sample, values finite after
// standardisation, test_size at most the test file's count. Throws ConfigError
// naming the key (SPEC.key + ".train", ".test", ".labels.train", ...,
// "data.test_size") and the file; its message starts with the key.
std::shared_ptr<const Dataset> load_dataset(const DataFilesSpec& spec);

}  // namespace tsgd
