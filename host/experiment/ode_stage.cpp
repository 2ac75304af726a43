#include "experiment/ode_stage.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <limits>
#include <iostream>
#include <sstream>

#include "experiment/file_io.h"
#include "theory/fixed_point.h"
#include "theory/ode.h"
#include "experiment/records.h"
#include "experiment/work_unit.h"

namespace tsgd {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

double number_or_nan(const json& x) {
  return x.is_number() ? x.get<double>() : std::numeric_limits<double>::quiet_NaN();
}

std::string unit_path(const std::string& work_dir, int point) {
  return work_dir + "/ode-p" + std::to_string(point) + ".jsonl";
}

void save_unit(const std::string& path, const std::string& experiment, const std::vector<OdeCurve>& curves) {
  std::vector<json> records;
  for (const auto& c : curves) {
    json states = json::array();
    for (const auto& s : c.states) states.push_back(state_json(s));
    records.push_back({{"point_id", c.point_id},
                       {"seed", c.seed ? json(*c.seed) : json(nullptr)},
                       {"alpha", c.alpha},
                       {"eg", c.eg},
                       {"diverged", c.diverged},
                       {"diverged_alpha", c.diverged_alpha},
                       {"diverged_reason", c.diverged_reason},
                       {"states", states}});
  }
  write_work_unit(path, experiment, json{{"unit", "ode"}, {"format", 1}, {"curves", curves.size()}}, records);
}

std::vector<OdeCurve> load_unit(const std::string& path, const std::string& experiment) {
  std::vector<OdeCurve> curves;
  try {
    for (const json& j : read_work_unit(path, experiment)) {
      OdeCurve c;
      c.point_id = j.at("point_id").get<int>();
      if (!j.at("seed").is_null()) c.seed = j["seed"].get<std::uint64_t>();
      for (const auto& a : j.at("alpha")) c.alpha.push_back(number_or_nan(a));
      for (const auto& g : j.at("eg")) c.eg.push_back(number_or_nan(g));
      c.diverged = j.at("diverged").get<bool>();
      c.diverged_alpha = number_or_nan(j.at("diverged_alpha"));
      c.diverged_reason = j.at("diverged_reason").get<std::string>();
      for (const auto& s : j.at("states")) c.states.push_back(state_from_json(s, path));
      curves.push_back(std::move(c));
    }
  } catch (const json::exception& err) {
    throw corrupt_work_unit(path, err.what());
  }
  return curves;
}

// The initial states of a point's ODE curves, with their seeds (empty: none).
std::vector<std::pair<std::optional<std::uint64_t>, OrderParameters>> initial_states(const Experiment& e,
                                                                                      int point) {
  const PointParams& p = e.points[point];
  std::vector<std::pair<std::optional<std::uint64_t>, OrderParameters>> out;
  switch (e.ode.init) {
    case OdeInit::measured:
      for (int s = 0; s < e.seeds.count; ++s) {
        const RunSpec run{point, e.seeds.first + static_cast<std::uint64_t>(s), p};
        out.emplace_back(run.seed, initial_order_parameters(run));
      }
      break;
    case OdeInit::expected:
      out.emplace_back(std::nullopt, expected_initial_state(p));
      break;
    case OdeInit::explicit_state:
      out.emplace_back(std::nullopt, explicit_initial_state(e.ode.state, p));
      break;
  }
  return out;
}

OdeCurve integrate_curve(const Experiment& e, int point, std::optional<std::uint64_t> seed,
                         const OrderParameters& initial) {
  const OdeResult r = integrate_ode(e.points[point], initial, record_alphas(e, e.points[point]), e.ode);
  OdeCurve c;
  c.point_id = point;
  c.seed = seed;
  c.alpha = r.alpha;
  c.eg = r.eg;
  c.diverged = r.diverged;
  c.diverged_alpha = r.diverged_alpha;
  c.diverged_reason = r.diverged_reason;
  if (e.record.order_parameters)
    c.states = r.states;
  else if (!r.states.empty())
    c.states = {r.states.back()};
  return c;
}

}  // namespace

