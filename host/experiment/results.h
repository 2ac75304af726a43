// The result files of an experiment (docs/architecture.md contract 5), one writer per
// file, each written atomically from a ResultSet and its statistics:
//   points.csv                     every grid point's parameters
//   runs.csv                       every run's eps_g at every record time
//   order_parameters.jsonl         Q, R, T, v, v* of every run and record (record.order_parameters)
//   final_order_parameters.jsonl   the same at each run's last record
//   curves.csv                     statistics over seeds per point and record, with the ODE
//   table.csv                      the same rows with every parameter of the point as a column
//                                  (one tidy table: no join with points.csv)
//   escapes.csv                    every run's escape time from the plateau (escapes.h)
//   ode.csv, ode_order_parameters.jsonl   the ODE curves (when there are any)
//   summary.json                   per point: final and tail eps_g, ODE, theory (summary.h)
// The manifest is written last, by manifest.h.
#pragma once

#include <string>
#include <vector>

#include "experiment/aggregation.h"
#include "experiment/result_set.h"

namespace tsgd {

// Writes every file above but the manifest into DIRECTORY; returns the statistics
// they were written from.
std::vector<PointStatistics> write_results(const std::string& directory, const ResultSet& results);

void write_points_csv(const std::string& directory, const Experiment& e);
void write_runs_csv(const std::string& directory, const ResultSet& results);
void write_order_parameter_files(const std::string& directory, const ResultSet& results);
void write_curves_csv(const std::string& directory, const ResultSet& results,
                      const std::vector<PointStatistics>& statistics);
void write_table_csv(const std::string& directory, const ResultSet& results,
                     const std::vector<PointStatistics>& statistics);
void write_escapes_csv(const std::string& directory, const ResultSet& results,
                       const std::vector<PointStatistics>& statistics);
void write_ode_files(const std::string& directory, const ResultSet& results);

}  // namespace tsgd
