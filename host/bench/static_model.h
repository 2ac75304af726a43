// The static performance model of the fused kernel (bench_gpu --static,
// docs/gpu.md "The static performance model"): a MODEL, not a measurement.
// Its counts come from the compiled code, its constants from the card's
// published figures; nothing in it is fitted to a target.
//
// Counts: scripts/ptx_static.py reads the PTX of cuda/fused_sgd.cu (built
// with the library's flags) and ptxas's report of it, and writes, per kernel
// instantiation, its resources and the instructions of its step loop in
// buckets (phase, loop weight, path); the build compiles that table in
// (generated/fused_static_model.inc). For a case, a bucket counts when its
// path is one the case's warps take, times its loops' trip counts.
//
// Model, per block-step (one SGD step of one task):
//   every warp issues the draws, dot products, reduction, update and step
//   bookkeeping; one warp the label noise where it is drawn apart (phase A,
//   the block's last threads); warp 0 alone issues phase B (the coefficients);
//   issue time of a multiprocessor's round (each resident block one step) =
//     blocks x warp-instructions / (4 schedulers x 1 instruction per cycle);
//   critical path of one block = (instructions per warp) x ceil(warps / 4)
//     + the label noise's instructions (one warp draws it beside its own work)
//     + phase B instructions x 4 cycles (one dependent instruction after
//     another, warp 0 alone) + 2 barriers x kBarrierCycles; where the kernel
//     draws the next sample during phase B (fused_overlaps_draws, B = 1),
//     every warp issues that draw, and the path takes the longer of warp
//     0's phase B and draw and the other warps' draws on one scheduler;
//   a round takes the larger of the two; run-steps/s = SMs x blocks x runs
//   per task x clock / round cycles, times the last wave's idle share.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/enum_names.h"
#include "core/model.h"
#include "cuda/fused_plan.h"
#include "math/gaussian.h"

