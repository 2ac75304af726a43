// `tsgd slurm`: an sbatch job-array script (one shard per array task) and a
// merge job that depends on the whole array (afterok), optionally submitted.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>

#include "experiment/config.h"

namespace tsgd {

struct SlurmOptions {
  int tasks = 1;
  std::string partition;       // empty: the cluster's default
  std::string time;            // empty: the partition's default
  int gpus_per_task = -1;      // -1: 1 when the experiment may use a GPU and CUDA is built, else 0
  int cpus_per_task = 0;       // 0: not requested
  bool submit = false;
  std::optional<std::string> output;
};

// Writes DIR/slurm/array.sbatch and DIR/slurm/merge.sbatch; with submit, runs
// sbatch for both (the merge with --dependency=afterok:<array job>) and prints
// the job ids. `config_path` and the tsgd binary are written as absolute paths.
int write_slurm_jobs(const Experiment& e, const std::string& config_path, const SlurmOptions& options,
                     std::ostream& out);

}  // namespace tsgd
