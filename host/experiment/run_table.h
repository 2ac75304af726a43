// Every SGD run of an experiment, held on disk in point-major order so that
// the result files are written one grid point (and within it one block of
// seeds) at a time, in a fixed order whatever order the work units completed
// or are read in, with memory bounded by a block, not by the experiment.
//
// The runs live in a scratch file in the output directory, unlinked as soon
// as it is created (a kill leaves nothing behind; the work units stay the
// durable record): one fixed-size slot per (point, seed), of the point's
// record times, eps_g and order parameters (at every record, or only the last
// without record.order_parameters), and its final weights w with
// record.final_weights. Without a directory the table keeps only
// which runs it holds (a shard, which writes no result files).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "experiment/config.h"
#include "experiment/records.h"

namespace tsgd {

class RunTable {
 public:
  // DIRECTORY empty: identities only (load() then throws).
  RunTable(const Experiment& e, const std::string& directory);
  ~RunTable();
  RunTable(const RunTable&) = delete;
  RunTable& operator=(const RunTable&) = delete;

  // Stores T (a run of the experiment; throws std::runtime_error naming WHERE
  // when its point, seed or shape is not the experiment's). A run added twice
  // keeps the last copy and counts both (copies()).
  void add(const RunTrajectory& t, const std::string& where);

  std::size_t seeds() const { return seeds_; }
  // How often (point, seed index) was added: 0 absent, 2 and more duplicated.
  int copies(int point, std::size_t seed_index) const;
  bool has(int point, std::uint64_t seed) const;
  std::size_t runs() const { return runs_; }            // distinct runs held
  std::size_t runs_of_point(int point) const;           // of one grid point
  bool holds_trajectories() const { return fd_ >= 0; }  // a directory was given

  // The runs of POINT with seed indices in [BEGIN, END) that the table holds,
  // in seed order, each with its order parameters at every record time it has
  // (FINAL_ONLY: only the last).
  std::vector<RunTrajectory> load(int point, std::size_t begin, std::size_t end,
                                  bool final_only) const;
  // Seeds per block of POINT for load(): a power of two whose runs take at
  // most kBlockBytes (at least 1 seed).
  std::size_t block_seeds(int point) const;
  static constexpr double kBlockBytes = 8e6;

 private:
  struct Shape {
    int K = 0, M = 0;
    std::size_t records = 0, states = 0;  // slots for record times and order parameters
    std::size_t weights = 0;              // final w (K x N) with record.final_weights, else 0
    std::size_t doubles = 0;              // per slot
    bool et = false;                      // a finite training set: et[records] after eg
    bool class_err = false;               // file labels: class_err[records] after those
    std::size_t class_err_at = 0;         // where class_err begins in a slot
    std::size_t states_at = 0;            // where the states begin in a slot
    std::uint64_t offset = 0;             // of the point's first slot, in doubles
  };
  std::uint64_t slot_offset(int point, std::size_t seed_index) const;

  const Experiment* e_;
  std::size_t seeds_ = 0;
  std::vector<Shape> shapes_;
  std::vector<std::uint8_t> copies_;  // point * seeds + seed index
  std::size_t runs_ = 0;
  int fd_ = -1;
  std::string path_;  // for messages
};

// The number of doubles of order parameters of one K, M state (Q, R, T, v, v*).
std::size_t state_doubles(int K, int M);

}  // namespace tsgd
