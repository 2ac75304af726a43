// make_cuda_engine's options after the environment's overrides (cuda_engine.h:
// TSGD_CUDA_PATH=fused|cublas|auto where the caller left the path automatic;
// TSGD_CUDA_GROUP=0, TSGD_CUDA_GRAPH=0 and TSGD_CUDA_KEEP_INPUTS=0 turn those
// off). Plain C++ (no CUDA headers).
#pragma once

#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include "cuda/cuda_engine.h"

namespace tsgd {

inline CudaPath path_from_environment(CudaPath requested) {
  const char* value = std::getenv("TSGD_CUDA_PATH");
  if (requested != CudaPath::automatic || value == nullptr || *value == '\0') return requested;
  if (std::strcmp(value, "fused") == 0) return CudaPath::fused;
  if (std::strcmp(value, "cublas") == 0) return CudaPath::cublas;
  if (std::strcmp(value, "auto") == 0) return CudaPath::automatic;
  throw std::invalid_argument(std::string("TSGD_CUDA_PATH: expected fused, cublas or auto, not '") +
                              value + "'");
}

inline bool switched_off(const char* variable) {
  const char* value = std::getenv(variable);
  return value != nullptr && std::strcmp(value, "0") == 0;
}

inline CudaOptions options_from_environment(const CudaOptions& options) {
  CudaOptions resolved = options;
  resolved.path = path_from_environment(options.path);
  if (switched_off("TSGD_CUDA_GROUP")) resolved.group_by_seed = false;
  if (switched_off("TSGD_CUDA_GRAPH")) resolved.use_graph = false;
  if (switched_off("TSGD_CUDA_KEEP_INPUTS")) resolved.keep_inputs = false;
  return resolved;
}

}  // namespace tsgd
