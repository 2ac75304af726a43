// The state of docs/theory.md §7's right-hand-side test vectors: K = M = 2.
#pragma once

#include "core/model.h"

namespace tsgd::testing {

inline OrderParameters sheet_state() {
  OrderParameters op;
  op.resize(2, 2);
  op.Q = {1.0, 0.2, 0.2, 0.7};
  op.R = {0.6, 0.1, -0.1, 0.5};
  op.T = {1.0, 0.0, 0.0, 1.0};
  op.v = {0.9, 1.1};
  op.vstar = {1.0, 0.8};
  return op;
}

}  // namespace tsgd::testing