void check_ode_supported(const Experiment& e) {
  if (!e.ode.enabled) return;
  for (std::size_t i = 0; i < e.points.size(); ++i) {
    const PointParams& p = e.points[i];
    const std::string why = ode_unsupported_reason(p);
    if (!why.empty())
      throw ConfigError("ode.enabled", "ode.enabled: the ODE cannot integrate grid point " + std::to_string(i) +
                                           ": " + why + " (set ode.enabled to false to run SGD alone)");
    try {
      if (e.ode.init == OdeInit::expected) expected_initial_state(p);
      if (e.ode.init == OdeInit::explicit_state) explicit_initial_state(e.ode.state, p);
    } catch (const std::invalid_argument& err) {
      std::string message = err.what();
      std::string key = "ode.init";
      if (message.rfind("ode.init", 0) == 0) key = message.substr(0, message.find_first_of(": "));
      if (message.rfind(key, 0) != 0) message = key + ": " + message;
      throw ConfigError(key, message + (e.points.size() > 1 ? " (grid point " + std::to_string(i) + ")" : ""));
    }
  }
}

std::vector<OdeCurve> load_ode_units(const Experiment& e, const std::string& work_dir) {
  std::vector<OdeCurve> out;
  const std::string experiment = experiment_fingerprint(e.resolved);
  for (int p = 0; p < static_cast<int>(e.points.size()); ++p) {
    const std::string path = unit_path(work_dir, p);
    if (!file_exists(path)) continue;
    for (auto& c : load_unit(path, experiment)) out.push_back(std::move(c));
  }
  return out;
}

bool run_ode_stage(const Experiment& e, const std::string& work_dir, int threads, bool quiet,
                   const std::atomic<bool>* stop, std::vector<OdeCurve>& out, const std::vector<char>* include) {
  const int points = static_cast<int>(e.points.size());
  const std::string experiment = experiment_fingerprint(e.resolved);
  std::vector<std::vector<OdeCurve>> per_point(points);
  std::vector<char> done(points, 0);
  for (int p = 0; p < points; ++p) {
    if (include && !(*include)[p]) {
      done[p] = 1;
      continue;
    }
    const std::string path = unit_path(work_dir, p);
    if (file_exists(path)) {
      per_point[p] = load_unit(path, experiment);
      done[p] = 1;
    }
  }
  const int todo = static_cast<int>(std::count(done.begin(), done.end(), 0));
  if (!quiet && todo > 0)
    std::cerr << "tsgd: integrating the ODEs of " << todo << " grid point(s)" << (todo < points ? " (resumed)" : "")
              << "\n";
  bool stopped = false;
  std::string error;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
  for (int p = 0; p < points; ++p) {
    if (done[p] || (stop && stop->load())) continue;
    try {
      std::vector<OdeCurve> curves;
      for (const auto& [seed, initial] : initial_states(e, p)) {
        if (stop && stop->load()) break;
        curves.push_back(integrate_curve(e, p, seed, initial));
      }
      if (stop && stop->load()) continue;
      save_unit(unit_path(work_dir, p), experiment, curves);
      per_point[p] = std::move(curves);
    } catch (const std::exception& err) {
#pragma omp critical
      error = err.what();
    }
  }
  if (!error.empty()) throw std::runtime_error("ODE: " + error);
  if (stop && stop->load()) stopped = true;
  out.clear();
  for (auto& curves : per_point)
    for (auto& c : curves) out.push_back(std::move(c));
  return !stopped;
}

