// The JSON forms of records. See records.h.
#include "experiment/records.h"

#include <stdexcept>

namespace tsgd {

using nlohmann::json;

double number_or_nan(const json& x) {
  return x.is_number() ? x.get<double>() : std::numeric_limits<double>::quiet_NaN();
}

namespace {

json matrix_json(const std::vector<double>& a, int rows, int cols) {
  json m = json::array();
  for (int i = 0; i < rows; ++i) {
    json row = json::array();
    for (int j = 0; j < cols; ++j) row.push_back(a[static_cast<std::size_t>(i) * cols + j]);
    m.push_back(std::move(row));
  }
  return m;
}

std::vector<double> matrix_from_json(const json& m, int rows, int cols, const std::string& where) {
  if (!m.is_array() || static_cast<int>(m.size()) != rows)
    throw std::runtime_error(where + ": bad matrix shape");
  std::vector<double> a;
  for (const auto& row : m) {
    if (!row.is_array() || static_cast<int>(row.size()) != cols)
      throw std::runtime_error(where + ": bad matrix shape");
    for (const auto& x : row) a.push_back(number_or_nan(x));
  }
  return a;
}

}  // namespace

json state_json(const OrderParameters& op) {
  return json{{"Q", matrix_json(op.Q, op.K, op.K)},
              {"R", matrix_json(op.R, op.K, op.M)},
              {"T", matrix_json(op.T, op.M, op.M)},
              {"v", op.v},
              {"vstar", op.vstar}};
}

OrderParameters state_from_json(const json& j, const std::string& where) {
  OrderParameters op;
  const int K = static_cast<int>(j.at("v").size()), M = static_cast<int>(j.at("vstar").size());
  op.resize(K, M);
  op.Q = matrix_from_json(j.at("Q"), K, K, where);
  op.R = matrix_from_json(j.at("R"), K, M, where);
  op.T = matrix_from_json(j.at("T"), M, M, where);
  for (int k = 0; k < K; ++k) op.v[k] = number_or_nan(j["v"][k]);
  for (int m = 0; m < M; ++m) op.vstar[m] = number_or_nan(j["vstar"][m]);
  return op;
}

json point_json(const PointParams& p, bool with_teacher_init) {
  json out{{"teacher_activation", to_string(p.teacher_activation)},
           {"student_activation", to_string(p.student_activation)},
           {"N", p.N},
           {"M", p.M},
           {"K", p.K},
           {"train", to_string(p.train)},
           {"teacher_v", p.teacher_v},
           {"teacher_v_init", to_string(p.teacher_v_init)},
           {"student_v", p.student_v},
           {"student_v_init", to_string(p.student_v_init)},
           {"output_scaling", to_string(p.output_scaling)},
           {"lr", p.lr},
           {"lr2", p.lr2},
           {"sigma", p.sigma},
           {"weight_decay", p.weight_decay},
           {"weight_decay2", p.weight_decay2},
           {"batch_size", p.batch_size},
           {"alpha", p.alpha},
           {"init", to_string(p.init)},
           {"init_scale", p.init_scale}};
  if (with_teacher_init) out["teacher_init"] = to_string(p.teacher_init);
  return out;
}

}  // namespace tsgd
