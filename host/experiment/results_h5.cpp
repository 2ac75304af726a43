// See results_h5.h. The HDF5 C API: every handle owned by a Handle, every
// status checked; the library's own error printing is turned off, its
// failures become std::runtime_error naming the file.
#include "experiment/results_h5.h"

#include <hdf5.h>
#include <unistd.h>

#include <algorithm>
#include <limits>
#include <map>
#include <stdexcept>

#include "core/initial_weights.h"
#include "experiment/file_io.h"
#include "experiment/plan.h"
#include "experiment/result_set.h"
#include "experiment/run_table.h"

namespace tsgd {

using nlohmann::json;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// Chunks of at most 1 MiB (HDF5's default chunk cache). Deflate level 1 after
// byte shuffling where it pays: the constant order parameters (T, v*; v when only
// the first layer learns) compress to almost nothing. The trajectories of Q, R
// and eg are stored as they are: their mantissas are noise, shuffle + deflate kept
// 0.85 of their bytes for 80% of the writing time (docs/benchmarks.md); level 4
// made the file 1% smaller and the writing 45% slower still.
constexpr double kChunkBytes = 1 << 20;
constexpr unsigned kDeflateLevel = 1;

class Handle {
 public:
  Handle() = default;
  Handle(hid_t id, herr_t (*close)(hid_t), const std::string& what, const std::string& path)
      : id_(id), close_(close) {
    if (id < 0) throw std::runtime_error(path + ": cannot write (HDF5: " + what + ")");
  }
  Handle(Handle&& o) noexcept : id_(o.id_), close_(o.close_) { o.id_ = -1; }
  Handle& operator=(Handle&& o) noexcept {
    std::swap(id_, o.id_);
    std::swap(close_, o.close_);
    return *this;
  }
  ~Handle() {
    if (id_ >= 0) close_(id_);
  }
  hid_t get() const { return id_; }

 private:
  hid_t id_ = -1;
  herr_t (*close_)(hid_t) = nullptr;
};

// The order parameters' parts, as datasets: name, member and the trailing dimensions.
struct Part {
  const char* name;
  std::vector<double> OrderParameters::*member;
  bool compresses;  // its trajectory: constant or slowly varying, not noise
};
constexpr Part kParts[] = {{"Q", &OrderParameters::Q, false},
                           {"R", &OrderParameters::R, false},
                           {"T", &OrderParameters::T, true},
                           {"v", &OrderParameters::v, true},
                           {"vstar", &OrderParameters::vstar, true}};

std::vector<hsize_t> part_dims(const char* name, int K, int M) {
  const auto k = static_cast<hsize_t>(K), m = static_cast<hsize_t>(M);
  const std::string n = name;
  if (n == "Q") return {k, k};
  if (n == "R") return {k, m};
  if (n == "T") return {m, m};
  return {n == "v" ? k : m};
}

}  // namespace

struct ResultsH5::Impl {
  const Experiment* e = nullptr;
  std::string path, temporary;
  hid_t float_type = H5T_IEEE_F64LE;
  Handle file, points;
  bool committed = false;
  // The point being written.
  Handle group;
  std::map<std::string, Handle> datasets;
  std::size_t runs = 0, rows_done = 0, block_seeds = 1, records = 0;
  int K = 0, M = 0, point = 0;
  bool et = false;         // the point has a finite training set: dataset "et" beside "eg"
  bool class_err = false;  // file labels (records_class_err): dataset "class_err" too

  void check(herr_t status, const std::string& what) const {
    if (status < 0) throw std::runtime_error(path + ": cannot write (HDF5: " + what + ")");
  }
  Handle group_in(hid_t parent, const std::string& name) const;
  void attribute(hid_t object, const std::string& name, const json& value) const;
  void dataset(hid_t parent, const std::string& name, hid_t type, std::vector<hsize_t> dims,
               bool compress = true);
  void write_rows(const std::string& name, hid_t memory_type, const void* data, hsize_t first,
                  hsize_t rows) const;
  void write_ode(const std::vector<const OdeCurve*>& ode);
  void write_weights(const std::vector<RunTrajectory>& runs, hsize_t first);
};

Handle ResultsH5::Impl::group_in(hid_t parent, const std::string& name) const {
  // No modification times: the same results give the same bytes.
  Handle gcpl(H5Pcreate(H5P_GROUP_CREATE), H5Pclose, "group properties", path);
  check(H5Pset_obj_track_times(gcpl.get(), 0), "group properties");
  return Handle(H5Gcreate2(parent, name.c_str(), H5P_DEFAULT, gcpl.get(), H5P_DEFAULT), H5Gclose,
                "group " + name, path);
}

