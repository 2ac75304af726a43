#include "engines/cpu_engine.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>
#include <tuple>

#include "core/initial_weights.h"
#include "core/sgd_constants.h"
#include "core/threads.h"
#include "math/gaussian.h"
#include "math/sgd_update.h"

namespace tsgd {

namespace {

// out[u] = scale * (row u of `rows`) . x for u < count, rows of length n with
// stride `stride`. Four rows per pass: four independent accumulator chains
// hide the FMA latency and x is read once per four rows.
template <typename Real>
void fields(const Real* rows, std::size_t stride, int count, const Real* x, int n, Real scale,
            Real* out) {
  int u = 0;
  for (; u + 4 <= count; u += 4) {
    const Real* a = rows + u * stride;
    const Real* b = a + stride;
    const Real* c = b + stride;
    const Real* d = c + stride;
    Real s0 = 0, s1 = 0, s2 = 0, s3 = 0;
#pragma omp simd reduction(+ : s0, s1, s2, s3)
    for (int i = 0; i < n; ++i) {
      s0 += a[i] * x[i];
      s1 += b[i] * x[i];
      s2 += c[i] * x[i];
      s3 += d[i] * x[i];
    }
    out[u] = s0 * scale;
    out[u + 1] = s1 * scale;
    out[u + 2] = s2 * scale;
    out[u + 3] = s3 * scale;
  }
  for (; u < count; ++u) {
    const Real* a = rows + u * stride;
    Real s0 = 0;
#pragma omp simd reduction(+ : s0)
    for (int i = 0; i < n; ++i) s0 += a[i] * x[i];
    out[u] = s0 * scale;
  }
}

// One student row's first-layer update, w <- w_keep w + sum_b c_b x^b (c_b
// at coefficient[b * coefficient_stride], x^b at x + b * x_stride): the decay,
// then the samples' terms in order, each product and sum rounded on its own
// (math/sgd_update.h: why the GPU paths add them differently). The first
// pass decays and adds sample 0, so B = 1 costs one pass over w; with
// -ffp-contract=off that rounds as a decay pass of its own would (the
// product is rounded before the sum either way). A pass per further sample
// keeps every loop a plain vectorisable one (GCC does not vectorise a loop
// over i around a loop over b).
template <typename Real>
void update_student_row(Real* w, std::size_t n, Real w_keep, const Real* coefficient,
                        std::size_t coefficient_stride, const Real* x, std::size_t x_stride,
                        int B) {
  const Real c0 = coefficient[0];
#pragma omp simd
  for (std::size_t i = 0; i < n; ++i) w[i] = rn_add(decayed_weight(w_keep, w[i]), rn_mul(c0, x[i]));
  for (int b = 1; b < B; ++b) {
    const Real cb = coefficient[b * coefficient_stride];
    const Real* const xb = x + b * x_stride;
#pragma omp simd
    for (std::size_t i = 0; i < n; ++i) w[i] = rn_add(w[i], rn_mul(cb, xb[i]));
  }
}

template <typename Real>
struct CpuRun {
  std::uint64_t seed = 0;
  int N = 0, K = 0, M = 0, B = 1;
  TeacherInit teacher_init = TeacherInit::gaussian;
  bool train_second = false;
  bool frozen = false;
  SgdConstants<Real> constants{};
  std::vector<Real> w, wstar, v, vstar;  // K x N, M x N, K, M
};

// Runs that share (seed, B, teacher_init): advanced together by one thread.
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

  void set_weights(std::size_t index, const InitialWeights& in) {
    CpuRun<Real>& run = runs_.at(index);
    if (in.w.size() != run.w.size() || in.wstar.size() != run.wstar.size() ||
        in.v.size() != run.v.size() || in.vstar.size() != run.vstar.size())
      throw std::invalid_argument("cpu_engine_set_weights: shapes differ");
    run.w.assign(in.w.begin(), in.w.end());
    run.wstar.assign(in.wstar.begin(), in.wstar.end());
    run.v.assign(in.v.begin(), in.v.end());
    run.vstar.assign(in.vstar.begin(), in.vstar.end());
  }

  void weights(std::size_t index, InitialWeights& out) const {
    const CpuRun<Real>& run = runs_.at(index);
    out.w.assign(run.w.begin(), run.w.end());
    out.wstar.assign(run.wstar.begin(), run.wstar.end());
    out.v.assign(run.v.begin(), run.v.end());
    out.vstar.assign(run.vstar.begin(), run.vstar.end());
  }

 private:
  static CpuRun<Real> make_run(const RunSpec& spec) {
    const PointParams& p = spec.params;
    CpuRun<Real> run;
    run.seed = spec.seed;
    run.N = p.N;
    run.K = p.K;
    run.M = p.M;
    run.B = p.batch_size;
    run.teacher_init = p.teacher_init;
    run.train_second = p.train == TrainMode::both_layers;
    const InitialWeights init = initial_weights(spec);
    run.w.assign(init.w.begin(), init.w.end());
    run.wstar.assign(init.wstar.begin(), init.wstar.end());
    run.v.assign(init.v.begin(), init.v.end());
    run.vstar.assign(init.vstar.begin(), init.vstar.end());
    run.constants = sgd_constants<Real>(p);
    return run;
  }

