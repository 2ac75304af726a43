// IDX files for the tests of real inputs (experiment/idx_file.h, data.inputs):
// unsigned bytes under a header of the given dimensions.
#pragma once

#include <cstdint>
#include <fstream>
#include <ios>
#include <string>
#include <vector>

namespace tsgd::testing {

// An IDX file of unsigned bytes: the header of DIMS, then VALUES (as many as
// given: fewer than the header promises makes a truncated file).
inline void write_idx(const std::string& path, const std::vector<std::uint32_t>& dims,
                      const std::vector<unsigned char>& values) {
  std::vector<unsigned char> b{0, 0, 0x08, static_cast<unsigned char>(dims.size())};
  for (std::uint32_t d : dims)
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<unsigned char>(d >> s));
  b.insert(b.end(), values.begin(), values.end());
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

}  // namespace tsgd::testing
