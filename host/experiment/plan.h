// The plan of an experiment (docs/architecture.md, Data flow: config -> plan): its
// runs (grid point x seed), how a sweep splits into shards, and each grid
// point's record times.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/model.h"
#include "experiment/config.h"

namespace tsgd {

// All runs of an experiment, ordered by (point_id, seed).
std::vector<RunSpec> plan_runs(const Experiment& experiment);

// Total SGD run-steps of an experiment (work estimate).
double plan_run_steps(const Experiment& experiment);

// Shard (0 .. count-1) of every run of plan_runs(), by a deterministic
// longest-processing-time rule on the cost (steps x (K + M) x N), ties broken
// by (point, seed): the shards' costs differ by at most one run's cost.
std::vector<int> shard_of_runs(const Experiment& experiment, int count);
// Shard of each grid point's ODE (round robin over points).
int shard_of_point(int point, int count);
// Output subdirectory of a shard: DIR/shard-I-of-N.
std::string shard_directory(const std::string& dir, int index, int count);

// Record steps of a grid point: 0, then the distinct rounded alpha_j * N of
// the schedule, the last one being alpha * N. Record time alpha = step / N.
std::vector<std::int64_t> record_steps(const RecordSettings& record, const PointParams& p);
// The record times (alpha) of a grid point.
std::vector<double> record_alphas(const Experiment& e, const PointParams& p);

}  // namespace tsgd
