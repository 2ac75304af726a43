#!/usr/bin/python3
"""tsgd validate's SGD and ODE time estimates against measured runs (issue 15 point 4).

Not a ctest (it times runs): run it by hand on an idle machine and quote its
table. For each configuration it runs `tsgd validate` (whose estimate is
calibrated by a short probe of the CPU engine on this machine), then `tsgd run
--threads 1 --backend cpu` (or `tsgd ode --threads 1`) into a scratch directory,
and compares the one-thread estimate with the stage's seconds in manifest.json.
Exit 1 when a ratio is outside [1/2, 2].

  scripts/check_estimates.py [TSGD_BINARY] [--ode-only]   (default build/tsgd)
"""
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UNITS = {"s": 1, "min": 60, "h": 3600, "days": 86400}


def configs(scratch):
    """(label, path): the quickstart, the tutorial (erf, M = 2, K = 2..5) and a
    both-layers linear network and a ReLU sweep, made small enough to run in seconds."""
    out = [("quickstart", os.path.join(ROOT, "configs/quickstart.json")),
           ("tutorial (erf)", os.path.join(ROOT, "configs/tutorial.json"))]
    both = json.load(open(os.path.join(ROOT, "configs/fig4_both.json")))
    both["model"]["K"] = [1, 2, 4]
    both["training"]["alpha"] = 2000
    both["seeds"] = {"count": 4}
    both["ode"] = {"enabled": False}
    relu = {"name": "relu", "model": {"teacher_activation": "relu", "student_activation": "relu",
                                      "N": 500, "M": 2, "K": [2, 4]},
            "training": {"lr": 0.1, "alpha": 400}, "seeds": {"count": 6},
            "ode": {"enabled": False}}
    for label, c in [("both layers (linear)", both), ("ReLU", relu)]:
        path = os.path.join(scratch, c["name"] + ".json")
        json.dump(c, open(path, "w"))
        out.append((label, path))
    return out


def estimate_seconds(tsgd, path, stage):
    """validate's one-thread estimate of STAGE: "SGD" or "ODE"."""
    text = subprocess.run([tsgd, "validate", path], capture_output=True, text=True,
                          check=True).stdout
    m = re.search(stage + r" .*?about ([0-9.]+) (s|min|h|days) on one thread", text)
    return float(m.group(1)) * UNITS[m.group(2)]


def ode_configs(scratch):
    """ODE-only: the quickstart's and the tutorial's erf points, fig. 4's both-layers linear
    network (K = 1, 2, 4; one curve per seed) and fig. 2a's ReLU points (N = 100) to
    alpha = 1e3 and 1e5 (the long tail, where the adaptive steps lengthen), fig. 2a's erf
    points to 1e5."""
    quick = json.load(open(os.path.join(ROOT, "configs/quickstart.json")))
    tut = json.load(open(os.path.join(ROOT, "configs/tutorial.json")))
    both = json.load(open(os.path.join(ROOT, "configs/fig4_both.json")))
    both["model"]["K"] = [1, 2, 4]
    relu = json.load(open(os.path.join(ROOT, "configs/fig2a_relu.json")))
    relu["model"]["N"] = 100
    relu["training"]["alpha"] = 1000
    relu_long = json.loads(json.dumps(relu))
    relu_long["training"]["alpha"] = 100000
    erf_long = json.load(open(os.path.join(ROOT, "configs/fig2a_erf.json")))
    erf_long["model"]["N"] = 100
    out = []
    for label, c in [("quickstart ODE (erf)", quick), ("tutorial ODE (erf)", tut),
                     ("fig. 4 both layers ODE", both), ("fig. 2a ReLU ODE, alpha 1e3", relu),
                     ("fig. 2a ReLU ODE, alpha 1e5", relu_long),
                     ("fig. 2a erf ODE, alpha 1e5", erf_long)]:
        c["simulate"] = {"enabled": False}
        path = os.path.join(scratch, re.sub(r"\W", "_", label) + ".json")
        json.dump(c, open(path, "w"))
        out.append((label, path))
    return out


def main():
    args = [a for a in sys.argv[1:] if a != "--ode-only"]
    ode_only = len(args) < len(sys.argv) - 1
    tsgd = args[0] if args else os.path.join(ROOT, "build/tsgd")
    scratch = tempfile.mkdtemp(prefix="tsgd_estimates_")
    worst = 1.0
    print(f"{'stage and configuration':32} {'estimate (1 thread)':>16} {'measured':>13} {'ratio':>6}")
    stages = [("ODE", ode_configs(scratch))]
    if not ode_only:
        stages.insert(0, ("SGD", configs(scratch)))
    for stage, cases in stages:
        for label, path in cases:
            estimate = estimate_seconds(tsgd, path, stage)
            out = os.path.join(scratch, "out_" + re.sub(r"\W", "_", label))
            command = "run" if stage == "SGD" else "ode"
            backend = ["--backend", "cpu"] if stage == "SGD" else []
            subprocess.run([tsgd, command, path, "--output", out, "--threads", "1", "--quiet",
                            "--force"] + backend, check=True, capture_output=True)
            seconds = json.load(open(os.path.join(out, "manifest.json")))["seconds"]
            measured = seconds["sgd" if stage == "SGD" else "ode"]
            ratio = estimate / measured
            worst = max(worst, ratio, 1 / ratio)
            print(f"{stage} {label:28} {estimate:>14.1f} s {measured:>11.1f} s {ratio:>6.2f}")
    print("worst ratio", f"{worst:.2f}", "(within 2x)" if worst <= 2 else "(OUTSIDE 2x)")
    return 0 if worst <= 2 else 1


if __name__ == "__main__":
    sys.exit(main())
