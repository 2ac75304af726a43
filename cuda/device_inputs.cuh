// Real inputs on the device (PointParams::inputs, core/model.h: InputSet): the
// training rows, and the labels from files where a set has them, uploaded
// once per engine (an engine holds one device) and read by every run of the
// batch that trains on them (RunParams::inputs and ::labels point there). A
// set the next batch loads again stays on the device and is not uploaded
// again; one it leaves out is released.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <map>
#include <memory>
#include <vector>

#include "core/model.h"
#include "cuda/batch_layout.h"
#include "cuda/device_buffer.cuh"

namespace tsgd {

class DeviceInputSets {
 public:
  // Points each run's parameters (prepare_host_batch: at host memory) at its
  // set's device copy, uploading the sets not held yet on `stream` (the caller
  // synchronises it before the host sets may go: they are held here).
  template <typename Real>
  void bind(const std::vector<RunSpec>& runs, std::vector<RunParams<Real>>& params,
            cudaStream_t stream) {
    std::map<const InputSet*, Held> next;
    for (std::size_t r = 0; r < runs.size(); ++r) {
      const std::shared_ptr<const InputSet>& set = runs[r].params.inputs;
      if (!set) continue;
      auto found = next.find(set.get());
      if (found == next.end()) found = next.emplace(set.get(), take_or_upload(set, stream)).first;
      params[r].inputs = found->second.rows.data();
      params[r].labels = set->labelled() ? found->second.labels.data() : nullptr;
    }
    held_ = std::move(next);
  }
  // Sets uploaded since the engine was made (a set loaded again is not counted again).
  std::size_t uploads() const { return uploads_; }

 private:
  struct Held {
    std::shared_ptr<const InputSet> set;  // keeps the host set, and so its address, alive
    DeviceBuffer<float> rows, labels;
  };

  Held take_or_upload(const std::shared_ptr<const InputSet>& set, cudaStream_t stream) {
    const auto kept = held_.find(set.get());
    if (kept != held_.end()) {  // out of held_, so that a failed bind leaves no hollow entry
      Held taken = std::move(kept->second);
      held_.erase(kept);
      return taken;
    }
    Held held{set, DeviceBuffer<float>(set->train.size()),
              DeviceBuffer<float>(set->train_labels.size())};
    held.rows.upload_async(set->train.data(), stream);
    held.labels.upload_async(set->train_labels.data(), stream);
    ++uploads_;
    return held;
  }

  std::map<const InputSet*, Held> held_;
  std::size_t uploads_ = 0;
};

}  // namespace tsgd
