// Real inputs (experiment/dataset.h): loading and checking train/test files,
// class labels under a task, file identities; and Fashion-MNIST as
// scripts/setup.sh installs it (dataset-fashion-mnist).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "experiment/config_error.h"
#include "experiment/dataset.h"
#include "experiment/file_io.h"
#include "tests/support/idx_files.h"
#include "tests/support/test_util.h"

using namespace tsgd;
using tsgd::testing::temp_dir;
using tsgd::testing::write_idx;

namespace {

// 4 training and 3 test samples of 2 x 2 pixels, labels 0..9.
DataFilesSpec small_files(const std::string& dir) {
  write_idx(dir + "/train", {4, 2, 2}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15});
  write_idx(dir + "/test", {3, 2, 2}, {1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3});
  write_idx(dir + "/train_labels", {4}, {0, 1, 2, 7});
  write_idx(dir + "/test_labels", {3}, {7, 8, 9});
  DataFilesSpec spec;
  spec.train = dir + "/train";
  spec.test = dir + "/test";
  spec.train_labels = dir + "/train_labels";
  spec.test_labels = dir + "/test_labels";
  return spec;
}

std::string key_of_error(const DataFilesSpec& spec) {
  try {
    load_dataset(spec);
  } catch (const ConfigError& e) {
    return e.key_path();
  }
  return "(no error)";
}

}  // namespace

TEST(Dataset, LabelTasks) {
  EXPECT_EQ(task_label(parse_label_task("parity", "k"), 4), 1.0);
  EXPECT_EQ(task_label(parse_label_task("parity", "k"), 7), -1.0);
  const LabelTask three = parse_label_task("one_vs_rest:3", "k");
  EXPECT_EQ(task_label(three, 3), 1.0);
  EXPECT_EQ(task_label(three, 4), -1.0);
  for (const char* bad : {"", "odd", "one_vs_rest:", "one_vs_rest:256", "one_vs_rest:-1",
                          "one_vs_rest:1x", "one_vs_rest:1000"}) {
    try {
      parse_label_task(bad, "data.inputs.labels.task");
      ADD_FAILURE() << "accepted \"" << bad << "\"";
    } catch (const ConfigError& e) {
      EXPECT_EQ(e.key_path(), "data.inputs.labels.task");
      EXPECT_NE(std::string(e.what()).find("one_vs_rest:C"), std::string::npos);
    }
  }
}

TEST(Dataset, LoadsStandardisesLabelsAndIdentifiesFiles) {
  const std::string dir = temp_dir("dataset_small");
  DataFilesSpec spec = small_files(dir);
  spec.labelled = true;
  spec.task = parse_label_task("one_vs_rest:7", "k");
  spec.test_size = 2;
  const auto data = load_dataset(spec);
  ASSERT_EQ(data->inputs->N, 4);
  EXPECT_EQ(data->inputs->train_count, 4u);
  EXPECT_EQ(data->inputs->test_count, 2u);  // data.test_size
  ASSERT_EQ(data->inputs->train.size(), 16u);
  ASSERT_EQ(data->inputs->test.size(), 8u);
  // Global standardisation of 0..15: mean 7.5, variance 21.25 (population). The
  // stored floats carry float rounding: 1e-6 relative.
  double mean = 0, square = 0;
  for (float x : data->inputs->train) mean += x / 16.0;
  for (float x : data->inputs->train) square += x * x / 16.0;
  EXPECT_NEAR(mean, 0, 1e-6);
  EXPECT_NEAR(square, 1, 1e-6);
  EXPECT_NEAR(data->inputs->test_row(1)[0], (2 - 7.5) / std::sqrt(21.25), 1e-6);
  EXPECT_EQ(data->inputs->train_labels, (std::vector<float>{-1, -1, -1, 1}));
  EXPECT_EQ(data->inputs->test_labels, (std::vector<float>{1, -1}));
  ASSERT_EQ(data->files.size(), 4u);
  EXPECT_EQ(data->files[0].path, spec.train);
  EXPECT_EQ(data->files[0].bytes, 16u + 16u);  // header of 3 dimensions + 16 pixels
  EXPECT_EQ(data->files[0].fnv1a, fnv1a_file_hex(spec.train));
  EXPECT_NE(data->files[0].fnv1a, data->files[1].fnv1a);
}

