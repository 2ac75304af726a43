// The JSON forms of records. See records.h.
#include "experiment/records.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <stdexcept>

namespace tsgd {

using nlohmann::json;

double number_or_nan(const json& x) {
  return x.is_number() ? x.get<double>() : std::numeric_limits<double>::quiet_NaN();
}

namespace {

constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

}  // namespace

std::string doubles_base64(const std::vector<double>& values) {
  std::string bytes(values.size() * 8, '\0');
  for (std::size_t i = 0; i < values.size(); ++i) {
    std::uint64_t bits = 0;
    std::memcpy(&bits, &values[i], 8);
    for (int b = 0; b < 8; ++b) bytes[i * 8 + b] = static_cast<char>((bits >> (8 * b)) & 0xff);
  }
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const std::size_t n = std::min<std::size_t>(3, bytes.size() - i);
    std::uint32_t chunk = 0;
    for (std::size_t k = 0; k < 3; ++k)
      chunk = (chunk << 8) | (k < n ? static_cast<unsigned char>(bytes[i + k]) : 0u);
    for (std::size_t k = 0; k < 4; ++k) out += k <= n ? kBase64[(chunk >> (18 - 6 * k)) & 63] : '=';
  }
  return out;
}

std::vector<double> doubles_from_base64(const std::string& text, const std::string& where) {
  if (text.size() % 4 != 0) throw std::runtime_error(where + ": bad base64 weights");
  std::string bytes;
  bytes.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    std::uint32_t chunk = 0;
    int pad = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      const char c = text[i + k];
      const char* at = c == '\0' ? nullptr : std::strchr(kBase64, c);
      if (c == '=' && i + 4 == text.size() && k >= 2) {
        ++pad;
      } else if (at == nullptr || pad > 0) {
        throw std::runtime_error(where + ": bad base64 weights");
      }
      chunk = (chunk << 6) | static_cast<std::uint32_t>(c == '=' ? 0 : at - kBase64);
    }
    for (int k = 0; k < 3 - pad; ++k) bytes += static_cast<char>((chunk >> (16 - 8 * k)) & 0xff);
  }
  if (bytes.size() % 8 != 0) throw std::runtime_error(where + ": bad base64 weights");
  std::vector<double> out(bytes.size() / 8);
  for (std::size_t i = 0; i < out.size(); ++i) {
    std::uint64_t bits = 0;
    for (int b = 0; b < 8; ++b)
      bits |= static_cast<std::uint64_t>(static_cast<unsigned char>(bytes[i * 8 + b])) << (8 * b);
    std::memcpy(&out[i], &bits, 8);
  }
  return out;
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

json point_json(const PointParams& p, bool with_teacher_init, bool with_train_size) {
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
  if (with_train_size) out["train_size"] = p.train_size > 0 ? json(p.train_size) : json(nullptr);
  return out;
}

}  // namespace tsgd
