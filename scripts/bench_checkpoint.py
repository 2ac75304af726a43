#!/usr/bin/python3
"""Benchmark of checkpoints and final weights (issue 17; figures in
docs/benchmarks.md): the issue's experiment (erf, N = 100, M = 2, K = 1..8,
80 log-spaced records, order parameters) as fresh `tsgd run`s on the CPU
engine: checkpoints off; a checkpoint at every record time
(simulate.checkpoint_minutes 0.0001); the same with record.final_weights.
Per line: the manifest's SGD seconds, peak resident memory, the checkpoints
written (batches x (records - 1)), the SGD seconds they added each, the
largest checkpoint file seen (polled every 10 ms) and the work units' size.

Usage: bench_checkpoint.py TSGD [--runs 2000] [--alpha 10] [--threads N]"""
import argparse
import json
import os
import subprocess
import tempfile
import time

import h5py


def config(runs, alpha, minutes, weights):
    return {"name": "bench_ckpt",
            "model": {"N": 100, "M": 2, "K": [1, 2, 3, 4, 5, 6, 7, 8]},
            "training": {"lr": 0.5, "sigma": 0.01, "alpha": alpha},
            "seeds": {"count": runs // 8},
            "record": {"points": 80, "alpha_min": 0.01, "final_weights": weights},
            "simulate": {"backend": "cpu", "checkpoint_minutes": minutes},
            "ode": {"enabled": False}}


def one(tsgd, root, args, name, minutes, weights):
    out = os.path.join(root, name)
    path = out + ".json"
    with open(path, "w") as f:
        json.dump(config(args.runs, args.alpha, minutes, weights), f)
    command = ["/usr/bin/time", "-f", "%M", tsgd, "run", path, "--output", out, "--quiet"]
    if args.threads:
        command += ["--threads", str(args.threads)]
    child = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    largest = 0
    work = os.path.join(out, "work")
    while child.poll() is None:
        if os.path.isdir(work):
            for n in os.listdir(work):
                if n.endswith(".ckpt"):
                    try:
                        largest = max(largest, os.path.getsize(os.path.join(work, n)))
                    except FileNotFoundError:
                        pass
        time.sleep(0.01)
    peak_kb = int(child.stderr.read().strip().splitlines()[-1])
    sgd = json.load(open(os.path.join(out, "manifest.json")))["seconds"]["sgd"]
    units = [n for n in os.listdir(work) if n.startswith("sgd-")]
    with h5py.File(os.path.join(out, "results.h5")) as f:
        records = len(f["points/0/alpha"])
    count = len(units) * (records - 1) if minutes else 0
    unit_bytes = sum(os.path.getsize(os.path.join(work, n)) for n in units)
    return sgd, peak_kb, count, largest, unit_bytes, len(units)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("tsgd")
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--alpha", type=float, default=10)
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as root:
        base = None
        for name, minutes, weights in (("off", 0, False), ("every_record", 0.0001, False),
                                       ("every_record_weights", 0.0001, True)):
            sgd, peak, count, largest, units, batches = one(args.tsgd, root, args, name, minutes,
                                                            weights)
            base = sgd if base is None else base
            each = (sgd - base) / count if count else 0
            print(f"{name:>22}: sgd {sgd:6.2f} s, peak {peak / 1e3:5.0f} MB, {count} checkpoints "
                  f"in {batches} batch(es), {1e3 * each:6.1f} ms each, largest "
                  f"{largest / 1e6:6.1f} MB; work units {units / 1e6:6.1f} MB", flush=True)


if __name__ == "__main__":
    main()
