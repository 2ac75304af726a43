// The error of a bad configuration, with the key path it names.
#pragma once

#include <stdexcept>
#include <string>

namespace tsgd {

// A bad configuration: what() reads "<file>: <key.path>: <reason>".
class ConfigError : public std::runtime_error {
 public:
  ConfigError(std::string key_path, const std::string& message)
      : std::runtime_error(message), key_path_(std::move(key_path)) {}
  const std::string& key_path() const { return key_path_; }

 private:
  std::string key_path_;
};

}  // namespace tsgd