  // Groups by (seed, B, teacher_init), then splits groups so that every thread has
  // work. The teacher rows of a group are those of its member with the largest M,
  // so its members must share teacher rows: rows m < M depend only on (seed, N,
  // teacher_init) (initial_weights.h), and the batch shares N.
  void build_groups() {
    std::map<std::tuple<std::uint64_t, int, TeacherInit>, std::vector<std::size_t>> by_key;
    for (std::size_t r = 0; r < runs_.size(); ++r)
      by_key[{runs_[r].seed, runs_[r].B, runs_[r].teacher_init}].push_back(r);
    const std::size_t target =
        std::max<std::size_t>(1, (runs_.size() + 2 * threads_ - 1) / (2 * threads_));
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

  void advance_group(Group& group, std::int64_t steps) {
    const CpuRun<Real>& teacher = runs_[group.teacher_run];
    const int N = teacher.N, B = teacher.B, M_max = teacher.M;
    const std::size_t n = static_cast<std::size_t>(N);
    const std::size_t padded = (n + 3) / 4 * 4;
    const Real inv_sqrt_n = Real(1) / std::sqrt(static_cast<Real>(N));
    std::vector<float> draw(padded);
    std::vector<Real> x(static_cast<std::size_t>(B) * padded);
    std::vector<Real> zeta(B), rho(static_cast<std::size_t>(B) * M_max);
    int K_max = 0;
    for (std::size_t r : group.runs) K_max = std::max(K_max, runs_[r].K);
    std::vector<Real> lambda(K_max), coefficient(static_cast<std::size_t>(B) * K_max),
        v_change(K_max);

    const std::int64_t first_step = group.step;
    group.step += steps;
    bool any_live = false;
    for (std::size_t r : group.runs) any_live = any_live || !runs_[r].frozen;
    if (!any_live) return;

    for (std::int64_t s = 0; s < steps; ++s) {
      const std::int64_t step = first_step + s;
      // The B samples of this step: inputs, label noise, teacher fields.
      for (int b = 0; b < B; ++b) {
        const std::uint64_t mu = static_cast<std::uint64_t>(step) * B + b;
        draw_input(teacher.seed, mu, N, draw.data(), transform_);
        Real* xb = &x[b * padded];
        for (std::size_t i = 0; i < n; ++i) xb[i] = static_cast<Real>(draw[i]);
        zeta[b] =
            static_cast<Real>(gaussian_at(teacher.seed, Stream::label_noise, mu, 0, transform_));
        fields(teacher.wstar.data(), n, M_max, xb, N, inv_sqrt_n, &rho[b * M_max]);
      }
      for (std::size_t r : group.runs) {
        CpuRun<Real>& run = runs_[r];
        if (run.frozen) continue;
        const int K = run.K;
        std::fill(v_change.begin(), v_change.end(), Real(0));
        for (int b = 0; b < B; ++b) {
          const Real* xb = &x[b * padded];
          fields(run.w.data(), n, K, xb, N, inv_sqrt_n, lambda.data());
          Real* c = &coefficient[b * K_max];
          std::fill(c, c + K, Real(0));
          accumulate_sample(run.constants, lambda.data(), run.v.data(), &rho[b * M_max],
                            run.vstar.data(), zeta[b], c, v_change.data());
        }
        for (int k = 0; k < K; ++k)
          update_student_row(&run.w[k * n], n, run.constants.w_keep, &coefficient[k], K_max,
                             x.data(), padded, B);
        if (run.train_second)
          for (int k = 0; k < K; ++k)
            run.v[k] = updated_v(run.constants.v_keep, run.v[k], v_change[k]);
      }
    }
  }

  static void measure(const CpuRun<Real>& run, OrderParameters& op) {
    const int K = run.K, M = run.M;
    const std::size_t n = static_cast<std::size_t>(run.N);
    op.resize(K, M);
    auto overlap = [n](const Real* a, const Real* b) {
      double s = 0.0;
      for (std::size_t i = 0; i < n; ++i)
        s += static_cast<double>(a[i]) * static_cast<double>(b[i]);
      return s / static_cast<double>(n);
    };
    for (int i = 0; i < K; ++i) {
      for (int j = i; j < K; ++j)
        op.Q[i * K + j] = op.Q[j * K + i] = overlap(&run.w[i * n], &run.w[j * n]);
      for (int m = 0; m < M; ++m) op.R[i * M + m] = overlap(&run.w[i * n], &run.wstar[m * n]);
      op.v[i] = run.v[i];
    }
    for (int a = 0; a < M; ++a) {
      for (int b = a; b < M; ++b)
        op.T[a * M + b] = op.T[b * M + a] = overlap(&run.wstar[a * n], &run.wstar[b * n]);
      op.vstar[a] = run.vstar[a];
    }
  }

  int threads_;
  RngTransform transform_;
  std::vector<CpuRun<Real>> runs_;
  std::vector<Group> groups_;
};

}  // namespace

void cpu_engine_weights(Engine& engine, std::size_t index, InitialWeights& out) {
  if (auto* e = dynamic_cast<CpuEngine<double>*>(&engine)) return e->weights(index, out);
  if (auto* e = dynamic_cast<CpuEngine<float>*>(&engine)) return e->weights(index, out);
  throw std::invalid_argument("cpu_engine_weights: not a CPU engine");
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
