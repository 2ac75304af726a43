#include "engines/cpu_engine.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>
#include <tuple>
#include <type_traits>
#include <vector>

#include "core/initial_weights.h"
#include "core/sgd_constants.h"
#include "core/threads.h"
#include "core/training_error.h"
#include "engines/cpu_kernels.h"
#include "math/gaussian.h"
#include "math/permutation.h"
#include "math/sgd_update.h"

namespace tsgd {

namespace {

// Row-major K x N weights (double, initial_weights.h) into rows `stride`
// apart (cpu_kernels.h: row_stride), zero past N, and back.
template <typename Real>
std::vector<Real> padded_rows(const std::vector<double>& w, std::size_t n, std::size_t stride) {
  const std::size_t count = n == 0 ? 0 : w.size() / n;
  std::vector<Real> out(count * stride, Real(0));
  for (std::size_t r = 0; r < count; ++r)
    for (std::size_t i = 0; i < n; ++i) out[r * stride + i] = static_cast<Real>(w[r * n + i]);
  return out;
}
template <typename Real>
std::vector<double> unpadded_rows(const std::vector<Real>& w, std::size_t n, std::size_t stride) {
  const std::size_t count = w.size() / stride;
  std::vector<double> out(count * n);
  for (std::size_t r = 0; r < count; ++r)
    for (std::size_t i = 0; i < n; ++i) out[r * n + i] = static_cast<double>(w[r * stride + i]);
  return out;
}

template <typename Real>
struct CpuRun {
  std::uint64_t seed = 0;
  std::uint64_t train_size = 0;      // P (0: online)
  const InputSet* inputs = nullptr;  // real inputs (data.inputs): rows instead of draws
  int N = 0, K = 0, M = 0, B = 1;
  // What teacher row m depends on besides m and N (initial_weights.h): the
  // runs of a group share it, and so the rows of one member.
  std::tuple<TeacherInit, std::uint64_t, double, const FileWeights*> teacher{};
  bool train_second = false;
  bool frozen = false;
  SgdConstants<Real> constants{};
  std::size_t padded = 0;                // row length: N rounded up to kCpuRowAlign
  std::size_t stride = 0;                // distance between rows (row_stride)
  std::vector<Real> w, wstar, v, vstar;  // K x stride, M x stride, K, M
};

// What one advance of a group works with: the live runs (run i's K student
// rows at rows[first_row[i]] ..), the rows' decay, the teacher rows, and the
// scratch of a step, twice (the current sample and the next, drawn before
// the current one's update: advance_single).
template <typename Real>
struct GroupWork {
  std::vector<CpuRun<Real>*> live;
  std::vector<int> first_row;
  std::vector<Real*> rows;
  std::vector<Real> keep;  // w_keep of each row
  bool decay = false;      // some row's w_keep is not 1
  std::vector<const Real*> teacher_rows;
  std::vector<Activation> teacher_kinds;  // the live runs' teacher activations, each once
  std::vector<int> teacher_kind;          // of each live run: its index in teacher_kinds
  std::vector<Real> g_teacher;            // [kind][m]: g*(rho_m) of the current sample
  std::vector<Real> g, dg;                // K: the student's g and g' of the current sample
  std::vector<float> scratch;             // one draw (float64 engines)
  // Two samples' scratch (advance_single: the current one and the next).
  std::vector<Real> x[2], zeta[2], rho[2], label[2];  // B x stride, B, B x M, B
  bool labelled = false;  // labels from files (InputSet::labelled) in `label`, the teacher unused
  std::vector<float> noise;  // label noise of samples noise_first ..
  std::uint64_t noise_first = 0;
  SampleOrder order;  // sample counter -> training-set sample (finite P; math/permutation.h)
  std::vector<Real> lambda, coef, v_change;  // B x rows, rows x B, rows
};

// One sample's terms of one run: accumulate_sample (math/sgd_update.h) with
// the same helpers on the same values in the same order, so the same bits,
// but with the teacher's activations g_teacher computed once for its group
// and each student activation once (accumulate_sample evaluates g twice):
//   coef[k * stride] = 0 - w_rate v_k g'(lambda_k) Delta,
//   v_change[k]     -= v_rate g(lambda_k) Delta   (trained second layer only).
// LABEL (labels from files): the label in the teacher's output's place (sample_error).
template <typename Real>
void sample_coefficients(const CpuRun<Real>& run, const Real* lambda, const Real* g_teacher,
                         Real zeta, const Real* label, Real* g, Real* dg, Real* coef, int stride,
                         Real* v_change) {
  const SgdConstants<Real>& c = run.constants;
  Real student = Real(0);
  for (int k = 0; k < c.K; ++k) {
    g[k] = activation(c.student, lambda[k]);
    student = add_output_term(student, run.v[k], g[k]);
  }
  // With a label the teacher's activations are not computed (coefficients()).
  const Real teacher =
      target_output(label != nullptr ? 0 : c.M, run.vstar.data(), g_teacher, label);
  const Real delta = error_from_outputs(student, teacher, c.sigma, zeta);
  for (int k = 0; k < c.K; ++k) {
    dg[k] = activation_derivative(c.student, lambda[k]);
    coef[k * stride] = rn_sub(Real(0), w_coefficient_term(c.w_rate, run.v[k], dg[k], delta));
    if (run.train_second) v_change[k] = rn_sub(v_change[k], v_change_term(c.v_rate, g[k], delta));
  }
}

// Runs that share (seed, B, teacher): advanced together by one thread.
struct Group {
  std::vector<std::size_t> runs;
  std::size_t teacher_run = 0;  // the member with the largest M: its teacher rows serve all
  std::int64_t step = 0;        // SGD steps done by the group (frozen members stop counting)
};

template <typename Real>
class CpuEngine final : public Engine {
 public:
  CpuEngine(int threads, RngTransform transform)
      : threads_(thread_count(threads)), transform_(transform) {}

