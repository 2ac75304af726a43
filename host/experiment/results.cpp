#include "experiment/results.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <iomanip>
#include <ostream>
#include <sstream>

#include "experiment/file_io.h"
#include "experiment/work_unit.h"
#include "experiment/statistics.h"
#include "theory/fixed_point.h"
#include "theory/asymptotic.h"
#include "experiment/version.h"

namespace tsgd {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

json matrix_json(const std::vector<double>& a, int rows, int cols) {
  json m = json::array();
  for (int i = 0; i < rows; ++i) {
    json row = json::array();
    for (int j = 0; j < cols; ++j) row.push_back(a[static_cast<std::size_t>(i) * cols + j]);
    m.push_back(std::move(row));
  }
  return m;
}

double number_or_nan(const json& x) {
  return x.is_number() ? x.get<double>() : std::numeric_limits<double>::quiet_NaN();
}

std::vector<double> matrix_from_json(const json& m, int rows, int cols, const std::string& where) {
  if (!m.is_array() || static_cast<int>(m.size()) != rows) throw std::runtime_error(where + ": bad matrix shape");
  std::vector<double> a;
  for (const auto& row : m) {
    if (!row.is_array() || static_cast<int>(row.size()) != cols) throw std::runtime_error(where + ": bad matrix shape");
    for (const auto& x : row) a.push_back(number_or_nan(x));
  }
  return a;
}

std::string state_line_fields(const OrderParameters& op) {
  std::string s = state_json(op).dump();
  return s.substr(1, s.size() - 2);  // without the braces, to append to an object
}

std::string iso_time_now() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

}  // namespace

json state_json(const OrderParameters& op) {
  return json{{"Q", matrix_json(op.Q, op.K, op.K)},
              {"R", matrix_json(op.R, op.K, op.M)},
              {"T", matrix_json(op.T, op.M, op.M)},
              {"v", op.v},
              {"vstar", op.vstar}};
}

OrderParameters state_from_json(const json& j, const std::string& where) {
  OrderParameters op;
  const int K = static_cast<int>(j.at("v").size()), M = static_cast<int>(j.at("vstar").size());
  op.resize(K, M);
  op.Q = matrix_from_json(j.at("Q"), K, K, where);
  op.R = matrix_from_json(j.at("R"), K, M, where);
  op.T = matrix_from_json(j.at("T"), M, M, where);
  for (int k = 0; k < K; ++k) op.v[k] = number_or_nan(j["v"][k]);
  for (int m = 0; m < M; ++m) op.vstar[m] = number_or_nan(j["vstar"][m]);
  return op;
}

json point_json(const PointParams& p) {
  return json{{"teacher_activation", to_string(p.teacher_activation)},
              {"student_activation", to_string(p.student_activation)},
              {"N", p.N},
              {"M", p.M},
              {"K", p.K},
              {"train", to_string(p.train)},
              {"teacher_v", p.teacher_v},
              {"teacher_v_init", to_string(p.teacher_v_init)},
              {"student_v", p.student_v},
              {"student_v_init", to_string(p.student_v_init)},
              {"output_scaling", to_string(p.output_scaling)},
              {"lr", p.lr},
              {"lr2", p.lr2},
              {"sigma", p.sigma},
              {"weight_decay", p.weight_decay},
              {"weight_decay2", p.weight_decay2},
              {"batch_size", p.batch_size},
              {"alpha", p.alpha},
              {"init", to_string(p.init)},
              {"init_scale", p.init_scale}};
}

std::vector<double> record_alphas(const Experiment& e, const PointParams& p) {
  std::vector<double> a;
  for (std::int64_t s : record_steps(e.record, p)) a.push_back(static_cast<double>(s) / p.N);
  return a;
}

// ---- work units ----------------------------------------------------------------

namespace {

std::string host_name() {
  char host[256] = "unknown";
  ::gethostname(host, sizeof host - 1);
  host[sizeof host - 1] = 0;
  return host;
}

}  // namespace

json unit_provenance(const std::string& backend, const std::string& device, const std::string& precision) {
  return json{{"backend", backend}, {"device", device},         {"precision", precision},
              {"host", host_name()}, {"tsgd_version", version()}, {"git_commit", git_commit()}};
}

void ProvenanceCount::add(const json& by, std::size_t runs) {
  if (runs > 0) runs_[by.dump()] += runs;
}

json ProvenanceCount::list() const {
  json out = json::array();
  for (const auto& [by, runs] : runs_) {
    json entry = json::parse(by);
    entry["runs"] = runs;
    out.push_back(std::move(entry));
  }
  return out;
}

