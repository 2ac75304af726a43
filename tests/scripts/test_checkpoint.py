#!/usr/bin/python3
"""Checkpoints and final weights (issue 17), read back with h5py:

1. SIGKILL mid-batch, after a checkpoint (simulate.checkpoint_minutes tiny: one
   at every record time), then the same command: the batch continues from the
   checkpoint, and results.h5 (bytes and every dataset), runs.csv, curves.csv,
   points.csv and final_order_parameters.jsonl equal those of an uninterrupted
   run with checkpoints off. No checkpoint is left.
   SIGTERM (a Slurm time limit) with checkpoints on but none due yet: the
   batch's state where it stopped is saved, and the resume gives the same files.
2. A checkpoint with a changed byte, and one cut short, is reported by name,
   not used (the batch starts again), and the results are the same.
3. record.final_weights: results.h5's final/w [S, K, N] and final/wstar [S, M, N]
   give the final Q and R (final/Q, final/R) within float64 rounding; with a
   float32 engine and record.hdf5_precision float32, within float32 rounding.
4. simulate.checkpoint_minutes changes no run (a rerun with another value
   recomputes nothing); record.final_weights does (turning it off for the
   directory is refused, naming the key).

Usage: test_checkpoint.py TSGD_BINARY. Exit 0 passed, 1 failed, 77 skipped
(no h5py or numpy for this python)."""
import json
import os
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
FILES = ("results.h5", "runs.csv", "curves.csv", "points.csv", "final_order_parameters.jsonl")
CONFIG = {"name": "ckpt",
          "model": {"N": 100, "M": 2, "K": [2, 4]},
          "training": {"lr": 0.5, "sigma": 0.1, "alpha": 1000},
          "seeds": {"count": 24},
          "record": {"points": 80, "alpha_min": 0.05, "final_weights": True},
          "simulate": {"backend": "cpu", "precision": "float64"}}


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL:", what)


def write_config(out, minutes):
    config = json.loads(json.dumps(CONFIG))
    config["simulate"]["checkpoint_minutes"] = minutes
    path = out + ".json"
    with open(path, "w") as f:
        json.dump(config, f)
    return path


def command(tsgd, out, minutes):
    return [tsgd, "run", write_config(out, minutes), "--output", out, "--threads", "1"]


def checkpoints(out):
    work = os.path.join(out, "work")
    if not os.path.isdir(work):
        return []
    return [os.path.join(work, n) for n in os.listdir(work)
            if n.startswith("checkpoint-") and n.endswith(".ckpt")]


def kill_mid_batch(tsgd, out):
    """Starts the run and SIGKILLs it after its second checkpoint; True when it landed mid-batch."""
    child = subprocess.Popen(command(tsgd, out, 0.0001), stderr=subprocess.DEVNULL)
    first = None
    while child.poll() is None:
        found = checkpoints(out)
        if found:
            info = os.stat(found[0])
            stamp = (info.st_ino, info.st_mtime_ns)  # each checkpoint is a new file, renamed
            if first is None:
                first = stamp
            elif stamp != first:
                break
        time.sleep(0.002)
    child.send_signal(signal.SIGKILL)
    child.wait()
    units = [n for n in os.listdir(os.path.join(out, "work")) if n.startswith("sgd-")]
    return child.returncode == -signal.SIGKILL and len(checkpoints(out)) == 1 and not units


def resume(tsgd, out):
    p = subprocess.run(command(tsgd, out, 0.0001), capture_output=True, text=True)
    check(p.returncode == 0, f"resume {out}: exit {p.returncode}: {p.stderr}")
    check(not checkpoints(out), f"{out}: no checkpoint left")
    return p.stderr


def same_results(clean, other, what):
    for name in FILES:
        a = open(os.path.join(clean, name), "rb").read()
        b = open(os.path.join(other, name), "rb").read()
        check(a == b, f"{what}: {name} equals the uninterrupted run's")
    with h5py.File(os.path.join(clean, "results.h5")) as f, \
            h5py.File(os.path.join(other, "results.h5")) as g:
        names = []
        f.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
        check(len(names) > 10, "datasets to compare")
        for n in names:
            check(np.array_equal(f[n][()], g[n][()], equal_nan=f[n].dtype.kind == "f"),
                  f"{what}: dataset {n}")


