// See summary.h.
#include "experiment/summary.h"

#include <filesystem>
#include <iomanip>
#include <ostream>
#include <sstream>

#include "experiment/file_io.h"

namespace tsgd {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

json interval_json(const SampleSummary& s) {
  return json{{"mean", s.mean}, {"std", s.std}, {"sem", s.sem}, {"lo", s.lo}, {"hi", s.hi}};
}

// The mean's interval and the robust statistics of the same sample, in one object.
json distribution_json(const SampleSummary& s, const RobustSummary& r) {
  json j = interval_json(s);
  j.update(json{{"q1", r.q1},
                {"median", r.median},
                {"q3", r.q3},
                {"median_lo", r.median_lo},
                {"median_hi", r.median_hi},
                {"gmean", r.gmean},
                {"gmean_lo", r.gmean_lo},
                {"gmean_hi", r.gmean_hi}});
  return j;
}

json escape_json(const PointStatistics& s) {
  return json{{"eg_threshold", s.escape.eg},
              {"threshold_from", s.escape.from},
              {"runs_escaped", s.runs_escaped},
              {"runs_not_escaped", s.runs_not_escaped},
              {"alpha", distribution_json(s.escape_time, s.escape_time_robust)}};
}

json theory_json(const TheoryReport& report) {
  json holds = json::array(), skipped = json::array();
  for (const TheoryPrediction& t : report.holds)
    holds.push_back(
        {{"formula", t.formula}, {"eg", t.eg}, {"exact", t.exact}, {"conditions", t.conditions}});
  for (const TheorySkipped& t : report.skipped)
    skipped.push_back({{"formula", t.formula}, {"failed", t.failed}});
  return json{{"theory", holds}, {"theory_skipped", skipped}};
}

json ode_json(const ResultSet& results, int point, const PointStatistics& s) {
  json reasons = json::array();
  for (const auto& c : results.ode)
    if (c.point_id == point && c.diverged)
      reasons.push_back({{"seed", c.seed ? json(*c.seed) : json(nullptr)},
                         {"alpha", c.diverged_alpha},
                         {"reason", c.diverged_reason}});
  return json{{"eg_final", s.ode_eg.back()},
              {"diverged_curves", s.ode_curves_diverged},
              {"diverged", reasons}};
}

}  // namespace

json summary_point(const ResultSet& results, std::size_t p, const PointStatistics& s,
                   bool teacher_init) {
  json diverged_runs = json::array();
  for (std::size_t r = s.runs_begin; r < s.runs_end; ++r) {
    const RunTrajectory& t = results.runs[r];
    if (t.diverged) diverged_runs.push_back({{"seed", t.seed}, {"alpha", t.diverged_alpha}});
  }
  json tail = interval_json(s.tail);
  tail["alpha_from"] = s.tail_from;
  tail["records"] = s.tail_records;
  json point{{"point_id", p},
             {"params", point_json(results.experiment->points[p], teacher_init,
                                   lists_train_size(*results.experiment))},
             {"alpha_final", s.alpha.back()},
             {"runs", s.runs_end - s.runs_begin},
             {"n", s.eg.back().n},
             {"n_diverged", s.runs_diverged},
             {"eg_final", distribution_json(s.eg.back(), s.eg_robust.back())},
             {"eg_tail", tail},
             {"escape", escape_json(s)},
             {"runs_blown_up", s.runs_blown_up},
             {"diverged_runs", diverged_runs}};
  if (!s.ode_eg.empty()) point["ode"] = ode_json(results, static_cast<int>(p), s);
  if (!s.et.empty()) {  // a finite training set (data.train_size)
    point["et_final"] = interval_json(s.et.back());
    point["et_samples"] = std::min<std::uint64_t>(
        results.experiment->points[p].train_size,
        static_cast<std::uint64_t>(results.experiment->record.train_error_samples));
  }
  if (!s.class_err.empty())  // file labels: the test set's class error
    point["class_err_final"] = interval_json(s.class_err.back());
  if (lists_eg_source(*results.experiment)) {  // real inputs: where eps_g comes from
    const PointParams& params = results.experiment->points[p];
    point["eg_source"] = eg_source(params);
    if (test_set_eg(params)) point["test_samples"] = params.inputs->test_count;
  }
  point.update(theory_json(results.theory.at(p)));
  return point;
}

