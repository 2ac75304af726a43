// See run_table.h.
#include "experiment/run_table.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "experiment/plan.h"

namespace tsgd {

namespace {

// A slot: diverged, diverged_alpha, records, states, then alpha[records],
// eg[records], for a finite training set et[records], for file labels
// class_err[records], and the states (Q, R, T, v, v* each) packed.
constexpr std::size_t kHeader = 4;

void append_state(const OrderParameters& op, double* out) {
  for (const auto* part : {&op.Q, &op.R, &op.T, &op.v, &op.vstar})
    out = std::copy(part->begin(), part->end(), out);
}

OrderParameters state_from(const double* in, int K, int M) {
  OrderParameters op;
  op.resize(K, M);
  for (auto* part : {&op.Q, &op.R, &op.T, &op.v, &op.vstar}) {
    std::copy(in, in + part->size(), part->begin());
    in += part->size();
  }
  return op;
}

void io_all(int fd, char* data, std::size_t bytes, std::uint64_t offset, bool write,
            const std::string& path) {
  std::size_t done = 0;
  while (done < bytes) {
    const ssize_t n = write ? ::pwrite(fd, data + done, bytes - done, offset + done)
                            : ::pread(fd, data + done, bytes - done, offset + done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      throw std::runtime_error(path + ": scratch file of the result files: cannot " +
                               (write ? "write: " : "read: ") +
                               (n < 0 ? std::strerror(errno) : "end of file"));
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace

std::size_t state_doubles(int K, int M) {
  return static_cast<std::size_t>(K) * K + static_cast<std::size_t>(K) * M +
         static_cast<std::size_t>(M) * M + K + M;
}

RunTable::RunTable(const Experiment& e, const std::string& directory)
    : e_(&e), seeds_(static_cast<std::size_t>(e.seeds.count)) {
  std::uint64_t offset = 0;
  for (const PointParams& p : e.points) {
    Shape s;
    s.K = p.K;
    s.M = p.M;
    s.records = record_alphas(e, p).size();
    s.states = e.record.order_parameters ? s.records : 1;
    s.weights = e.record.final_weights ? static_cast<std::size_t>(p.K) * p.N : 0;
    s.et = p.train_size > 0;
    s.class_err = records_class_err(p);
    s.class_err_at = kHeader + (s.et ? 3 : 2) * s.records;
    s.states_at = kHeader + (2 + (s.et ? 1 : 0) + (s.class_err ? 1 : 0)) * s.records;
    s.doubles = s.states_at + s.states * state_doubles(p.K, p.M) + s.weights;
    s.offset = offset;
    offset += s.doubles * seeds_;
    shapes_.push_back(s);
  }
  copies_.assign(e.points.size() * seeds_, 0);
  if (directory.empty()) return;
  path_ = directory + "/.run_table.XXXXXX";
  std::vector<char> name(path_.begin(), path_.end());
  name.push_back('\0');
  fd_ = ::mkstemp(name.data());
  if (fd_ < 0)
    throw std::runtime_error(directory + ": cannot create the scratch file of the result files: " +
                             std::strerror(errno));
  path_ = name.data();
  ::unlink(path_.c_str());  // gone with the process, however it ends
  // Every slot readable from the start (a sparse file: the absent runs take no disk).
  if (::ftruncate(fd_, static_cast<off_t>(offset * sizeof(double))) != 0)
    throw std::runtime_error(
        path_ + ": cannot size the scratch file of the result files: " + std::strerror(errno));
}

RunTable::~RunTable() {
  if (fd_ >= 0) ::close(fd_);
}

std::uint64_t RunTable::slot_offset(int point, std::size_t seed_index) const {
  const Shape& s = shapes_[static_cast<std::size_t>(point)];
  return (s.offset + s.doubles * seed_index) * sizeof(double);
}

void RunTable::add(const RunTrajectory& t, const std::string& where) {
  if (t.point_id < 0 || static_cast<std::size_t>(t.point_id) >= shapes_.size() ||
      t.seed < e_->seeds.first || t.seed - e_->seeds.first >= seeds_)
    throw std::runtime_error(where + ": run (point " + std::to_string(t.point_id) + ", seed " +
                             std::to_string(t.seed) + ") is not in this configuration");
  const Shape& s = shapes_[static_cast<std::size_t>(t.point_id)];
  bool shaped = t.alpha.size() == t.eg.size() && t.alpha.size() <= s.records && !t.alpha.empty() &&
                !t.states.empty() && t.states.size() <= s.states &&
                t.et.size() == (s.et ? t.alpha.size() : 0) &&
                t.class_err.size() == (s.class_err ? t.alpha.size() : 0);
  for (const OrderParameters& op : t.states)
    shaped = shaped && op.K == s.K && op.M == s.M &&
             op.Q.size() + op.R.size() + op.T.size() + op.v.size() + op.vstar.size() ==
                 state_doubles(s.K, s.M);
  if (!shaped || t.final_w.size() != s.weights)
    throw std::runtime_error(where + ": run (point " + std::to_string(t.point_id) + ", seed " +
                             std::to_string(t.seed) + ") does not have the records" +
                             (s.weights > 0 ? " and final weights" : "") + " of its grid point");
  const std::size_t index =
      static_cast<std::size_t>(t.point_id) * seeds_ + (t.seed - e_->seeds.first);
  if (copies_[index] == 0) ++runs_;
  if (copies_[index] < 255) ++copies_[index];
  if (fd_ < 0) return;
  std::vector<double> slot(s.doubles, std::numeric_limits<double>::quiet_NaN());
  slot[0] = t.diverged ? 1 : 0;
  slot[1] = t.diverged_alpha;
  slot[2] = static_cast<double>(t.alpha.size());
  slot[3] = static_cast<double>(t.states.size());
  std::copy(t.alpha.begin(), t.alpha.end(), slot.begin() + kHeader);
  std::copy(t.eg.begin(), t.eg.end(), slot.begin() + kHeader + s.records);
  std::copy(t.et.begin(), t.et.end(), slot.begin() + kHeader + 2 * s.records);
  std::copy(t.class_err.begin(), t.class_err.end(), slot.begin() + s.class_err_at);
  const std::size_t d = state_doubles(s.K, s.M);
  for (std::size_t j = 0; j < t.states.size(); ++j)
    append_state(t.states[j], slot.data() + s.states_at + j * d);
  std::copy(t.final_w.begin(), t.final_w.end(),
            slot.end() - static_cast<std::ptrdiff_t>(s.weights));
  io_all(fd_, reinterpret_cast<char*>(slot.data()), slot.size() * sizeof(double),
         slot_offset(t.point_id, index % seeds_), true, path_);
}

int RunTable::copies(int point, std::size_t seed_index) const {
  return copies_.at(static_cast<std::size_t>(point) * seeds_ + seed_index);
}

bool RunTable::has(int point, std::uint64_t seed) const {
  return seed >= e_->seeds.first && seed - e_->seeds.first < seeds_ &&
         copies(point, static_cast<std::size_t>(seed - e_->seeds.first)) > 0;
}

std::size_t RunTable::runs_of_point(int point) const {
  const auto begin = copies_.begin() + static_cast<std::ptrdiff_t>(point * seeds_);
  return static_cast<std::size_t>(
      std::count_if(begin, begin + static_cast<std::ptrdiff_t>(seeds_), [](auto c) { return c; }));
}

std::size_t RunTable::block_seeds(int point) const {
  const double slot_bytes = static_cast<double>(shapes_.at(point).doubles * sizeof(double));
  std::size_t block = 1;
  while (block < seeds_ && 2.0 * static_cast<double>(block) * slot_bytes <= kBlockBytes) block *= 2;
  return block;
}

std::vector<RunTrajectory> RunTable::load(int point, std::size_t begin, std::size_t end,
                                          bool final_only) const {
  if (fd_ < 0) throw std::logic_error("RunTable::load: a table of identities only");
  const Shape& s = shapes_.at(point);
  end = std::min(end, seeds_);
  std::vector<RunTrajectory> out;
  if (begin >= end) return out;
  std::vector<double> slots(s.doubles * (end - begin));
  io_all(fd_, reinterpret_cast<char*>(slots.data()), slots.size() * sizeof(double),
         slot_offset(point, begin), false, path_);
  const std::size_t d = state_doubles(s.K, s.M);
  for (std::size_t i = begin; i < end; ++i) {
    if (copies(point, i) == 0) continue;
    const double* slot = slots.data() + (i - begin) * s.doubles;
    RunTrajectory t;
    t.point_id = point;
    t.seed = e_->seeds.first + i;
    t.diverged = slot[0] != 0;
    t.diverged_alpha = slot[1];
    const auto records = static_cast<std::size_t>(slot[2]);
    const auto states = static_cast<std::size_t>(slot[3]);
    t.alpha.assign(slot + kHeader, slot + kHeader + records);
    t.eg.assign(slot + kHeader + s.records, slot + kHeader + s.records + records);
    if (s.et) t.et.assign(slot + kHeader + 2 * s.records, slot + kHeader + 2 * s.records + records);
    if (s.class_err) t.class_err.assign(slot + s.class_err_at, slot + s.class_err_at + records);
    for (std::size_t j = final_only ? states - 1 : 0; j < states; ++j)
      t.states.push_back(state_from(slot + s.states_at + j * d, s.K, s.M));
    t.final_w.assign(slot + s.doubles - s.weights, slot + s.doubles);
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace tsgd
