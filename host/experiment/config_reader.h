// Strict reading of one JSON configuration: every value checked for its type
// and range, every unknown key refused, every error a ConfigError naming the
// key path and the reason. A Section reads the keys of one object of the
// configuration, each key once: it returns the value given (or the default)
// and records the value it resolved to, so the resolved configuration
// (config.json) is written by the same line that reads the key.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>

#include "core/enum_names.h"
#include "experiment/config_error.h"

namespace tsgd::config {

[[noreturn]] void fail(const std::string& path, const std::string& reason);
// VALUE as JSON, cut to 60 characters, for messages.
std::string describe(const nlohmann::json& value);
// "null", "a boolean", "a number", "a string", "a list" or "an object".
std::string type_name(const nlohmann::json& value);

double get_number(const nlohmann::json& value, const std::string& path);
std::int64_t get_integer(const nlohmann::json& value, const std::string& path);
bool get_bool(const nlohmann::json& value, const std::string& path);
std::string get_string(const nlohmann::json& value, const std::string& path);
double positive(double x, const std::string& path);
double non_negative(double x, const std::string& path);
int int_in(std::int64_t x, std::int64_t lo, std::int64_t hi, const std::string& path);

// The enum named by VALUE, one of the names of EnumNames<Enum> but EXCLUDED,
// or (empty) the name AUTOMATIC when one is given ("auto": left to the program).
template <typename Enum>
std::optional<Enum> get_enum_or_automatic(const nlohmann::json& value, const std::string& path,
                                          const char* automatic,
                                          const std::set<Enum>& excluded = {}) {
  std::string options = automatic ? "\"" + std::string(automatic) + "\"" : "";
  for (const auto& e : EnumNames<Enum>::table)
    if (!excluded.count(e.value))
      options += (options.empty() ? "\"" : ", \"") + std::string(e.name) + "\"";
  if (!value.is_string()) fail(path, "expected one of " + options + ", got " + describe(value));
  const std::string s = value.get<std::string>();
  if (automatic && s == automatic) return std::nullopt;
  for (const auto& e : EnumNames<Enum>::table)
    if (s == e.name && !excluded.count(e.value)) return e.value;
  fail(path, "unknown value \"" + s + "\"; expected one of " + options);
}

template <typename Enum>
Enum get_enum(const nlohmann::json& value, const std::string& path,
              const std::set<Enum>& excluded = {}) {
  return *get_enum_or_automatic<Enum>(value, path, nullptr, excluded);
}

// Fails unless OBJECT is an object with no keys outside ALLOWED.
void check_keys(const nlohmann::json& object, const std::string& path,
                const std::set<std::string>& allowed);

class Section {
 public:
  // The object NAME of DOC (absent: every key takes its default), with the keys
  // ALLOWED; its resolved values go to RESOLVED[NAME].
  Section(const nlohmann::json& doc, const std::string& name, const std::set<std::string>& allowed,
          nlohmann::json& resolved);

  bool has(const std::string& key) const;
  const nlohmann::json& given(const std::string& key) const;  // only when has(key)
  std::string path(const std::string& key) const { return name_ + "." + key; }
  // Records the resolved value of KEY (for keys read by hand).
  void resolve(const std::string& key, nlohmann::json value) { resolved_[key] = std::move(value); }

  bool boolean(const std::string& key, bool fallback);
  int integer(const std::string& key, int fallback, std::int64_t lo, std::int64_t hi);
  double positive_number(const std::string& key, double fallback);
  template <typename Enum>
  Enum choice(const std::string& key, Enum fallback) {
    const Enum value = has(key) ? get_enum<Enum>(given(key), path(key)) : fallback;
    resolve(key, enum_name(value));
    return value;
  }

 private:
  std::string name_;
  const nlohmann::json* object_ = nullptr;
  nlohmann::json& resolved_;
};

}  // namespace tsgd::config