def weights_give_order_parameters(out, tolerance=1e-12):
    with h5py.File(os.path.join(out, "results.h5")) as f:
        check(f.attrs.get("final_weights") == 1, "root attribute final_weights")
        for p in f["points"].values():
            w, wstar = p["final/w"][()].astype(float), p["final/wstar"][()].astype(float)
            S, K, M, N = len(p["seed"]), int(p.attrs["K"]), int(p.attrs["M"]), int(p.attrs["N"])
            check(w.shape == (S, K, N) and wstar.shape == (S, M, N), f"shapes {w.shape} {wstar.shape}")
            Q = np.einsum("skn,sjn->skj", w, w) / N
            R = np.einsum("skn,smn->skm", w, wstar) / N
            T = np.einsum("smn,sjn->smj", wstar, wstar) / N
            # float64: sums of N = 100 products of O(1) numbers in double, in
            # another order than the engine's: 1e-12 absolute covers the
            # reordering. float32 (engine and file): the file's rounding of Q,
            # R, T to float32 (6e-8 relative; the weights are the engine's own
            # floats, the teacher float32(w*) as the engine rounds it): 1e-6.
            for name, got in (("Q", Q), ("R", R), ("T", T)):
                want = p["final/" + name][()].astype(float)
                check(np.max(np.abs(got - want) / np.maximum(1, np.abs(want))) < tolerance,
                      f"{out}: final weights give final {name}")


def main():
    tsgd = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        clean = os.path.join(tmp, "clean")
        p = subprocess.run(command(tsgd, clean, 0), capture_output=True, text=True)
        check(p.returncode == 0, f"clean run: {p.stderr}")
        check(not checkpoints(clean), "checkpoints off: none written")
        weights_give_order_parameters(clean)

        # checkpoint_minutes changes no run; final_weights changes what the units hold.
        units = sorted(os.listdir(os.path.join(clean, "work")))
        p = subprocess.run(command(tsgd, clean, 3), capture_output=True, text=True)
        check(p.returncode == 0 and sorted(os.listdir(os.path.join(clean, "work"))) == units,
              f"another checkpoint_minutes: nothing recomputed: {p.stderr}")
        config = json.loads(json.dumps(CONFIG))
        del config["record"]["final_weights"]
        with open(clean + "-off.json", "w") as f:
            json.dump(config, f)
        p = subprocess.run([tsgd, "run", clean + "-off.json", "--output", clean],
                           capture_output=True, text=True)
        check(p.returncode != 0 and "record.final_weights" in p.stderr,
              f"final_weights turned off for the directory: refused naming the key: {p.stderr}")

        single = os.path.join(tmp, "float32")
        config = json.loads(json.dumps(CONFIG))
        config["simulate"]["precision"] = "float32"
        config["record"]["hdf5_precision"] = "float32"
        config["training"]["alpha"] = 20
        with open(single + ".json", "w") as f:
            json.dump(config, f)
        p = subprocess.run([tsgd, "run", single + ".json", "--output", single, "--quiet"],
                           capture_output=True, text=True)
        check(p.returncode == 0, f"float32 run: {p.stderr}")
        with h5py.File(os.path.join(single, "results.h5")) as f:
            check(f["points/0/final/w"].dtype == np.float32, "float32 final/w")
        weights_give_order_parameters(single, 1e-6)

        killed = os.path.join(tmp, "killed")
        check(kill_mid_batch(tsgd, killed), "SIGKILL landed mid-batch, after a checkpoint")
        err = resume(tsgd, killed)
        check("from its checkpoint" in err, f"the batch continued from its checkpoint: {err}")
        same_results(clean, killed, "resumed from a checkpoint")

        termed = os.path.join(tmp, "termed")
        child = subprocess.Popen(command(tsgd, termed, 60), stderr=subprocess.PIPE, text=True)
        # The SGD stage (~2 s alone on one thread) has begun once work/ exists.
        while child.poll() is None and not os.path.isdir(os.path.join(termed, "work")):
            time.sleep(0.002)
        time.sleep(0.3)
        child.send_signal(signal.SIGTERM)
        err = child.communicate()[1]
        check(child.returncode == 128 + signal.SIGTERM and len(checkpoints(termed)) == 1,
              f"SIGTERM mid-batch: exit {child.returncode}, a checkpoint saved: {err}")
        err = resume(tsgd, termed)
        check("from its checkpoint" in err, f"after SIGTERM: continued from the checkpoint: {err}")
        same_results(clean, termed, "resumed after SIGTERM")

        for damage in ("changed", "truncated"):
            out = os.path.join(tmp, damage)
            check(kill_mid_batch(tsgd, out), f"{damage}: SIGKILL landed mid-batch")
            path = checkpoints(out)[0]
            size = os.path.getsize(path)
            with open(path, "r+b") as f:
                if damage == "changed":
                    f.seek(size // 2)
                    byte = f.read(1)
                    f.seek(size // 2)
                    f.write(b"7" if byte != b"7" else b"8")
                else:
                    f.truncate(size // 2)
            err = resume(tsgd, out)
            check(path in err and "ignoring the checkpoint" in err and "from its checkpoint" not in err,
                  f"{damage} checkpoint: reported by name and not used: {err}")
            same_results(clean, out, f"{damage} checkpoint")
    if failures:
        print(f"{len(failures)} failure(s)")
        return 1
    print("test_checkpoint: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
