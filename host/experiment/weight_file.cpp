// Weight files (.npy and JSON). See weight_file.h.
#include "experiment/weight_file.h"

#include <cctype>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "experiment/config_error.h"
#include "experiment/file_io.h"

namespace tsgd {

namespace {

[[noreturn]] void fail(const std::string& key, const std::string& path, const std::string& why) {
  throw ConfigError(key, key + ": " + path + ": " + why);
}

// The header of a .npy file: a Python dict literal of strings, booleans and
// tuples of integers, e.g. {'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }.
class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& key, const std::string& path)
      : s_(text), key_(key), path_(path) {}

  struct Value {
    std::string text;                // a string, or "True" / "False"
    std::vector<std::size_t> tuple;  // a tuple
    bool is_tuple = false;
  };

  std::map<std::string, Value> dict() {
    std::map<std::string, Value> out;
    expect('{');
    while (peek() != '}') {
      const std::string name = string();
      expect(':');
      if (!out.emplace(name, value()).second) bad("the header names '" + name + "' twice");
      if (peek() == ',')
        ++i_;
      else if (peek() != '}')
        bad("expected ',' or '}' in the header");
    }
    ++i_;
    skip();
    if (i_ != s_.size()) bad("text after the header's dictionary");
    return out;
  }

 private:
  [[noreturn]] void bad(const std::string& why) { fail(key_, path_, "not a .npy file: " + why); }
  void skip() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  char peek() {
    skip();
    if (i_ >= s_.size()) bad("the header ends early");
    return s_[i_];
  }
  void expect(char c) {
    if (peek() != c) bad(std::string("expected '") + c + "' in the header");
    ++i_;
  }
  std::string string() {
    const char quote = peek();
    if (quote != '\'' && quote != '"') bad("expected a quoted name in the header");
    const std::size_t end = s_.find(quote, ++i_);
    if (end == std::string::npos) bad("an unterminated string in the header");
    std::string out = s_.substr(i_, end - i_);
    i_ = end + 1;
    return out;
  }
  Value value() {
    Value v;
    const char c = peek();
    if (c == '\'' || c == '"') {
      v.text = string();
    } else if (c == '(') {
      ++i_;
      v.is_tuple = true;
      while (peek() != ')') {
        std::size_t digits = 0, x = 0;
        while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) {
          if (x > (SIZE_MAX - 9) / 10) bad("a dimension beyond 64 bits");
          x = x * 10 + static_cast<std::size_t>(s_[i_++] - '0');
          ++digits;
        }
        if (digits == 0) bad("expected a dimension in the shape");
        v.tuple.push_back(x);
        if (peek() == ',')
          ++i_;
        else if (peek() != ')')
          bad("expected ',' or ')' in the shape");
      }
      ++i_;
    } else {
      for (const char* word : {"True", "False"})
        if (s_.compare(i_, std::strlen(word), word) == 0) {
          v.text = word;
          i_ += std::strlen(word);
          return v;
        }
      bad("an unexpected value in the header");
    }
    return v;
  }

  const std::string& s_;
  const std::string& key_;
  const std::string& path_;
  std::size_t i_ = 0;
};

std::uint32_t little_endian(const std::string& b, std::size_t at, int bytes) {
  std::uint32_t x = 0;
  for (int i = bytes; i-- > 0;) x = (x << 8) | static_cast<unsigned char>(b[at + i]);
  return x;
}

void check_finite(const std::vector<double>& values, const std::string& key,
                  const std::string& path) {
  for (std::size_t i = 0; i < values.size(); ++i)
    if (!std::isfinite(values[i]))
      fail(key, path, "value " + std::to_string(i) + " (in C order) is not finite");
}

// The first layer (and second) of a .npy file of shape (rows, N) or (rows, N + 1).
FileWeights npy_weights(const NpyArray& a, const std::string& key, const std::string& path,
                        int rows, const std::string& rows_name, int N) {
  if (a.shape.size() != 2)
    fail(key, path,
         "expected a 2-d array (rows, N) or (rows, N + 1), got " + std::to_string(a.shape.size()) +
             " dimensions");
  const std::size_t r = a.shape[0], c = a.shape[1], n = static_cast<std::size_t>(N);
  if (r != static_cast<std::size_t>(rows))
    fail(key, path,
         "has " + std::to_string(r) + " rows, " + rows_name + " = " + std::to_string(rows));
  if (c != n && c != n + 1)
    fail(key, path,
         "has " + std::to_string(c) + " columns; expected model.N = " + std::to_string(N) +
             " (the first layer) or N + 1 (each row's second-layer weight last)");
  FileWeights out;
  out.rows = rows;
  out.N = N;
  for (std::size_t i = 0; i < r; ++i) {
    out.w.insert(out.w.end(), a.values.begin() + i * c, a.values.begin() + i * c + n);
    if (c == n + 1) out.v.push_back(a.values[i * c + n]);
  }
  return out;
}

std::vector<double> json_numbers(const nlohmann::json& list, const std::string& at,
                                 const std::string& key, const std::string& path) {
  if (!list.is_array()) fail(key, path, at + " is not a list of numbers");
  std::vector<double> out;
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (!list[i].is_number()) fail(key, path, at + "[" + std::to_string(i) + "] is not a number");
    out.push_back(list[i].get<double>());
  }
  return out;
}

