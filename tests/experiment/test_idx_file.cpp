// IDX input files (experiment/idx_file.h): plain and gzip, every element type
// the format has, the bad files of issue 16 by name, standardisation.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <zlib.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "experiment/config_error.h"
#include "experiment/idx_file.h"
#include "tests/support/test_util.h"

using namespace tsgd;

namespace {

std::vector<unsigned char> header(unsigned char type, const std::vector<std::uint32_t>& dims) {
  std::vector<unsigned char> b{0, 0, type, static_cast<unsigned char>(dims.size())};
  for (std::uint32_t d : dims)
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<unsigned char>(d >> s));
  return b;
}

// An unsigned-byte IDX file of COUNT samples of ROWS x COLS from VALUES.
std::vector<unsigned char> ubyte_file(std::uint32_t count, std::uint32_t rows, std::uint32_t cols,
                                      const std::vector<unsigned char>& values) {
  std::vector<unsigned char> b = header(0x08, {count, rows, cols});
  b.insert(b.end(), values.begin(), values.end());
  return b;
}

void write(const std::string& path, const std::vector<unsigned char>& bytes, bool gzip = false) {
  if (gzip) {
    gzFile f = gzopen(path.c_str(), "wb");
    gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
    gzclose(f);
  } else {
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
  }
}

std::string error_of(const std::string& path) {
  try {
    read_idx(path, "data.inputs.train");
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.key_path(), "data.inputs.train");
    return e.what();
  }
  return "";
}

// The process's peak resident memory in MiB (Linux: ru_maxrss in KiB).
double peak_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

}  // namespace

TEST(IdxFile, ReadsPlainAndGzipFiles) {
  const std::string dir = tsgd::testing::temp_dir("idx");
  std::vector<unsigned char> values(3 * 2 * 2);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<unsigned char>(i * 20);
  for (bool gz : {false, true}) {
    const std::string path = dir + (gz ? "/a.idx.gz" : "/a.idx");
    write(path, ubyte_file(3, 2, 2, values), gz);
    const IdxArray a = read_idx(path, "data.inputs.train");
    ASSERT_EQ(a.dims, (std::vector<std::uint32_t>{3, 2, 2}));
    EXPECT_EQ(a.count(), 3u);
    EXPECT_EQ(a.sample_size(), 4u);
    for (std::size_t i = 0; i < values.size(); ++i) EXPECT_EQ(a.values[i], values[i]);
  }
}

TEST(IdxFile, EveryElementTypeBigEndian) {
  const std::string dir = tsgd::testing::temp_dir("idx_types");
  // One sample of two values per type: -2 and 300 (or 100 for the byte types).
  struct Case {
    unsigned char type;
    std::vector<unsigned char> data;
    double first, second;
  };
  const float f = -2.5f;
  std::uint32_t fb;
  std::memcpy(&fb, &f, 4);
  const double d = 1e-300;
  std::uint64_t db;
  std::memcpy(&db, &d, 8);
  std::vector<unsigned char> fbytes, dbytes;
  for (int s = 24; s >= 0; s -= 8) fbytes.push_back(static_cast<unsigned char>(fb >> s));
  for (int s = 56; s >= 0; s -= 8) dbytes.push_back(static_cast<unsigned char>(db >> s));
  std::vector<unsigned char> ffile = fbytes, dfile = dbytes;
  ffile.insert(ffile.end(), fbytes.begin(), fbytes.end());
  dfile.insert(dfile.end(), dbytes.begin(), dbytes.end());
  const Case cases[] = {
      {0x08, {254, 100}, 254, 100},
      {0x09, {0xFE, 100}, -2, 100},
      {0x0B, {0xFF, 0xFE, 0x01, 0x2C}, -2, 300},
      {0x0C, {0xFF, 0xFF, 0xFF, 0xFE, 0, 0, 0x01, 0x2C}, -2, 300},
      {0x0D, ffile, -2.5, -2.5},
      {0x0E, dfile, 1e-300, 1e-300},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(static_cast<int>(c.type));
    std::vector<unsigned char> b = header(c.type, {1, 2});
    b.insert(b.end(), c.data.begin(), c.data.end());
    write(dir + "/t.idx", b);
    const IdxArray a = read_idx(dir + "/t.idx", "data.inputs.train");
    ASSERT_EQ(a.values.size(), 2u);
    EXPECT_EQ(a.values[0], c.first);
    EXPECT_EQ(a.values[1], c.second);
  }
}

TEST(IdxFile, BadFilesNameTheKeyAndTheFile) {
  const std::string dir = tsgd::testing::temp_dir("idx_bad");
  EXPECT_NE(error_of(dir + "/missing.idx").find("missing.idx: cannot open"), std::string::npos);
  write(dir + "/empty.idx", {});
  EXPECT_NE(error_of(dir + "/empty.idx").find("empty"), std::string::npos);
  write(dir + "/magic.idx", {0x50, 0x4B, 3, 4, 0, 0, 0, 0});  // a zip file's first bytes
  EXPECT_NE(error_of(dir + "/magic.idx").find("not an IDX file"), std::string::npos);
  write(dir + "/type.idx", {0, 0, 0x07, 1, 0, 0, 0, 1, 9});
  EXPECT_NE(error_of(dir + "/type.idx").find("not an IDX file"), std::string::npos);
  std::vector<unsigned char> truncated = ubyte_file(3, 2, 2, std::vector<unsigned char>(11, 1));
  write(dir + "/truncated.idx", truncated);
  EXPECT_NE(error_of(dir + "/truncated.idx").find("truncated"), std::string::npos);
  write(dir + "/short_header.idx", {0, 0, 0x08, 3, 0, 0});
  EXPECT_NE(error_of(dir + "/short_header.idx").find("truncated in its header"), std::string::npos);
  write(dir + "/none.idx", ubyte_file(0, 2, 2, {}));
  EXPECT_NE(error_of(dir + "/none.idx").find("no sample"), std::string::npos);
}

