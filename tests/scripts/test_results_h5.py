#!/usr/bin/python3
"""results.h5 read back with h5py (issue 17's tests):

1. Round trip: every number of results.h5 equals the corresponding value of
   runs.csv, order_parameters.jsonl, final_order_parameters.jsonl, ode.csv,
   ode_order_parameters.jsonl and points.csv, exactly (the text files hold the
   shortest decimal that reads back to the same double), a diverged run's
   records NaN past its last; with record.hdf5_precision float32, the same
   numbers rounded to float32 (and no run recomputed).
2. A kill (SIGKILL) while results.h5 is written leaves the old file or none
   and a temporary file; the next run removes it and writes the same bytes as
   an uninterrupted run.
3. A changed results.h5 is reported by name on the next run and rewritten.
4. Memory: 100,000 runs (small N) through SGD, the work units and every result
   file in one process, peak resident memory above that of 2 runs under the bound below.

Usage: test_results_h5.py TSGD_BINARY. Exit 0 passed, 1 failed, 77 skipped
(no h5py or numpy for this python)."""
import csv
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

try:
    import h5py
    import numpy as np
except ImportError:
    print("SKIP: h5py or numpy missing (scripts/setup.sh installs python3-h5py)")
    sys.exit(77)

failures = []
PARTS = ("Q", "R", "T", "v", "vstar")


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL:", what)


def run(tsgd, config, out, *extra, expect=0):
    path = os.path.join(out + ".json")
    with open(path, "w") as f:
        json.dump(config, f)
    p = subprocess.run([tsgd, "run", path, "--output", out, "--quiet", *extra],
                       capture_output=True, text=True)
    check(p.returncode == expect, f"tsgd run {path}: exit {p.returncode}: {p.stderr}")
    return p


def number(text):
    return float("nan") if text in ("", "nan") else float(text)


