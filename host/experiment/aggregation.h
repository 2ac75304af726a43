// Statistics over seeds per grid point and record time (docs/architecture.md contract 4):
// what the result files report, computed once from the runs and ODE curves of
// a ResultSet, before any file is written.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "experiment/escapes.h"
#include "experiment/result_set.h"
#include "experiment/robust_statistics.h"
#include "experiment/statistics.h"

namespace tsgd {

inline constexpr double kBlownUpFactor = 100;

struct PointStatistics {
  std::size_t runs_begin = 0, runs_end = 0;  // the point's runs in ResultSet::runs
  std::vector<double> alpha;                 // its record times
  // Per record: eps_g over the runs that did not diverge (a diverged run is
  // excluded from every average of its point), and the runs diverged by then.
  std::vector<SampleSummary> eg;
  std::vector<RobustSummary> eg_robust;  // quartiles, median and geometric mean (same runs)
  std::vector<int> n_diverged;
  // A finite training set (data.train_size): the training error over the same runs; else empty.
  std::vector<SampleSummary> et;
  // File labels (records_class_err): the test set's class error over the same runs; else empty.
  std::vector<SampleSummary> class_err;
  std::vector<int> n_escaped;     // runs (not diverged) that escaped by then (escapes.h)
  std::size_t runs_diverged = 0;  // runs that diverged at any time
  // The point's ODE curve: the mean over its curves (one per seed, or one), NaN
  // past the record where a curve diverged; empty without ODE curves.
  std::vector<double> ode_eg;
  int ode_curves_diverged = 0;
  // eps_g averaged over the last half of training (records at alpha >=
  // alpha_final / 2), per run, then over the runs: where eps_g has settled it
  // estimates eps_g* with the fluctuations of a single record averaged out (a
  // smaller interval than the last record's); where it still falls, it lies above.
  double tail_from = 0;
  std::size_t tail_records = 0;
  SampleSummary tail;
  // Escape from the plateau (escapes.h): the threshold, each run's escape time
  // (index r - runs_begin; empty: no escape, or the run diverged), and their
  // statistics over the runs that escaped: escape times of runs that never
  // escape are censored, so these are conditional on escaping by alpha_final.
  // Runs (not diverged) whose weights blew up without eps_g diverging: at the
  // last record max_k Q_kk > kBlownUpFactor max(1, max_n T_nn) (erf at eta = 30: Q ~
  // 2e3, eps_g 0.38, every unit saturated). Their eps_g is averaged like any
  // other, but summary.json counts them and tsgd warns.
  std::size_t runs_blown_up = 0;
  double max_q_final = 0;  // the largest max_k Q_kk at the last record over those runs
  EscapeThreshold escape;
  std::vector<std::optional<double>> escape_alpha;
  std::size_t runs_escaped = 0, runs_not_escaped = 0;  // of the runs that did not diverge
  SampleSummary escape_time;
  RobustSummary escape_time_robust;
};

// Grid point P, its runs being results.runs[RUNS_BEGIN, RUNS_END) (the
// result files are written point by point: results.runs then holds one point's).
PointStatistics aggregate_point(const ResultSet& results, std::size_t p, std::size_t runs_begin,
                                std::size_t runs_end);

}  // namespace tsgd
