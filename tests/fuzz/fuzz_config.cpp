// libFuzzer target over the configuration reader: any byte string is either
// not JSON, or a configuration that parse_experiment accepts, or one it
// rejects with a ConfigError. Any other exception, a crash, a hang or a
// sanitizer report is a bug.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "experiment/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const nlohmann::json doc =
      nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false, /*ignore_comments=*/true);
  if (doc.is_discarded()) return 0;
  try {
    const tsgd::Experiment e = tsgd::parse_experiment(doc);
    // An accepted configuration resolves to one that is accepted again, unchanged.
    const tsgd::Experiment again = tsgd::parse_experiment(e.resolved);
    if (again.resolved != e.resolved || again.points.size() != e.points.size()) {
      std::fprintf(stderr, "resolved configuration is not a fixed point\n");
      std::abort();
    }
  } catch (const tsgd::ConfigError&) {
    // rejected with a key path: fine
  } catch (const std::exception& e) {
    std::fprintf(stderr, "not a ConfigError: %s\n", e.what());
    std::abort();
  }
  return 0;
}
