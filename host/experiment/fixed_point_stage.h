// `tsgd fixed-point`'s work: for every grid point, Newton on the ODE's
// right-hand side from the ODE's end state at training.alpha of the first seed
// (theory/fixed_point.h), with the ODE's eps_g there averaged over the seeds as
// summary.json does; then fixed_points.csv and fixed_points.jsonl, and the table
// it prints.
#pragma once

#include <iosfwd>
#include <limits>
#include <string>
#include <vector>

#include "experiment/config.h"
#include "theory/fixed_point.h"

namespace tsgd {

struct PointFixedPoint {
  FixedPointResult newton;
  // eps_g at training.alpha, the mean over the point's ODE curves (one per seed with
  // ode.init "measured", else one), as summary.json's ode.eg_final; Newton's start
  // (fixed_point.start ode_end) is the first curve's end state.
  double ode_end_eg = std::numeric_limits<double>::quiet_NaN();
  int ode_curves = 0;  // how many curves ode_end_eg averages
  std::string error;  // why there is no fixed point (the ODE diverged, ...); empty: newton holds it
};

// One per grid point, in parallel over points on THREADS threads.
std::vector<PointFixedPoint> fixed_points_of(const Experiment& e, int threads);

// fixed_points.csv: point_id, converged, physical, iterations, residual, eg
// (Newton's last iterate), eg_ode_end, ode_curves (how many ODE curves eg_ode_end
// averages), max_real_eigenvalue, stability (yes,
// marginal, no, unknown), stable (1: yes or marginal at a converged fixed point),
// neutral_modes, neutral_cut, neutral_eigenvalues (';'-separated), neutral_drift,
// off_neutral_residual (FixedPointResult's; empty when there is no Newton result),
// message; fixed_points.jsonl: each converged or not fixed point's state.
void write_fixed_points(const std::string& directory, const std::vector<PointFixedPoint>& points);
void print_fixed_points(std::ostream& out, const Experiment& e,
                        const std::vector<PointFixedPoint>& points, const std::string& directory);

}  // namespace tsgd
