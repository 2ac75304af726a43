// Checkpoints of a batch of SGD runs (simulate.checkpoint_minutes): at a
// record time, every run's weights, frozen flag and divergence bound, the
// batch's step and the records so far, so that a job killed mid-batch (SIGKILL,
// a Slurm time limit) continues from there with the results of an
// uninterrupted run (simulate_batch, BatchState; Engine::resume).
//
// One file per batch, DIR/work/checkpoint-p<point>-s<seed>-n<runs>.ckpt (the
// batch's work unit name), in the work units' format (header, one line per
// run, checksum line; weights as base64 doubles), written atomically and
// removed once the batch's unit is written. A checkpoint that is truncated or
// edited (checksum), or of another experiment, batch or engine precision, is
// removed with a one-line warning and the batch starts again: never used.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "core/model.h"
#include "experiment/config.h"
#include "experiment/simulation.h"

namespace tsgd {

class CheckpointStore {
 public:
  // WORK: the directory of the work units; BY: unit_provenance of the engine
  // (a checkpoint is used only by an engine of the same backend and precision).
  CheckpointStore(std::string work, const Experiment& e, nlohmann::json by);

  std::string path(const std::vector<RunSpec>& batch) const;
  // Writes STATE of BATCH atomically. Throws std::runtime_error naming the file.
  void save(const std::vector<RunSpec>& batch, const BatchState& state) const;
  // The state saved for BATCH (whose record steps are STEPS), or empty: none, or an unusable one
  // (removed, with the reason in one line on WARN).
  std::optional<BatchState> load(const std::vector<RunSpec>& batch,
                                 const std::vector<std::int64_t>& steps, std::ostream& warn) const;
  void remove(const std::vector<RunSpec>& batch) const;
  // Removes every checkpoint left in WORK (of batches cut differently, e.g.
  // resumed with another thread count); returns how many.
  std::size_t remove_all() const;

 private:
  BatchState parse(const std::vector<RunSpec>& batch, const std::vector<std::int64_t>& steps,
                   const std::string& file) const;

  std::string work_;
  const Experiment* e_;
  std::string fingerprint_;
  nlohmann::json by_;
};

}  // namespace tsgd
