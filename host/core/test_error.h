// The error on the test set of a run on real inputs (PointParams::inputs, data.inputs):
// over the InputSet's test_count test rows x, with
//   teacher labels: eg = 1/2 mean (student(x) - teacher(x))^2, the noiseless teacher
//     (the convention of the closed form, theory/generalisation_error.h);
//   file labels (InputSet::labelled()): eg = 1/2 mean (student(x) - label)^2 and
//     class_err = the fraction of test rows with sign(student(x)) != label (an
//     output of exactly 0 has sign 0 and counts as an error).
// Evaluated in double from the current weights (any engine's, promoted), like
// core/training_error.h, so every engine's numbers are the same function of its
// weights; the sums are over fixed blocks of rows added in order, so they do not
// depend on the number of threads.
#pragma once

#include <vector>

#include "core/initial_weights.h"
#include "core/model.h"

namespace tsgd {

// eg[r] and class_err[r] of RUNS[r] at WEIGHTS[r] (w, v and, for teacher labels,
// w*, v*): NaN for a run without real inputs, class_err NaN for teacher labels.
// WEIGHTS[r] of such runs is not read (may be empty). THREADS <= 0: all cores.
void test_errors(const std::vector<RunSpec>& runs, const std::vector<InitialWeights>& weights,
                 int threads, std::vector<double>& eg, std::vector<double>& class_err);

}  // namespace tsgd
