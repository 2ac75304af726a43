// Progress of the SGD stage on stderr: a bar redrawn on a terminal, a line
// every 5 s otherwise (a log), with run-steps per second and an ETA.
#pragma once

#include <chrono>
#include <cstddef>

namespace tsgd {

using Clock = std::chrono::steady_clock;

// Seconds since T0 (stage timings of the manifest).
double seconds_since(Clock::time_point t0);

class Progress {
 public:
  Progress(bool quiet, double total_run_steps, std::size_t total_runs);
  // RUN_STEPS more done; ALPHA: where the current batch is.
  void add(double run_steps, double alpha);
  // N runs go to the engine together: they advance at once, none is done
  // before all are (shown as "N at alpha ..." beside the runs done).
  void batch_started(std::size_t n);
  void runs_finished(std::size_t n);
  void finish();

 private:
  void show(bool force);

  bool quiet_, tty_;
  double total_, done_ = 0, alpha_ = 0, last_ = 0;
  std::size_t runs_total_, runs_done_ = 0, runs_running_ = 0;
  bool drawn_ = false;
  Clock::time_point start_ = Clock::now();
};

}  // namespace tsgd