int run_fixed_points(const Experiment& e, const RunOptions& options, std::ostream& out) {
  check_ode_supported(e);
  const std::string dir = options.output ? *options.output : e.output;
  nlohmann::json resolved = e.resolved;
  resolved["output"] = dir;
  // Refuses another experiment's directory; --force replaces it, but never
  // discards the same experiment's runs.
  prepare_output_directory(dir, resolved, options.force, ForceScope::nothing);
  const int threads = options.threads > 0 ? options.threads : omp_get_max_threads();
  const int points = static_cast<int>(e.points.size());
  std::vector<FixedPointResult> results(points);
  std::vector<double> ode_end_eg(points, std::numeric_limits<double>::quiet_NaN());
  std::vector<std::string> errors(points);
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
  for (int p = 0; p < points; ++p) {
    try {
      // The ODE's end state from the point's first initial state is Newton's start.
      const auto starts = initial_states(e, p);
      const OdeCurve c = integrate_curve(e, p, starts[0].first, starts[0].second);
      if (c.states.empty()) throw std::runtime_error("the ODE produced no state");
      if (c.diverged) throw std::runtime_error("the ODE diverged at alpha = " + format_double(c.diverged_alpha) + ": " + c.diverged_reason);
      ode_end_eg[p] = c.eg.back();
      results[p] = find_fixed_point(e.points[p], c.states.back());
    } catch (const std::exception& err) {
      errors[p] = err.what();
    }
  }
  std::ostringstream csv, states;
  // eg: at Newton's last iterate (the fixed point when converged); eg_ode_end:
  // at the ODE's end state, Newton's start, to compare (a Newton that did not
  // converge may have moved away from it). stability: yes, marginal, no
  // (kMarginalEigenvalue), unknown; stable: 1 for yes or marginal at a
  // converged fixed point.
  csv << "point_id,converged,physical,iterations,residual,eg,eg_ode_end,max_real_eigenvalue,stability,stable,"
         "message\n";
  out << "\n" << e.name << ": fixed points of the ODE, Newton from the ODE's end state at alpha = training.alpha\n\n";
  out << std::left << std::setw(7) << "point" << std::setw(11) << "converged" << std::setw(10) << "physical"
      << std::setw(16) << "eg*" << std::setw(16) << "eg (ODE end)" << std::setw(20) << "max Re(eigenvalue)"
      << "stable\n";
  for (int p = 0; p < points; ++p) {
    const FixedPointResult& r = results[p];
    const bool ok = errors[p].empty();
    const Stability stability = ok && r.converged ? stability_of(r) : Stability::unknown;
    const bool stable = ok && attracts(r);
    std::string message = ok ? r.message : errors[p];
    std::replace(message.begin(), message.end(), ',', ';');
    csv << p << "," << (ok && r.converged ? 1 : 0) << "," << (ok && r.physical ? 1 : 0) << "," << r.iterations << ","
        << format_double(r.residual) << "," << format_double(r.eg) << "," << format_double(ode_end_eg[p]) << ","
        << format_double(r.max_real_eigenvalue) << "," << to_string(stability) << "," << (stable ? 1 : 0) << ","
        << message << "\n";
    if (ok) states << json{{"point_id", p}, {"converged", r.converged}, {"eg", r.eg}, {"state", state_json(r.state)}}.dump() << "\n";
    out << std::left << std::setw(7) << p << std::setw(11) << (ok && r.converged ? "yes" : "no") << std::setw(10)
        << (ok && r.physical ? "yes" : "no") << std::setw(16) << std::setprecision(6) << r.eg << std::setw(16)
        << ode_end_eg[p] << std::setw(20) << r.max_real_eigenvalue << to_string(stability);
    if (!message.empty()) out << "   (" << message << ")";
    out << "\n";
  }
  write_file_atomic(dir + "/fixed_points.csv", csv.str());
  write_file_atomic(dir + "/fixed_points.jsonl", states.str());
  out << "\nwritten: " << dir << "/fixed_points.csv, fixed_points.jsonl\n";
  return 0;
}

}  // namespace tsgd
