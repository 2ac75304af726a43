// The result files of an experiment (docs/architecture.md contract 5), each
// written atomically:
//   points.csv                     every grid point's parameters
//   runs.csv                       every run's eps_g at every record time (unless record.runs_csv
//                                  is false)
//   results.h5                     every run's eps_g and order parameters, the ODE curves
//                                  (results_h5.h)
//   order_parameters.jsonl         Q, R, T, v, v* of every run and record (record.jsonl, with
//                                  record.order_parameters)
//   final_order_parameters.jsonl   the same at each run's last record
//   curves.csv                     statistics over seeds per point and record, with the ODE
//   table.csv                      the same rows with every parameter of the point as a column
//                                  (one tidy table: no join with points.csv)
//   escapes.csv                    every run's escape time from the plateau (escapes.h)
//   ode.csv, ode_order_parameters.jsonl   the ODE curves (when there are any)
//   summary.json                   per point: final and tail eps_g, ODE, theory (summary.h)
// The files that grow with the runs are written point by point from a
// RunTable, so memory holds one grid point's eps_g curves and one block of
// its order parameters, not the experiment. The manifest is written last, by manifest.h.
#pragma once

#include <string>
#include <vector>

#include "experiment/aggregation.h"
#include "experiment/result_set.h"
#include "experiment/run_table.h"

namespace tsgd {

// Writes every file above but the manifest into DIRECTORY from RESULTS (its
// ODE curves and theory; its runs are replaced by each point's in turn, and
// left empty) and the runs of RUNS; returns the statistics the files were
// written from (without the per-run escape times).
std::vector<PointStatistics> write_results(const std::string& directory, ResultSet& results,
                                           const RunTable& runs);

void write_points_csv(const std::string& directory, const Experiment& e);
void write_ode_files(const std::string& directory, const ResultSet& results);

}  // namespace tsgd
