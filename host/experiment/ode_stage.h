// The ODE engine's place in an experiment (docs/architecture.md contract 3): for every
// grid point, eps_g and the order parameters at the same record times as the
// SGD runs, from each seed's measured initial state (one curve per seed), or
// from the expected or explicit initial state (one curve per point). Each
// point's curves are saved as a work unit (work_units.h) so that an
// interrupted experiment resumes.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "experiment/config.h"
#include "experiment/records.h"

namespace tsgd {

// The initial states of a point's ODE curves, with their seeds (empty: the
// expected or explicit state, one curve).
std::vector<std::pair<std::optional<std::uint64_t>, OrderParameters>> ode_initial_states(
    const Experiment& e, int point);

// One ODE curve of POINT from INITIAL, recorded at the point's record times.
OdeCurve integrate_curve(const Experiment& e, int point, std::optional<std::uint64_t> seed,
                         const OrderParameters& initial);

// Integrates every grid point (in parallel over points), resuming from the
// units in work_dir. Returns false when stopped through `stop`.
// Only the points whose `include` entry is non-zero when `include` is given
// (a shard's share).
bool run_ode_stage(const Experiment& e, const std::string& work_dir, int threads, bool quiet,
                   const std::atomic<bool>* stop, std::vector<OdeCurve>& out,
                   const std::vector<char>* include = nullptr);

}  // namespace tsgd
