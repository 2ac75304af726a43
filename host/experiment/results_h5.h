// results.h5: every trajectory of an experiment in HDF5 (docs/results.md has
// the layout): per grid point, arrays indexed [seed, record] for eps_g and
// [seed, record, K, K] for Q (R, T, v, v* likewise), each run's final order
// parameters, the ODE's curves, the record times, and the point's parameters
// as attributes; chunked, shuffled and deflated.
//
// Written point by point and, within a point, block by block of seeds, in
// the order of the points and seeds (never of the work units), to a
// temporary file renamed into place by commit(): the same bytes whatever
// order the runs were computed in, memory bounded by one block. Debian's
// HDF5 1.10 has no journaling, so the work units stay the durable record and
// this file is rewritten from them. Only this file pair includes hdf5.h.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "experiment/config.h"
#include "experiment/records.h"

namespace tsgd {

class ResultsH5 {
 public:
  // Creates DIRECTORY/results.h5's temporary file (float32 trajectories with
  // record.hdf5_precision float32). Throws std::runtime_error naming the file.
  ResultsH5(const std::string& directory, const Experiment& e);
  // Without commit(): closes and removes the temporary file.
  ~ResultsH5();
  ResultsH5(const ResultsH5&) = delete;
  ResultsH5& operator=(const ResultsH5&) = delete;

  // Starts grid point P (points in order) with RUNS runs; BLOCK_SEEDS: the
  // most runs one add_runs() gets (a power of two: chunks never straddle blocks).
  void begin_point(int p, std::size_t runs, std::size_t block_seeds);
  // The point's next runs in seed order, each with its order parameters at
  // every record it has (record.order_parameters) or at its last.
  void add_runs(const std::vector<RunTrajectory>& runs);
  // Ends the point with its ODE curves (none: no ode group).
  void end_point(const std::vector<const OdeCurve*>& ode);
  // Closes the file and renames it to results.h5.
  void commit();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tsgd
