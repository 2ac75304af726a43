// The sbatch scripts of `tsgd slurm`, the per-task estimate and the Slurm
// formats of their options. See slurm_script.h.
#include "experiment/slurm_script.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <numeric>
#include <stdexcept>

#include "experiment/file_io.h"

namespace tsgd {

namespace {

// Digits only, at least one.
bool all_digits(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

std::vector<std::string> split(const std::string& s, char separator) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (std::size_t at; (at = s.find(separator, start)) != std::string::npos; start = at + 1)
    parts.push_back(s.substr(start, at - start));
  parts.push_back(s.substr(start));
  return parts;
}

// FIELDS as seconds: the first field in units of UNITS[0] (any size), each
// next one in UNITS[i] and below LIMITS[i]; -1 when a field is not a number
// or out of range.
long long time_fields(const std::vector<std::string>& fields, const std::vector<long long>& units,
                      const std::vector<long long>& limits) {
  long long seconds = 0;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (!all_digits(fields[i]) || fields[i].size() > 9) return -1;
    const long long value = std::stoll(fields[i]);
    if (i > 0 && value >= limits[i]) return -1;
    seconds += value * units[i];
  }
  return seconds;
}

// The options that tsgd slurm writes itself or sets with a flag of its own,
// by long name, with the flag to use instead ("" when tsgd writes it itself).
// Their one-letter forms follow.
const std::map<std::string, std::string>& reserved_options(SlurmJob job) {
  static const std::map<std::string, std::string> array{{"job-name", ""},
                                                        {"output", ""},
                                                        {"ntasks", ""},
                                                        {"array", ""},
                                                        {"dependency", ""},
                                                        {"partition", "--partition"},
                                                        {"time", "--time"},
                                                        {"account", "--account"},
                                                        {"qos", "--qos"},
                                                        {"mem", "--mem"},
                                                        {"gpus", "--gpus-per-task"},
                                                        {"gpus-per-task", "--gpus-per-task"},
                                                        {"cpus-per-task", "--cpus-per-task"}};
  static const std::map<std::string, std::string> merge{
      {"job-name", ""},         {"output", ""},
      {"ntasks", ""},           {"array", ""},
      {"dependency", ""},       {"partition", "--merge-partition"},
      {"time", "--merge-time"}, {"account", "--account"},
      {"qos", "--merge-qos"},   {"mem", "--merge-mem"}};
  return job == SlurmJob::array ? array : merge;
}

const std::map<char, std::string> kShortOptions{
    {'J', "job-name"},   {'o', "output"},    {'n', "ntasks"},       {'a', "array"},
    {'d', "dependency"}, {'p', "partition"}, {'t', "time"},         {'A', "account"},
    {'q', "qos"},        {'G', "gpus"},      {'c', "cpus-per-task"}};

// The long name of OPTION ("--time=1:00" -> "time", "-t 60" -> "time"); "" for
// a one-letter option tsgd does not reserve.
std::string option_name(const std::string& option) {
  if (option.rfind("--", 0) == 0) return option.substr(2, option.find_first_of("= \t", 2) - 2);
  const auto it = kShortOptions.find(option.size() > 1 ? option[1] : '\0');
  return it == kShortOptions.end() ? "" : it->second;
}

}  // namespace

long long parse_slurm_time(const std::string& text) {
  std::string upper = text;
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  if (upper == "INFINITE" || upper == "UNLIMITED") return 0;
  long long seconds = -1;
  const std::size_t dash = text.find('-');
  if (dash == std::string::npos) {
    const std::vector<std::string> f = split(text, ':');
    if (f.size() == 1) seconds = time_fields(f, {60}, {0});
    if (f.size() == 2) seconds = time_fields(f, {60, 1}, {0, 60});
    if (f.size() == 3) seconds = time_fields(f, {3600, 60, 1}, {0, 60, 60});
  } else {
    std::vector<std::string> f = split(text.substr(dash + 1), ':');
    f.insert(f.begin(), text.substr(0, dash));
    if (f.size() <= 4) seconds = time_fields(f, {86400, 3600, 60, 1}, {0, 24, 60, 60});
  }
  if (seconds < 0)
    throw std::invalid_argument(
        "expected a Slurm time (MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, "
        "D-HH:MM:SS or UNLIMITED), got '" +
        text + "'");
  return seconds;
}

void check_slurm_memory(const std::string& text) {
  std::string digits = text;
  if (!digits.empty() && std::string("KMGTkmgt").find(digits.back()) != std::string::npos)
    digits.pop_back();
  if (!all_digits(digits))
    throw std::invalid_argument(
        "expected a size as sbatch --mem takes it (an integer with an optional unit K, M, G or "
        "T, M by default: 4G, 4000M), got '" +
        text + "'");
}

