#include "core/model.h"

#include <cmath>

namespace tsgd {

std::int64_t PointParams::total_steps() const {
  return static_cast<std::int64_t>(std::llround(alpha * static_cast<double>(N)));
}

void OrderParameters::resize(int k, int m) {
  K = k;
  M = m;
  Q.assign(static_cast<std::size_t>(k) * k, 0.0);
  R.assign(static_cast<std::size_t>(k) * m, 0.0);
  T.assign(static_cast<std::size_t>(m) * m, 0.0);
  v.assign(k, 0.0);
  vstar.assign(m, 0.0);
}

bool OrderParameters::finite() const {
  for (const auto* a : {&Q, &R, &T, &v, &vstar})
    for (double x : *a)
      if (!std::isfinite(x)) return false;
  return true;
}

const char* to_string(Activation g) {
  switch (g) {
    case Activation::erf: return "erf";
    case Activation::relu: return "relu";
    case Activation::linear: return "linear";
    case Activation::quad: return "quad";
    case Activation::sign: return "sign";
  }
  return "?";
}
const char* to_string(TrainMode t) {
  return t == TrainMode::first_layer ? "first_layer" : "both_layers";
}
const char* to_string(InitKind i) {
  switch (i) {
    case InitKind::large: return "large";
    case InitKind::small: return "small";
    case InitKind::mixed: return "mixed";
    case InitKind::informed: return "informed";
    case InitKind::denoise: return "denoise";
  }
  return "?";
}
const char* to_string(SecondLayerInit s) {
  switch (s) {
    case SecondLayerInit::uniform: return "uniform";
    case SecondLayerInit::gaussian: return "gaussian";
    case SecondLayerInit::flip_half: return "flip_half";
  }
  return "?";
}
const char* to_string(OutputScaling s) {
  switch (s) {
    case OutputScaling::none: return "none";
    case OutputScaling::inverse: return "1/K";
    case OutputScaling::inverse_sqrt: return "1/sqrt(K)";
  }
  return "?";
}
const char* to_string(Precision p) { return p == Precision::float32 ? "float32" : "float64"; }

}  // namespace tsgd
