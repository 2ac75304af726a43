// See sgd_stage.h.
#include "experiment/sgd_stage.h"

#include <algorithm>
#include <chrono>
#include <iostream>
#include <map>
#include <optional>
#include <stdexcept>

#include "cuda/cuda_engine.h"
#include "engines/cpu_engine.h"
#include "engines/split_engine.h"
#include "experiment/checkpoint.h"
#include "experiment/plan.h"
#include "experiment/progress.h"
#include "experiment/resources.h"
#include "experiment/simulation.h"

namespace tsgd {

using nlohmann::json;

EngineChoice choose_engine(const Experiment& e, Backend backend, const std::string& asked,
                           int threads) {
  EngineChoice out;
  if (backend != Backend::cpu) {
    std::string why;
    const std::vector<GpuInfo> found = list_gpus(&why);
    if (!found.empty()) {
      std::vector<std::unique_ptr<Engine>> parts;
      for (const GpuInfo& g : found) {
        CudaOptions options;
        options.device = g.index;
        options.rng_transform = engine_rng_transform(e.simulate, true);
        parts.push_back(make_cuda_engine(engine_precision(e.simulate, true), options));
        out.gpu_free_bytes.push_back(static_cast<double>(g.free_bytes));
        out.device += (out.device.empty() ? "" : "; ") + std::string("GPU ") +
                      std::to_string(g.index) + ": " + g.name;
      }
      out.engine = make_split_engine(std::move(parts));
      return out;
    }
    if (backend == Backend::cuda)
      throw std::runtime_error(
          asked + (cuda_built()
                       ? ": no usable GPU: " + why + "; use auto or cpu"
                       : ": this tsgd was built without the CUDA engine; use auto or cpu"));
    out.notice = cuda_built()
                     ? "tsgd: no usable GPU (" + why + "); running on the CPU"
                     : "tsgd: this tsgd was built without the CUDA engine; running on the CPU";
  }
  out.device = "CPU";
  out.engine = make_cpu_engine(engine_precision(e.simulate, false), threads,
                               engine_rng_transform(e.simulate, false));
  return out;
}

namespace {

// The runs still to simulate, by record schedule (N, alpha): runs of one class
// share their record steps and go to the engine together, each class ordered
// by (seed, point) so that a batch holds the runs that share a seed's draws.
struct Remaining {
  std::map<std::pair<int, double>, std::vector<RunSpec>> classes;
  double run_steps = 0;
  std::size_t runs = 0;
};

Remaining remaining_runs(const SgdStage& stage, const RunTable& complete) {
  const Experiment& e = *stage.experiment;
  const bool sharded = stage.shard_count > 0;
  const std::vector<RunSpec> all = plan_runs(e);
  const std::vector<int> shard = sharded ? shard_of_runs(e, stage.shard_count) : std::vector<int>();
  Remaining out;
  for (std::size_t i = 0; i < all.size(); ++i) {
    const RunSpec& r = all[i];
    if (sharded && shard[i] != stage.shard_index) continue;
    if (complete.has(r.point_id, r.seed)) continue;
    out.classes[{r.params.N, r.params.alpha}].push_back(r);
    out.run_steps += static_cast<double>(r.params.total_steps());
    ++out.runs;
  }
  for (auto& [key, runs] : out.classes)
    std::stable_sort(runs.begin(), runs.end(), [](const RunSpec& a, const RunSpec& b) {
      return a.seed != b.seed ? a.seed < b.seed : a.point_id < b.point_id;
    });
  return out;
}

}  // namespace

bool run_sgd_stage(const SgdStage& stage, const EngineChoice& choice, RunTable& runs,
                   ProvenanceCount& computed_by) {
  const Experiment& e = *stage.experiment;
  Engine& engine = *choice.engine;
  const SgdUnitStore store(stage.directory + "/work", e);
  // Throws naming a corrupt or foreign unit file.
  store.for_each_run([&](RunTrajectory&& t, const std::string& path) { runs.add(t, path); },
                     &computed_by);
  const json by = unit_provenance(engine.name(), choice.device, to_string(engine.precision()));
  Remaining remaining = remaining_runs(stage, runs);
  if (!stage.quiet && runs.runs() > 0)
    std::cerr << "tsgd: resuming: " << runs.runs() << " runs already complete in "
              << stage.directory << "\n";
  Progress progress(stage.quiet, remaining.run_steps, remaining.runs);
  SimulationControl control;
  control.keep_all_states = e.record.order_parameters;
  control.diverge_eg = e.simulate.diverge_eg;
  control.train_error_samples = e.record.train_error_samples;
  control.threads = stage.threads;
  control.stop = stage.stop;
  control.progress = [&](double run_steps, double alpha) { progress.add(run_steps, alpha); };
  control.final_weights = e.record.final_weights;
  const CheckpointStore checkpoints(stage.directory + "/work", e, by);
  auto last_checkpoint = std::chrono::steady_clock::now();
  if (e.simulate.checkpoint_minutes > 0)
    control.checkpoint_due = [&] {
      const std::chrono::duration<double> since =
          std::chrono::steady_clock::now() - last_checkpoint;
      return since.count() >= 60.0 * e.simulate.checkpoint_minutes;
    };
  for (auto& [key, specs] : remaining.classes) {
    const std::vector<std::int64_t> steps = record_steps(e.record, specs[0].params);
    const std::size_t capacity =
        engine_batch_capacity(engine, specs, stage.threads, choice.gpu_free_bytes);
    for (std::size_t begin = 0; begin < specs.size(); begin += capacity) {
      const std::vector<RunSpec> batch(specs.begin() + begin,
                                       specs.begin() + std::min(specs.size(), begin + capacity));
      std::vector<RunTrajectory> result;
      progress.batch_started(batch.size());
      // A checkpoint of this batch (a job killed mid-batch): continued from there.
      const std::optional<BatchState> saved = checkpoints.load(batch, steps, std::cerr);
      if (saved && !stage.quiet)
        std::cerr << "tsgd: resuming a batch of " << batch.size() << " runs from its checkpoint at "
                  << "step " << saved->step << "\n";
      control.resume = saved ? &*saved : nullptr;
      last_checkpoint = std::chrono::steady_clock::now();
      control.checkpoint = [&](const BatchState& state) {
        // A checkpoint that cannot be written (a full disk) does not stop the batch.
        try {
          checkpoints.save(batch, state);
        } catch (const std::exception& err) {
          std::cerr << "tsgd: warning: " << err.what() << "; the batch goes on without it\n";
        }
        last_checkpoint = std::chrono::steady_clock::now();
      };
      if (!simulate_batch(engine, batch, steps, control, result)) {
        progress.finish();
        return false;
      }
      store.save(batch, result, e.record.order_parameters, by);
      checkpoints.remove(batch);
      computed_by.add(by, result.size());
      progress.runs_finished(batch.size());
      const std::string unit = stage.directory + "/work/" + sgd_unit_name(batch[0], batch.size());
      for (const auto& t : result) runs.add(t, unit);
    }
  }
  progress.finish();
  // Checkpoints of batches cut otherwise than in this session (another thread
  // count or GPU memory): their runs are in units now.
  const std::size_t stale = checkpoints.remove_all();
  if (stale > 0 && !stage.quiet)
    std::cerr << "tsgd: removed " << stale << " checkpoint(s) of batches cut otherwise\n";
  return true;
}

}  // namespace tsgd
