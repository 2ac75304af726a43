#!/usr/bin/python3
"""Benchmark of results.h5 (issue 17; figures in docs/benchmarks.md): the issue's
experiment (erf, N = 100, M = 2, K = 1..8, 80 log-spaced records, order
parameters) at several numbers of runs, each a fresh `tsgd run` in one process:
peak resident memory, the manifest's seconds of SGD and of writing the result
files, the size of results.h5 and of the work units; with --jsonl also the size
of order_parameters.jsonl and the time to read every Q of one grid point with
h5py against parsing the JSON lines.

Usage: bench_results_h5.py TSGD [--runs 2000,20000,100000] [--alpha 2]
       [--jsonl 20000] [--dir DIR] [--threads N]
Prints one line per experiment; DIR (default a temporary one) is removed."""
import argparse
import json
import os
import resource
import shutil
import subprocess
import tempfile
import time

import h5py


def config(runs, alpha, jsonl):
    seeds = runs // 8
    return {"name": f"bench{runs}",
            "model": {"N": 100, "M": 2, "K": [1, 2, 3, 4, 5, 6, 7, 8]},
            "training": {"lr": 0.5, "sigma": 0.01, "alpha": alpha},
            "seeds": {"count": seeds},
            "record": {"points": 80, "alpha_min": 0.01, "order_parameters": True,
                       "jsonl": jsonl},
            "simulate": {"backend": "cpu"},
            "ode": {"enabled": False}}


def size(path):
    if os.path.isdir(path):
        return sum(os.path.getsize(os.path.join(path, n)) for n in os.listdir(path))
    return os.path.getsize(path) if os.path.exists(path) else 0


def one(tsgd, root, runs, alpha, jsonl, threads):
    out = os.path.join(root, f"r{runs}{'j' if jsonl else ''}")
    path = out + ".json"
    with open(path, "w") as f:
        json.dump(config(runs, alpha, jsonl), f)
    command = ["/usr/bin/time", "-f", "%M", tsgd, "run", path, "--output", out, "--quiet"]
    if threads:
        command += ["--threads", str(threads)]
    t0 = time.time()
    p = subprocess.run(command, capture_output=True, text=True, check=True)
    wall = time.time() - t0
    peak_kb = int(p.stderr.strip().splitlines()[-1])
    seconds = json.load(open(os.path.join(out, "manifest.json")))["seconds"]
    line = (f"runs {runs:>6}: peak {peak_kb / 1e3:7.0f} MB, sgd {seconds['sgd']:7.1f} s, "
            f"write {seconds['write']:6.2f} s ({100 * seconds['write'] / seconds['sgd']:4.1f}% "
            f"of sgd), wall {wall:6.1f} s; results.h5 {size(out + '/results.h5') / 1e6:8.1f} MB, "
            f"runs.csv {size(out + '/runs.csv') / 1e6:7.1f} MB, "
            f"work units {size(out + '/work') / 1e6:8.1f} MB")
    if jsonl:
        jl = out + "/order_parameters.jsonl"
        line += f", order_parameters.jsonl {size(jl) / 1e6:8.1f} MB"
        point = 7  # K = 8: the largest Q
        t0 = time.time()
        with h5py.File(out + "/results.h5") as f:
            q_h5 = f[f"points/{point}/Q"][:]
        t_h5 = time.time() - t0
        t0 = time.time()
        q_json = []
        with open(jl) as f:
            for text in f:
                record = json.loads(text)
                if record["point_id"] == point:
                    q_json.append(record["Q"])
        t_json = time.time() - t0
        assert len(q_json) == q_h5.shape[0] * q_h5.shape[1]
        line += (f"; all Q of point {point} {q_h5.shape}: h5py {t_h5:.3f} s, JSON lines "
                 f"{t_json:.1f} s ({t_json / t_h5:.0f}x)")
    print(line, flush=True)
    shutil.rmtree(out)


def main():
    a = argparse.ArgumentParser()
    a.add_argument("tsgd")
    a.add_argument("--runs", default="2000,20000,100000")
    a.add_argument("--alpha", type=float, default=2)
    a.add_argument("--jsonl", default="20000", help="runs of the experiments also with JSON lines")
    a.add_argument("--dir")
    a.add_argument("--threads", type=int, default=0)
    args = a.parse_args()
    root = args.dir or tempfile.mkdtemp(prefix="tsgd_bench_h5_")
    os.makedirs(root, exist_ok=True)
    print(f"erf, N = 100, M = 2, K = 1..8, 80 records, alpha = {args.alpha}, CPU engine, "
          f"{os.cpu_count()} cores")
    for runs in [int(x) for x in args.runs.split(",") if x]:
        one(args.tsgd, root, runs, args.alpha, False, args.threads)
    for runs in [int(x) for x in args.jsonl.split(",") if x]:
        one(args.tsgd, root, runs, args.alpha, True, args.threads)
    if not args.dir:
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
