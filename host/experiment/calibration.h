// The CPU time estimate calibrated on this machine (issue 15 point 4): a short
// probe runs the CPU engine on the first runs of each of the experiment's
// largest record classes (runs of one N and alpha, batched as the SGD stage
// batches them: by seed, so that a seed's grid points share their draws) and
// sets the measured factor over resources.h's rule
// (set_cpu_calibration), so that `tsgd validate` and `tsgd slurm` print what
// this machine's CPU engine takes rather than the rule's guess (which was ~3x
// pessimistic on the quickstart).
#pragma once

#include "experiment/config.h"

namespace tsgd {

struct CpuCalibrationReport {
  int shapes = 0;              // record classes probed (those with the most run-steps)
  int shapes_total = 0;        // record classes of the experiment
  double median_factor = 1.0;  // measured over the rule, the median over the classes probed
  double probe_seconds = 0.0;  // the time the probe took
};

// Probes at most MAX_SHAPES classes, up to 24 runs each, for about
// PROBE_SECONDS each (one thread; the difference of two lengths, so setting up
// a batch is not counted) and calls set_cpu_calibration: the shapes of a probed
// class its factor, the others the median. Nothing with simulation off.
CpuCalibrationReport calibrate_cpu_rule(const Experiment& e, int max_shapes = 4,
                                        double probe_seconds = 0.05);

// The ODE's time, estimated by integrating it (issue 15 point 4): for at most
// MAX_CLASSES ODE classes (activations, K, M, layers; those with the most
// alpha times curves) the class's longest point is integrated to alpha_0 =
// min(alpha, 0.1), then to twice that, and so on while it takes less than
// BUDGET_SECONDS per class; beyond the last length a model of the adaptive
// step extrapolates (calibration.cpp, OdeTimeModel: steps lengthen with alpha
// up to the stability bound from the Jacobian's spectral radius, then stay
// there). Within 2x on the cases of scripts/check_estimates.py (docs/benchmarks.md).
// Every point of a class takes its model; the other classes the probed classes'
// median seconds per unit alpha. Seconds on one thread, all curves (one per
// seed with ode.init "measured").
struct OdeTimeEstimate {
  double seconds = 0;          // one thread
  int classes = 0;             // probed
  int classes_total = 0;       // ODE classes of the experiment
  double probe_seconds = 0.0;  // the time the probe took
};
OdeTimeEstimate estimate_ode_time(const Experiment& e, int max_classes = 4,
                                  double budget_seconds = 0.25);

}  // namespace tsgd
