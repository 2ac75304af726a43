// The one engine interface (docs/architecture.md, Conventions): load a batch of runs
// from their identities, advance all of them by some SGD steps, hand back
// their order parameters. The CPU engine (host/cpu_engine.h) is the reference;
// the CUDA engine (cuda/) is its twin. Tests are written once against this.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/initial_weights.h"
#include "core/model.h"
#include "math/gaussian.h"

namespace tsgd {

class Engine {
 public:
  virtual ~Engine() = default;

  // "cpu" or "cuda".
  virtual std::string name() const = 0;
  // Precision of the weights and the arithmetic.
  virtual Precision precision() const = 0;
  // The Gaussian transform of the inputs and label noise (math/gaussian.h):
  // part of the runs' identity, fixed when the engine is made.
  virtual RngTransform rng_transform() const = 0;

  // Replaces the batch: every run's teacher and student are built from its
  // identity (initial_weights.h) and its step counter is 0. All runs of a
  // batch have the same N, so that they share their record steps.
  virtual void load(const std::vector<RunSpec>& runs) = 0;

  // Advances every run that is not frozen by `steps` SGD steps.
  virtual void advance(std::int64_t steps) = 0;

  // Order parameters of every run of the batch, in load order (resized here).
  virtual void order_parameters(std::vector<OrderParameters>& out) = 0;

  // Stops advancing run `index` of the batch (it diverged); its weights stay.
  virtual void freeze(std::size_t index) = 0;

  // Run `index`'s current weights as the engine holds them, promoted to double,
  // in the layout of InitialWeights (w K x N, w* M x N, v K, v* M): a run's
  // final weights (record.final_weights) and what a checkpoint saves.
  virtual void weights(std::size_t index, InitialWeights& out) = 0;

  // Continues the batch just loaded from a checkpoint taken after STEP steps:
  // every run's student weights (w and v of WEIGHTS[r], as weights() handed
  // them back, so exact in the engine's precision; the teacher stays the one
  // load built from the identity), every run's step counter STEP, and the runs
  // flagged in FROZEN frozen. The inputs and label noise of step t are drawn at
  // (seed, t) (docs/architecture.md contract 1), so the runs go on bit for bit
  // as if never stopped. Throws std::invalid_argument on wrong sizes.
  virtual void resume(std::int64_t step, const std::vector<InitialWeights>& weights,
                      const std::vector<char>& frozen) = 0;

  // The training error et of every run of the batch at its current weights, in
  // load order (resized here): core/training_error.h over the first
  // min(P, samples) samples of its training set; NaN for an online run.
  virtual void training_errors(int samples, std::vector<double>& out) = 0;
};

}  // namespace tsgd
