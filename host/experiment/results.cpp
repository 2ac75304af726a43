// See results.h.
#include "experiment/results.h"

#include <filesystem>
#include <limits>
#include <optional>
#include <sstream>

#include "experiment/file_io.h"
#include "experiment/results_h5.h"
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
  if (value.is_null()) return "";  // e.g. train_size of an online point
  return value.is_number_float() ? format_double(value.get<double>()) : value.dump();
}

}  // namespace

void write_points_csv(const std::string& dir, const Experiment& e) {
  std::ostringstream s;
  const bool teacher_init = lists_teacher_init(e), train_size = lists_train_size(e);
  // Real inputs: where each point's eps_g comes from, and its number of test rows.
  const bool source = lists_eg_source(e);
  const json first = point_json(e.points.at(0), teacher_init, train_size);
  s << "point_id";
  for (auto it = first.begin(); it != first.end(); ++it) s << "," << it.key();
  s << (source ? ",eg_source,test_samples\n" : "\n");
  for (std::size_t p = 0; p < e.points.size(); ++p) {
    s << p;
    for (const json& value : point_json(e.points[p], teacher_init, train_size))
      s << "," << csv_cell(value);
    if (source)
      s << "," << eg_source(e.points[p]) << ","
        << (test_set_eg(e.points[p]) ? std::to_string(e.points[p].inputs->test_count) : "");
    s << "\n";
  }
  write_file_atomic(dir + "/points.csv", s.str());
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

// A finite training set's columns after those of the curves (and eg_ode): et's
// statistics over the runs that eg's are over; then with file labels the class
// error's likewise.
const char* const kTrainingErrorColumns = ",et_mean,et_std,et_sem,et_lo,et_hi";
const char* const kClassErrorColumns =
    ",class_err_mean,class_err_std,class_err_sem,class_err_lo,class_err_hi";

// Which of those columns a file has.
struct ExtraColumns {
  bool et = false, class_err = false;
};

std::string summary_cells(const std::vector<SampleSummary>& of, std::size_t j) {
  if (j >= of.size()) return ",,,,,";
  const SampleSummary& t = of[j];
  std::string cells;
  for (double x : {t.mean, t.std, t.sem, t.lo, t.hi}) cells += "," + format_double(x);
  return cells;
}

std::string extra_header(bool ode, ExtraColumns extra) {
  return std::string(ode ? ",eg_ode" : "") + (extra.et ? kTrainingErrorColumns : "") +
         (extra.class_err ? kClassErrorColumns : "");
}

}  // namespace

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

namespace {

// ---- one grid point's rows of each file --------------------------------------------------

// EXTRA.et: the experiment has a finite training set, and the rows a column "et"
// (empty for an online point's runs); EXTRA.class_err likewise a last column "class_err".
std::string runs_csv_rows(const ResultSet& results, ExtraColumns extra) {
  std::ostringstream s;
  for (const RunTrajectory& t : results.runs)
    for (std::size_t j = 0; j < t.alpha.size(); ++j) {
      s << t.point_id << "," << t.seed << "," << format_double(t.alpha[j]) << ","
        << format_double(t.eg[j]) << "," << (t.diverged ? 1 : 0);
      if (extra.et) s << "," << (j < t.et.size() ? format_double(t.et[j]) : std::string());
      if (extra.class_err)
        s << "," << (j < t.class_err.size() ? format_double(t.class_err[j]) : std::string());
      s << "\n";
    }
  return s.str();
}

// Every record of RUNS (a block of a point's runs, their order parameters at every record).
std::string order_parameter_lines(const std::vector<RunTrajectory>& runs) {
  std::string lines;
  for (const RunTrajectory& t : runs) {
    const std::string seed = std::to_string(t.seed);
    for (std::size_t j = 0; j < t.alpha.size() && j < t.states.size(); ++j)
      lines += record_line_start(t.point_id, seed, t.alpha[j], t.eg[j]) + "," +
               state_line_fields(t.states[j]) + "}\n";
  }
  return lines;
}

std::string final_order_parameter_lines(const ResultSet& results) {
  std::string lines;
  for (const RunTrajectory& t : results.runs)
    if (!t.states.empty())
      lines += record_line_start(t.point_id, std::to_string(t.seed), t.alpha.back(), t.eg.back()) +
               ",\"diverged\":" + (t.diverged ? "true" : "false") + "," +
               state_line_fields(t.states.back()) + "}\n";
  return lines;
}

// EXTRA: the columns kTrainingErrorColumns, kClassErrorColumns last (empty cells
// for a point without them).
std::string curves_rows(std::size_t p, const PointStatistics& point, bool ode, ExtraColumns extra,
                        const std::string& params = "") {
  std::string rows;
  for (std::size_t j = 0; j < point.alpha.size(); ++j)
    rows += std::to_string(p) + params + "," + curve_cells(point, j, ode) +
            (extra.et ? summary_cells(point.et, j) : std::string()) +
            (extra.class_err ? summary_cells(point.class_err, j) : std::string()) + "\n";
  return rows;
}

std::string escapes_rows(const ResultSet& results, std::size_t p, const PointStatistics& point) {
  std::ostringstream s;
  for (std::size_t r = point.runs_begin; r < point.runs_end; ++r) {
    const RunTrajectory& t = results.runs[r];
    const std::optional<double>& at = point.escape_alpha[r - point.runs_begin];
    s << p << "," << t.seed << "," << (at ? format_double(*at) : std::string()) << ","
      << (t.diverged ? 1 : 0) << "," << format_double(point.escape.eg) << "\n";
  }
  return s.str();
}

// The files written point by point, each a temporary file until commit().
struct PointFiles {
  std::optional<AtomicFileWriter> runs, states;
  AtomicFileWriter finals, curves, table, escapes;
  ResultsH5 h5;
  nlohmann::json summary = nlohmann::json::array();

