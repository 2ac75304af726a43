// See checkpoint.h.
#include "experiment/checkpoint.h"

#include <filesystem>
#include <stdexcept>

#include "experiment/file_io.h"
#include "experiment/work_units.h"

namespace tsgd {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// What must match for a checkpoint to be used by this engine.
json engine_of(const json& by) {
  return json{{"backend", by.value("backend", "")}, {"precision", by.value("precision", "")}};
}

}  // namespace

CheckpointStore::CheckpointStore(std::string work, const Experiment& e, json by)
    : work_(std::move(work)),
      e_(&e),
      fingerprint_(experiment_fingerprint(e.resolved)),
      by_(std::move(by)) {}

std::string CheckpointStore::path(const std::vector<RunSpec>& batch) const {
  return work_ + "/" + checkpoint_name(batch.at(0), batch.size());
}

void CheckpointStore::save(const std::vector<RunSpec>& batch, const BatchState& state) const {
  std::vector<json> records;
  records.reserve(state.runs.size());
  for (std::size_t r = 0; r < state.runs.size(); ++r) {
    json j = trajectory_json(state.runs[r], e_->record.order_parameters);
    j["cw"] = doubles_base64(state.weights[r].w);
    j["cv"] = doubles_base64(state.weights[r].v);
    j["live"] = state.live[r] != 0;
    j["bound"] = state.bound[r];
    records.push_back(std::move(j));
  }
  const json header{{"unit", "checkpoint"},     {"format", 1},        {"runs", state.runs.size()},
                    {"records", state.records}, {"step", state.step}, {"engine", engine_of(by_)}};
  make_directories(work_);
  write_work_unit(path(batch), fingerprint_, header, records);
}

BatchState CheckpointStore::parse(const std::vector<RunSpec>& batch,
                                  const std::vector<std::int64_t>& steps,
                                  const std::string& file) const {
  BatchState state;
  json header;
  read_work_unit(file, fingerprint_, &header, [&](json&& j) {
    const std::size_t r = state.runs.size();
    if (r >= batch.size()) throw std::runtime_error("more runs than the batch");
    RunTrajectory t = trajectory_from_json(j, *e_, file);
    if (t.point_id != batch[r].point_id || t.seed != batch[r].seed)
      throw std::runtime_error("the runs of another batch");
    InitialWeights w;
    w.w = doubles_from_base64(j.at("cw").get<std::string>(), file);
    w.v = doubles_from_base64(j.at("cv").get<std::string>(), file);
    const PointParams& p = batch[r].params;
    if (w.w.size() != static_cast<std::size_t>(p.K) * p.N ||
        w.v.size() != static_cast<std::size_t>(p.K))
      throw std::runtime_error("weights of another shape");
    state.weights.push_back(std::move(w));
    state.live.push_back(j.at("live").get<bool>() ? 1 : 0);
    state.bound.push_back(number_or_nan(j.at("bound")));
    state.runs.push_back(std::move(t));
  });
  if (header.value("unit", "") != "checkpoint" || header.value("format", 0) != 1)
    throw std::runtime_error("not a checkpoint of this tsgd");
  if (header.at("engine") != engine_of(by_))
    throw std::runtime_error("written by another engine (" + header["engine"].dump() + ")");
  if (state.runs.size() != batch.size()) throw std::runtime_error("the runs of another batch");
  state.records = header.at("records").get<std::size_t>();
  state.step = header.at("step").get<std::int64_t>();
  if (state.records == 0 || state.records >= steps.size() || !checkpoint_step(state, steps))
    throw std::runtime_error("not at one of the batch's record times");
  for (const RunTrajectory& t : state.runs)
    if (t.alpha.size() > state.records || t.states.empty())
      throw std::runtime_error("more records than its step");
  return state;
}

std::optional<BatchState> CheckpointStore::load(const std::vector<RunSpec>& batch,
                                                const std::vector<std::int64_t>& steps,
                                                std::ostream& warn) const {
  const std::string file = path(batch);
  if (!file_exists(file)) return std::nullopt;
  try {
    return parse(batch, steps, file);
  } catch (const std::exception& err) {
    std::string what = err.what();
    what = what.substr(0, what.find("; delete it"));  // corrupt_work_unit's advice
    // read_work_unit's messages name the file already.
    warn << "tsgd: warning: ignoring the checkpoint "
         << (what.compare(0, file.size(), file) == 0 ? what : file + " (" + what + ")")
         << "; its batch starts again\n";
  }
  std::error_code ignored;
  fs::remove(file, ignored);
  return std::nullopt;
}

void CheckpointStore::remove(const std::vector<RunSpec>& batch) const {
  std::error_code ignored;
  fs::remove(path(batch), ignored);
}

std::size_t CheckpointStore::remove_all() const {
  std::size_t removed = 0;
  std::error_code ignored;
  if (!fs::exists(work_)) return 0;
  for (const auto& entry : fs::directory_iterator(work_))
    if (is_checkpoint_name(entry.path().filename().string()) && fs::remove(entry.path(), ignored))
      ++removed;
  return removed;
}

}  // namespace tsgd