void check_slurm_word(const std::string& text) {
  if (text.empty() || text.find_first_of(" \t\r\n'\"#\\") != std::string::npos)
    throw std::invalid_argument(
        "expected a Slurm name without blanks, quotes, '#' or line "
        "breaks, got '" +
        text + "'");
}

std::string sbatch_option(const std::string& line, SlurmJob job) {
  if (line.find_first_of("\r\n") != std::string::npos)
    throw std::invalid_argument("expected one #SBATCH line, got a line break");
  std::string option = line;
  const auto trim = [&option] {
    option.erase(0, option.find_first_not_of(" \t"));
    option.erase(option.find_last_not_of(" \t") + 1);
  };
  trim();
  if (option.rfind("#SBATCH", 0) == 0) option.erase(0, 7);
  trim();
  if (option.size() < 2 || option[0] != '-')
    throw std::invalid_argument(
        "expected an sbatch option such as --constraint=a100 or \"#SBATCH --constraint=a100\", "
        "got '" +
        line + "'");
  const auto reserved = reserved_options(job).find(option_name(option));
  if (reserved != reserved_options(job).end())
    throw std::invalid_argument(
        option + ": " +
        (reserved->second.empty()
             ? std::string("tsgd slurm writes --") + reserved->first + " itself"
             : "set it with " + reserved->second + " instead"));
  return option;
}

namespace {

// The lines both scripts start with; each resource line only when it is set.
std::string script_header(const SlurmJobSpec& spec, const std::string& job, const std::string& log,
                          const std::string& partition, const std::string& time,
                          const std::string& qos, const std::string& mem) {
  std::string h = "#!/bin/bash\n";
  h += "#SBATCH --job-name=" + job + "\n";
  h += "#SBATCH --output=" + spec.directory + "/slurm/" + log + "\n";
  h += "#SBATCH --ntasks=1\n";
  const auto line = [&h](const char* option, const std::string& value) {
    if (!value.empty()) h += std::string("#SBATCH --") + option + "=" + value + "\n";
  };
  line("partition", partition);
  line("time", time);
  line("account", spec.account);
  line("qos", qos);
  line("mem", mem);
  return h;
}

std::string extra_lines(const std::vector<std::string>& options) {
  std::string lines;
  for (const std::string& option : options) lines += "#SBATCH " + option + "\n";
  return lines;
}

std::string array_script(const SlurmJobSpec& spec) {
  const std::string slurm_dir = spec.directory + "/slurm";
  std::string s = script_header(spec, "tsgd-" + spec.name, "shard-%a.log", spec.partition,
                                spec.time, spec.qos, spec.mem);
  s += "#SBATCH --array=0-" + std::to_string(spec.tasks - 1) + "\n";
  if (spec.gpus_per_task > 0)
    s += "#SBATCH --gpus-per-task=" + std::to_string(spec.gpus_per_task) + "\n";
  if (spec.cpus_per_task > 0)
    s += "#SBATCH --cpus-per-task=" + std::to_string(spec.cpus_per_task) + "\n";
  s += extra_lines(spec.sbatch);
  s += "# One shard of " + spec.name + " per array task; a rerun task resumes its shard.\n";
  s += "# Rerun failed tasks alone with: sbatch --array=I[,J...] " + slurm_dir + "/array.sbatch\n";
  s += "# (the shard count is fixed here, not read from the array's size).\n";
  s += "set -euo pipefail\n";
  s += "exec " + shell_quote(spec.tsgd) + " run " + shell_quote(spec.config) + " --output " +
       shell_quote(spec.directory) + " --shard \"${SLURM_ARRAY_TASK_ID}/" +
       std::to_string(spec.tasks) + "\" --threads \"${SLURM_CPUS_PER_TASK:-0}\" --quiet\n";
  return s;
}

std::string merge_script(const SlurmJobSpec& spec) {
  const std::string partition = spec.merge_partition
                                    ? *spec.merge_partition
                                    : (spec.gpus_per_task > 0 ? std::string() : spec.partition);
  std::string s = script_header(spec, "tsgd-" + spec.name + "-merge", "merge.log", partition,
                                spec.merge_time, spec.merge_qos.value_or(spec.qos), spec.merge_mem);
  s += extra_lines(spec.merge_sbatch);
  s += "# Joins the shards of " + spec.name +
       " (submitted with --dependency=afterok:<array job>); no GPU.\n";
  s += "set -euo pipefail\n";
  s += "exec " + shell_quote(spec.tsgd) + " merge " + shell_quote(spec.directory) + "\n";
  return s;
}

std::string on_what(int gpus, int threads) {
  if (gpus > 0) return std::to_string(gpus) + (gpus == 1 ? " GPU" : " GPUs");
  return std::to_string(threads) + (threads == 1 ? " CPU thread" : " CPU threads");
}

// What the estimate rests on, and in which direction it may be off.
std::string assumption(int gpus) {
  return gpus > 0 ? "with each GPU taken as an NVIDIA H200 at the CUDA engine's target speed, "
                    "not yet measured and maybe optimistic"
                  : "by the CPU engine's rule, which may be ~3x pessimistic";
}

}  // namespace