  std::string name() const override { return "cpu"; }
  Precision precision() const override {
    return sizeof(Real) == 4 ? Precision::float32 : Precision::float64;
  }
  RngTransform rng_transform() const override { return transform_; }

  void load(const std::vector<RunSpec>& specs) override {
    runs_.assign(specs.size(), CpuRun<Real>{});
    specs_ = specs;
    et_cache_.clear();
#pragma omp parallel for num_threads(threads_) schedule(dynamic, 1)
    for (std::size_t r = 0; r < specs.size(); ++r) runs_[r] = make_run(specs[r]);
    for (std::size_t r = 1; r < runs_.size(); ++r)
      if (runs_[r].N != runs_[0].N) throw std::invalid_argument("cpu engine: a batch must share N");
    build_groups();
  }

  void advance(std::int64_t steps) override {
    if (steps <= 0) return;
#pragma omp parallel for num_threads(threads_) schedule(dynamic, 1)
    for (std::size_t g = 0; g < groups_.size(); ++g) advance_group(groups_[g], steps);
  }

  void order_parameters(std::vector<OrderParameters>& out) override {
    out.resize(runs_.size());
#pragma omp parallel for num_threads(threads_) schedule(dynamic, 1)
    for (std::size_t r = 0; r < runs_.size(); ++r) measure(runs_[r], out[r]);
  }

  void freeze(std::size_t index) override { runs_.at(index).frozen = true; }

  void training_errors(int samples, std::vector<double>& out) override {
    std::vector<InitialWeights> current(runs_.size());
    for (std::size_t r = 0; r < runs_.size(); ++r)
      if (specs_[r].params.train_size > 0) weights(r, current[r]);
    tsgd::training_errors(specs_, current, samples, transform_, &draw_input, threads_, out,
                          &et_cache_);
  }

  void set_weights(std::size_t index, const InitialWeights& in) {
    CpuRun<Real>& run = runs_.at(index);
    const std::size_t rows = run.w.size() / run.stride,
                      teacher_rows = run.wstar.size() / run.stride;
    if (in.w.size() != rows * run.N || in.wstar.size() != teacher_rows * run.N ||
        in.v.size() != run.v.size() || in.vstar.size() != run.vstar.size())
      throw std::invalid_argument("cpu_engine_set_weights: shapes differ");
    const std::size_t n = static_cast<std::size_t>(run.N);
    run.w = padded_rows<Real>(in.w, n, run.stride);
    run.wstar = padded_rows<Real>(in.wstar, n, run.stride);
    run.v.assign(in.v.begin(), in.v.end());
    run.vstar.assign(in.vstar.begin(), in.vstar.end());
  }