UnitStore::UnitStore(std::string directory, const Experiment& e)
    : directory_(std::move(directory)), experiment_(&e), fingerprint_(experiment_fingerprint(e.resolved)) {}

void UnitStore::save(const std::string& name, const std::vector<RunTrajectory>& runs, bool all_states,
                     const json& by) const {
  std::vector<json> records;
  for (const auto& t : runs) {
    json j{{"point_id", t.point_id}, {"seed", t.seed}, {"diverged", t.diverged},
           {"diverged_alpha", t.diverged ? json(t.diverged_alpha) : json(nullptr)},
           {"alpha", t.alpha}, {"eg", t.eg}, {"all_states", all_states}};
    json states = json::array();
    for (const auto& op : t.states) states.push_back(state_json(op));
    j["states"] = std::move(states);
    records.push_back(std::move(j));
  }
  write_work_unit(directory_ + "/" + name, fingerprint_,
                  json{{"unit", "sgd"}, {"format", 1}, {"runs", runs.size()}, {"by", by}}, records);
}

std::vector<RunTrajectory> UnitStore::load_all(ProvenanceCount* computed_by) const {
  std::vector<RunTrajectory> out;
  if (!fs::exists(directory_)) return out;
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(directory_)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("sgd-", 0) == 0 && name.size() > 6 && name.substr(name.size() - 6) == ".jsonl")
      names.push_back(name);
    else if (name.find(".tmp") != std::string::npos)
      fs::remove(entry.path());  // a write that was interrupted: never complete, never used
  }
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    const std::string path = directory_ + "/" + name;
    try {
      json header;
      const std::vector<json> records = read_work_unit(path, fingerprint_, &header);
      if (computed_by) computed_by->add(header.value("by", json{{"backend", "unknown"}}), records.size());
      for (const json& j : records) {
        RunTrajectory t;
        t.point_id = j.at("point_id").get<int>();
        t.seed = j.at("seed").get<std::uint64_t>();
        const Experiment& e = *experiment_;
        if (t.point_id < 0 || static_cast<std::size_t>(t.point_id) >= e.points.size() || t.seed < e.seeds.first ||
            t.seed - e.seeds.first >= static_cast<std::uint64_t>(e.seeds.count))
          throw corrupt_work_unit(path, "run (point " + std::to_string(t.point_id) + ", seed " +
                                            std::to_string(t.seed) + ") is not in this configuration");
        t.diverged = j.at("diverged").get<bool>();
        t.diverged_alpha = number_or_nan(j.at("diverged_alpha"));
        for (const auto& a : j.at("alpha")) t.alpha.push_back(number_or_nan(a));
        for (const auto& g : j.at("eg")) t.eg.push_back(number_or_nan(g));
        for (const auto& s : j.at("states")) t.states.push_back(state_from_json(s, path));
        out.push_back(std::move(t));
      }
    } catch (const json::exception& err) {
      throw corrupt_work_unit(path, err.what());
    }
  }
  return out;
}

// ---- result files ------------------------------------------------------------------

