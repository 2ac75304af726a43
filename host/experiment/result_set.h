// Everything an experiment's result files are written from: the SGD runs and
// ODE curves, sorted so that the files do not depend on how the work was
// split or interrupted, and the closed-form theory of each grid point.
#pragma once

#include <vector>

#include "experiment/config.h"
#include "experiment/records.h"
#include "theory/asymptotic.h"

namespace tsgd {

struct ResultSet {
  const Experiment* experiment = nullptr;
  // Sorted by (point_id, seed): while the result files are written
  // (write_results), the runs of one grid point at a time.
  std::vector<RunTrajectory> runs;
  std::vector<OdeCurve> ode;  // sorted by point_id, each point's curves in seed order
  // One per grid point: the closed forms (theory/asymptotic.h) and the small-eta
  // rule at the ODE's noise-free fixed point, each holding or skipped with the reason.
  std::vector<TheoryReport> theory;
};

// Whether any grid point of E records eps_g on a test set (test_set_eg): the
// result files then name each point's eg_source; and whether any records the
// class error (records_class_err): the files then have its columns. Both false
// for Gaussian inputs, whose files stay as they were before real inputs.
bool lists_eg_source(const Experiment& e);
bool lists_class_err(const Experiment& e);

// "closed_form" (from the order parameters) or "test_set" (test_set_eg): where
// point P's eps_g comes from.
const char* eg_source(const PointParams& p);

// Sorts ODE and adds each point's theory (on THREADS threads); no runs.
ResultSet assemble_results(const Experiment& e, std::vector<OdeCurve> ode, int threads);

// The theory of each grid point: asymptotic_theory, then the small-eta rule at the
// noise-free fixed point that Newton reaches from the end state of the point's first
// ODE curve (skipped, with the reason, where there is none). THREADS: over the points,
// or inside a single point's Newton (core/threads.h).
std::vector<TheoryReport> theory_of_points(const Experiment& e, const std::vector<OdeCurve>& ode,
                                           int threads);

}  // namespace tsgd
