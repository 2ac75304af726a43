#include "core/model.h"

#include <cmath>

#include "core/enum_names.h"

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

const char* to_string(Activation g) { return enum_name(g); }
const char* to_string(TrainMode t) { return enum_name(t); }
const char* to_string(InitKind i) { return enum_name(i); }
const char* to_string(SecondLayerInit s) { return enum_name(s); }
const char* to_string(OutputScaling s) { return enum_name(s); }
const char* to_string(TeacherInit t) { return enum_name(t); }
const char* to_string(Precision p) { return enum_name(p); }

}  // namespace tsgd