void write_results(const std::string& dir, const ResultSet& results) {
  const Experiment& e = *results.experiment;
  const auto& runs = results.runs;

  // points.csv
  {
    std::ostringstream s;
    const json first = point_json(e.points.at(0));
    s << "point_id";
    for (auto it = first.begin(); it != first.end(); ++it) s << "," << it.key();
    s << "\n";
    for (std::size_t p = 0; p < e.points.size(); ++p) {
      const json j = point_json(e.points[p]);
      s << p;
      for (auto it = j.begin(); it != j.end(); ++it)
        s << "," << (it->is_string() ? it->get<std::string>()
                                     : (it->is_number_float() ? format_double(it->get<double>()) : it->dump()));
      s << "\n";
    }
    write_file_atomic(dir + "/points.csv", s.str());
  }

  // Runs of each point (runs are sorted by point, then seed).
  std::vector<std::pair<std::size_t, std::size_t>> range(e.points.size(), {0, 0});
  for (std::size_t i = 0; i < runs.size();) {
    std::size_t j = i;
    while (j < runs.size() && runs[j].point_id == runs[i].point_id) ++j;
    range.at(runs[i].point_id) = {i, j};
    i = j;
  }
  // ODE curve of a point: the mean over its curves (one per seed, or one).
  std::vector<std::vector<double>> ode_mean(e.points.size());
  std::vector<int> ode_diverged(e.points.size(), 0);
  for (std::size_t p = 0; p < e.points.size(); ++p) {
    std::vector<const OdeCurve*> curves;
    for (const auto& c : results.ode)
      if (c.point_id == static_cast<int>(p)) curves.push_back(&c);
    if (curves.empty()) continue;
    const std::size_t n = record_alphas(e, e.points[p]).size();
    std::vector<double> mean(n, 0.0);
    for (const OdeCurve* c : curves) {
      if (c->diverged) ++ode_diverged[p];
      for (std::size_t j = 0; j < n; ++j)
        // A diverged curve's values stop where it diverged: NaN from there on.
        mean[j] += j < c->eg.size() ? c->eg[j] : std::numeric_limits<double>::quiet_NaN();
    }
    for (double& m : mean) m /= static_cast<double>(curves.size());
    ode_mean[p] = std::move(mean);
  }

  // runs.csv, curves.csv, order parameter files
  std::ostringstream runs_csv, curves_csv, states_jsonl, final_jsonl;
  runs_csv << "point_id,seed,alpha,eg,diverged\n";
  curves_csv << "point_id,alpha,n,n_diverged,eg_mean,eg_std,eg_sem,eg_lo,eg_hi"
             << (results.ode.empty() ? "" : ",eg_ode") << "\n";
  json summary_points = json::array();
  for (std::size_t p = 0; p < e.points.size(); ++p) {
    const auto [begin, end] = range[p];
    const std::vector<double> alphas = record_alphas(e, e.points[p]);
    json diverged_runs = json::array();
    for (std::size_t r = begin; r < end; ++r) {
      const RunTrajectory& t = runs[r];
      for (std::size_t j = 0; j < t.alpha.size(); ++j) {
        runs_csv << t.point_id << "," << t.seed << "," << format_double(t.alpha[j]) << ","
                 << format_double(t.eg[j]) << "," << (t.diverged ? 1 : 0) << "\n";
        if (e.record.order_parameters && j < t.states.size())
          states_jsonl << "{\"point_id\":" << t.point_id << ",\"seed\":" << t.seed << ",\"alpha\":"
                       << json(t.alpha[j]).dump() << ",\"eg\":" << json(t.eg[j]).dump() << ","
                       << state_line_fields(t.states[j]) << "}\n";
      }
      if (!t.states.empty())
        final_jsonl << "{\"point_id\":" << t.point_id << ",\"seed\":" << t.seed << ",\"alpha\":"
                    << json(t.alpha.back()).dump() << ",\"eg\":" << json(t.eg.back()).dump()
                    << ",\"diverged\":" << (t.diverged ? "true" : "false") << ","
                    << state_line_fields(t.states.back()) << "}\n";
      if (t.diverged) diverged_runs.push_back({{"seed", t.seed}, {"alpha", t.diverged_alpha}});
    }
    SampleSummary last;
    std::vector<double> values;
    for (std::size_t j = 0; j < alphas.size(); ++j) {
      values.clear();
      int n_diverged = 0;
      for (std::size_t r = begin; r < end; ++r) {
        const RunTrajectory& t = runs[r];
        if (t.diverged) {
          if (t.diverged_alpha <= alphas[j]) ++n_diverged;
          continue;  // a diverged run is excluded from every average of its point
        }
        values.push_back(t.eg.at(j));
      }
      const SampleSummary s = summarise(values);
      curves_csv << p << "," << format_double(alphas[j]) << "," << s.n << "," << n_diverged << ","
                 << format_double(s.mean) << "," << format_double(s.std) << "," << format_double(s.sem)
                 << "," << format_double(s.lo) << "," << format_double(s.hi);
      if (!results.ode.empty())
        curves_csv << "," << format_double(ode_mean[p].empty() ? std::numeric_limits<double>::quiet_NaN() : ode_mean[p][j]);
      curves_csv << "\n";
      last = s;
    }
    // eps_g averaged over the last half of training (records at alpha >=
    // alpha_final / 2), per run, then over the runs: where eps_g has settled
    // it estimates eps_g* with the fluctuations of a single record averaged
    // out (a smaller interval than eg_final's); where it still falls, it lies
    // above eg_final.
    const double tail_from = 0.5 * alphas.back();
    const std::size_t tail_begin = std::lower_bound(alphas.begin(), alphas.end(), tail_from) - alphas.begin();
    const std::size_t tail_records = alphas.size() - tail_begin;
    values.clear();
    for (std::size_t r = begin; r < end; ++r) {
      const RunTrajectory& t = runs[r];
      if (t.diverged) continue;
      double sum = 0;
      for (std::size_t j = tail_begin; j < alphas.size(); ++j) sum += t.eg.at(j);
      values.push_back(sum / static_cast<double>(tail_records));
    }
    const SampleSummary tail = summarise(values);
    json point{{"point_id", p},
               {"params", point_json(e.points[p])},
               {"alpha_final", alphas.back()},
               {"runs", end - begin},
               {"n", last.n},
               {"n_diverged", diverged_runs.size()},
               {"eg_final", {{"mean", last.mean}, {"std", last.std}, {"sem", last.sem}, {"lo", last.lo}, {"hi", last.hi}}},
               {"eg_tail",
                {{"alpha_from", tail_from},
                 {"records", tail_records},
                 {"mean", tail.mean},
                 {"std", tail.std},
                 {"sem", tail.sem},
                 {"lo", tail.lo},
                 {"hi", tail.hi}}},
               {"diverged_runs", diverged_runs}};
    if (!ode_mean[p].empty()) {
      point["ode"] = {{"eg_final", ode_mean[p].back()}, {"diverged_curves", ode_diverged[p]}};
      json reasons = json::array();
      for (const auto& c : results.ode)
        if (c.point_id == static_cast<int>(p) && c.diverged)
          reasons.push_back({{"seed", c.seed ? json(*c.seed) : json(nullptr)}, {"alpha", c.diverged_alpha}, {"reason", c.diverged_reason}});
      point["ode"]["diverged"] = reasons;
    }
    TheoryReport report = asymptotic_theory(e.points[p]);
    if (p < results.small_eta_rule.size()) report.append(results.small_eta_rule[p]);
    json theory = json::array(), skipped = json::array();
    for (const TheoryPrediction& t : report.holds)
      theory.push_back({{"formula", t.formula}, {"eg", t.eg}, {"exact", t.exact}, {"conditions", t.conditions}});
    for (const TheorySkipped& t : report.skipped) skipped.push_back({{"formula", t.formula}, {"failed", t.failed}});
    point["theory"] = std::move(theory);
    point["theory_skipped"] = std::move(skipped);
    summary_points.push_back(std::move(point));
  }
  write_file_atomic(dir + "/runs.csv", runs_csv.str());
  write_file_atomic(dir + "/curves.csv", curves_csv.str());
  if (e.record.order_parameters)
    write_file_atomic(dir + "/order_parameters.jsonl", states_jsonl.str());
  else
    fs::remove(dir + "/order_parameters.jsonl");
  write_file_atomic(dir + "/final_order_parameters.jsonl", final_jsonl.str());

  if (!results.ode.empty()) {
    std::ostringstream ode_csv;
    ode_csv << "point_id,seed,alpha,eg,diverged\n";
    for (const auto& c : results.ode)
      for (std::size_t j = 0; j < c.eg.size(); ++j)
        ode_csv << c.point_id << "," << (c.seed ? std::to_string(*c.seed) : std::string()) << ","
                << format_double(c.alpha[j]) << "," << format_double(c.eg[j]) << "," << (c.diverged ? 1 : 0) << "\n";
    write_file_atomic(dir + "/ode.csv", ode_csv.str());
    // The ODE's order parameters: at every record time (record.order_parameters), else the last.
    std::ostringstream ode_states;
    for (const auto& c : results.ode) {
      const std::size_t first = c.states.size() == c.alpha.size() ? 0 : c.alpha.size() - c.states.size();
      for (std::size_t j = 0; j < c.states.size(); ++j)
        ode_states << "{\"point_id\":" << c.point_id << ",\"seed\":" << (c.seed ? std::to_string(*c.seed) : "null")
                   << ",\"alpha\":" << json(c.alpha[first + j]).dump() << ",\"eg\":" << json(c.eg[first + j]).dump()
                   << "," << state_line_fields(c.states[j]) << "}\n";
    }
    write_file_atomic(dir + "/ode_order_parameters.jsonl", ode_states.str());
  }

  json summary{{"name", e.name}, {"swept", e.swept}, {"seeds", e.seeds.count}, {"points", summary_points}};
  write_file_atomic(dir + "/summary.json", summary.dump(2) + "\n");
}