void ResultsH5::Impl::attribute(hid_t object, const std::string& name, const json& value) const {
  Handle space(H5Screate(H5S_SCALAR), H5Sclose, "attribute " + name, path);
  Handle type;
  std::string text;
  const char* text_pointer = nullptr;
  double number = 0;
  long long integer = 0;
  const void* data = &number;
  hid_t memory_type = H5T_NATIVE_DOUBLE;
  if (value.is_string()) {
    // Variable-length UTF-8: h5py reads it as str (a fixed-length one as bytes).
    text = value.get<std::string>();
    text_pointer = text.c_str();
    type = Handle(H5Tcopy(H5T_C_S1), H5Tclose, "attribute " + name, path);
    check(H5Tset_size(type.get(), H5T_VARIABLE), "attribute " + name);
    check(H5Tset_cset(type.get(), H5T_CSET_UTF8), "attribute " + name);
    memory_type = type.get();
    data = &text_pointer;
  } else if (value.is_number_integer() || value.is_boolean()) {
    integer = value.is_boolean() ? value.get<bool>() : value.get<long long>();
    memory_type = H5T_NATIVE_LLONG;
    data = &integer;
  } else {
    number = value.is_number() ? value.get<double>() : kNaN;
  }
  const hid_t file_type = value.is_string()                 ? type.get()
                          : memory_type == H5T_NATIVE_LLONG ? H5T_STD_I64LE
                                                            : H5T_IEEE_F64LE;
  Handle attr(H5Acreate2(object, name.c_str(), file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT),
              H5Aclose, "attribute " + name, path);
  check(H5Awrite(attr.get(), memory_type, data), "attribute " + name);
}

// A dataset of DIMS under PARENT, registered under NAME (its path from the point's group).
void ResultsH5::Impl::dataset(hid_t parent, const std::string& name, hid_t type,
                              std::vector<hsize_t> dims, bool compress) {
  Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose,
               "dataspace of " + name, path);
  Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose, "dataset properties", path);
  check(H5Pset_obj_track_times(dcpl.get(), 0), "dataset properties");
  const bool empty = std::find(dims.begin(), dims.end(), 0) != dims.end();
  if (!empty && dims[0] > 1) {
    // Whole rows (runs) per chunk, a power of two of them dividing a block, so
    // each chunk is written once; a row longer than a chunk is cut along records.
    double row = H5Tget_size(type);
    for (std::size_t i = 1; i < dims.size(); ++i) row *= static_cast<double>(dims[i]);
    std::vector<hsize_t> chunk = dims;
    hsize_t rows = 1;
    while (2 * rows <= block_seeds && 2.0 * static_cast<double>(rows) * row <= kChunkBytes)
      rows *= 2;
    chunk[0] = std::min(rows, dims[0]);
    if (dims.size() > 1 && row > kChunkBytes)
      chunk[1] = std::max<hsize_t>(
          1, static_cast<hsize_t>(kChunkBytes * static_cast<double>(dims[1]) / row));
    check(H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data()), "chunks");
    if (compress) {
      check(H5Pset_shuffle(dcpl.get()), "shuffle filter");
      check(H5Pset_deflate(dcpl.get(), kDeflateLevel), "deflate filter");
    }
    // Edge chunks past the runs hold the fill value, not whatever was in memory.
    const double fill = 0;
    check(H5Pset_fill_value(dcpl.get(), H5T_NATIVE_DOUBLE, &fill), "fill value");
    check(H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_ALLOC), "fill time");
  }
  datasets[name] = Handle(H5Dcreate2(parent, name.substr(name.rfind('/') + 1).c_str(), type,
                                     space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
                          H5Dclose, "dataset " + name, path);
}

// Rows [FIRST, FIRST + ROWS) of dataset NAME from DATA (whole rows, of MEMORY_TYPE).
void ResultsH5::Impl::write_rows(const std::string& name, hid_t memory_type, const void* data,
                                 hsize_t first, hsize_t rows) const {
  if (rows == 0) return;
  const hid_t d = datasets.at(name).get();
  Handle file_space(H5Dget_space(d), H5Sclose, "dataspace of " + name, path);
  const int rank = H5Sget_simple_extent_ndims(file_space.get());
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank)), start(dims.size(), 0);
  H5Sget_simple_extent_dims(file_space.get(), dims.data(), nullptr);
  start[0] = first;
  dims[0] = rows;
  check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr, dims.data(),
                            nullptr),
        "selection in " + name);
  Handle memory_space(H5Screate_simple(rank, dims.data(), nullptr), H5Sclose, "dataspace", path);
  check(H5Dwrite(d, memory_type, memory_space.get(), file_space.get(), H5P_DEFAULT, data),
        "write of " + name);
}

