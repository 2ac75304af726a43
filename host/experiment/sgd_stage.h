// The SGD stage of `tsgd run`: the engine it runs on (every usable GPU, else
// the CPU), and the runs still missing from the output directory's work units,
// simulated in waves, each wave saved as a work unit as soon as it completes.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "core/engine.h"
#include "experiment/config.h"
#include "experiment/records.h"
#include "experiment/run_table.h"
#include "experiment/work_units.h"

namespace tsgd {

struct EngineChoice {
  std::unique_ptr<Engine> engine;
  std::vector<double> gpu_free_bytes;  // of each GPU used (empty: the CPU engine)
  std::string device;                  // for the manifest: "CPU" or "GPU 0: name; ..."
  std::string notice;                  // one line for the user when "auto" fell back to the CPU
};

// BACKEND: the engine asked for; ASKED_WHERE: where "cuda" came from, for the
// error when no GPU can be used ("--backend cuda", or the configuration).
// Every usable GPU (one CUDA engine each, joined by a split engine), else the
// CPU engine with THREADS threads.
EngineChoice choose_engine(const Experiment& e, Backend backend, const std::string& asked_where,
                           int threads);

struct SgdStage {
  const Experiment* experiment = nullptr;
  std::string directory;  // the output directory; the units are in DIRECTORY/work
  int threads = 1;
  bool quiet = false;
  int shard_index = -1, shard_count = 0;  // --shard I/N: only the runs of shard I
  const std::atomic<bool>* stop = nullptr;
};

// Reads the complete runs of STAGE.directory's work units into RUNS (one
// unit at a time), simulates the missing ones on ENGINE, saves each wave and
// adds it to RUNS. COMPUTED_BY gets the runs' provenance. Returns false when
// stopped (what was complete is saved). Memory: one wave.
bool run_sgd_stage(const SgdStage& stage, const EngineChoice& engine, RunTable& runs,
                   ProvenanceCount& computed_by);

}  // namespace tsgd