std::vector<TheoryReport> small_eta_predictions(const Experiment& e, const std::vector<OdeCurve>& ode) {
  std::vector<TheoryReport> out(e.points.size());
  std::vector<const OdeCurve*> first(e.points.size(), nullptr);
  for (const auto& c : ode)
    if (!first[c.point_id]) first[c.point_id] = &c;
#pragma omp parallel for schedule(dynamic, 1)
  for (std::size_t p = 0; p < e.points.size(); ++p) {
    const OdeCurve* c = first[p];
    if (!c || c->states.empty()) {
      out[p] = small_eta_unavailable("needs the ODE's end state (ode.enabled, an ODE for this point)");
      continue;
    }
    if (c->diverged) {
      out[p] = small_eta_unavailable("needs an ODE that did not diverge");
      continue;
    }
    try {
      PointParams noise_free = e.points[p];
      noise_free.sigma = 0;
      out[p] = small_eta_theory(e.points[p], find_fixed_point(noise_free, c->states.back()));
    } catch (const std::exception& ex) {
      out[p] = small_eta_unavailable(std::string("needs a noise-free fixed point: ") + ex.what());
    }
  }
  return out;
}

void write_manifest(const std::string& dir, const Manifest& m) {
  const std::string host = host_name();
  json files = json::object();
  // The experiment's definition (config.json, and shard.json in a shard's
  // directory) is checksummed with the results it produced.
  std::vector<std::string> names(std::begin(kDefinitionFiles), std::end(kDefinitionFiles));
  for (const char* f : kResultFiles)
    if (std::string(f) != "manifest.json") names.emplace_back(f);
  for (const std::string& f : names) {
    const std::string path = dir + "/" + f;
    if (fs::exists(path)) files[f] = {{"fnv1a", fnv1a_hex(read_file(path))}, {"bytes", fs::file_size(path)}};
  }
  json j{{"tsgd_version", version()},
         {"git_commit", git_commit()},
         {"host", host},
         {"finished_at", iso_time_now()},
         {"command_line", m.command_line},
         {"backend", m.backend},
         {"precision", m.precision},
         {"device", m.device},
         {"threads", m.threads},
         {"seconds", m.stage_seconds},
         {"computed_by", m.computed_by.list()},
         {"files", files}};
  write_file_atomic(dir + "/manifest.json", j.dump(2) + "\n");
}

