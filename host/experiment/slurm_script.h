// The two sbatch scripts of `tsgd slurm` (a job array, one shard per task, and
// the merge job that waits for it), the per-task time estimate the array is
// checked against, and the Slurm formats of their options. Only strings: the
// command (cli/slurm.cpp) writes the files and submits them.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "experiment/config.h"
#include "experiment/file_io.h"
#include "experiment/resources.h"

namespace tsgd {

// Seconds of a Slurm time limit (sbatch --time): MM, MM:SS, HH:MM:SS, D-HH,
// D-HH:MM or D-HH:MM:SS, every field after the first below 60 (hours after a
// day below 24); 0 for no limit ("0", "INFINITE", "UNLIMITED"). Throws
// std::invalid_argument saying which forms it takes.
long long parse_slurm_time(const std::string& text);

// Checks a memory size as sbatch --mem takes it: an integer and an optional
// unit K, M, G or T (M when none). Throws std::invalid_argument.
void check_slurm_memory(const std::string& text);

// Checks a name as sbatch takes it (--partition, --account, --qos): not empty,
// no blanks, quotes, '#' or line breaks. Throws std::invalid_argument.
void check_slurm_word(const std::string& text);

// Which job an sbatch line given on the command line is for.
enum class SlurmJob { array, merge };
// The option of an extra #SBATCH line (--sbatch LINE for the array,
// --merge-sbatch LINE for the merge): LINE without a leading "#SBATCH" and the
// blanks around it. Throws std::invalid_argument for a line with a line break,
// one that is no option (does not start with '-'), and one that sets what a
// flag of tsgd slurm sets or what tsgd writes itself, naming that flag (so the
// time estimate and the script agree).
std::string sbatch_option(const std::string& line, SlurmJob job);

// The merge job's time limit unless --merge-time says otherwise: it reads the
// shards' results and writes the merged files, minutes even for large sweeps.
inline constexpr const char* kDefaultMergeTime = "00:30:00";

// What the two scripts hold.
struct SlurmJobSpec {
  std::string name;       // the experiment's name
  std::string tsgd;       // absolute path of the tsgd binary
  std::string config;     // absolute path of the configuration
  std::string directory;  // absolute output directory; the scripts and logs go to DIRECTORY/slurm
  int tasks = 1;
  // The array: one line each when set (empty / 0: the cluster's default).
  std::string partition, time, account, qos, mem;
  int gpus_per_task = 0;
  int cpus_per_task = 0;
  std::vector<std::string> sbatch;  // sbatch_option()s, in order
  // The merge: no GPU; its own time (kDefaultMergeTime unless given), no --mem
  // unless merge_mem; its partition merge_partition when given (empty: the
  // cluster's default), else the array's when the array requests no GPU, else
  // the cluster's default (a partition of GPU jobs may refuse or bill a job
  // without one); its QoS merge_qos when given, else the array's; the account
  // the array's.
  std::optional<std::string> merge_partition, merge_qos;
  std::string merge_time = kDefaultMergeTime;
  std::string merge_mem;
  std::vector<std::string> merge_sbatch;
};
struct SlurmScripts {
  std::string array;
  std::string merge;
};
SlurmScripts slurm_scripts(const SlurmJobSpec& spec);

// The time of one array task: the largest of TASKS shards' SGD on GPUS GPUs,
// or with none on THREADS CPU threads (estimate_largest_shard).
struct TaskEstimate {
  ShardTime largest;
  int tasks = 1;
  int gpus = 0;
  int threads = 1;
};
TaskEstimate estimate_task(const Experiment& experiment, int tasks, int gpus, int threads);
// "about 44 days (the largest of 64 shards: 2 runs of SGD on 1 CPU thread ...)".
std::string describe(const TaskEstimate& estimate);
// The fewest tasks whose largest shard takes at most LIMIT seconds on those
// resources; 0 when none does (one run alone takes longer).
int tasks_that_fit(const Experiment& experiment, int gpus, int threads, double limit_seconds);
// Throws std::runtime_error when ESTIMATE exceeds the time limit TIME (Slurm
// format; no check without one), naming the number of tasks that would fit
// and --ignore-estimate.
void check_task_time(const Experiment& experiment, const TaskEstimate& estimate,
                     const std::string& time);

}  // namespace tsgd
