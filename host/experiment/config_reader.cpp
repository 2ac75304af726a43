// See config_reader.h.
#include "experiment/config_reader.h"

#include <cmath>

#include "experiment/file_io.h"

namespace tsgd::config {

using nlohmann::json;

void fail(const std::string& path, const std::string& reason) {
  throw ConfigError(path, path + ": " + reason);
}

std::string describe(const json& value) {
  std::string s = value.dump();
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

std::string type_name(const json& value) {
  if (value.is_null()) return "null";
  if (value.is_boolean()) return "a boolean";
  if (value.is_number()) return "a number";
  if (value.is_string()) return "a string";
  if (value.is_array()) return "a list";
  return "an object";
}

namespace {

// What a value of the wrong type is, for "expected ..., got ...": "null", or its type and value.
std::string got(const json& value) {
  return value.is_null() ? "null" : type_name(value) + " " + describe(value);
}

}  // namespace

double get_number(const json& value, const std::string& path) {
  if (!value.is_number() || value.is_boolean()) fail(path, "expected a number, got " + got(value));
  const double x = value.get<double>();
  if (!std::isfinite(x)) fail(path, "must be finite");
  return x;
}

std::int64_t get_integer(const json& value, const std::string& path) {
  if (value.is_number_integer()) return value.get<std::int64_t>();
  if (value.is_number_float()) {
    const double x = value.get<double>();
    fail(path,
         "expected an integer, got " + describe(value) +
             (std::isfinite(x) && x == std::floor(x) ? " (write it without a decimal point)" : ""));
  }
  fail(path, "expected an integer, got " + got(value));
}

bool get_bool(const json& value, const std::string& path) {
  if (!value.is_boolean()) fail(path, "expected true or false, got " + describe(value));
  return value.get<bool>();
}

std::string get_string(const json& value, const std::string& path) {
  if (!value.is_string()) fail(path, "expected a string, got " + got(value));
  return value.get<std::string>();
}

double positive(double x, const std::string& path) {
  if (!(x > 0)) fail(path, "must be > 0, got " + format_double(x));
  return x;
}

double non_negative(double x, const std::string& path) {
  if (!(x >= 0)) fail(path, "must be >= 0, got " + format_double(x));
  return x;
}

int int_in(std::int64_t x, std::int64_t lo, std::int64_t hi, const std::string& path) {
  if (x < lo || x > hi)
    fail(path, "must be between " + std::to_string(lo) + " and " + std::to_string(hi) + ", got " +
                   std::to_string(x));
  return static_cast<int>(x);
}

void check_keys(const json& object, const std::string& path, const std::set<std::string>& allowed) {
  if (!object.is_object()) fail(path, "expected an object {...}, got " + type_name(object));
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (!allowed.count(it.key())) {
      std::string known;
      for (const auto& k : allowed) known += (known.empty() ? "" : ", ") + k;
      fail(path.empty() ? it.key() : path + "." + it.key(),
           "unknown key (known keys: " + known + ")");
    }
  }
}

Section::Section(const json& doc, const std::string& name, const std::set<std::string>& allowed,
                 json& resolved)
    : name_(name), resolved_(resolved[name] = json::object()) {
  if (!doc.contains(name)) return;
  check_keys(doc[name], name, allowed);
  object_ = &doc[name];
}

bool Section::has(const std::string& key) const { return object_ && object_->contains(key); }

const json& Section::given(const std::string& key) const { return (*object_)[key]; }

bool Section::boolean(const std::string& key, bool fallback) {
  const bool value = has(key) ? get_bool(given(key), path(key)) : fallback;
  resolve(key, value);
  return value;
}

int Section::integer(const std::string& key, int fallback, std::int64_t lo, std::int64_t hi) {
  const int value =
      has(key) ? int_in(get_integer(given(key), path(key)), lo, hi, path(key)) : fallback;
  resolve(key, value);
  return value;
}

double Section::positive_number(const std::string& key, double fallback) {
  const double value = has(key) ? positive(get_number(given(key), path(key)), path(key)) : fallback;
  resolve(key, value);
  return value;
}

}  // namespace tsgd::config