void print_summary(std::ostream& out, const ResultSet& results, const std::string& dir) {
  const Experiment& e = *results.experiment;
  const json summary = json::parse(read_file(dir + "/summary.json"));
  std::vector<std::string> swept;
  for (const auto& k : e.swept) swept.push_back(k.substr(k.find('.') + 1));
  out << "\n" << e.name << ": " << e.points.size() << " grid point(s) x " << e.seeds.count
      << " seed(s); final eps_g, mean over seeds with 95% interval\n\n";
  // The swept parameters' columns, each as wide as its name or widest value, plus 2.
  const auto cell = [](const json& v) {
    std::ostringstream s;
    if (v.is_string()) s << v.get<std::string>(); else if (v.is_number_float()) s << v.get<double>(); else s << v.dump();
    return s.str();
  };
  std::vector<std::size_t> width;
  for (const auto& k : swept) {
    std::size_t w = std::max<std::size_t>(10, k.size());
    for (const auto& p : summary["points"]) w = std::max(w, cell(p["params"][k]).size());
    width.push_back(w + 2);
  }
  out << std::left << std::setw(6) << "point";
  for (std::size_t i = 0; i < swept.size(); ++i) out << std::setw(static_cast<int>(width[i])) << swept[i];
  out << std::setw(10) << "alpha" << std::setw(6) << "n" << std::setw(6) << "div" << std::setw(38) << "eg (SGD)"
      << (results.ode.empty() ? "" : "eg (ODE)") << "\n";
  for (const auto& p : summary["points"]) {
    out << std::left << std::setw(6) << p["point_id"].get<int>();
    for (std::size_t i = 0; i < swept.size(); ++i)
      out << std::setw(static_cast<int>(width[i])) << cell(p["params"][swept[i]]);
    const json& g = p["eg_final"];
    std::ostringstream eg;
    eg << std::setprecision(4);
    if (g["mean"].is_number()) {
      eg << g["mean"].get<double>();
      if (g["lo"].is_number()) eg << " [" << g["lo"].get<double>() << ", " << g["hi"].get<double>() << "]";
    } else {
      eg << "-";
    }
    out << std::setw(10) << p["alpha_final"].get<double>() << std::setw(6) << p["n"].get<int>()
        << std::setw(6) << p["n_diverged"].get<int>() << std::setw(38) << eg.str();
    if (p.contains("ode")) {
      const json& o = p["ode"]["eg_final"];
      if (o.is_number()) out << std::setprecision(4) << o.get<double>(); else out << "diverged";
    }
    out << "\n";
  }
  out << "\nresults: " << fs::absolute(dir).lexically_normal().string() << "/ (summary.json, curves.csv, runs.csv, ...)\n";
}

}  // namespace tsgd