TEST(IdxFile, StandardisationGlobalAndPerPixel) {
  // Two coordinates: the first varies, the second is always 7 (a blank border pixel).
  IdxArray train{{4, 2}, {0, 7, 2, 7, 4, 7, 6, 7}}, test{{1, 2}, {3, 7}};
  IdxArray t2 = train, s2 = test;
  standardise(train, test, Standardisation::per_pixel, "data.inputs.standardise");
  double mean = 0, var = 0;
  for (int s = 0; s < 4; ++s) mean += train.values[2 * s] / 4;
  for (int s = 0; s < 4; ++s) var += std::pow(train.values[2 * s] - mean, 2) / 4;
  EXPECT_NEAR(mean, 0.0, 1e-15);
  EXPECT_NEAR(var, 1.0, 1e-15);
  for (int s = 0; s < 4; ++s) EXPECT_EQ(train.values[2 * s + 1], 0.0);  // zero variance -> 0
  EXPECT_NEAR(test.values[0], 0.0, 1e-15);  // 3 is the training mean of the first coordinate
  EXPECT_EQ(test.values[1], 0.0);
  // Global: one mean and variance over all eight values.
  standardise(t2, s2, Standardisation::global, "data.inputs.standardise");
  double m = 0, v = 0;
  for (double x : t2.values) m += x / 8;
  for (double x : t2.values) v += (x - m) * (x - m) / 8;
  EXPECT_NEAR(m, 0.0, 1e-15);
  EXPECT_NEAR(v, 1.0, 1e-15);
  // A constant training file cannot be standardised globally: named, not NaN.
  IdxArray flat{{2, 2}, {5, 5, 5, 5}}, flat_test{{1, 2}, {5, 5}};
  try {
    standardise(flat, flat_test, Standardisation::global, "data.inputs.standardise");
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.key_path(), "data.inputs.standardise");
    EXPECT_NE(std::string(e.what()).find("not finite"), std::string::npos);
  }
  // Test inputs of another size.
  IdxArray wrong{{1, 3}, {1, 2, 3}};
  IdxArray ok = t2;
  EXPECT_THROW(standardise(ok, wrong, Standardisation::global, "data.inputs.standardise"),
               ConfigError);
}

// Review finding 1: header dimensions were multiplied unchecked and their product
// allocated before reading: a corrupt header gave std::bad_alloc (no key, no
// file), wrapped to 0 ("no sample") or allocated 4 GiB before "truncated".
TEST(IdxFile, CorruptHeadersAreRefusedBeforeAllocating) {
  const std::string dir = tsgd::testing::temp_dir("idx_header");
  const std::vector<unsigned char> some(16, 1);
  auto file = [&](const std::string& name, const std::vector<std::uint32_t>& dims, bool gz) {
    std::vector<unsigned char> b = header(0x08, dims);
    b.insert(b.end(), some.begin(), some.end());
    write(dir + "/" + name, b, gz);
    return dir + "/" + name;
  };
  for (bool gz : {false, true}) {
    SCOPED_TRACE(gz ? "gzip" : "plain");
    // 4e9 samples of 4000 x 4000: a sample beyond model.N's limit of 10^7.
    std::string e = error_of(file("huge.idx", {4000000000u, 4000, 4000}, gz));
    EXPECT_NE(e.find("huge.idx: its header gives samples of more than 10000000 values"),
              std::string::npos)
        << e;
    // 65536^4 wraps to 0 in 64 bits: still the sample's size, not "no sample".
    e = error_of(file("wrap.idx", {65536, 65536, 65536, 65536}, gz));
    EXPECT_NE(e.find("wrap.idx: its header gives samples of more than"), std::string::npos) << e;
    // 2^32 - 1 samples of 100: more than kMaxValues in all.
    e = error_of(file("many.idx", {4294967295u, 10, 10}, gz));
    EXPECT_NE(e.find("many.idx: its header promises 4294967295 samples of 100 values"),
              std::string::npos)
        << e;
    // 65536 x 65536 one-value samples (4 GiB promised, 16 bytes held): truncated,
    // refused before allocating. Tolerance: the peak resident memory may grow by
    // 64 MiB (the old reader grew it by 4 GiB).
    const double before = peak_mib();
    e = error_of(file("big.idx", {65536, 65536, 1}, gz));
    EXPECT_NE(e.find("big.idx: truncated"), std::string::npos) << e;
    EXPECT_LT(peak_mib() - before, 64.0);
  }
}

// Review finding 1: bytes beyond the values the header promises were ignored.
TEST(IdxFile, BytesBeyondTheHeadersPromiseAreRefused) {
  const std::string dir = tsgd::testing::temp_dir("idx_trailing");
  for (bool gz : {false, true}) {
    SCOPED_TRACE(gz ? "gzip" : "plain");
    write(dir + "/long.idx", ubyte_file(3, 2, 2, std::vector<unsigned char>(13, 1)), gz);
    const std::string e = error_of(dir + "/long.idx");
    EXPECT_NE(e.find("long.idx: has "), std::string::npos) << e;
    EXPECT_NE(e.find("beyond the 12 values its header promises"), std::string::npos) << e;
    // The same file without the extra byte reads.
    write(dir + "/exact.idx", ubyte_file(3, 2, 2, std::vector<unsigned char>(12, 1)), gz);
    EXPECT_EQ(read_idx(dir + "/exact.idx", "data.inputs.train").values.size(), 12u);
  }
}
