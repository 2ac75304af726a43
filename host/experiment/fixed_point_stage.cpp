// See fixed_point_stage.h.
#include "experiment/fixed_point_stage.h"

#include <algorithm>
#include <cstdio>
#include <iomanip>
#include <ostream>
#include <sstream>
#include <stdexcept>

#include "core/threads.h"
#include "experiment/file_io.h"
#include "experiment/ode_stage.h"
#include "experiment/records.h"
#include "theory/first_order.h"

namespace tsgd {

using nlohmann::json;

namespace {

// The ODE from each of the point's initial states, as the ODE stage integrates
// them (one curve per seed with ode.init "measured"): eg_ode_end is the mean of
// their final eps_g, summed in the same order as summary.json's ode.eg_final
// (aggregation.cpp), so the two agree. Newton starts from the first curve's end
// state: a mean of end states could average students specialised to different
// teachers into a state no run is near.
PointFixedPoint fixed_point_of(const Experiment& e, int p) {
  PointFixedPoint out;
  try {
    const auto starts = ode_initial_states(e, p);
    OrderParameters first_end;
    double sum = 0.0;
    for (std::size_t i = 0; i < starts.size(); ++i) {
      const auto& [seed, initial] = starts[i];
      const OdeCurve c = integrate_curve(e, p, seed, initial);
      const std::string which = seed ? " of seed " + std::to_string(*seed) : "";
      if (c.states.empty()) throw std::runtime_error("the ODE" + which + " produced no state");
      if (c.diverged)
        throw std::runtime_error("the ODE" + which + " diverged at alpha = " +
                                 format_double(c.diverged_alpha) + ": " + c.diverged_reason);
      sum += c.eg.back();
      if (i == 0) first_end = c.states.back();
    }
    out.ode_curves = static_cast<int>(starts.size());
    out.ode_end_eg = sum / static_cast<double>(starts.size());
    if (e.fixed_point_start == FixedPointStart::ode_end) {
      out.newton = find_fixed_point(e.points[p], first_end);
    } else {
      std::string why;
      const std::optional<OrderParameters> start = symmetric_fixed_point(e.points[p], &why);
      if (!start)
        throw std::runtime_error("fixed_point.start denoise: no symmetric fixed point: needs " +
                                 why);
      out.newton = find_fixed_point(e.points[p], *start);
    }
  } catch (const std::exception& err) {
    out.error = err.what();
  }
  return out;
}

// The message column: Newton's, or why there is none, without commas (CSV).
std::string message_of(const PointFixedPoint& f) {
  std::string message = f.error.empty() ? f.newton.message : f.error;
  std::replace(message.begin(), message.end(), ',', ';');
  return message;
}

// The neutral eigenvalues, ';'-separated (a complex one as a+bi), 3 digits each.
std::string neutral_eigenvalues_column(const FixedPointResult& r) {
  std::string out;
  char buf[64];
  for (const auto& z : r.neutral_eigenvalues) {
    if (z.imag() == 0.0)
      std::snprintf(buf, sizeof buf, "%.3g", z.real());
    else
      std::snprintf(buf, sizeof buf, "%.3g%+.3gi", z.real(), z.imag());
    out += (out.empty() ? "" : ";") + std::string(buf);
  }
  return out;
}

Stability stability_column(const PointFixedPoint& f) {
  return f.error.empty() && f.newton.converged ? stability_of(f.newton) : Stability::unknown;
}

}  // namespace

std::vector<PointFixedPoint> fixed_points_of(const Experiment& e, int threads) {
  const int points = static_cast<int>(e.points.size());
  std::vector<PointFixedPoint> out(points);
  // One point: its Jacobian's right-hand sides may use the threads (ode_system.h).
  const ThreadBudget budget(threads, points);
#pragma omp parallel for num_threads(budget.team()) schedule(dynamic, 1)
  for (int p = 0; p < points; ++p) out[p] = fixed_point_of(e, p);
  return out;
}

void write_fixed_points(const std::string& dir, const std::vector<PointFixedPoint>& points) {
  std::ostringstream csv, states;
  csv << "point_id,converged,physical,iterations,residual,eg,eg_ode_end,ode_curves,"
         "max_real_eigenvalue,stability,stable,neutral_modes,neutral_cut,neutral_eigenvalues,"
         "neutral_drift,off_neutral_residual,message\n";
  for (std::size_t p = 0; p < points.size(); ++p) {
    const PointFixedPoint& f = points[p];
    const FixedPointResult& r = f.newton;
    const bool ok = f.error.empty();
    csv << p << "," << (ok && r.converged ? 1 : 0) << "," << (ok && r.physical ? 1 : 0) << ","
        << r.iterations << "," << format_double(r.residual) << "," << format_double(r.eg) << ","
        << format_double(f.ode_end_eg) << "," << f.ode_curves << ","
        << format_double(r.max_real_eigenvalue) << "," << to_string(stability_column(f)) << ","
        << (ok && attracts(r) ? 1 : 0) << ",";
    if (ok)
      csv << r.neutral_eigenvalues.size() << "," << format_double(r.neutral_cut) << ","
          << neutral_eigenvalues_column(r) << "," << format_double(r.neutral_drift) << ","
          << format_double(r.off_neutral_residual) << ",";
    else
      csv << ",,,,,";
    csv << message_of(f) << "\n";
    if (ok)
      states << json{{"point_id", p},
                     {"converged", r.converged},
                     {"eg", r.eg},
                     {"state", state_json(r.state)}}
                    .dump()
             << "\n";
  }
  write_file_atomic(dir + "/fixed_points.csv", csv.str());
  write_file_atomic(dir + "/fixed_points.jsonl", states.str());
}

void print_fixed_points(std::ostream& out, const Experiment& e,
                        const std::vector<PointFixedPoint>& points, const std::string& dir) {
  const bool per_seed = e.ode.init == OdeInit::measured;
  const std::string curves =
      per_seed ? "the mean of the ODE curves of the " + std::to_string(e.seeds.count) +
                     " seed(s), as summary.json's ode.eg_final"
               : std::string("the ODE from the ") +
                     (e.ode.init == OdeInit::expected ? "expected" : "explicit") +
                     " initial state (one curve)";
  const std::string start = e.fixed_point_start == FixedPointStart::denoise
                                ? "the symmetric fixed point (fixed_point.start: denoise)"
                                : std::string("the ODE's end state at alpha = training.alpha") +
                                      (per_seed ? " of the first seed" : "");
  out << "\n"
      << e.name << ": fixed points of the ODE, Newton from " << start
      << ";\neg (ODE end) at alpha = training.alpha: " << curves << "\n\n";
  out << std::left << std::setw(7) << "point" << std::setw(11) << "converged" << std::setw(10)
      << "physical" << std::setw(16) << "eg*" << std::setw(16) << "eg (ODE end)" << std::setw(20)
      << "max Re(eigenvalue)"
      << "stable\n";
  for (std::size_t p = 0; p < points.size(); ++p) {
    const PointFixedPoint& f = points[p];
    const FixedPointResult& r = f.newton;
    const bool ok = f.error.empty();
    const std::string message = message_of(f);
    out << std::left << std::setw(7) << p << std::setw(11) << (ok && r.converged ? "yes" : "no")
        << std::setw(10) << (ok && r.physical ? "yes" : "no") << std::setw(16)
        << std::setprecision(6) << r.eg << std::setw(16) << f.ode_end_eg << std::setw(20)
        << r.max_real_eigenvalue << to_string(stability_column(f));
    if (!message.empty()) out << "   (" << message << ")";
    out << "\n";
  }
  out << "\nwritten: " << dir << "/fixed_points.csv, fixed_points.jsonl\n";
}

}  // namespace tsgd
