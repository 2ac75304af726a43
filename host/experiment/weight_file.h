// Weight files: a teacher (model.teacher_file) or a student (training.init_file)
// read once and shared by every run that starts from it (core/model.h:
// FileWeights; docs/config.md). Two formats, chosen by the name's ending:
//  .npy   NumPy's format (versions 1.0 to 3.0), one little-endian float64 or
//         float32 array in C order, of shape (rows, N): the first layer only,
//         or (rows, N + 1): each row the first layer and, last, its second-layer
//         weight. Read strictly: no other dtype, Fortran order, or byte count.
//  .json  {"w": [[...], ...], "v": [...]}: rows lists of N numbers, and
//         optionally the rows second-layer weights.
// Every value must be finite. Every error is a ConfigError naming the key and
// the file ("KEY: FILE: why").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/model.h"

namespace tsgd {

// One .npy array, its values promoted to double.
struct NpyArray {
  std::vector<std::size_t> shape;
  std::vector<double> values;
};

// Parses BYTES (the contents of PATH) as a .npy file; KEY and PATH for errors.
NpyArray parse_npy(const std::string& bytes, const std::string& key, const std::string& path);

// A weight file as read, with its size and FNV-1a hash (of the bytes read).
struct LoadedWeights {
  FileWeights weights;
  std::uint64_t bytes = 0;
  std::string fnv1a;
};

// Reads PATH (.npy or .json) as ROWS x N first-layer weights and optionally
// ROWS second-layer weights; the shapes are checked against ROWS and N, which
// the message names as ROWS_NAME and model.N (e.g. "model.M").
LoadedWeights read_weight_file(const std::string& path, const std::string& key, int rows,
                               const std::string& rows_name, int N);

}  // namespace tsgd