  void resume(std::int64_t step, const std::vector<InitialWeights>& weights,
              const std::vector<char>& frozen) override {
    if (weights.size() != runs_.size() || frozen.size() != runs_.size() || step < 0)
      throw std::invalid_argument("cpu engine: resume of another batch");
    for (std::size_t r = 0; r < runs_.size(); ++r) {
      CpuRun<Real>& run = runs_[r];
      const InitialWeights& in = weights[r];
      const std::size_t n = static_cast<std::size_t>(run.N);
      if (in.w.size() != static_cast<std::size_t>(run.K) * n || in.v.size() != run.v.size())
        throw std::invalid_argument("cpu engine: resume with weights of another shape");
      run.w = padded_rows<Real>(in.w, n, run.stride);
      for (std::size_t k = 0; k < run.v.size(); ++k) run.v[k] = static_cast<Real>(in.v[k]);
      run.frozen = frozen[r] != 0;
    }
    // A group's draws are indexed by its step counter (draw_inputs, label_noise).
    for (Group& g : groups_) g.step = step;
  }

  void weights(std::size_t index, InitialWeights& out) override {
    const CpuRun<Real>& run = runs_.at(index);
    const std::size_t n = static_cast<std::size_t>(run.N);
    out.w = unpadded_rows(run.w, n, run.stride);
    out.wstar = unpadded_rows(run.wstar, n, run.stride);
    out.v.assign(run.v.begin(), run.v.end());
    out.vstar.assign(run.vstar.begin(), run.vstar.end());
  }

 private:
  static CpuRun<Real> make_run(const RunSpec& spec) {
    const PointParams& p = spec.params;
    CpuRun<Real> run;
    run.seed = spec.seed;
    run.train_size = p.train_size;
    run.inputs = p.inputs.get();
    run.N = p.N;
    run.K = p.K;
    run.M = p.M;
    run.B = p.batch_size;
    run.teacher = {p.teacher_init, p.teacher_seed.value_or(spec.seed), p.teacher_sparsity,
                   p.teacher_file.get()};
    run.train_second = p.train == TrainMode::both_layers;
    const InitialWeights init = initial_weights(spec);
    const std::size_t n = static_cast<std::size_t>(p.N);
    run.padded = padded_length(p.N);
    run.stride = row_stride<Real>(p.N);
    run.w = padded_rows<Real>(init.w, n, run.stride);
    run.wstar = padded_rows<Real>(init.wstar, n, run.stride);
    run.v.assign(init.v.begin(), init.v.end());
    run.vstar.assign(init.vstar.begin(), init.vstar.end());
    run.constants = sgd_constants<Real>(p);
    return run;
  }

  // Groups by (seed, B, teacher, P, inputs), then splits groups of more than
  // runs / threads runs, so that every thread has work: one draw serves a
  // whole group, so a group is split no further than that. The teacher rows of a group are those of
  // its member with the largest M, so its members must share teacher rows: rows m < M depend only
  // on (N, teacher) (initial_weights.h), and the batch shares N.
  void build_groups() {
    using Key = std::tuple<std::uint64_t, int, decltype(CpuRun<Real>::teacher), std::uint64_t,
                           const InputSet*>;
    std::map<Key, std::vector<std::size_t>> by_key;
    for (std::size_t r = 0; r < runs_.size(); ++r)
      by_key[{runs_[r].seed, runs_[r].B, runs_[r].teacher, runs_[r].train_size, runs_[r].inputs}]
          .push_back(r);
    const std::size_t threads = static_cast<std::size_t>(threads_);
    const std::size_t target = std::max<std::size_t>(1, (runs_.size() + threads - 1) / threads);
    groups_.clear();
    for (auto& [key, members] : by_key) {
      for (std::size_t begin = 0; begin < members.size(); begin += target) {
        Group g;
        const std::size_t end = std::min(members.size(), begin + target);
        for (std::size_t i = begin; i < end; ++i) g.runs.push_back(members[i]);
        g.teacher_run = g.runs[0];
        for (std::size_t r : g.runs)
          if (runs_[r].M > runs_[g.teacher_run].M) g.teacher_run = r;
        groups_.push_back(std::move(g));
      }
    }
  }