  PointFiles(const std::string& dir, const Experiment& e, bool ode, ExtraColumns extra)
      : finals(dir + "/final_order_parameters.jsonl"),
        curves(dir + "/curves.csv"),
        table(dir + "/table.csv"),
        escapes(dir + "/escapes.csv"),
        h5(dir, e) {
    if (e.record.runs_csv)
      runs.emplace(dir + "/runs.csv") << std::string("point_id,seed,alpha,eg,diverged") +
                                             (extra.et ? ",et" : "") +
                                             (extra.class_err ? ",class_err" : "") + "\n";
    if (e.record.jsonl && e.record.order_parameters)
      states.emplace(dir + "/order_parameters.jsonl");
    const std::string ode_column = extra_header(ode, extra);
    curves << "point_id," + std::string(kCurveColumns) + ode_column + "\n";
    // The point's training length is training_alpha here: "alpha" is the record time.
    std::string header = "point_id";
    const json first = point_json(e.points.at(0), lists_teacher_init(e), lists_train_size(e));
    for (const auto& item : first.items())
      header += "," + (item.key() == "alpha" ? std::string("training_alpha") : item.key());
    table << header + "," + kCurveColumns + ode_column + "\n";
    escapes << "point_id,seed,alpha,diverged,escape_eg\n";
  }

  void commit(const std::string& dir) {
    if (runs) runs->commit();
    if (states) states->commit();
    finals.commit();
    curves.commit();
    table.commit();
    escapes.commit();
    h5.commit();
    if (!runs) fs::remove(dir + "/runs.csv");
    if (!states) fs::remove(dir + "/order_parameters.jsonl");
  }
};

// Point P's runs from RUNS into RESULTS.runs (each with only its last order
// parameters), block by block, their trajectories written to the files that hold them.
void load_point(const RunTable& runs, int p, PointFiles& files, ResultSet& results) {
  const std::size_t block = runs.block_seeds(p);
  results.runs.clear();
  files.h5.begin_point(p, runs.runs_of_point(p), block);
  for (std::size_t begin = 0; begin < runs.seeds(); begin += block) {
    std::vector<RunTrajectory> part = runs.load(p, begin, begin + block, false);
    files.h5.add_runs(part);
    if (files.states) *files.states << order_parameter_lines(part);
    for (RunTrajectory& t : part) {
      t.states.erase(t.states.begin(), t.states.end() - 1);
      t.states.shrink_to_fit();
      results.runs.push_back(std::move(t));
    }
  }
  std::vector<const OdeCurve*> ode;
  for (const OdeCurve& c : results.ode)
    if (c.point_id == p) ode.push_back(&c);
  files.h5.end_point(ode);
}

}  // namespace

std::vector<PointStatistics> write_results(const std::string& dir, ResultSet& results,
                                           const RunTable& runs) {
  const Experiment& e = *results.experiment;
  const bool ode = !results.ode.empty();
  const bool teacher_init = lists_teacher_init(e), et = lists_train_size(e);
  const ExtraColumns extra{et, lists_class_err(e)};
  PointFiles files(dir, e, ode, extra);
  std::vector<PointStatistics> statistics;
  for (std::size_t p = 0; p < e.points.size(); ++p) {
    load_point(runs, static_cast<int>(p), files, results);
    PointStatistics s = aggregate_point(results, p, 0, results.runs.size());
    std::string params;
    for (const json& value : point_json(e.points[p], teacher_init, et))
      params += "," + csv_cell(value);
    if (files.runs) *files.runs << runs_csv_rows(results, extra);
    files.finals << final_order_parameter_lines(results);
    files.curves << curves_rows(p, s, ode, extra);
    files.table << curves_rows(p, s, ode, extra, params);
    files.escapes << escapes_rows(results, p, s);
    files.summary.push_back(summary_point(results, p, s, teacher_init));
    s.escape_alpha.clear();  // per run: the point's alone
    statistics.push_back(std::move(s));
  }
  results.runs.clear();
  write_points_csv(dir, e);
  files.commit(dir);
  write_ode_files(dir, results);
  write_summary_json(dir, e, files.summary);
  return statistics;
}

}  // namespace tsgd