def same(a, b):
    """Equal as doubles, NaN equal to NaN."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape == b.shape and bool(np.all((a == b) | (np.isnan(a) & np.isnan(b))))


def jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def as_array(value):
    """A JSON list (of lists) of numbers as an array, null (a non-finite number) as NaN."""
    return np.array(json.loads(json.dumps(value).replace("null", "NaN")), dtype=float)


def check_runs(h5, out, cast):
    """runs.csv, order_parameters.jsonl and final_order_parameters.jsonl against results.h5."""
    with open(os.path.join(out, "runs.csv")) as f:
        rows = list(csv.DictReader(f))
    runs = {}
    for r in rows:
        runs.setdefault((int(r["point_id"]), int(r["seed"])), []).append(r)
    states = {}
    if os.path.exists(os.path.join(out, "order_parameters.jsonl")):
        for r in jsonl(os.path.join(out, "order_parameters.jsonl")):
            states.setdefault((r["point_id"], r["seed"]), []).append(r)
    finals = {(r["point_id"], r["seed"]): r
              for r in jsonl(os.path.join(out, "final_order_parameters.jsonl"))}
    seen = 0
    for name, g in h5["points"].items():
        p = int(name)
        alpha = g["alpha"][:]
        for i, seed in enumerate(g["seed"][:]):
            key = (p, int(seed))
            rs = runs.get(key, [])
            n = int(g["records"][i])
            check(len(rs) == n, f"{key}: {n} records in results.h5, {len(rs)} in runs.csv")
            check(same(alpha[:n], [number(r["alpha"]) for r in rs]), f"{key}: alpha")
            check(same(g["eg"][i, :n], cast([number(r["eg"]) for r in rs])), f"{key}: eg")
            check(bool(np.all(np.isnan(g["eg"][i, n:]))), f"{key}: eg past the last record")
            check(int(g["diverged"][i]) == int(rs[0]["diverged"]), f"{key}: diverged")
            final = finals[key]
            for part in PARTS:
                check(same(g["final/" + part][i], cast(as_array(final[part]))),
                      f"{key}: final {part}")
                if key in states:
                    got = g[part][i, :n]
                    want = np.array([cast(as_array(s[part])) for s in states[key]])
                    check(same(got, want), f"{key}: {part} at every record")
                    check(bool(np.all(np.isnan(g[part][i, n:]))), f"{key}: {part} past the end")
            seen += 1
    check(seen == len(runs) == len(finals), f"runs: {seen} in results.h5, {len(runs)} in runs.csv")
    check(not states or len(states) == seen, "order_parameters.jsonl: every run")
    return seen


def check_ode_and_points(h5, out):
    with open(os.path.join(out, "ode.csv")) as f:
        ode_rows = list(csv.DictReader(f))
    ode_states = jsonl(os.path.join(out, "ode_order_parameters.jsonl"))
    with open(os.path.join(out, "points.csv")) as f:
        points = list(csv.DictReader(f))
    for row in points:
        attrs = h5["points"][row["point_id"]].attrs
        for key, text in row.items():
            value = attrs[key]
            ok = value == text if isinstance(value, str) else same(value, number(text))
            check(ok, f"point {row['point_id']}: attribute {key}: {value} vs {text}")
    for name, g in h5["points"].items():
        p = int(name)
        for c, seed in enumerate(g["ode/seed"][:]):
            want = [r for r in ode_rows if int(r["point_id"]) == p and
                    (r["seed"] == "" if seed < 0 else r["seed"] == str(seed))]
            got = g["ode/eg"][c, :len(want)]
            check(same(got, [number(r["eg"]) for r in want]), f"ode {p}/{seed}: eg")
            states = [s for s in ode_states if s["point_id"] == p and
                      (s["seed"] is None if seed < 0 else s["seed"] == seed)]
            alpha = list(g["alpha"][:])
            for s in states:
                j = alpha.index(s["alpha"])
                for part in PARTS:
                    check(same(g["ode/" + part][c, j], as_array(s[part])), f"ode {p}/{seed}: {part}")
            check(len(states) == len(want), f"ode {p}/{seed}: a state at every record it has")


def round_trip(tsgd, tmp):
    # Two points that learn, one that diverges (linear, eta = 8 > 2: the weights blow up).
    config = {"name": "h5",
              "model": {"N": 60, "M": 2, "K": [1, 3], "student_activation": "linear",
                        "teacher_activation": "linear"},
              "training": {"lr": [0.5, 8.0], "sigma": 0.1, "alpha": 4},
              "seeds": {"count": 3, "first": 5},
              "record": {"points": 12, "alpha_min": 0.1, "jsonl": True},
              "simulate": {"backend": "cpu", "precision": "float64"},
              "ode": {"enabled": True}}
    out = os.path.join(tmp, "rt")
    run(tsgd, config, out)
    with h5py.File(os.path.join(out, "results.h5")) as h5:
        check(h5.attrs["precision"] == "float64", "precision attribute")
        check(check_runs(h5, out, lambda x: x) == 12, "12 runs")
        check(sum(int(g["diverged"][:].sum()) for g in h5["points"].values()) >= 1,
              "the diverging point has diverged runs (records shorter than R)")
        check_ode_and_points(h5, out)
    # float32: only the files are rewritten (the key changes no run).
    config["record"]["hdf5_precision"] = "float32"
    units = sorted(os.listdir(os.path.join(out, "work")))
    p = run(tsgd, config, out)
    check(sorted(os.listdir(os.path.join(out, "work"))) == units, "float32: no run recomputed")
    with h5py.File(os.path.join(out, "results.h5")) as h5:
        check(h5["points/0/Q"].dtype == np.float32, "float32 datasets")
        check_runs(h5, out, lambda x: np.asarray(x, dtype=np.float32).astype(float))
    return p


def kill_during_write(tsgd, tmp):
    """SIGKILL while results.h5 is written; the next run gives the uninterrupted bytes."""
    config = {"name": "killed",
              "model": {"N": 20, "M": 2, "K": [2, 4, 6, 8]},
              "training": {"lr": 0.5, "alpha": 2},
              "seeds": {"count": 300},
              "record": {"points": 80, "alpha_min": 0.02},
              "simulate": {"backend": "cpu"}}
    clean, killed = os.path.join(tmp, "clean"), os.path.join(tmp, "killed")
    run(tsgd, config, clean)
    run(tsgd, config, killed)
    reference = open(os.path.join(clean, "results.h5"), "rb").read()
    # A run-neutral key (the escape threshold) makes a rerun write only the files.
    config["record"]["escape_eg"] = 0.01
    path = killed + ".json"
    landed = 0
    for attempt in range(20):
        config["record"]["escape_eg"] = 0.01 * (attempt + 1)
        with open(path, "w") as f:
            json.dump(config, f)
        child = subprocess.Popen([tsgd, "run", path, "--output", killed, "--quiet"])
        while child.poll() is None and not any(
                n.startswith("results.h5.tmp") and os.path.getsize(os.path.join(killed, n)) > 0
                for n in os.listdir(killed)):
            time.sleep(0.001)
        child.send_signal(signal.SIGKILL)
        child.wait()
        if child.returncode == -signal.SIGKILL and any(
                n.startswith("results.h5.tmp") for n in os.listdir(killed)):
            landed += 1
            break
    check(landed == 1, "a kill landed while results.h5 was written")
    del config["record"]["escape_eg"]
    run(tsgd, config, killed)
    check(open(os.path.join(killed, "results.h5"), "rb").read() == reference,
          "results.h5 after a kill in its write equals the uninterrupted one")
    check(not any(".tmp" in n for n in os.listdir(killed)), "no temporary file left")
    # A changed results.h5: named on the next run, rewritten from the work units.
    with open(os.path.join(killed, "results.h5"), "r+b") as f:
        f.seek(len(reference) // 2)
        f.write(b"\xff\x00\xff")
    p = run(tsgd, config, killed)
    check(os.path.join(killed, "results.h5") in p.stderr and "changed" in p.stderr,
          f"a changed results.h5 is reported by name: {p.stderr}")
    check(open(os.path.join(killed, "results.h5"), "rb").read() == reference,
          "a changed results.h5 is rewritten")


# Peak resident memory of 100,000 runs (4 grid points x 25,000 seeds), everything
# in one process, above that of a run of 2 runs (the program itself: ~10 MB in a
# CPU-only build, ~235 MB with the CUDA runtime and cuBLAS mapped in): measured
# 116-120 MB in all (CPU-only build): one point's eps_g curves, last states and
# CSV rows, a block of order parameters (at most 8 MB), the plan of 100,000 runs
# (~30 MB). Holding the experiment's records at once, as before results.h5, adds
# every run's order parameters at every record (100,000 x 6 x 26 doubles, 125 MB,
# in ~5 allocations each) and order_parameters.jsonl's text (~200 MB).
MEMORY_BOUND = 150e6


def peak_memory(tsgd, config, out):
    """Runs CONFIG; returns the peak resident memory of that tsgd process in bytes."""
    path = out + ".json"
    with open(path, "w") as f:
        json.dump(config, f)
    child = subprocess.Popen([tsgd, "run", path, "--output", out, "--quiet"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    check(child.returncode == 0, f"tsgd run {path}: exit {child.returncode}: "
                                 f"{child.stderr.read().decode()}")
    return usage.ru_maxrss * 1024.0  # kB on Linux


def memory(tsgd, tmp):
    config = {"name": "many", "model": {"N": 4, "M": 1, "K": [1, 2, 3, 4]},
              "training": {"lr": 0.5, "alpha": 1},
              "seeds": {"count": 25000},
              "record": {"points": 5, "alpha_min": 0.25},
              "simulate": {"backend": "cpu"},
              "ode": {"enabled": False}}
    out = os.path.join(tmp, "many")
    tiny = dict(config, seeds={"count": 2})
    base = peak_memory(tsgd, tiny, os.path.join(tmp, "tiny"))
    t0 = time.time()
    peak = peak_memory(tsgd, config, out)
    print(f"100,000 runs: {time.time() - t0:.1f} s, peak resident memory {peak / 1e6:.0f} MB, "
          f"{(peak - base) / 1e6:.0f} MB above 2 runs' {base / 1e6:.0f} MB")
    check(peak - base < MEMORY_BOUND, f"100,000 runs: peak memory {(peak - base) / 1e6:.0f} MB "
                                      f"above 2 runs' >= {MEMORY_BOUND / 1e6:.0f} MB")
    with h5py.File(os.path.join(out, "results.h5")) as h5:
        check(sum(g["seed"].shape[0] for g in h5["points"].values()) == 100000, "every run")


def main():
    tsgd = os.path.abspath(sys.argv[1])
    tmp = tempfile.mkdtemp(prefix="tsgd_h5_")
    try:
        memory(tsgd, tmp)
        round_trip(tsgd, tmp)
        kill_during_write(tsgd, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"test_results_h5: {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
