// See recorded_inputs.h.
#include "experiment/recorded_inputs.h"

#include <algorithm>
#include <memory>

#include "experiment/config_reader.h"

namespace tsgd {

using nlohmann::json;

namespace {

bool recorded(const json& resolved, const char* section, const char* key) {
  return resolved.contains(section) && resolved[section].is_object() &&
         resolved[section].contains(key);
}

}  // namespace

void describe_recorded_inputs(Experiment& e) {
  const DataInputSettings& d = e.data;
  if (!d.files) return;
  const char* why = "missing: not a configuration written by tsgd run (config.json of results)";
  if (!recorded(e.resolved, "model", "N")) config::fail("model.N", why);
  if (!recorded(e.resolved, "data", "train_size")) config::fail("data.train_size", why);
  if (!recorded(e.resolved, "data", "test_size")) config::fail("data.test_size", why);
  auto set = std::make_shared<InputSet>();
  set->N = e.points.empty() ? 0 : e.points[0].N;
  for (const PointParams& p : e.points)
    set->train_count = std::max(set->train_count, static_cast<std::size_t>(p.train_size));
  set->test_count = d.spec.test_size;
  set->described_labels = d.spec.labelled;
  set->source = d.spec.train + ", " + d.spec.test + " (as config.json records them, not read)";
  for (PointParams& p : e.points) p.inputs = set;
}

}  // namespace tsgd
