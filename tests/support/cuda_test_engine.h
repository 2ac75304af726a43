// The CUDA engine as the CUDA tests drive it (tests/cuda/): an engine held to
// the path a test asks for, so that a comparison of two paths never compares
// one with itself (an override in the environment, a refactor of the path
// choice), and a batch run through two advance calls. CUDA builds only.
#pragma once

#ifdef TSGD_HAVE_CUDA

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "core/engine.h"
#include "cuda/cuda_engine.h"

namespace tsgd {
namespace testing {

inline CudaEngine& as_cuda(Engine& engine) { return dynamic_cast<CudaEngine&>(engine); }

// A CUDA engine whose every load checks that the batch runs on the path it
// was asked for.
class PathChecked final : public CudaEngine {
 public:
  PathChecked(std::unique_ptr<Engine> engine, CudaPath expected)
      : engine_(std::move(engine)),
        cuda_(dynamic_cast<CudaEngine&>(*engine_)),
        expected_(expected) {}
  std::string name() const override { return engine_->name(); }
  Precision precision() const override { return engine_->precision(); }
  RngTransform rng_transform() const override { return engine_->rng_transform(); }
  void load(const std::vector<RunSpec>& runs) override {
    engine_->load(runs);
    if (expected_ != CudaPath::automatic && cuda_.path() != expected_)
      throw std::logic_error(std::string("the batch runs on the ") +
                             (cuda_.path() == CudaPath::fused ? "fused" : "cublas") +
                             " path, not the one the test asked for");
  }
  void advance(std::int64_t steps) override { engine_->advance(steps); }
  void order_parameters(std::vector<OrderParameters>& out) override {
    engine_->order_parameters(out);
  }
  void freeze(std::size_t index) override { engine_->freeze(index); }
  CudaPath path() const override { return cuda_.path(); }
  std::size_t input_uploads() const override { return cuda_.input_uploads(); }
  InitialWeights weights(std::size_t index) override { return cuda_.weights(index); }
  void weights(std::size_t index, InitialWeights& out) override { engine_->weights(index, out); }
  void resume(std::int64_t step, const std::vector<InitialWeights>& weights,
              const std::vector<char>& frozen) override {
    engine_->resume(step, weights, frozen);
  }
  void training_errors(int samples, std::vector<double>& out) override {
    engine_->training_errors(samples, out);
  }
  double timed_advance(std::int64_t steps) override { return cuda_.timed_advance(steps); }

 private:
  std::unique_ptr<Engine> engine_;
  CudaEngine& cuda_;
  const CudaPath expected_;
};

inline std::unique_ptr<Engine> cuda_engine(Precision precision, CudaPath path, bool graph = true) {
  CudaOptions options;
  options.path = path;
  options.use_graph = graph;
  return std::make_unique<PathChecked>(make_cuda_engine(precision, options), path);
}

inline std::vector<OrderParameters> run_engine(Engine& engine, const std::vector<RunSpec>& runs,
                                               std::int64_t steps) {
  engine.load(runs);
  engine.advance(steps / 3);
  engine.advance(steps - steps / 3);  // the step counter carries over between calls
  std::vector<OrderParameters> out;
  engine.order_parameters(out);
  return out;
}

}  // namespace testing
}  // namespace tsgd

#endif  // TSGD_HAVE_CUDA