ResultsH5::ResultsH5(const std::string& directory, const Experiment& e)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.e = &e;
  m.path = directory + "/results.h5";
  m.temporary = temporary_path(m.path);
  m.float_type = e.record.hdf5_precision == Precision::float32 ? H5T_IEEE_F32LE : H5T_IEEE_F64LE;
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // failures are thrown, not printed
  Handle fcpl(H5Pcreate(H5P_FILE_CREATE), H5Pclose, "file properties", m.path);
  m.check(H5Pset_obj_track_times(fcpl.get(), 0), "file properties");
  m.file = Handle(H5Fcreate(m.temporary.c_str(), H5F_ACC_TRUNC, fcpl.get(), H5P_DEFAULT), H5Fclose,
                  "create", m.path);
  const hid_t root = m.file.get();
  m.attribute(root, "format", 1);
  m.attribute(root, "name", e.name);
  m.attribute(root, "seeds_first", static_cast<long long>(e.seeds.first));
  m.attribute(root, "seeds_count", e.seeds.count);
  m.attribute(root, "precision", to_string(e.record.hdf5_precision));
  m.attribute(root, "order_parameters", e.record.order_parameters ? 1 : 0);
  if (e.record.final_weights) m.attribute(root, "final_weights", 1);
  m.points = m.group_in(root, "points");
}

ResultsH5::~ResultsH5() {
  if (impl_->committed) return;
  impl_->datasets.clear();
  impl_->group = Handle();
  impl_->points = Handle();
  impl_->file = Handle();
  ::unlink(impl_->temporary.c_str());
}

void ResultsH5::begin_point(int p, std::size_t runs, std::size_t block_seeds) {
  Impl& m = *impl_;
  const PointParams& params = m.e->points.at(static_cast<std::size_t>(p));
  const std::vector<double> alpha = record_alphas(*m.e, params);
  m.datasets.clear();
  m.group = m.group_in(m.points.get(), std::to_string(p));
  m.attribute(m.group.get(), "point_id", p);
  const json attributes = point_json(params, lists_teacher_init(*m.e), lists_train_size(*m.e));
  for (const auto& [key, value] : attributes.items()) m.attribute(m.group.get(), key, value);
  if (lists_eg_source(*m.e)) {  // real inputs: where eps_g comes from
    m.attribute(m.group.get(), "eg_source", eg_source(params));
    if (test_set_eg(params)) m.attribute(m.group.get(), "test_samples", params.inputs->test_count);
  }
  m.runs = runs;
  m.rows_done = 0;
  m.block_seeds = block_seeds;
  m.records = alpha.size();
  m.K = params.K;
  m.M = params.M;
  m.point = p;
  const hid_t g = m.group.get();
  const hsize_t S = runs, R = alpha.size();
  m.dataset(g, "alpha", H5T_IEEE_F64LE, {R});
  m.write_rows("alpha", H5T_NATIVE_DOUBLE, alpha.data(), 0, R);
  m.dataset(g, "seed", H5T_STD_U64LE, {S});
  m.dataset(g, "records", H5T_STD_I32LE, {S});
  m.dataset(g, "diverged", H5T_STD_U8LE, {S});
  m.dataset(g, "diverged_alpha", H5T_IEEE_F64LE, {S});
  m.dataset(g, "eg", m.float_type, {S, R}, /*compress=*/false);
  m.et = params.train_size > 0;  // a finite training set: its training error beside eg
  // Noise in its mantissas as eg's: stored as it is.
  if (m.et) m.dataset(g, "et", m.float_type, {S, R}, /*compress=*/false);
  m.class_err = records_class_err(params);
  if (m.class_err) m.dataset(g, "class_err", m.float_type, {S, R}, /*compress=*/false);
  Handle final_group = m.group_in(g, "final");
  for (const Part& part : kParts) {
    std::vector<hsize_t> dims = part_dims(part.name, m.K, m.M);
    dims.insert(dims.begin(), S);
    m.dataset(final_group.get(), std::string("final/") + part.name, m.float_type, dims);
    if (!m.e->record.order_parameters) continue;
    dims.insert(dims.begin() + 1, R);
    m.dataset(g, part.name, m.float_type, dims, /*compress=*/part.compresses);
  }
  if (!m.e->record.final_weights) return;
  const hsize_t N = static_cast<hsize_t>(params.N);
  // Weights are noise to deflate, like Q and R's mantissas: stored as they are.
  m.dataset(final_group.get(), "final/w", m.float_type, {S, static_cast<hsize_t>(m.K), N},
            /*compress=*/false);
  m.dataset(final_group.get(), "final/wstar", m.float_type, {S, static_cast<hsize_t>(m.M), N},
            /*compress=*/false);
}

