// See progress.h.
#include "experiment/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

namespace tsgd {

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

namespace {

std::string human_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  char buf[32];
  if (s < 60)
    std::snprintf(buf, sizeof buf, "%.0fs", s);
  else if (s < 3600)
    std::snprintf(buf, sizeof buf, "%dm%02ds", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
  else if (s < 48 * 3600)
    std::snprintf(buf, sizeof buf, "%dh%02dm", static_cast<int>(s) / 3600,
                  static_cast<int>(s) % 3600 / 60);
  else
    std::snprintf(buf, sizeof buf, "%.1f days", s / 86400);
  return buf;
}

}  // namespace

Progress::Progress(bool quiet, double total_run_steps, std::size_t total_runs)
    : quiet_(quiet), tty_(::isatty(2) != 0), total_(total_run_steps), runs_total_(total_runs) {}

void Progress::add(double run_steps, double alpha) {
  done_ += run_steps;
  alpha_ = alpha;
  show(false);
}

void Progress::batch_started(std::size_t n) { runs_running_ = n; }

void Progress::runs_finished(std::size_t n) {
  runs_done_ += n;
  runs_running_ = 0;
  show(true);
}

void Progress::finish() {
  if (!quiet_ && tty_ && drawn_) std::fprintf(stderr, "\n");
}

void Progress::show(bool force) {
  if (quiet_) return;
  const double now = seconds_since(start_);
  const double every = tty_ ? 0.2 : 5.0;
  if (!force && now - last_ < every) return;
  if (!tty_ && force && now - last_ < every) return;
  last_ = now;
  const double rate = done_ / std::max(now, 1e-9);
  const double eta = (total_ - done_) / std::max(rate, 1e-9);
  const double fraction = total_ > 0 ? std::min(1.0, done_ / total_) : 1.0;
  char line[200];
  if (tty_) {
    const int width = 24, filled = static_cast<int>(fraction * width);
    std::string bar(filled, '#');
    bar.resize(width, '.');
    std::snprintf(line, sizeof line,
                  "\r[%s] %3.0f%%  runs %zu/%zu done, %zu at alpha %-9.4g %.3g run-steps/s  "
                  "ETA %s   ",
                  bar.c_str(), 100 * fraction, runs_done_, runs_total_, runs_running_, alpha_, rate,
                  human_duration(eta).c_str());
    drawn_ = true;
  } else {
    std::snprintf(line, sizeof line,
                  "tsgd: %3.0f%%  runs %zu/%zu done, %zu at alpha %.4g  %.3g run-steps/s  ETA %s\n",
                  100 * fraction, runs_done_, runs_total_, runs_running_, alpha_, rate,
                  human_duration(eta).c_str());
  }
  std::fputs(line, stderr);
  std::fflush(stderr);
}

}  // namespace tsgd