  // The live runs of a group, their student rows and the scratch of a step.
  GroupWork<Real> group_work(const Group& group) {
    GroupWork<Real> work;
    const CpuRun<Real>& teacher = runs_[group.teacher_run];
    const std::size_t B = static_cast<std::size_t>(teacher.B), stride = teacher.stride;
    int K_max = 0;
    work.first_row.push_back(0);
    for (std::size_t r : group.runs) {
      CpuRun<Real>& run = runs_[r];
      if (run.frozen) continue;
      work.live.push_back(&run);
      const auto kind =
          std::find(work.teacher_kinds.begin(), work.teacher_kinds.end(), run.constants.teacher);
      work.teacher_kind.push_back(static_cast<int>(kind - work.teacher_kinds.begin()));
      if (kind == work.teacher_kinds.end()) work.teacher_kinds.push_back(run.constants.teacher);
      for (int k = 0; k < run.K; ++k) {
        work.rows.push_back(&run.w[k * stride]);
        work.keep.push_back(run.constants.w_keep);
        work.decay = work.decay || run.constants.w_keep != Real(1);
      }
      work.first_row.push_back(static_cast<int>(work.rows.size()));
      K_max = std::max(K_max, run.K);
    }
    for (int m = 0; m < teacher.M; ++m) work.teacher_rows.push_back(&teacher.wstar[m * stride]);
    work.order.seed = teacher.seed;
    work.order.size = teacher.train_size;
    work.labelled = teacher.inputs != nullptr && teacher.inputs->labelled();
    work.scratch.resize(stride);
    for (int set = 0; set < 2; ++set) {
      work.x[set].resize(B * stride);
      work.zeta[set].resize(B);
      work.rho[set].resize(B * teacher.M);
      work.label[set].resize(B);
    }
    work.lambda.resize(B * work.rows.size());
    work.coef.resize(work.rows.size() * B);
    work.g_teacher.resize(work.teacher_kinds.size() * teacher.M);
    work.g.resize(K_max);
    work.dg.resize(K_max);
    work.v_change.resize(work.rows.size());
    return work;
  }

  // The label noise of sample mu, drawn kNoiseBatch samples at a time.
  Real label_noise(std::uint64_t seed, std::uint64_t mu, GroupWork<Real>& work) const {
    constexpr int kNoiseBatch = 64;
    if (work.noise.empty() || mu < work.noise_first || mu - work.noise_first >= kNoiseBatch) {
      work.noise.resize(kNoiseBatch);
      draw_label_noise(seed, mu, kNoiseBatch, work.noise.data(), transform_);
      work.noise_first = mu;
    }
    return static_cast<Real>(work.noise[mu - work.noise_first]);
  }

  // The B inputs of SGD step `step` into set `set`.
  void draw_inputs(const CpuRun<Real>& teacher, std::int64_t step, GroupWork<Real>& work,
                   int set) const {
    const std::size_t padded = teacher.padded;
    for (int b = 0; b < teacher.B; ++b) {
      const std::uint64_t mu = work.order(static_cast<std::uint64_t>(step) * teacher.B + b);
      draw_sample(teacher.seed, mu, teacher.N, padded, transform_, teacher.inputs,
                  work.scratch.data(), &work.x[set][b * teacher.stride]);
    }
  }