TEST(Dataset, BadFilesNameTheirKey) {
  const std::string dir = temp_dir("dataset_bad");
  DataFilesSpec spec = small_files(dir);
  spec.labelled = true;
  {  // test samples of another shape
    write_idx(dir + "/test3", {2, 3}, {1, 2, 3, 4, 5, 6});
    DataFilesSpec s = spec;
    s.test = dir + "/test3";
    EXPECT_EQ(key_of_error(s), "data.inputs.test");
  }
  {  // a label file that is not one-dimensional
    DataFilesSpec s = spec;
    s.train_labels = spec.train;
    EXPECT_EQ(key_of_error(s), "data.inputs.labels.train");
  }
  {  // fewer labels than samples
    write_idx(dir + "/short_labels", {2}, {1, 2});
    DataFilesSpec s = spec;
    s.test_labels = dir + "/short_labels";
    EXPECT_EQ(key_of_error(s), "data.inputs.labels.test");
  }
  {  // a missing file
    DataFilesSpec s = spec;
    s.train = dir + "/nothing_here";
    EXPECT_EQ(key_of_error(s), "data.inputs.train");
  }
  {  // inputs of one dimension
    DataFilesSpec s = spec;
    s.train = spec.train_labels;
    EXPECT_EQ(key_of_error(s), "data.inputs.train");
  }
  {  // constant training inputs: global standardisation divides by 0
    write_idx(dir + "/flat", {2, 2, 2}, {5, 5, 5, 5, 5, 5, 5, 5});
    DataFilesSpec s = spec;
    s.labelled = false;
    s.train = dir + "/flat";
    EXPECT_EQ(key_of_error(s), "data.inputs.standardise");
  }
}

// Fashion-MNIST as Debian's dataset-fashion-mnist installs it (scripts/setup.sh).
TEST(Dataset, FashionMnistPerPixel) {
  const std::string root = "/usr/share/datasets/fashion-mnist/";
  if (!std::filesystem::exists(root + "train-images-idx3-ubyte.gz"))
    GTEST_SKIP() << "dataset-fashion-mnist is not installed (scripts/setup.sh installs it)";
  DataFilesSpec spec;
  spec.train = root + "train-images-idx3-ubyte.gz";
  spec.test = root + "t10k-images-idx3-ubyte.gz";
  spec.standardise = Standardisation::per_pixel;
  spec.labelled = true;
  spec.train_labels = root + "train-labels-idx1-ubyte.gz";
  spec.test_labels = root + "t10k-labels-idx1-ubyte.gz";
  spec.task = parse_label_task("one_vs_rest:9", "k");  // ankle boots
  spec.test_size = 1000;
  const auto data = load_dataset(spec);
  EXPECT_EQ(data->inputs->N, 784);
  EXPECT_EQ(data->inputs->train_count, 60000u);
  EXPECT_EQ(data->inputs->test_count, 1000u);
  // Per pixel: every pixel's training mean 0 and variance 1, or all 0 where the
  // pixel never varies. Sums of 60,000 floats in double: 1e-4 absolute is far
  // above their rounding (float storage, 6e-8 relative a value).
  int constant = 0;
  for (int j = 0; j < data->inputs->N; ++j) {
    double mean = 0, square = 0;
    for (std::size_t i = 0; i < data->inputs->train_count; ++i) {
      const double x = data->inputs->train_row(i)[j];
      mean += x;
      square += x * x;
    }
    mean /= static_cast<double>(data->inputs->train_count);
    square /= static_cast<double>(data->inputs->train_count);
    EXPECT_NEAR(mean, 0, 1e-4) << "pixel " << j;
    if (square == 0)
      ++constant;
    else
      EXPECT_NEAR(square, 1, 1e-4) << "pixel " << j;
  }
  EXPECT_LT(constant, 784 / 10);
  // Ten balanced classes: one class against the rest is +1 for a tenth of them.
  double positive = 0;
  for (float y : data->inputs->train_labels) positive += y > 0;
  EXPECT_EQ(positive, 6000);
}
