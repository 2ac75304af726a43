// See results.h.
#include "experiment/results.h"

#include <filesystem>
#include <limits>
#include <optional>
#include <sstream>

#include "experiment/file_io.h"
#include "experiment/summary.h"

namespace tsgd {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// The fields of state_json without its braces, to append to an object.
std::string state_line_fields(const OrderParameters& op) {
  std::string s = state_json(op).dump();
  return s.substr(1, s.size() - 2);
}

// The start of one JSON line of a run's record: {"point_id":..,"seed":..,"alpha":..,"eg":..
std::string record_line_start(int point_id, const std::string& seed, double alpha, double eg) {
  return "{\"point_id\":" + std::to_string(point_id) + ",\"seed\":" + seed +
         ",\"alpha\":" + json(alpha).dump() + ",\"eg\":" + json(eg).dump();
}

std::string csv_cell(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  return value.is_number_float() ? format_double(value.get<double>()) : value.dump();
}

}  // namespace

void write_points_csv(const std::string& dir, const Experiment& e) {
  std::ostringstream s;
  const bool teacher_init = lists_teacher_init(e);
  const json first = point_json(e.points.at(0), teacher_init);
  s << "point_id";
  for (auto it = first.begin(); it != first.end(); ++it) s << "," << it.key();
  s << "\n";
  for (std::size_t p = 0; p < e.points.size(); ++p) {
    s << p;
    for (const json& value : point_json(e.points[p], teacher_init)) s << "," << csv_cell(value);
    s << "\n";
  }
  write_file_atomic(dir + "/points.csv", s.str());
}

void write_runs_csv(const std::string& dir, const ResultSet& results) {
  std::ostringstream s;
  s << "point_id,seed,alpha,eg,diverged\n";
  for (const RunTrajectory& t : results.runs)
    for (std::size_t j = 0; j < t.alpha.size(); ++j)
      s << t.point_id << "," << t.seed << "," << format_double(t.alpha[j]) << ","
        << format_double(t.eg[j]) << "," << (t.diverged ? 1 : 0) << "\n";
  write_file_atomic(dir + "/runs.csv", s.str());
}

void write_order_parameter_files(const std::string& dir, const ResultSet& results) {
  const bool all = results.experiment->record.order_parameters;
  std::ostringstream states, finals;
  for (const RunTrajectory& t : results.runs) {
    const std::string seed = std::to_string(t.seed);
    if (all)
      for (std::size_t j = 0; j < t.alpha.size() && j < t.states.size(); ++j)
        states << record_line_start(t.point_id, seed, t.alpha[j], t.eg[j]) << ","
               << state_line_fields(t.states[j]) << "}\n";
    if (!t.states.empty())
      finals << record_line_start(t.point_id, seed, t.alpha.back(), t.eg.back())
             << ",\"diverged\":" << (t.diverged ? "true" : "false") << ","
             << state_line_fields(t.states.back()) << "}\n";
  }
  if (all)
    write_file_atomic(dir + "/order_parameters.jsonl", states.str());
  else
    fs::remove(dir + "/order_parameters.jsonl");
  write_file_atomic(dir + "/final_order_parameters.jsonl", finals.str());
}

namespace {

// The first eight as before the robust statistics, so that readers by position keep working.
const char* const kCurveColumns =
    "alpha,n,n_diverged,eg_mean,eg_std,eg_sem,eg_lo,eg_hi,eg_q1,eg_median,eg_q3,eg_median_lo,"
    "eg_median_hi,eg_gmean,eg_gmean_lo,eg_gmean_hi,n_escaped";

// The statistics of record J of a point, as the columns after point_id (kCurveColumns,
// then eg_ode when there are ODE curves).
std::string curve_cells(const PointStatistics& point, std::size_t j, bool ode) {
  const SampleSummary& g = point.eg[j];
  std::ostringstream s;
  s << format_double(point.alpha[j]) << "," << g.n << "," << point.n_diverged[j] << ","
    << format_double(g.mean) << "," << format_double(g.std) << "," << format_double(g.sem) << ","
    << format_double(g.lo) << "," << format_double(g.hi);
  const RobustSummary& r = point.eg_robust[j];
  for (double x : {r.q1, r.median, r.q3, r.median_lo, r.median_hi, r.gmean, r.gmean_lo, r.gmean_hi})
    s << "," << format_double(x);
  s << "," << point.n_escaped[j];
  if (ode)
    s << ","
      << format_double(point.ode_eg.empty() ? std::numeric_limits<double>::quiet_NaN()
                                            : point.ode_eg[j]);
  return s.str();
}

}  // namespace

