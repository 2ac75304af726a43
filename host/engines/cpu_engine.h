// The CPU reference engine: every run of a batch on the host, in parallel
// over runs (OpenMP), float64 by default or float32.
//
// Runs that share a seed and mini-batch size see the same inputs
// (docs/architecture.md contract 1), so the engine groups them: one thread draws each input vector
// once per step, computes the teacher fields once (teacher row m depends only
// on m, N and the teacher's settings: init, seed, sparsity, file; runs of one
// seed that share those share them), and advances every run of the group. A run's arithmetic
// does not depend on its group, so results are bitwise independent of the
// batch composition and of the thread count.
//
// Speed (docs/benchmarks.md, issue 18): the draws are vectorised across
// coordinates (engines/cpu_draw.h); a step updates the weights of sample t
// and computes the fields of sample t + 1 in one pass over them, several
// rows of the group's runs per pass (engines/cpu_kernels.h), with the
// fields summed in an order fixed for every instruction set.
#pragma once

#include <memory>

#include "core/engine.h"
#include "engines/cpu_draw.h"

namespace tsgd {

// threads <= 0: all available (OpenMP's default). TRANSFORM: the Gaussian
// transform of the inputs and label noise (math/gaussian.h; `fast` evaluates
// the GPU's fast formula with the C library's functions: the GPU's draws to
// within the bound stated there, and slower than `exact`, which the CPU
// draws 16 at a time, engines/cpu_draw.h).
std::unique_ptr<Engine> make_cpu_engine(Precision precision, int threads = 0,
                                        RngTransform transform = RngTransform::exact);

// The current weights of run `index` of a CPU engine (tests, diagnostics);
// throws std::invalid_argument for another engine.
struct InitialWeights;
void cpu_engine_weights(Engine& engine, std::size_t index, InitialWeights& out);
// Replaces the weights of run `index` (same shapes), e.g. to apply many
// independent samples to one state in a test of the ODE right-hand side. Runs
// that share a seed (and teacher settings) share the teacher rows of one member (the
// teacher depends only on those): give them the same teacher.
void cpu_engine_set_weights(Engine& engine, std::size_t index, const InitialWeights& weights);

}  // namespace tsgd
