// Real inputs for data.inputs (issue 16): IDX files, the format of MNIST and
// Fashion-MNIST (big-endian header: two zero bytes, the element type, the
// number of dimensions, then each dimension as a 32-bit count; the values
// follow, row-major), plain or gzip-compressed, and their standardisation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace tsgd {

// An IDX file's array: dims[0] samples of dims[1] x dims[2] x ... values each.
struct IdxArray {
  std::vector<std::uint32_t> dims;
  std::vector<double> values;
  std::size_t count() const { return dims.empty() ? 0 : dims[0]; }
  std::size_t sample_size() const;  // the product of dims[1..] (1 for a label file)
};

// The most values one sample may have (model.N's limit) and one file may hold
// (2^32: 32 GiB as double, beyond what a run could use).
constexpr std::size_t kMaxSampleSize = 10000000;
constexpr std::size_t kMaxValues = std::size_t{1} << 32;

// Reads PATH (gzip or plain). Throws ConfigError naming KEY and the file: a file
// that is missing or unreadable, not IDX (magic), of an unknown element type,
// truncated (fewer values than the header promises), with bytes beyond them, or
// empty (no sample), or whose header promises samples of more than
// kMaxSampleSize values or more than kMaxValues values in all. Nothing is
// allocated for values a file does not hold: a plain file's header is compared
// with its size first, a gzip file is read in chunks.
IdxArray read_idx(const std::string& path, const std::string& key);

enum class Standardisation { global, per_pixel };

// Standardises TRAIN and TEST in place with the training set's statistics:
// global: one mean and standard deviation over every value; per_pixel: each
// coordinate its own, a coordinate of zero variance in the training set (MNIST's
// always-blank borders) becoming 0 in both. Throws ConfigError naming KEY and the
// file (TRAIN_FILE or TEST_FILE) when a value is not finite afterwards (a
// constant file under global standardisation, a non-finite value of a float file).
void standardise(IdxArray& train, IdxArray& test, Standardisation how, const std::string& key,
                 const std::string& train_file = "", const std::string& test_file = "");

}  // namespace tsgd