namespace tsgd::bench {

struct StaticBucket {
  const char* phase;   // draw, dot, reduction, noise, phase_b, update, step
  const char* weight;  // loops: "S/u" main loop, "S^u" remainder loop, "S%u" remainder copies,
                       // "S~P" an unrolled row loop stopping at S of its P rows
  const char* path;    // "" always; else the branches it lies in, joined by "+" (act:erf,
                       // noise, exact, fast+noise, ...): counted when the case takes all
  int count;           // PTX instructions
};

struct StaticKernel {
  const char* real;
  int rows;  // P
  const char* symbol;
  int registers, spill_stores, spill_loads, stack, static_smem;
  int loop_instructions;  // all of the step loop's PTX instructions
  std::vector<StaticBucket> buckets;
};

#if defined(TSGD_STATIC_MODEL)
inline const std::vector<StaticKernel>& static_kernels() {
  static const std::vector<StaticKernel> kernels =
#include "fused_static_model.inc"
      ;
  return kernels;
}
#else
inline const std::vector<StaticKernel>& static_kernels() {
  static const std::vector<StaticKernel> none;
  return none;
}
#endif

// The card: H100 SXM5 (NVIDIA's datasheet and Hopper whitepaper); an H200
// has the same SMs and clock.
constexpr int kSms = 132;
constexpr int kSchedulers = 4;            // per SM, one warp-instruction per cycle each
constexpr double kClock = 1.98e9;         // boost clock, Hz
constexpr int kFp32LanesPerSm = 128;      // FP32 FMA lanes per SM and cycle
constexpr int kRegistersPerSm = 65536;    // allocated per warp in units of 256
constexpr int kSharedPerSm = 228 * 1024;  // bytes, of which 1 KB per block is reserved
constexpr int kThreadsPerSm = 2048;       //
constexpr int kBlocksPerSm = 32;          //
constexpr double kDependentCycles = 4;    // CUDA C++ Programming Guide: most arithmetic
                                          // instructions' latency (7.x on)
constexpr double kBarrierCycles = 20;     // assumed (no published figure): to correct on a GPU

// A bench case, as the model sees it.
struct StaticCase {
  const char* label;
  std::string name;
  PointParams params;
  int runs;
  int points_per_seed;
  double target;
  RngTransform transform;  // the draws' branch: on a GPU `auto` is fast (docs/config.md)
};

// Runs of one seed that one block advances (and that share its draws):
// fused_plan.h's grouping, at most fused_max_rows rows (the students of each
// run and their one teacher) and kFusedMaxRunsPerTask runs.
inline int runs_per_task(const PointParams& p, int points_per_seed,
                         int max_rows = fused_max_rows<float>()) {
  return std::max(1, std::min({points_per_seed, (max_rows - p.M) / p.K, kFusedMaxRunsPerTask}));
}
// The tasks of `runs` runs, points_per_seed grid points to a seed (every
// seed full: runs a multiple of points_per_seed, as in every bench case): the
// plan fills each seed's points into tasks of up to `sharing` runs, so a
// seed of 8 points at 3 runs a task takes 3 tasks (3 + 3 + 2).
inline double fused_task_count(int runs, int points_per_seed, int sharing) {
  const double seeds = std::ceil(static_cast<double>(runs) / points_per_seed);
  return seeds * std::ceil(static_cast<double>(points_per_seed) / sharing);
}

// The loops' trip counts of a case, per block-step.
struct TripCounts {
  int B, W, qrows, qruns, K, M;
  int rows, students;  // of the task (its runs' students, the teacher once)
  double of(const std::string& symbol) const {
    if (symbol == "B") return B;
    if (symbol == "W") return W;
    if (symbol == "QROWS") return qrows;
    if (symbol == "QRUNS") return qruns;
    if (symbol == "K") return K;
    if (symbol == "M") return M;
    if (symbol == "ROWS") return rows;
    if (symbol == "STUDENTS") return students;
    std::fprintf(stderr, "static model: unknown loop symbol %s\n", symbol.c_str());
    std::abort();
  }
  // "S/u*T%v...": the executions of one instruction of the bucket.
  double weight(const std::string& w) const {
    double product = 1;
    std::size_t start = 0;
    while (start < w.size()) {
      std::size_t end = w.find('*', start);
      if (end == std::string::npos) end = w.size();
      const std::string term = w.substr(start, end - start);
      const std::size_t op = term.find_first_of("/%^~");
      const double n = of(term.substr(0, op));
      const int u = std::atoi(term.c_str() + op + 1);
      const int whole = static_cast<int>(n);
      if (term[op] == '/') product *= u > 1 ? whole / u : n;
      if (term[op] == '^') product *= whole % u;
      if (term[op] == '%') product *= static_cast<double>(whole % u) / (u - 1);
      if (term[op] == '~') product *= std::min(n, static_cast<double>(u)) / u;
      start = end + 1;
    }
    return product;
  }
};

// What decides a case's branches besides its parameters.
struct CaseBranches {
  bool kept;               // the launch keeps its mini-batch inputs in shared memory
  RngTransform transform;  // the draws' transform
  bool overlap;            // B = 1, several warps: the next inputs drawn during phase B
  bool noise_apart;        // the label noise drawn in a pass of its own (FusedThread::noise_apart)
};

inline bool branch_taken(const std::string& path, const PointParams& p, const CaseBranches& c) {
  const bool kept = c.kept;
  if (path.rfind("act:", 0) == 0)
    return path.substr(4) == to_string(p.student_activation) ||
           path.substr(4) == to_string(p.teacher_activation);
  if (path == "noise") return p.sigma != 0;
  if (path == "decay") return p.weight_decay != 0;
  if (path == "keep") return kept;
  if (path == "redraw") return p.batch_size > 1 && !kept;
  if (path == "train_v") return p.train == TrainMode::both_layers;
  if (path == "finite") return p.train_size > 0;   // a finite training set's sample order
  if (path == "rows") return p.inputs != nullptr;  // real inputs: rows read, not drawn
  if (path == "labels") return p.inputs != nullptr && p.inputs->labelled();
  if (path == "exact") return c.transform == RngTransform::exact;
  if (path == "fast") return c.transform == RngTransform::fast;
  if (path == "overlap") return c.overlap;
  if (path == "serial") return !c.overlap;
  if (path == "apart") return c.noise_apart;
  std::fprintf(stderr, "static model: unknown path %s\n", path.c_str());
  std::abort();
}

// A bucket's path: "" always, else every branch of "a+b+..." taken.
inline bool path_taken(const std::string& path, const PointParams& p, const CaseBranches& c) {
  std::size_t start = 0;
  while (start < path.size()) {
    std::size_t end = path.find('+', start);
    if (end == std::string::npos) end = path.size();
    if (!branch_taken(path.substr(start, end - start), p, c)) return false;
    start = end + 1;
  }
  return true;
}

// Warp-instructions per block-step by phase (phase B: of warp 0; the label
// noise: of the one warp that draws it; the others, the next sample's draws
// during phase B included: of each warp).
struct PhaseCounts {
  double draw = 0, dot = 0, reduction = 0, noise = 0, phase_b = 0, update = 0, step = 0, next = 0;
  double next0 = 0;  // warp 0's next inputs: drawn by the last warp, taken by warp 0
  double per_warp() const { return draw + dot + reduction + update + step; }
};

inline PhaseCounts phase_counts(const StaticKernel& k, const TripCounts& trips,
                                const PointParams& p, const CaseBranches& branches) {
  PhaseCounts c;
  for (const StaticBucket& b : k.buckets) {
    if (!path_taken(b.path, p, branches)) continue;
    const double n = b.count * trips.weight(b.weight);
    const std::string phase = b.phase;
    (phase == "draw"        ? c.draw
     : phase == "dot"       ? c.dot
     : phase == "reduction" ? c.reduction
     : phase == "noise"     ? c.noise
     : phase == "phase_b"   ? c.phase_b
     : phase == "update"    ? c.update
     : phase == "next"      ? c.next
     : phase == "next0"     ? c.next0
                            : c.step) += n;
  }
  return c;
}

// Blocks of `threads` threads per SM (registers, shared memory, threads, blocks).
inline int blocks_per_sm(int registers, int threads, std::size_t shared_bytes) {
  const int warps = threads / 32;
  const int warp_registers = (registers * 32 + 255) / 256 * 256;
  const int by_registers = kRegistersPerSm / warp_registers / warps;
  const int by_shared = static_cast<int>(kSharedPerSm / (shared_bytes + 1024));
  return std::min({by_registers, by_shared, kThreadsPerSm / threads, kBlocksPerSm});
}

// A case's round on one SM: the issue time and the critical path, cycles.
// With the overlap (fused_overlaps_draws, B = 1, several warps) warps 1..
// draw the next sample during phase B, beside warp 0's coefficients, and
// the last warp draws warp 0's too (next0, which warp 0 takes after the
// barrier): the path takes the longer of warp 0's phase B and the draws on
// the last warp's scheduler. (A kernel without next0 had warp 0 draw its own
// after its coefficients.)
struct StaticRound {
  double issue, path;
};
inline StaticRound static_round(const PhaseCounts& n, int warps, int blocks) {
  const bool by_last_warp = n.next0 > 0;
  const double drawing_next = by_last_warp ? warps - 1 : warps;
  const double issue =
      blocks * (warps * n.per_warp() + drawing_next * n.next + n.next0 + n.noise + n.phase_b) /
      kSchedulers;
  const double per_scheduler = std::ceil(warps / static_cast<double>(kSchedulers));
  const double warp0 = n.phase_b * kDependentCycles + (by_last_warp ? 0 : n.next);
  const double path = n.per_warp() * per_scheduler + n.noise +
                      std::max(warp0, n.next * per_scheduler + n.next0) + 2 * kBarrierCycles;
  return {issue, path};
}

// One line of bench_gpu --static: the case's kernel, its resources, its
// counts per phase, the predicted rate and the two bounds. Returns false when
// no kernel of the build serves the case.
inline bool print_static_case(const StaticCase& c) {
  const PointParams& p = c.params;
  const int sharing = runs_per_task(p, c.points_per_seed);
  const int rows = fused_row_class(sharing * p.K + p.M);
  const auto& kernels = static_kernels();
  const auto k = std::find_if(kernels.begin(), kernels.end(), [&](const StaticKernel& x) {
    return std::string(x.real) == "float" && x.rows == rows;
  });
  if (k == kernels.end()) return false;
  const FusedLaunchShape shape = rows == 4 ? fused_launch_shape<float, 4>(p.N, p.batch_size, true)
                                 : rows == 8
                                     ? fused_launch_shape<float, 8>(p.N, p.batch_size, true)
                                     : fused_launch_shape<float, 16>(p.N, p.batch_size, true);
  const int warps = shape.threads / 32;
  const bool overlaps = rows == 16  ? fused_overlaps_draws<float, 16>()
                        : rows == 8 ? fused_overlaps_draws<float, 8>()
                                    : fused_overlaps_draws<float, 4>();
  const bool overlap = overlaps && p.batch_size == 1 && warps > 1;  // the kernel's th.overlap
  const TripCounts trips{p.batch_size,
                         warps,
                         (p.batch_size * rows + 31) / 32,
                         (sharing * p.batch_size + 31) / 32,
                         p.K,
                         p.M,
                         sharing * p.K + p.M,
                         sharing * p.K};
  // With the overlap, phase A keeps x^mu in shared memory for phase C.
  // The label noise rides on the draw of the block's last thread where that
  // thread is past N and the inputs are drawn (the kernel's th.noise_apart).
  const bool noise_apart = p.sigma != 0 && (p.inputs != nullptr || 4 * (shape.threads - 1) < p.N);
  const CaseBranches branches{shape.keep_inputs || overlap, c.transform, overlap, noise_apart};
  const PhaseCounts n = phase_counts(*k, trips, p, branches);
  const int blocks =
      blocks_per_sm(k->registers, shape.threads, shape.shared_bytes + k->static_smem);
  const StaticRound r = static_round(n, warps, blocks);
  const double round = std::max(r.issue, r.path);
  // A block-step advances runs / tasks runs on average, not `sharing` (a
  // seed's last task may hold fewer; it is counted at a full task's cost).
  const double tasks = fused_task_count(c.runs, c.points_per_seed, sharing);
  const double runs_per_block_step = c.runs / tasks;
  const double waves = tasks / (kSms * blocks);
  const double fill = waves / std::ceil(waves);
  const double predicted = kSms * blocks * runs_per_block_step * kClock / round * fill;
  // Bounds: only the draws issued (all warps, all schedulers busy), and only
  // the FMAs of the dot products and updates on every FP32 lane.
  const double draws = warps * n.draw + (n.next0 > 0 ? warps - 1 : warps) * n.next + n.next0;
  const double draw_bound = kSms * kSchedulers * kClock * runs_per_block_step / draws;
  const double fma_bound =
      kSms * kFp32LanesPerSm * kClock / (static_cast<double>(2 * p.K + p.M) * p.N * p.batch_size);
  std::printf(
      "%s %s, %s transform: kernel <float, %d>, %d runs per task, %d threads, %d registers, "
      "%d/%d spill bytes, %zu+%d B smem, %d blocks/SM; warp-instructions per block-step: draw "
      "%.0f, dot %.0f, reduction %.0f, update %.0f, step %.0f, next sample's draw %.0f (%s) per "
      "warp x %d warps, warp 0's next drawn by the last warp %.0f, label noise %.0f (one warp), "
      "phase B %.0f (warp 0); critical path %.0f, "
      "issue %.0f cycles/round; predicted %.3g run-steps/s (model) | draw-only bound %.3g, FMA "
      "bound %.3g, target %.3g\n",
      c.label, c.name.c_str(), enum_name(c.transform), rows, sharing, shape.threads, k->registers,
      k->spill_stores, k->spill_loads, shape.shared_bytes, k->static_smem, blocks, n.draw, n.dot,
      n.reduction, n.update, n.step, n.next, overlap ? "during phase B" : "none", warps, n.next0,
      n.noise, n.phase_b, r.path, r.issue, predicted, draw_bound, fma_bound, c.target);
  return true;
}

}  // namespace tsgd::bench