  // The label noise and (fields) the teacher fields of the B samples of set `set`.
  void teacher_side(const CpuRun<Real>& teacher, std::int64_t step, GroupWork<Real>& work, int set,
                    bool fields = true) const {
    const int B = teacher.B, M = teacher.M;
    const std::size_t padded = teacher.padded;
    const Real inv_sqrt_n = Real(1) / std::sqrt(static_cast<Real>(teacher.N));
    for (int b = 0; b < B; ++b) {
      const std::uint64_t mu = static_cast<std::uint64_t>(step) * B + b;
      // A finite training set's samples come in permuted order: each one's own draw.
      work.zeta[set][b] = teacher.train_size == 0
                              ? label_noise(teacher.seed, mu, work)
                              : static_cast<Real>(gaussian_at(teacher.seed, Stream::label_noise,
                                                              work.order(mu), 0, transform_));
      if (work.labelled)
        work.label[set][b] = static_cast<Real>(teacher.inputs->train_labels[work.order(mu)]);
      else if (fields)
        row_fields(work.teacher_rows.data(), M, &work.x[set][b * teacher.stride], padded,
                   inv_sqrt_n, &work.rho[set][b * M]);
    }
  }

  // Every live run's update coefficients for the step (work.coef, row-major
  // over the B samples) from its fields (work.lambda) and the teacher's of
  // `set`, and its second layer when trained (math/sgd_update.h).
  static void coefficients(GroupWork<Real>& work, int B, int M_max, int set) {
    const std::size_t rows = work.rows.size();
    std::fill(work.v_change.begin(), work.v_change.end(), Real(0));
    for (int b = 0; b < B; ++b) {
      // The teacher's activations, once per sample for all runs of the group
      // (none with labels from files: the teacher is unused).
      for (std::size_t t = 0; !work.labelled && t < work.teacher_kinds.size(); ++t)
        for (int m = 0; m < M_max; ++m)
          work.g_teacher[t * M_max + m] =
              activation(work.teacher_kinds[t], work.rho[set][b * M_max + m]);
      for (std::size_t i = 0; i < work.live.size(); ++i) {
        const int first = work.first_row[i];
        sample_coefficients(*work.live[i], &work.lambda[b * rows + first],
                            &work.g_teacher[work.teacher_kind[i] * M_max], work.zeta[set][b],
                            work.labelled ? &work.label[set][b] : nullptr, work.g.data(),
                            work.dg.data(), &work.coef[first * B + b], B, &work.v_change[first]);
      }
    }
    for (std::size_t i = 0; i < work.live.size(); ++i) {
      CpuRun<Real>& run = *work.live[i];
      if (run.train_second)
        for (int k = 0; k < run.K; ++k)
          run.v[k] =
              updated_v(run.constants.v_keep, run.v[k], work.v_change[work.first_row[i] + k]);
    }
  }

  // One sample per step: the update of step s and the fields of step s + 1
  // in one pass over the rows (cpu_kernels.h), so each weight is read and
  // written once per step.
  void advance_single(const CpuRun<Real>& teacher, std::int64_t first_step, std::int64_t steps,
                      GroupWork<Real>& work) const {
    const int rows = static_cast<int>(work.rows.size());
    const std::size_t padded = teacher.padded;
    const Real inv_sqrt_n = Real(1) / std::sqrt(static_cast<Real>(teacher.N));
    int now = 0;
    draw_inputs(teacher, first_step, work, now);
    teacher_side(teacher, first_step, work, now);
    row_fields(work.rows.data(), rows, work.x[now].data(), padded, inv_sqrt_n, work.lambda.data());
    for (std::int64_t s = 0; s < steps; ++s) {
      coefficients(work, 1, teacher.M, now);
      if (s + 1 == steps) {
        row_updates(work.rows.data(), rows, work.coef.data(), work.keep.data(), work.decay,
                    work.x[now].data(), padded, 1, padded);
        break;
      }
      const int next = 1 - now;
      draw_inputs(teacher, first_step + s + 1, work, next);
      teacher_side(teacher, first_step + s + 1, work, next, false);
      // The teacher's fields of the next sample in the same pass.
      row_updates_then_fields(work.rows.data(), rows, work.coef.data(), work.keep.data(),
                              work.decay, work.teacher_rows.data(), teacher.M, work.x[now].data(),
                              work.x[next].data(), padded, inv_sqrt_n, work.lambda.data(),
                              work.rho[next].data());
      now = next;
    }
  }

