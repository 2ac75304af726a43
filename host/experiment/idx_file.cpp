// IDX files and their standardisation. See idx_file.h.
#include "experiment/idx_file.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>

#include "experiment/config_error.h"

namespace tsgd {

namespace fs = std::filesystem;

namespace {

struct GzCloser {
  void operator()(gzFile f) const { gzclose(f); }
};
using GzFile = std::unique_ptr<std::remove_pointer_t<gzFile>, GzCloser>;

[[noreturn]] void fail(const std::string& key, const std::string& path, const std::string& why) {
  throw ConfigError(key, key + ": " + path + ": " + why);
}

// Reads exactly BYTES bytes; false at the end of the file (or an error).
bool read_bytes(gzFile f, void* out, std::size_t bytes) {
  auto* p = static_cast<unsigned char*>(out);
  while (bytes > 0) {
    const unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(bytes, 1u << 30));
    const int got = gzread(f, p, chunk);
    if (got <= 0) return false;
    p += got;
    bytes -= static_cast<std::size_t>(got);
  }
  return true;
}

std::uint32_t big_endian_u32(const unsigned char* b) {
  return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) |
         std::uint32_t{b[3]};
}

// The size in bytes of IDX element type CODE (0 when unknown).
int element_bytes(unsigned char code) {
  switch (code) {
    case 0x08:
      return 1;  // unsigned byte
    case 0x09:
      return 1;  // signed byte
    case 0x0B:
      return 2;  // short
    case 0x0C:
      return 4;  // int
    case 0x0D:
      return 4;  // float
    case 0x0E:
      return 8;  // double
    default:
      return 0;
  }
}

double element_value(unsigned char code, const unsigned char* b) {
  switch (code) {
    case 0x08:
      return b[0];
    case 0x09:
      return static_cast<signed char>(b[0]);
    case 0x0B:
      return static_cast<std::int16_t>((b[0] << 8) | b[1]);
    case 0x0C:
      return static_cast<std::int32_t>(big_endian_u32(b));
    case 0x0D: {
      const std::uint32_t bits = big_endian_u32(b);
      float f;
      std::memcpy(&f, &bits, sizeof f);
      return f;
    }
    default: {  // 0x0E
      const std::uint64_t bits = (std::uint64_t{big_endian_u32(b)} << 32) | big_endian_u32(b + 4);
      double d;
      std::memcpy(&d, &bits, sizeof d);
      return d;
    }
  }
}

// The number of values the header DIMS promises, refusing a dimension of 0, a
// sample of more than kMaxSampleSize values and a file of more than kMaxValues
// (no product can overflow: each is checked against its limit first).
std::size_t checked_total(const std::vector<std::uint32_t>& dims, const std::string& key,
                          const std::string& path) {
  for (std::uint32_t d : dims)
    if (d == 0) fail(key, path, "holds no sample (a dimension is 0)");
  std::size_t sample = 1;
  for (std::size_t i = 1; i < dims.size(); ++i) {
    if (sample > kMaxSampleSize / dims[i])
      fail(key, path,
           "its header gives samples of more than " + std::to_string(kMaxSampleSize) +
               " values (model.N's limit): not an input file, or a corrupt header");
    sample *= dims[i];
  }
  if (dims[0] > kMaxValues / sample)
    fail(key, path,
         "its header promises " + std::to_string(dims[0]) + " samples of " +
             std::to_string(sample) + " values, more than " + std::to_string(kMaxValues) +
             " values in all: a corrupt header?");
  return dims[0] * sample;
}

}  // namespace

std::size_t IdxArray::sample_size() const {
  std::size_t n = 1;
  for (std::size_t i = 1; i < dims.size(); ++i) n *= dims[i];
  return n;
}