// final/w from the runs (RunTrajectory::final_w) and final/wstar, the
// teacher of each run's seed, from its identity (teacher_weights: the student,
// perhaps from a file, is not built).
void ResultsH5::Impl::write_weights(const std::vector<RunTrajectory>& runs, hsize_t first) {
  const PointParams& params = e->points.at(static_cast<std::size_t>(point));
  const std::size_t n = runs.size(), N = static_cast<std::size_t>(params.N);
  const std::size_t kn = static_cast<std::size_t>(K) * N, mn = static_cast<std::size_t>(M) * N;
  std::vector<double> w(n * kn), wstar(n * mn);
  for (std::size_t i = 0; i < n; ++i) {
    if (runs[i].final_w.size() != kn)
      throw std::logic_error("ResultsH5::add_runs: a run without its final weights");
    std::copy(runs[i].final_w.begin(), runs[i].final_w.end(), w.begin() + i * kn);
    InitialWeights teacher;
    teacher_weights(RunSpec{point, runs[i].seed, params}, teacher);
    std::copy(teacher.wstar.begin(), teacher.wstar.end(), wstar.begin() + i * mn);
  }
  write_rows("final/w", H5T_NATIVE_DOUBLE, w.data(), first, n);
  write_rows("final/wstar", H5T_NATIVE_DOUBLE, wstar.data(), first, n);
}

void ResultsH5::add_runs(const std::vector<RunTrajectory>& runs) {
  Impl& m = *impl_;
  const std::size_t n = runs.size(), R = m.records;
  if (m.rows_done + n > m.runs) throw std::logic_error("ResultsH5::add_runs: more runs than begun");
  std::vector<std::uint64_t> seed(n);
  std::vector<std::int32_t> records(n);
  std::vector<std::uint8_t> diverged(n);
  std::vector<double> diverged_alpha(n), eg(n * R, kNaN), et(m.et ? n * R : 0, kNaN),
      class_err(m.class_err ? n * R : 0, kNaN);
  for (std::size_t i = 0; i < n; ++i) {
    const RunTrajectory& t = runs[i];
    seed[i] = t.seed;
    records[i] = static_cast<std::int32_t>(t.eg.size());
    diverged[i] = t.diverged ? 1 : 0;
    diverged_alpha[i] = t.diverged ? t.diverged_alpha : kNaN;
    std::copy(t.eg.begin(), t.eg.end(), eg.begin() + static_cast<std::ptrdiff_t>(i * R));
    if (m.et) std::copy(t.et.begin(), t.et.end(), et.begin() + static_cast<std::ptrdiff_t>(i * R));
    if (m.class_err)
      std::copy(t.class_err.begin(), t.class_err.end(),
                class_err.begin() + static_cast<std::ptrdiff_t>(i * R));
  }
  const hsize_t first = m.rows_done;
  m.write_rows("seed", H5T_NATIVE_UINT64, seed.data(), first, n);
  m.write_rows("records", H5T_NATIVE_INT32, records.data(), first, n);
  m.write_rows("diverged", H5T_NATIVE_UINT8, diverged.data(), first, n);
  m.write_rows("diverged_alpha", H5T_NATIVE_DOUBLE, diverged_alpha.data(), first, n);
  m.write_rows("eg", H5T_NATIVE_DOUBLE, eg.data(), first, n);
  if (m.et) m.write_rows("et", H5T_NATIVE_DOUBLE, et.data(), first, n);
  if (m.class_err) m.write_rows("class_err", H5T_NATIVE_DOUBLE, class_err.data(), first, n);
  std::vector<double> values;
  for (const Part& part : kParts) {
    std::size_t size = 1;
    for (hsize_t d : part_dims(part.name, m.K, m.M)) size *= d;
    values.assign(n * size, kNaN);
    for (std::size_t i = 0; i < n; ++i) {
      const std::vector<double>& last = runs[i].states.back().*part.member;
      std::copy(last.begin(), last.end(), values.begin() + static_cast<std::ptrdiff_t>(i * size));
    }
    m.write_rows(std::string("final/") + part.name, H5T_NATIVE_DOUBLE, values.data(), first, n);
    if (!m.e->record.order_parameters) continue;
    // Every record the run has, NaN past the last (a diverged run stops early).
    values.assign(n * R * size, kNaN);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < runs[i].states.size() && j < R; ++j) {
        const std::vector<double>& s = runs[i].states[j].*part.member;
        std::copy(s.begin(), s.end(),
                  values.begin() + static_cast<std::ptrdiff_t>((i * R + j) * size));
      }
    m.write_rows(part.name, H5T_NATIVE_DOUBLE, values.data(), first, n);
  }
  if (m.e->record.final_weights) m.write_weights(runs, first);
  m.rows_done += n;
}

