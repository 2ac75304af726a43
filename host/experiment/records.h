// What the experiment records: each SGD run's eps_g curve and order parameters
// at the record times (docs/architecture.md contract 2), each ODE curve likewise, and the
// JSON forms they take in work units and result files.
#pragma once

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/model.h"

namespace tsgd {

struct RunTrajectory {
  int point_id = 0;
  std::uint64_t seed = 0;
  std::vector<double> alpha;  // record times (step / N)
  // eps_g at each record time: the closed form from the order parameters, or on
  // real inputs with test rows the test-set error (experiment/simulation.h: test_set_eg).
  std::vector<double> eg;
  // The training error at each record time (core/training_error.h): a finite
  // training set (data.train_size) only, else empty.
  std::vector<double> et;
  // The test set's class error at each record time (core/test_error.h):
  // records_class_err points only, else empty.
  std::vector<double> class_err;
  std::vector<OrderParameters> states;  // at each record time, or only the last one
  bool diverged = false;
  double diverged_alpha = std::numeric_limits<double>::quiet_NaN();
  // The first-layer weights w (K x N, row-major, in double) at the end of the
  // run, with record.final_weights (else empty); v is the last state's v.
  std::vector<double> final_w;
};

// Whether a point's recorded eps_g is the test-set error (core/test_error.h):
// real inputs with at least one test row; else the closed form.
inline bool test_set_eg(const PointParams& p) { return p.inputs && p.inputs->test_count > 0; }
// Whether a point records the test set's class error: test_set_eg with file labels.
inline bool records_class_err(const PointParams& p) {
  return test_set_eg(p) && p.inputs->labelled();
}

// An ODE trajectory of a grid point, from one seed's initial weights or (seed
// empty) from the expected or explicit initial state.
struct OdeCurve {
  int point_id = 0;
  std::optional<std::uint64_t> seed;
  std::vector<double> alpha, eg;
  std::vector<OrderParameters> states;
  bool diverged = false;
  double diverged_alpha = 0;
  std::string diverged_reason;
};

// JSON form of order parameters (matrices as lists of rows) and back; the
// reader throws std::runtime_error naming `where` on a bad shape.
nlohmann::json state_json(const OrderParameters& op);
OrderParameters state_from_json(const nlohmann::json& j, const std::string& where);

// JSON form of one grid point's parameters (also the columns of points.csv).
// teacher_init is one of them only WITH_TEACHER_INIT (lists_teacher_init of the
// experiment, config.h), so that result files of experiments without the key
// stay as they were before it existed.
// train_size likewise only WITH_TRAIN_SIZE (lists_train_size; null for an online point).
nlohmann::json point_json(const PointParams& p, bool with_teacher_init,
                          bool with_train_size = false);

// Doubles as base64 of their little-endian IEEE-754 bytes (exact: NaN and
// infinities included; 10.7 characters a number), and back (throws
// std::runtime_error naming WHERE on text that is not such a list).
std::string doubles_base64(const std::vector<double>& values);
std::vector<double> doubles_from_base64(const std::string& text, const std::string& where);

// A number, or NaN for what JSON cannot hold (non-finite values are written as null).
double number_or_nan(const nlohmann::json& x);

}  // namespace tsgd