void write_summary_json(const std::string& dir, const Experiment& e, const json& points) {
  json summary{{"name", e.name}, {"swept", e.swept}, {"seeds", e.seeds.count}, {"points", points}};
  write_file_atomic(dir + "/summary.json", summary.dump(2) + "\n");
}

namespace {

// "mean [lo, hi]" or "median [q1, q3]" of an eg_final object, 4 digits; "-" when undefined.
std::string value_and_range(const json& g, const char* value, const char* lo, const char* hi) {
  std::ostringstream s;
  s << std::setprecision(4);
  if (!g[value].is_number()) return "-";
  s << g[value].get<double>();
  if (g[lo].is_number() && g[hi].is_number())
    s << " [" << g[lo].get<double>() << ", " << g[hi].get<double>() << "]";
  return s.str();
}

std::string cell(const json& v) {
  std::ostringstream s;
  if (v.is_string())
    s << v.get<std::string>();
  else if (v.is_number_float())
    s << v.get<double>();
  else
    s << v.dump();
  return s.str();
}

}  // namespace

void print_summary(std::ostream& out, const ResultSet& results, const std::string& dir) {
  const Experiment& e = *results.experiment;
  const json summary = json::parse(read_file(dir + "/summary.json"));
  std::vector<std::string> swept;
  for (const auto& k : e.swept) swept.push_back(k.substr(k.find('.') + 1));
  out << "\n"
      << e.name << ": " << e.points.size() << " grid point(s) x " << e.seeds.count
      << " seed(s); final eps_g: mean over seeds with 95% interval, median with quartiles;\n"
      << "stuck: runs that never fell below the escape threshold (summary.json's escape)\n\n";
  // The swept parameters' columns, each as wide as its name or widest value, plus 2.
  std::vector<std::size_t> width;
  for (const auto& k : swept) {
    std::size_t w = std::max<std::size_t>(10, k.size());
    for (const auto& p : summary["points"]) w = std::max(w, cell(p["params"][k]).size());
    width.push_back(w + 2);
  }
  out << std::left << std::setw(6) << "point";
  for (std::size_t i = 0; i < swept.size(); ++i)
    out << std::setw(static_cast<int>(width[i])) << swept[i];
  out << std::setw(10) << "alpha" << std::setw(6) << "n" << std::setw(6) << "div" << std::setw(38)
      << "eg (SGD)" << std::setw(38) << "median [q1, q3]" << std::setw(7) << "stuck"
      << (results.ode.empty() ? "" : "eg (ODE)") << "\n";
  for (const auto& p : summary["points"]) {
    out << std::left << std::setw(6) << p["point_id"].get<int>();
    for (std::size_t i = 0; i < swept.size(); ++i)
      out << std::setw(static_cast<int>(width[i])) << cell(p["params"][swept[i]]);
    const json& g = p["eg_final"];
    out << std::setw(10) << p["alpha_final"].get<double>() << std::setw(6) << p["n"].get<int>()
        << std::setw(6) << p["n_diverged"].get<int>() << std::setw(38)
        << value_and_range(g, "mean", "lo", "hi") << std::setw(38)
        << value_and_range(g, "median", "q1", "q3") << std::setw(7)
        << p["escape"]["runs_not_escaped"].get<int>();
    if (p.contains("ode")) {
      const json& o = p["ode"]["eg_final"];
      if (o.is_number())
        out << std::setprecision(4) << o.get<double>();
      else
        out << "diverged";
    }
    out << "\n";
  }
  out << "\nresults: " << fs::absolute(dir).lexically_normal().string()
      << "/ (summary.json, curves.csv, runs.csv, ...)\n";
}

}  // namespace tsgd