IdxArray read_idx(const std::string& path, const std::string& key) {
  const GzFile f(gzopen(path.c_str(), "rb"));
  if (!f) fail(key, path, std::string("cannot open: ") + std::strerror(errno));
  unsigned char magic[4];
  if (!read_bytes(f.get(), magic, 4)) fail(key, path, "empty or unreadable (no IDX header)");
  const std::size_t bytes = element_bytes(magic[2]);
  if (magic[0] != 0 || magic[1] != 0 || bytes == 0 || magic[3] == 0)
    fail(key, path, "not an IDX file (its first bytes are not 00 00 <type> <dimensions>)");
  IdxArray a;
  for (int d = 0; d < magic[3]; ++d) {
    unsigned char b[4];
    if (!read_bytes(f.get(), b, 4)) fail(key, path, "truncated in its header");
    a.dims.push_back(big_endian_u32(b));
  }
  const std::size_t total = checked_total(a.dims, key, path);
  const std::string promise = "the header promises " + std::to_string(total) + " values of " +
                              std::to_string(bytes) + " byte(s)";
  // Compared with the file's size before anything is allocated: a corrupt header
  // is refused at once, never first allocated. Deflate shrinks data at most
  // 1032:1, which bounds what a gzip file of its size can hold.
  std::error_code error;
  const std::uintmax_t file_bytes = fs::file_size(path, error);
  const std::uintmax_t header_bytes = 4 + 4 * std::uintmax_t{magic[3]};
  const std::uintmax_t data_bytes = total * bytes;
  const bool plain = gzdirect(f.get()) != 0;
  if (!error && plain && file_bytes < header_bytes + data_bytes)
    fail(key, path,
         "truncated: " + promise + ", the file holds " + std::to_string(file_bytes - header_bytes) +
             " bytes after the header");
  if (!error && plain && file_bytes > header_bytes + data_bytes)
    fail(key, path,
         "has " + std::to_string(file_bytes - header_bytes - data_bytes) + " bytes beyond the " +
             std::to_string(total) + " values its header promises");
  if (!error && !plain && data_bytes / 1032 > file_bytes)
    fail(key, path,
         "truncated: " + promise + ", more than a gzip file of " + std::to_string(file_bytes) +
             " bytes can hold");
  // Read and converted in chunks: memory grows with the data actually read.
  std::size_t reserve = total;
  if (!plain) reserve = std::min<std::uintmax_t>(total, file_bytes * 1032 / bytes);
  if (error) reserve = std::min<std::size_t>(total, std::size_t{1} << 20);  // size unknown
  a.values.reserve(reserve);
  std::vector<unsigned char> raw;
  for (std::size_t done = 0; done < total;) {
    const std::size_t n = std::min<std::size_t>(total - done, std::size_t{1} << 20);
    raw.resize(n * bytes);
    if (!read_bytes(f.get(), raw.data(), raw.size()))
      fail(key, path, "truncated: " + promise + ", the file ends before the last of them");
    for (std::size_t i = 0; i < n; ++i)
      a.values.push_back(element_value(magic[2], &raw[i * bytes]));
    done += n;
  }
  unsigned char extra;
  if (gzread(f.get(), &extra, 1) > 0)
    fail(key, path,
         "has bytes beyond the " + std::to_string(total) + " values its header promises");
  return a;
}

void standardise(IdxArray& train, IdxArray& test, Standardisation how, const std::string& key,
                 const std::string& train_file, const std::string& test_file) {
  const std::size_t n = train.sample_size(), count = train.count();
  if (test.sample_size() != n)
    throw ConfigError(key, key + ": the test inputs have " + std::to_string(test.sample_size()) +
                               " values per sample, the training inputs " + std::to_string(n));
  // Per coordinate (per_pixel) or one group (global): mean and variance over the training set.
  const std::size_t groups = how == Standardisation::per_pixel ? n : 1;
  std::vector<double> mean(groups, 0.0), var(groups, 0.0);
  for (std::size_t s = 0; s < count; ++s)
    for (std::size_t i = 0; i < n; ++i) mean[i % groups] += train.values[s * n + i];
  const double per_group = static_cast<double>(count) * static_cast<double>(n / groups);
  for (double& m : mean) m /= per_group;
  for (std::size_t s = 0; s < count; ++s)
    for (std::size_t i = 0; i < n; ++i) {
      const double d = train.values[s * n + i] - mean[i % groups];
      var[i % groups] += d * d;
    }
  for (double& v : var) v /= per_group;
  for (IdxArray* a : {&train, &test})
    for (std::size_t k = 0; k < a->values.size(); ++k) {
      const std::size_t g = (k % n) % groups;
      double& x = a->values[k];
      if (how == Standardisation::per_pixel && var[g] == 0.0)
        x = 0.0;
      else
        x = (x - mean[g]) / std::sqrt(var[g]);
      if (!std::isfinite(x))
        throw ConfigError(key, key + ": " + (a == &train ? train_file : test_file) + ": the " +
                                   (a == &train ? "training" : "test") +
                                   " inputs are not finite after standardisation (a constant "
                                   "training file under global standardisation?)");
    }
}

}  // namespace tsgd