FileWeights json_weights(const std::string& bytes, const std::string& key, const std::string& path,
                         int rows, const std::string& rows_name, int N) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(bytes);
  } catch (const nlohmann::json::exception& e) {
    fail(key, path, std::string("not valid JSON: ") + e.what());
  }
  if (!doc.is_object() || !doc.contains("w"))
    fail(key, path, "expected an object {\"w\": [[...], ...], \"v\": [...]}");
  for (auto it = doc.begin(); it != doc.end(); ++it)
    if (it.key() != "w" && it.key() != "v")
      fail(key, path, "unknown key \"" + it.key() + "\" (expected \"w\" and optionally \"v\")");
  const nlohmann::json& w = doc["w"];
  if (!w.is_array() || w.size() != static_cast<std::size_t>(rows))
    fail(key, path,
         "\"w\" has " + (w.is_array() ? std::to_string(w.size()) : std::string("no")) + " rows, " +
             rows_name + " = " + std::to_string(rows));
  FileWeights out;
  out.rows = rows;
  out.N = N;
  for (int i = 0; i < rows; ++i) {
    const std::string at = "\"w\"[" + std::to_string(i) + "]";
    const std::vector<double> row = json_numbers(w[i], at, key, path);
    if (row.size() != static_cast<std::size_t>(N))
      fail(key, path,
           at + " has " + std::to_string(row.size()) + " numbers, model.N = " + std::to_string(N));
    out.w.insert(out.w.end(), row.begin(), row.end());
  }
  if (doc.contains("v")) {
    out.v = json_numbers(doc["v"], "\"v\"", key, path);
    if (out.v.size() != static_cast<std::size_t>(rows))
      fail(key, path,
           "\"v\" has " + std::to_string(out.v.size()) + " numbers, " + rows_name + " = " +
               std::to_string(rows));
  }
  return out;
}

bool ends_with(const std::string& s, const std::string& end) {
  return s.size() >= end.size() && s.compare(s.size() - end.size(), end.size(), end) == 0;
}

}  // namespace

NpyArray parse_npy(const std::string& b, const std::string& key, const std::string& path) {
  if (b.size() < 10 || b.compare(0, 6, "\x93NUMPY") != 0)
    fail(key, path, "not a .npy file (no \\x93NUMPY magic)");
  const int major = static_cast<unsigned char>(b[6]);
  if (major < 1 || major > 3)
    fail(key, path, "unknown .npy format version " + std::to_string(major));
  const int length_bytes = major == 1 ? 2 : 4;
  if (b.size() < 8u + length_bytes) fail(key, path, "truncated in the header");
  const std::size_t header_length = little_endian(b, 8, length_bytes);
  const std::size_t data_at = 8 + length_bytes + header_length;
  if (b.size() < data_at) fail(key, path, "truncated in the header");
  auto header = HeaderParser(b.substr(8 + length_bytes, header_length), key, path).dict();
  for (const char* name : {"descr", "fortran_order", "shape"})
    if (!header.count(name)) fail(key, path, std::string("the header has no '") + name + "'");
  if (header.size() != 3) fail(key, path, "the header has keys beyond descr, fortran_order, shape");
  const std::string descr = header["descr"].text;
  if (descr != "<f8" && descr != "<f4")
    fail(key, path,
         "dtype '" + descr + "': expected '<f8' or '<f4' (little-endian float64 or float32)");
  if (header["fortran_order"].text != "False")
    fail(key, path, "Fortran order: expected C order (numpy.ascontiguousarray before saving)");
  if (!header["shape"].is_tuple) fail(key, path, "the shape is not a tuple");
  NpyArray out;
  out.shape = header["shape"].tuple;
  std::size_t count = 1;
  for (std::size_t d : out.shape) {
    if (d != 0 && count > SIZE_MAX / 8 / d) fail(key, path, "a shape beyond memory");
    count *= d;
  }
  const std::size_t item = descr == "<f8" ? 8 : 4, have = b.size() - data_at;
  if (have < count * item)
    fail(key, path,
         "truncated: " + std::to_string(have) + " bytes of data, the shape needs " +
             std::to_string(count * item));
  if (have > count * item)
    fail(key, path, std::to_string(have - count * item) + " bytes after the data");
  out.values.resize(count);
  for (std::size_t i = 0; i < count; ++i) {
    if (item == 8) {
      std::memcpy(&out.values[i], b.data() + data_at + 8 * i, 8);
    } else {
      float f;
      std::memcpy(&f, b.data() + data_at + 4 * i, 4);
      out.values[i] = f;
    }
  }
  return out;
}

LoadedWeights read_weight_file(const std::string& path, const std::string& key, int rows,
                               const std::string& rows_name, int N) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) fail(key, path, "no such file");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(key, path, "cannot open the file");
  std::ostringstream contents;
  contents << in.rdbuf();
  const std::string bytes = contents.str();
  if (!in.good() && !in.eof()) fail(key, path, "cannot read the file");
  LoadedWeights out;
  if (ends_with(path, ".npy"))
    out.weights = npy_weights(parse_npy(bytes, key, path), key, path, rows, rows_name, N);
  else if (ends_with(path, ".json"))
    out.weights = json_weights(bytes, key, path, rows, rows_name, N);
  else
    fail(key, path, "unknown format: the name must end in .npy or .json");
  check_finite(out.weights.w, key, path);
  check_finite(out.weights.v, key, path);
  out.weights.source = path;
  out.bytes = bytes.size();
  out.fnv1a = fnv1a_hex(bytes);
  return out;
}

}  // namespace tsgd