SlurmScripts slurm_scripts(const SlurmJobSpec& spec) {
  return {array_script(spec), merge_script(spec)};
}

TaskEstimate estimate_task(const Experiment& e, int tasks, int gpus, int threads) {
  TaskEstimate t;
  t.tasks = tasks;
  t.gpus = gpus;
  t.threads = std::max(1, threads);
  t.largest = estimate_largest_shard(e, tasks, t.gpus, t.threads);
  return t;
}

std::string describe(const TaskEstimate& t) {
  if (t.largest.runs == 0) return "no SGD runs (the ODE's time is not estimated)";
  const std::string runs =
      std::to_string(t.largest.runs) + (t.largest.runs == 1 ? " run" : " runs") + " of SGD";
  const std::string which =
      t.tasks == 1 ? "the one shard, " : "the largest of " + std::to_string(t.tasks) + " shards, ";
  return "about " + format_duration(t.largest.seconds) + " (estimate: " + which + runs + " on " +
         on_what(t.gpus, t.threads) + ", " + assumption(t.gpus) + "; the ODE not counted)";
}

int tasks_that_fit(const Experiment& e, int gpus, int threads, double limit) {
  const std::vector<double> runs = estimate_run_seconds(e, gpus, threads);
  if (runs.empty() || *std::max_element(runs.begin(), runs.end()) > limit) return 0;
  const double total = std::accumulate(runs.begin(), runs.end(), 0.0);
  const int count = static_cast<int>(runs.size());
  const auto fits = [&](int n) {
    return estimate_largest_shard(e, n, gpus, threads).seconds <= limit;
  };
  // No fewer than the total over the limit; a few counts from there (the
  // usual answer), then bisection up to one run per task, which fits.
  int below = std::clamp(static_cast<int>(std::ceil(total / limit)), 1, count) - 1;
  for (int n = below + 1; n <= std::min(below + 4, count); ++n)
    if (fits(n)) return n;
  below = std::min(below + 4, count);
  int fitting = count;
  while (fitting - below > 1) {
    const int middle = below + (fitting - below) / 2;
    (fits(middle) ? fitting : below) = middle;
  }
  return fitting;
}

void check_task_time(const Experiment& e, const TaskEstimate& t, const std::string& time) {
  if (time.empty()) return;
  const long long limit = parse_slurm_time(time);
  if (limit == 0 || t.largest.seconds <= static_cast<double>(limit)) return;
  std::string message = "each array task would need about " + format_duration(t.largest.seconds) +
                        " on " + on_what(t.gpus, t.threads) + " (the largest of " +
                        std::to_string(t.tasks) + " shards), more than --time " + time + " (" +
                        format_duration(static_cast<double>(limit)) + "); ";
  const std::string more =
      t.gpus > 0 ? "more GPUs per task (--gpus-per-task)" : "more CPUs per task (--cpus-per-task)";
  const int fit = tasks_that_fit(e, t.gpus, t.threads, static_cast<double>(limit));
  if (fit == 0) {
    const std::vector<double> runs = estimate_run_seconds(e, t.gpus, t.threads);
    message += "no number of tasks fits: one run alone would take about " +
               format_duration(*std::max_element(runs.begin(), runs.end())) +
               "; ask for a longer --time or " + more + ", or lower training.alpha or model.N";
  } else {
    const TaskEstimate then = estimate_task(e, fit, t.gpus, t.threads);
    message += std::to_string(fit) + " tasks would fit (--tasks " + std::to_string(fit) +
               ": about " + format_duration(then.largest.seconds) + " each" +
               (fit > 1001 ? ", more than Slurm's default MaxArraySize of 1001" : "") +
               "), or ask for " + more;
  }
  message += "; the estimate is made " + assumption(t.gpus) +
             ": --ignore-estimate writes the scripts anyway";
  throw std::runtime_error(message);
}

}  // namespace tsgd
