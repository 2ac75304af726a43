#!/usr/bin/python3
"""The robust statistics and escape times of tsgd's result files, recomputed
directly from runs.csv with pandas (issue 15 point 2's test): quartiles and
medians per (point, record) against pandas' quantile, the median interval from
order statistics and exact binomial tails, the geometric mean from numpy,
escape times and counts from the runs' eps_g and the threshold, and the
summary's escape statistics. No robust interval reaches below zero.

Usage: test_robust_statistics.py TSGD_BINARY. Exit 0 passed, 1 failed,
77 skipped (no pandas for this python)."""
import json
import math
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import pandas as pd
except ImportError:
    print("SKIP: pandas or numpy missing (apt-get install python3-pandas)")
    sys.exit(77)

# Rounding only: the same operations in another order (sums, interpolation).
REL = 1e-12

failures = []


def check(ok, what):
    if not ok:
        failures.append(what)


def close(a, b):
    if (a is None or (isinstance(a, float) and math.isnan(a))) and (
        b is None or (isinstance(b, float) and math.isnan(b))
    ):
        return True
    return abs(a - b) <= REL * max(abs(a), abs(b))


def median_rank(n):
    """The largest k with 2 P(Bin(n, 1/2) <= k - 1) <= 5%, 0 if none."""
    k, cdf = 0, 0.0
    while k + 1 <= n // 2:
        cdf += math.comb(n, k) / 2.0**n  # P(B <= k)
        if cdf > 0.025:
            break
        k += 1
    return k


def main():
    tsgd = sys.argv[1]
    out = tempfile.mkdtemp(prefix="tsgd_robust_")
    # erf, M = 2, eta = 0.5, N = 100, 10 seeds: K = 2 escapes (the ODE has a plateau
    # near 0.02) with seeds far apart at the end; K = 1 < M never escapes (default
    # threshold). (Diverged runs' exclusion: tests/cli/test_results.cpp.)
    config = {
        "name": "robust",
        "model": {"teacher_activation": "erf", "student_activation": "erf", "N": 100,
                  "M": 2, "K": [1, 2]},
        "training": {"lr": 0.5, "alpha": 300},
        "seeds": {"count": 10},
        "record": {"points": 40},
    }
    path = out + "/config.json"
    json.dump(config, open(path, "w"))
    subprocess.run([tsgd, "run", path, "--output", out + "/r", "--quiet"], check=True)
    runs = pd.read_csv(out + "/r/runs.csv")
    curves = pd.read_csv(out + "/r/curves.csv")
    escapes = pd.read_csv(out + "/r/escapes.csv")
    summary = json.load(open(out + "/r/summary.json"))

    live = runs[runs.diverged == 0]
    grouped = live.groupby(["point_id", "alpha"]).eg
    for q, column in [(0.25, "eg_q1"), (0.5, "eg_median"), (0.75, "eg_q3")]:
        expected = grouped.quantile(q).reset_index()
        merged = curves.merge(expected, on=["point_id", "alpha"])
        check(len(merged) == len(curves), column + ": rows")
        check(all(close(a, b) for a, b in zip(merged[column], merged.eg)), column)
    for (point, alpha), values in grouped:
        row = curves[(curves.point_id == point) & (curves.alpha == alpha)].iloc[0]
        v = np.sort(values.values)
        k = median_rank(len(v))
        if k > 0:
            check(row.eg_median_lo == v[k - 1] and row.eg_median_hi == v[len(v) - k],
                  f"median interval at point {point} alpha {alpha}")
        check(close(row.eg_gmean, float(np.exp(np.mean(np.log(v))))), f"gmean {point} {alpha}")
        for c in ["eg_median_lo", "eg_gmean_lo"]:
            check(not (row[c] <= 0), f"{c} <= 0 at point {point} alpha {alpha}")

    # Escapes: the first record below the point's threshold, per run.
    for point in summary["points"]:
        p = point["point_id"]
        esc = point["escape"]
        threshold = esc["eg_threshold"]
        mine = escapes[escapes.point_id == p]
        check(all(close(x, threshold) for x in mine.escape_eg), f"threshold column of point {p}")
        times = []
        for seed, r in runs[runs.point_id == p].groupby("seed"):
            below = r[r.eg < threshold].alpha
            expected = float(below.iloc[0]) if len(below) and r.diverged.iloc[0] == 0 else None
            got = mine[mine.seed == seed].alpha.iloc[0]
            check((expected is None and math.isnan(got)) or got == expected,
                  f"escape of point {p} seed {seed}: {got} against {expected}")
            if expected is not None:
                times.append(expected)
        check(esc["runs_escaped"] == len(times), f"runs_escaped of point {p}")
        if times:
            t = pd.Series(times)
            check(close(esc["alpha"]["median"], t.median()), f"escape median of point {p}")
            check(close(esc["alpha"]["q1"], t.quantile(0.25)), f"escape q1 of point {p}")
            check(close(esc["alpha"]["q3"], t.quantile(0.75)), f"escape q3 of point {p}")
            check(close(esc["alpha"]["mean"], t.mean()), f"escape mean of point {p}")
        # n_escaped at the last record counts the same runs.
        last = curves[curves.point_id == p].iloc[-1]
        check(last.n_escaped == len(times), f"n_escaped at the end of point {p}")
        final = point["eg_final"]
        check(close(final["median"], last.eg_median), f"summary median of point {p}")

    # The threshold rule: K = 1 < M = 2 has no plateau to leave (default 1e-3); K = 2's
    # ODE has one, and every one of its runs ends below its tenth.
    check(summary["points"][0]["escape"]["threshold_from"] == "default", "K = 1: default")
    check(summary["points"][1]["escape"]["threshold_from"] == "ODE plateau", "K = 2: plateau")
    check(summary["points"][0]["escape"]["runs_not_escaped"] == 10, "K = 1: all stuck")

    for f in failures:
        print("FAIL:", f)
    print("robust statistics:", "FAILED" if failures else "passed", f"({len(failures)} failures)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