void write_curves_csv(const std::string& dir, const ResultSet& results,
                      const std::vector<PointStatistics>& statistics) {
  const bool ode = !results.ode.empty();
  std::ostringstream s;
  s << "point_id," << kCurveColumns << (ode ? ",eg_ode" : "") << "\n";
  for (std::size_t p = 0; p < statistics.size(); ++p)
    for (std::size_t j = 0; j < statistics[p].alpha.size(); ++j)
      s << p << "," << curve_cells(statistics[p], j, ode) << "\n";
  write_file_atomic(dir + "/curves.csv", s.str());
}

void write_table_csv(const std::string& dir, const ResultSet& results,
                     const std::vector<PointStatistics>& statistics) {
  const Experiment& e = *results.experiment;
  const bool ode = !results.ode.empty();
  std::ostringstream s;
  s << "point_id";
  const bool teacher_init = lists_teacher_init(e);
  const json first = point_json(e.points.at(0), teacher_init);
  // The point's training length is training_alpha here: "alpha" is the record time.
  for (auto it = first.begin(); it != first.end(); ++it)
    s << "," << (it.key() == "alpha" ? "training_alpha" : it.key());
  s << "," << kCurveColumns << (ode ? ",eg_ode" : "") << "\n";
  for (std::size_t p = 0; p < statistics.size(); ++p) {
    std::string params;
    for (const json& value : point_json(e.points[p], teacher_init)) params += "," + csv_cell(value);
    for (std::size_t j = 0; j < statistics[p].alpha.size(); ++j)
      s << p << params << "," << curve_cells(statistics[p], j, ode) << "\n";
  }
  write_file_atomic(dir + "/table.csv", s.str());
}

void write_escapes_csv(const std::string& dir, const ResultSet& results,
                       const std::vector<PointStatistics>& statistics) {
  std::ostringstream s;
  s << "point_id,seed,alpha,diverged,escape_eg\n";
  for (std::size_t p = 0; p < statistics.size(); ++p) {
    const PointStatistics& point = statistics[p];
    for (std::size_t r = point.runs_begin; r < point.runs_end; ++r) {
      const RunTrajectory& t = results.runs[r];
      const std::optional<double>& at = point.escape_alpha[r - point.runs_begin];
      s << p << "," << t.seed << "," << (at ? format_double(*at) : std::string()) << ","
        << (t.diverged ? 1 : 0) << "," << format_double(point.escape.eg) << "\n";
    }
  }
  write_file_atomic(dir + "/escapes.csv", s.str());
}

void write_ode_files(const std::string& dir, const ResultSet& results) {
  if (results.ode.empty()) return;
  std::ostringstream csv, states;
  csv << "point_id,seed,alpha,eg,diverged\n";
  for (const OdeCurve& c : results.ode) {
    const std::string seed = c.seed ? std::to_string(*c.seed) : std::string();
    for (std::size_t j = 0; j < c.eg.size(); ++j)
      csv << c.point_id << "," << seed << "," << format_double(c.alpha[j]) << ","
          << format_double(c.eg[j]) << "," << (c.diverged ? 1 : 0) << "\n";
    // The ODE's order parameters: at every record time (record.order_parameters), else the last.
    const std::size_t first =
        c.states.size() == c.alpha.size() ? 0 : c.alpha.size() - c.states.size();
    for (std::size_t j = 0; j < c.states.size(); ++j)
      states << record_line_start(c.point_id, c.seed ? seed : "null", c.alpha[first + j],
                                  c.eg[first + j])
             << "," << state_line_fields(c.states[j]) << "}\n";
  }
  write_file_atomic(dir + "/ode.csv", csv.str());
  write_file_atomic(dir + "/ode_order_parameters.jsonl", states.str());
}

std::vector<PointStatistics> write_results(const std::string& dir, const ResultSet& results) {
  const std::vector<PointStatistics> statistics = aggregate(results);
  write_points_csv(dir, *results.experiment);
  write_runs_csv(dir, results);
  write_curves_csv(dir, results, statistics);
  write_table_csv(dir, results, statistics);
  write_escapes_csv(dir, results, statistics);
  write_order_parameter_files(dir, results);
  write_ode_files(dir, results);
  write_summary_json(dir, results, statistics);
  return statistics;
}

}  // namespace tsgd