void ResultsH5::Impl::write_ode(const std::vector<const OdeCurve*>& ode) {
  const hsize_t C = ode.size(), R = records;
  Handle ode_group = group_in(group.get(), "ode");
  const hid_t g = ode_group.get();
  std::vector<std::int64_t> seed(C);
  std::vector<std::uint8_t> diverged(C);
  std::vector<double> diverged_alpha(C), eg(C * R, kNaN);
  for (std::size_t c = 0; c < C; ++c) {
    seed[c] = ode[c]->seed ? static_cast<std::int64_t>(*ode[c]->seed) : -1;
    diverged[c] = ode[c]->diverged ? 1 : 0;
    diverged_alpha[c] = ode[c]->diverged ? ode[c]->diverged_alpha : kNaN;
    std::copy_n(ode[c]->eg.begin(), std::min<std::size_t>(R, ode[c]->eg.size()),
                eg.begin() + c * R);
  }
  dataset(g, "ode/seed", H5T_STD_I64LE, {C});
  write_rows("ode/seed", H5T_NATIVE_INT64, seed.data(), 0, C);
  dataset(g, "ode/diverged", H5T_STD_U8LE, {C});
  write_rows("ode/diverged", H5T_NATIVE_UINT8, diverged.data(), 0, C);
  dataset(g, "ode/diverged_alpha", H5T_IEEE_F64LE, {C});
  write_rows("ode/diverged_alpha", H5T_NATIVE_DOUBLE, diverged_alpha.data(), 0, C);
  dataset(g, "ode/eg", H5T_IEEE_F64LE, {C, R});
  write_rows("ode/eg", H5T_NATIVE_DOUBLE, eg.data(), 0, C);
  for (const Part& part : kParts) {
    std::vector<hsize_t> dims = part_dims(part.name, K, M);
    std::size_t size = 1;
    for (hsize_t d : dims) size *= d;
    dims.insert(dims.begin(), {C, R});
    // The states at the records they belong to (all, or only the last), NaN elsewhere.
    std::vector<double> values(C * R * size, kNaN);
    for (std::size_t c = 0; c < C; ++c) {
      const OdeCurve& curve = *ode[c];
      const std::size_t first =
          curve.alpha.size() - std::min(curve.alpha.size(), curve.states.size());
      for (std::size_t j = 0; j < curve.states.size() && first + j < R; ++j) {
        const std::vector<double>& s = curve.states[j].*part.member;
        std::copy(s.begin(), s.end(), values.begin() + ((c * R + first + j) * size));
      }
    }
    const std::string name = std::string("ode/") + part.name;
    dataset(g, name, H5T_IEEE_F64LE, dims);
    write_rows(name, H5T_NATIVE_DOUBLE, values.data(), 0, C);
  }
}

void ResultsH5::end_point(const std::vector<const OdeCurve*>& ode) {
  Impl& m = *impl_;
  if (m.rows_done != m.runs) throw std::logic_error("ResultsH5::end_point: runs missing");
  if (!ode.empty()) m.write_ode(ode);
  m.datasets.clear();
  m.group = Handle();
}

void ResultsH5::commit() {
  Impl& m = *impl_;
  m.datasets.clear();
  m.group = Handle();
  m.points = Handle();
  m.check(H5Fflush(m.file.get(), H5F_SCOPE_GLOBAL), "flush");
  m.file = Handle();
  m.committed = true;
  rename_into_place(m.temporary, m.path);
}

}  // namespace tsgd
