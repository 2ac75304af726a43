// See aggregation.h.
#include "experiment/aggregation.h"

#include <algorithm>
#include <limits>

#include "experiment/plan.h"

namespace tsgd {

namespace {

void add_ode_curve(const ResultSet& results, int point, PointStatistics& s) {
  std::vector<const OdeCurve*> curves;
  for (const auto& c : results.ode)
    if (c.point_id == point) curves.push_back(&c);
  if (curves.empty()) return;
  const std::size_t n = s.alpha.size();
  std::vector<double> mean(n, 0.0);
  for (const OdeCurve* c : curves) {
    if (c->diverged) ++s.ode_curves_diverged;
    for (std::size_t j = 0; j < n; ++j)
      // A diverged curve's values stop where it diverged: NaN from there on.
      mean[j] += j < c->eg.size() ? c->eg[j] : std::numeric_limits<double>::quiet_NaN();
  }
  for (double& m : mean) m /= static_cast<double>(curves.size());
  s.ode_eg = std::move(mean);
}

void add_run_statistics(const std::vector<RunTrajectory>& runs, PointStatistics& s) {
  std::vector<double> values;
  for (std::size_t r = s.runs_begin; r < s.runs_end; ++r)
    if (runs[r].diverged) ++s.runs_diverged;
  for (std::size_t j = 0; j < s.alpha.size(); ++j) {
    values.clear();
    int n_diverged = 0;
    for (std::size_t r = s.runs_begin; r < s.runs_end; ++r) {
      const RunTrajectory& t = runs[r];
      if (t.diverged) {
        if (t.diverged_alpha <= s.alpha[j]) ++n_diverged;
        continue;
      }
      values.push_back(t.eg.at(j));
    }
    s.eg.push_back(summarise(values));
    s.eg_robust.push_back(summarise_robust(values));
    s.n_diverged.push_back(n_diverged);
  }
}

// A per-record measurement beside eg (RunTrajectory::et, ::class_err), over
// the runs that eg averages.
std::vector<SampleSummary> record_statistics(const std::vector<RunTrajectory>& runs,
                                             const PointStatistics& s,
                                             std::vector<double> RunTrajectory::*of) {
  std::vector<SampleSummary> out;
  std::vector<double> values;
  for (std::size_t j = 0; j < s.alpha.size(); ++j) {
    values.clear();
    for (std::size_t r = s.runs_begin; r < s.runs_end; ++r)
      if (!runs[r].diverged && j < (runs[r].*of).size()) values.push_back((runs[r].*of)[j]);
    out.push_back(summarise(values));
  }
  return out;
}

void add_tail(const std::vector<RunTrajectory>& runs, PointStatistics& s) {
  const std::vector<double>& alphas = s.alpha;
  s.tail_from = 0.5 * alphas.back();
  const std::size_t tail_begin =
      std::lower_bound(alphas.begin(), alphas.end(), s.tail_from) - alphas.begin();
  s.tail_records = alphas.size() - tail_begin;
  std::vector<double> values;
  for (std::size_t r = s.runs_begin; r < s.runs_end; ++r) {
    const RunTrajectory& t = runs[r];
    if (t.diverged) continue;
    double sum = 0;
    for (std::size_t j = tail_begin; j < alphas.size(); ++j) sum += t.eg.at(j);
    values.push_back(sum / static_cast<double>(s.tail_records));
  }
  s.tail = summarise(values);
}

void add_blown_up(const std::vector<RunTrajectory>& runs, PointStatistics& s) {
  for (std::size_t r = s.runs_begin; r < s.runs_end; ++r) {
    const RunTrajectory& t = runs[r];
    if (t.diverged || t.states.empty()) continue;
    const OrderParameters& op = t.states.back();
    double q = 0, scale = 1;
    for (int k = 0; k < op.K; ++k) q = std::max(q, op.q(k, k));
    for (int n = 0; n < op.M; ++n) scale = std::max(scale, op.t(n, n));
    if (q > kBlownUpFactor * scale) {
      ++s.runs_blown_up;
      s.max_q_final = std::max(s.max_q_final, q);
    }
  }
}

void add_escapes(const std::vector<RunTrajectory>& runs, std::optional<double> escape_eg,
                 PointStatistics& s) {
  s.escape = escape_threshold(escape_eg, s.alpha, s.ode_eg);
  s.n_escaped.assign(s.alpha.size(), 0);
  std::vector<double> times;
  for (std::size_t r = s.runs_begin; r < s.runs_end; ++r) {
    const RunTrajectory& t = runs[r];
    const std::optional<double> at =
        t.diverged ? std::nullopt : escape_alpha(t.alpha, t.eg, s.escape.eg);
    s.escape_alpha.push_back(at);
    if (t.diverged) continue;
    if (!at) {
      ++s.runs_not_escaped;
      continue;
    }
    ++s.runs_escaped;
    times.push_back(*at);
    for (std::size_t j = 0; j < s.alpha.size(); ++j)
      if (s.alpha[j] >= *at) ++s.n_escaped[j];
  }
  s.escape_time = summarise(times);
  s.escape_time_robust = summarise_robust(times);
}

}  // namespace

PointStatistics aggregate_point(const ResultSet& results, std::size_t p, std::size_t runs_begin,
                                std::size_t runs_end) {
  const Experiment& e = *results.experiment;
  PointStatistics s;
  s.runs_begin = runs_begin;
  s.runs_end = runs_end;
  s.alpha = record_alphas(e, e.points[p]);
  add_ode_curve(results, static_cast<int>(p), s);
  add_run_statistics(results.runs, s);
  if (e.points[p].train_size > 0) s.et = record_statistics(results.runs, s, &RunTrajectory::et);
  if (records_class_err(e.points[p]))
    s.class_err = record_statistics(results.runs, s, &RunTrajectory::class_err);
  add_tail(results.runs, s);
  add_escapes(results.runs, e.record.escape_eg, s);
  add_blown_up(results.runs, s);
  return s;
}

}  // namespace tsgd