  // Mini-batches: the B samples' fields, the coefficients, one update pass.
  void advance_batch(const CpuRun<Real>& teacher, std::int64_t first_step, std::int64_t steps,
                     GroupWork<Real>& work) const {
    const int rows = static_cast<int>(work.rows.size()), B = teacher.B;
    const std::size_t padded = teacher.padded;
    const Real inv_sqrt_n = Real(1) / std::sqrt(static_cast<Real>(teacher.N));
    for (std::int64_t s = 0; s < steps; ++s) {
      draw_inputs(teacher, first_step + s, work, 0);
      teacher_side(teacher, first_step + s, work, 0);
      for (int b = 0; b < B; ++b)
        row_fields(work.rows.data(), rows, &work.x[0][b * teacher.stride], padded, inv_sqrt_n,
                   &work.lambda[b * rows]);
      coefficients(work, B, teacher.M, 0);
      row_updates(work.rows.data(), rows, work.coef.data(), work.keep.data(), work.decay,
                  work.x[0].data(), teacher.stride, B, padded);
    }
  }

  void advance_group(Group& group, std::int64_t steps) {
    const CpuRun<Real>& teacher = runs_[group.teacher_run];
    const std::int64_t first_step = group.step;
    group.step += steps;
    GroupWork<Real> work = group_work(group);
    if (work.live.empty()) return;
    if (teacher.B == 1)
      advance_single(teacher, first_step, steps, work);
    else
      advance_batch(teacher, first_step, steps, work);
  }

  static void measure(const CpuRun<Real>& run, OrderParameters& op) {
    const int K = run.K, M = run.M;
    const std::size_t n = static_cast<std::size_t>(run.N), stride = run.stride;
    op.resize(K, M);
    auto overlap = [n](const Real* a, const Real* b) {
      double s = 0.0;
      for (std::size_t i = 0; i < n; ++i)
        s += static_cast<double>(a[i]) * static_cast<double>(b[i]);
      return s / static_cast<double>(n);
    };
    for (int i = 0; i < K; ++i) {
      for (int j = i; j < K; ++j)
        op.Q[i * K + j] = op.Q[j * K + i] = overlap(&run.w[i * stride], &run.w[j * stride]);
      for (int m = 0; m < M; ++m)
        op.R[i * M + m] = overlap(&run.w[i * stride], &run.wstar[m * stride]);
      op.v[i] = run.v[i];
    }
    for (int a = 0; a < M; ++a) {
      for (int b = a; b < M; ++b)
        op.T[a * M + b] = op.T[b * M + a] = overlap(&run.wstar[a * stride], &run.wstar[b * stride]);
      op.vstar[a] = run.vstar[a];
    }
  }

  int threads_;
  RngTransform transform_;
  std::vector<CpuRun<Real>> runs_;
  std::vector<RunSpec> specs_;   // the batch's identities (training_errors)
  TrainingErrorCache et_cache_;  // its training sets' inputs and labels
  std::vector<Group> groups_;
};

}  // namespace

void cpu_engine_weights(Engine& engine, std::size_t index, InitialWeights& out) {
  if (!dynamic_cast<CpuEngine<double>*>(&engine) && !dynamic_cast<CpuEngine<float>*>(&engine))
    throw std::invalid_argument("cpu_engine_weights: not a CPU engine");
  engine.weights(index, out);
}

void cpu_engine_set_weights(Engine& engine, std::size_t index, const InitialWeights& weights) {
  if (auto* e = dynamic_cast<CpuEngine<double>*>(&engine)) return e->set_weights(index, weights);
  if (auto* e = dynamic_cast<CpuEngine<float>*>(&engine)) return e->set_weights(index, weights);
  throw std::invalid_argument("cpu_engine_set_weights: not a CPU engine");
}

std::unique_ptr<Engine> make_cpu_engine(Precision precision, int threads, RngTransform transform) {
  if (precision == Precision::float32)
    return std::make_unique<CpuEngine<float>>(threads, transform);
  return std::make_unique<CpuEngine<double>>(threads, transform);
}

}  // namespace tsgd
