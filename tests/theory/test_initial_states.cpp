// The ODE's initial states (theory/ode.h): the N -> infinity expectation of
// each initialisation, and the explicit state of a configuration, validated.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "theory/ode.h"

namespace tsgd {
namespace {

TEST(InitialState, ExpectedStates) {
  PointParams p;
  p.K = 3;
  p.M = 2;
  p.init_scale = 0.1;
  p.init = InitKind::large;
  OrderParameters op = expected_initial_state(p);
  EXPECT_EQ(op.Q, std::vector<double>({1, 0, 0, 0, 1, 0, 0, 0, 1}));
  EXPECT_EQ(op.R, std::vector<double>(6, 0.0));
  EXPECT_EQ(op.T, std::vector<double>({1, 0, 0, 1}));
  EXPECT_EQ(op.v, std::vector<double>(3, 1.0));

  p.init = InitKind::informed;
  op = expected_initial_state(p);
  EXPECT_DOUBLE_EQ(op.q(0, 0), 1.01);
  EXPECT_DOUBLE_EQ(op.q(2, 2), 0.01);
  EXPECT_EQ(op.r(1, 1), 1.0);
  EXPECT_EQ(op.r(2, 0), 0.0);

  p.init = InitKind::denoise;
  p.train = TrainMode::both_layers;
  p.teacher_v = 2.0;
  op = expected_initial_state(p);
  EXPECT_EQ(op.q(0, 2), 1.0);  // students 0 and 2 copy teacher 0
  EXPECT_DOUBLE_EQ(op.q(2, 2), 1.01);
  EXPECT_EQ(op.r(2, 0), 1.0);
  EXPECT_EQ(op.v, std::vector<double>({1.0, 2.0, 1.0}));  // v*_m / copies(m)

  p.init = InitKind::small;  // both layers: random student v
  EXPECT_THROW(expected_initial_state(p), std::invalid_argument);
  p.train = TrainMode::first_layer;
  EXPECT_NO_THROW(expected_initial_state(p));
  p.teacher_v_init = SecondLayerInit::gaussian;
  try {
    expected_initial_state(p);
    FAIL() << "gaussian teacher v has no expected initial state";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("ode.init"), std::string::npos);
  }
  p.teacher_v_init = SecondLayerInit::flip_half;
  p.output_scaling = OutputScaling::inverse;
  p.teacher_v = 1.0;
  op = expected_initial_state(p);
  EXPECT_EQ(op.vstar, std::vector<double>({0.5, -0.5}));
  EXPECT_EQ(op.v, std::vector<double>(3, 1.0 / 3.0));
}

TEST(InitialState, ExplicitStateIsValidated) {
  PointParams p;
  p.K = 2;
  p.M = 1;
  OdeExplicitState st;
  st.Q = {{1.0, 0.2}, {0.2, 0.5}};
  st.R = {{0.3}, {0.1}};
  st.T = {{1.0}};
  st.v = {1.0, 1.0};
  const OrderParameters op = explicit_initial_state(st, p);
  EXPECT_EQ(op.Q, std::vector<double>({1.0, 0.2, 0.2, 0.5}));
  EXPECT_EQ(op.vstar, std::vector<double>({1.0}));  // teacher rule when teacher_v is absent
  auto message = [&](OdeExplicitState s) {
    try {
      explicit_initial_state(s, p);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  OdeExplicitState bad = st;
  bad.Q = {{1.0, 0.2}};
  EXPECT_NE(message(bad).find("ode.init.Q"), std::string::npos);
  bad = st;
  bad.R = {{0.3, 0.0}, {0.1, 0.0}};
  EXPECT_NE(message(bad).find("ode.init.R"), std::string::npos);
  bad = st;
  bad.v = {1.0};
  EXPECT_NE(message(bad).find("ode.init.v"), std::string::npos);
  bad = st;
  bad.Q = {{1.0, 0.3}, {0.2, 0.5}};
  EXPECT_NE(message(bad).find("symmetric"), std::string::npos);
  bad = st;
  bad.R = {{1.5}, {0.1}};  // |R| > sqrt(Q T)
  EXPECT_NE(message(bad).find("ode.init.R"), std::string::npos);
  bad = st;
  bad.teacher_v = {1.0, 2.0};
  EXPECT_NE(message(bad).find("ode.init.teacher_v"), std::string::npos);
}

}  // namespace
}  // namespace tsgd
