// The configuration (experiment/config.h, config_reader.h): the
// bad-configuration corpus (each error names its key), the shipped configs,
// and the grid of a sweep.
#include <gtest/gtest.h>

#include <exception>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "experiment/config.h"
#include "experiment/config_reader.h"
#include "experiment/file_io.h"

using namespace tsgd;
namespace fs = std::filesystem;
using nlohmann::json;

TEST(Config, BadConfigurationCorpusNamesTheKey) {
  const std::string corpus = std::string(TSGD_SOURCE_DIR) + "/tests/experiment/bad_configs";
  std::istringstream expected(read_file(corpus + "/EXPECTED"));
  std::string line;
  int checked = 0;
  while (std::getline(expected, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream l(line);
    std::string file, key;
    l >> file >> key;
    const std::string path = corpus + "/" + file;
    try {
      load_experiment(path);
      ADD_FAILURE() << file << ": accepted";
    } catch (const ConfigError& e) {
      EXPECT_EQ(e.key_path(), key) << file << ": " << e.what();
      EXPECT_EQ(std::string(e.what()).rfind(path + ": " + key + ": ", 0), 0u) << e.what();
    } catch (const std::exception& e) {
      EXPECT_EQ(key, "-") << file << ": not a ConfigError: " << e.what();
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
    ++checked;
  }
  EXPECT_GE(checked, 25);
}

TEST(Config, ShippedConfigsAreValid) {
  int n = 0;
  for (const auto& entry : fs::directory_iterator(std::string(TSGD_SOURCE_DIR) + "/configs")) {
    if (entry.path().extension() != ".json") continue;
    EXPECT_NO_THROW(load_experiment(entry.path().string())) << entry.path();
    ++n;
  }
  EXPECT_GE(n, 1);
}

TEST(Config, GridIsTheCartesianProductWithTheLastKeyFastest) {
  const json config = {
      {"name", "grid"},
      {"model", {{"K", {2, 3}}, {"N", 10}}},
      {"training", {{"lr", {0.1, 0.2, 0.3}}, {"lr2", nullptr}, {"weight_decay", 0.1}}}};
  const Experiment e = parse_experiment(config);
  ASSERT_EQ(e.points.size(), 6u);
  EXPECT_EQ(e.swept, (std::vector<std::string>{"model.K", "training.lr"}));
  EXPECT_EQ(e.points[0].K, 2);
  EXPECT_EQ(e.points[2].K, 2);
  EXPECT_EQ(e.points[3].K, 3);
  EXPECT_DOUBLE_EQ(e.points[4].lr, 0.2);
  EXPECT_DOUBLE_EQ(e.points[4].lr2, 0.2);            // lr2 defaults to lr
  EXPECT_DOUBLE_EQ(e.points[4].weight_decay2, 0.1);  // weight_decay2 defaults to weight_decay
  EXPECT_EQ(e.resolved["training"]["lr"], json({0.1, 0.2, 0.3}));
  EXPECT_EQ(e.resolved["model"]["M"], 2);  // defaults are filled in
}

TEST(Config, ZippedListsAdvanceTogether) {
  // The paper's eta = 1/K (fig. S2): K and lr paired, sigma crossed with them; the
  // group takes the place of its first key (model.K) in the odometer.
  json config = {{"name", "zip"},
                 {"model", {{"K", {2, 3, 4}}, {"N", 10}}},
                 {"training", {{"lr", {0.5, 0.25, 0.125}}, {"sigma", {0.0, 0.1}}}},
                 {"zip", json::array({json::array({"model.K", "training.lr"})})}};
  const Experiment e = parse_experiment(config);
  ASSERT_EQ(e.points.size(), 6u);
  const double lr_of_k[] = {0, 0, 0.5, 0.25, 0.125};
  for (std::size_t i = 0; i < e.points.size(); ++i) {
    EXPECT_DOUBLE_EQ(e.points[i].lr, lr_of_k[e.points[i].K]) << i;
    EXPECT_DOUBLE_EQ(e.points[i].sigma, i % 2 == 0 ? 0.0 : 0.1) << i;  // sigma fastest
  }
  EXPECT_EQ(e.points[0].K, 2);
  EXPECT_EQ(e.points[5].K, 4);
  EXPECT_EQ(e.swept, (std::vector<std::string>{"model.K", "training.lr", "training.sigma"}));
  // Part of the experiment's identity when given, absent when not (or empty): a
  // configuration written before zip existed keeps its resolved form.
  EXPECT_EQ(e.resolved["zip"], config["zip"]);
  config.erase("zip");
  EXPECT_FALSE(parse_experiment(config).resolved.contains("zip"));
  EXPECT_EQ(parse_experiment(config).points.size(), 18u);
  config["zip"] = json::array();
  EXPECT_FALSE(parse_experiment(config).resolved.contains("zip"));
}

TEST(Config, TeacherInitIsResolvedOnlyAwayFromItsDefault) {
  // model.teacher_init came after results existed: a configuration without it, or
  // with its default "gaussian", keeps its resolved form (and so its fingerprint and
  // runs); "orthonormal", or a list, is part of the identity.
  json config = {{"name", "teacher"}, {"model", {{"N", 10}, {"M", 2}}}};
  const Experiment without = parse_experiment(config);
  EXPECT_FALSE(without.resolved["model"].contains("teacher_init"));
  EXPECT_EQ(without.points[0].teacher_init, TeacherInit::gaussian);
  EXPECT_FALSE(lists_teacher_init(without));
  config["model"]["teacher_init"] = "gaussian";
  EXPECT_EQ(parse_experiment(config).resolved, without.resolved);
  config["model"]["teacher_init"] = "orthonormal";
  const Experiment orthonormal = parse_experiment(config);
  EXPECT_EQ(orthonormal.resolved["model"]["teacher_init"], "orthonormal");
  EXPECT_EQ(orthonormal.points[0].teacher_init, TeacherInit::orthonormal);
  EXPECT_TRUE(lists_teacher_init(orthonormal));
  // Swept like the other model keys, in its place among them (after K).
  config["model"]["teacher_init"] = {"gaussian", "orthonormal"};
  config["model"]["K"] = {1, 2};
  const Experiment swept = parse_experiment(config);
  ASSERT_EQ(swept.points.size(), 4u);
  EXPECT_EQ(swept.swept, (std::vector<std::string>{"model.K", "model.teacher_init"}));
  EXPECT_EQ(swept.points[1].teacher_init, TeacherInit::orthonormal);
  EXPECT_EQ(swept.points[1].K, 1);
  EXPECT_EQ(swept.resolved["model"]["teacher_init"], config["model"]["teacher_init"]);
  EXPECT_TRUE(lists_teacher_init(swept));
}

TEST(Config, RngTransformResolvesPerEngineAndOnlyFastIsNamed) {
  json doc = {{"name", "t"}, {"training", {{"alpha", 1}}}};
  Experiment automatic = parse_experiment(doc);
  EXPECT_FALSE(automatic.simulate.rng_transform.has_value());
  EXPECT_EQ(engine_rng_transform(automatic.simulate, true), RngTransform::fast);
  EXPECT_EQ(engine_rng_transform(automatic.simulate, false), RngTransform::exact);
  const json before = automatic.resolved;
  EXPECT_FALSE(before["simulate"].contains("rng_transform"));
  resolve_rng_transform(automatic, RngTransform::exact);  // the CPU's: as before the key
  EXPECT_EQ(automatic.resolved, before);
  resolve_rng_transform(automatic, RngTransform::fast);  // a GPU's
  EXPECT_EQ(automatic.resolved["simulate"]["rng_transform"], "fast");
  EXPECT_EQ(automatic.simulate.rng_transform, RngTransform::fast);

  doc["simulate"] = {{"rng_transform", "fast"}};
  const Experiment fast = parse_experiment(doc);
  EXPECT_EQ(engine_rng_transform(fast.simulate, false), RngTransform::fast);
  EXPECT_EQ(fast.resolved, automatic.resolved);
  doc["simulate"] = {{"rng_transform", "exact"}};
  const Experiment exact = parse_experiment(doc);
  EXPECT_EQ(engine_rng_transform(exact.simulate, true), RngTransform::exact);
  EXPECT_EQ(exact.resolved, before);
}
