#!/usr/bin/python3
"""The figures of scripts/plot/ read back from their artists (issue 15 point 3's test):
tsgd makes two tiny experiments, the figure functions draw them, and the test counts
legend entries (one per series, a key of what markers and dashes mean), reads the axis
scales and labels (log x for learning rates, linear for K; no eps_g* before
convergence; the tail's label), finds the open lower bars of an interval reaching 0 on a
log axis, the per-seed curves of --runs, the points kept by --where, the comparison's
footer (N and lr when shared) and the paper size; then runs scripts/plot.py with each
option and checks each file it names (format signature and size).

Usage: test_plot_figures.py TSGD_BINARY [SOURCE_DIR]. Exit 0 passed, 1 failed, 77
skipped (no numpy or matplotlib for this python)."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

try:
    import numpy as np  # noqa: F401
    import matplotlib  # noqa: F401
except ImportError:
    print("SKIP: numpy or matplotlib missing (apt-get install python3-numpy python3-matplotlib)")
    sys.exit(77)

SOURCE = (sys.argv[2] if len(sys.argv) > 2
          else os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__)))))
sys.path.insert(0, os.path.join(SOURCE, "scripts"))
from plot import style  # noqa: E402
from plot.compare import compare_figure  # noqa: E402
from plot.eg_alpha import eg_alpha_figure  # noqa: E402
from plot.errors_final import errors_final_figure  # noqa: E402
from plot.final import eg_final_figure, log_x_wanted  # noqa: E402
from plot.options import Options  # noqa: E402
from plot.results import Results, UsageError, parse_where  # noqa: E402

failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def legend(fig, gid):
    """The texts of the figure's legend with this gid (None: no such legend)."""
    found = [l for l in fig.findobj(matplotlib.legend.Legend) if l.get_gid() == gid]
    if len(found) > 1:
        failures.append(f"{len(found)} legends with gid {gid}")
    return [t.get_text() for t in found[0].get_texts()] if found else None


def footer(fig):
    return " ".join(t.get_text() for t in fig.texts)


SWEEP = {
    "name": "figs",
    "model": {"teacher_activation": "erf", "student_activation": "erf",
              "N": 50, "M": 1, "K": [1, 2], "train": "first_layer"},
    "training": {"lr": [0.05, 0.5, 5.0], "sigma": 0.1, "alpha": 2, "init": "large"},
    "seeds": {"count": 3},
    "record": {"points": 12, "spacing": "log", "alpha_min": 0.05},
    "ode": {"enabled": True},
}
LINEAR = {
    "name": "figs_linear",
    "model": {"teacher_activation": "linear", "student_activation": "linear",
              "N": 50, "M": 1, "K": [1, 2], "train": "first_layer"},
    "training": {"lr": 0.5, "sigma": 0.1, "alpha": 400, "init": "large"},
    "seeds": {"count": 3},
    "record": {"points": 16, "spacing": "log", "alpha_min": 0.05},
    "ode": {"enabled": True},
}  # converged: the ODE flat (< 1%) from alpha ~ 20
FINITE = {
    "name": "figs_finite",
    "model": {"teacher_activation": "erf", "student_activation": "erf",
              "N": 20, "M": 1, "K": [1, 2], "train": "first_layer"},
    "training": {"lr": 0.5, "sigma": 0.2, "alpha": 20, "init": "small"},
    "data": {"train_size": [10, 200]},
    "seeds": {"count": 2},
    "record": {"points": 6, "spacing": "log", "alpha_min": 0.5},
    "ode": {"enabled": False},
}  # P = N / 2 is fitted to eps_t ~ 0, far below sigma^2 / 2 = 0.02


def run_tsgd(tsgd, work, config):
    path = os.path.join(work, config["name"] + ".json")
    with open(path, "w") as f:
        json.dump(config, f)
    out = os.path.join(work, config["name"])
    subprocess.run([tsgd, "run", path, "--output", out, "--backend", "cpu", "--threads", "1",
                    "--quiet"], check=True)
    return out


def formulas_drawn(res):
    return {t["formula"] for p in res.points for t in p.get("theory") or [] if t["eg"] > 0}


def check_final(sweep):
    res = Results(sweep)
    fig = eg_final_figure(res, "lr", Options(x="lr"))
    check(legend(fig, "series") == ["K = 1", "K = 2"],
          f"eg_final: one legend entry per series, got {legend(fig, 'series')}")
    keys = legend(fig, "key") or []
    check(len(keys) == 2 + len(formulas_drawn(res)),
          f"eg_final key: SGD, ODE and {sorted(formulas_drawn(res))}, got {keys}")
    ax = fig.axes[0]
    check(ax.get_xscale() == "log", "eg_final: learning rates on a linear axis")
    label = ax.get_ylabel()
    check("^*" not in label and r"$\alpha$ = 2" in label,
          f"eg_final at alpha = 2 (still falling) labelled {label!r}")
    fig = eg_final_figure(res, "K", Options(x="K", at_end="tail"))
    check(fig.axes[0].get_xscale() == "linear", "eg_final: K on a log axis")
    check("averaged over" in fig.axes[0].get_ylabel(),
          f"--at-end tail labelled {fig.axes[0].get_ylabel()!r}")
    check(len(legend(fig, "series")) == 3, "eg_final --x K: one entry per lr")


def check_training_error(finite, work):
    """A finite training set: eps_g and eps_t side by side, the label noise's floor
    sigma^2/2 drawn on the eps_t panel, values below the axis marked; plot.py writes it
    only where summary.json has et_final."""
    res = Results(finite)
    fig = errors_final_figure(res, "K", Options(x="K"))
    check(len(fig.axes) == 2, f"errors_final: {len(fig.axes)} axes, expected 2")
    right = fig.axes[1]
    check(r"\epsilon_t" in right.get_ylabel(), f"errors_final: right panel {right.get_ylabel()!r}")
    floors = [l.get_ydata()[0] for l in right.get_lines() if l.get_gid() == "label_noise"]
    check(len(floors) == 1 and abs(floors[0] - 0.02) < 1e-12,  # 0.2^2/2 in double rounding
          f"errors_final: sigma^2/2 line at {floors}, expected [0.02]")
    et = [p["et_final"]["mean"] for p in res.points]
    check(min(et) < 0.02 < max(et), f"errors_final: the test's eps_t {et} do not straddle 0.02")
    check(legend(fig, "series") == ["train_size = 10", "train_size = 200"],
          f"errors_final: series {legend(fig, 'series')}")
    # With the files' class labels (points with class_err_final) there is no floor.
    labelled = os.path.join(work, "finite_labelled")
    shutil.copytree(finite, labelled)
    with open(os.path.join(labelled, "summary.json")) as f:
        summary = json.load(f)
    for point in summary["points"]:
        point["class_err_final"] = {"mean": 0.1, "lo": 0.05, "hi": 0.15}
    with open(os.path.join(labelled, "summary.json"), "w") as f:
        json.dump(summary, f)
    fig = errors_final_figure(Results(labelled), "K", Options(x="K"))
    floors = [l for l in fig.axes[1].get_lines() if l.get_gid() == "label_noise"]
    check(not floors, "errors_final: a sigma^2/2 floor drawn with labels from files")
    p = subprocess.run([sys.executable, os.path.join(SOURCE, "scripts", "plot.py"), finite,
                        "--out", os.path.join(work, "finite_plots")], capture_output=True,
                       text=True)
    names = {os.path.basename(x) for x in p.stdout.split()}
    check("figs_finite_errors_final.png" in names, f"plot.py on a finite set: {sorted(names)}")


def check_seeds(sweep):
    """--runs in the final-error figure: one small dot per seed and point, and a key entry."""
    res = Results(sweep)
    fig = eg_final_figure(res, "lr", Options(x="lr", runs=True))
    dots = sum(len(l.get_xdata()) for l in fig.axes[0].get_lines() if l.get_alpha() == 0.45)
    expected = sum(p["n"] for p in res.points)
    check(dots == expected, f"--runs: {dots} seed values in eg_final, expected {expected}")
    check("one seed" in legend(fig, "key"), "--runs: no key entry for the seeds")


def check_open_bars(sweep, work):
    """A point whose interval reaches below 0 on a log axis: its bar ends on the axis in a
    triangle, the footer says so, and no bar is clipped silently."""
    copy = os.path.join(work, "open")
    shutil.copytree(sweep, copy)
    with open(os.path.join(copy, "summary.json")) as f:
        summary = json.load(f)
    summary["points"][0]["eg_final"]["lo"] = -0.5
    with open(os.path.join(copy, "summary.json"), "w") as f:
        json.dump(summary, f)
    fig = eg_final_figure(Results(copy), "lr", Options(x="lr"))
    ax = fig.axes[0]
    check(ax.get_yscale() == "log", "open bars: expected a log y axis")
    triangles = [l for l in ax.get_lines() if l.get_marker() == "v"]
    check(len(triangles) == 1, f"open bars: {len(triangles)} triangles, expected 1")
    check("\u25bc" in footer(fig), "open bars: the footer does not explain the triangle")


def check_alpha(sweep):
    res = Results(sweep)
    plain = eg_alpha_figure(res, "lr", Options(x="lr"))
    runs = eg_alpha_figure(res, "lr", Options(x="lr", runs=True))
    thin = [l for ax in runs.axes for l in ax.get_lines() if l.get_alpha() == 0.3]
    check(len(thin) == 6 * 3, f"--runs: {len(thin)} per-seed curves, expected 18")
    check(not [l for ax in plain.axes for l in ax.get_lines() if l.get_alpha() == 0.3],
          "per-seed curves without --runs")
    fig = eg_alpha_figure(res, "lr", Options(x="lr", ylim=(0.02, 0.15)))
    label = fig.axes[0].yaxis.get_minor_formatter()(0.05, 0)
    check(label == "0.05", f"a log axis within a decade: minor tick 0.05 labelled {label!r}")


def check_where_compare(sweep, linear):
    res = Results(sweep, where=parse_where("K=2,lr=0.5,lr=5"))
    check(sorted(p["params"]["lr"] for p in res.points) == [0.5, 5.0],
          "--where K=2,lr=0.5,lr=5 kept the wrong points")
    check(res.swept == ["lr"], f"--where: swept should be [lr], is {res.swept}")
    for bad in ("nokey=1", "K=7"):
        try:
            Results(sweep, where=parse_where(bad))
            check(False, f"--where {bad} accepted")
        except UsageError as e:
            check(bad.split("=")[0] in str(e), f"--where {bad}: message {e}")
    both = [Results(sweep, where=parse_where("lr=0.5")), Results(linear)]
    fig = compare_figure(both, ["erf", "linear"], Options())
    # alpha differs: the labels say so, the footer does not
    check(legend(fig, "series") == [r"erf ($\alpha$=2)", r"linear ($\alpha$=400)"],
          f"compare: one entry per directory, got {legend(fig, 'series')}")
    text = footer(fig)
    check("N=50" in text and r"$\eta$=0.5" in text, f"compare footer lacks N or lr: {text}")
    label = fig.axes[0].get_ylabel()
    check("^*" not in label, f"compare: one directory still falling, labelled {label!r}")
    fig = eg_final_figure(both[1], "K", Options())
    label = fig.axes[0].get_ylabel()
    check(label.startswith(r"$\epsilon_g^*$ (at $\alpha$ = 400"),
          f"a converged linear network labelled {label!r}")
    check("converged at every point" in footer(fig), "the converged figure's footer")


def check_paper(sweep):
    style.configure("paper")
    fig = eg_final_figure(Results(sweep), "lr", Options(x="lr"))
    width = fig.get_size_inches()[0]
    check(abs(width - style.PAPER_WIDTH) < 1e-9, f"--style paper: width {width} in")
    check(not fig._suptitle, "--style paper: a title")
    style.configure("default")
    check(log_x_wanted("sigma", [0.01, 0.1, 1.0]) and not log_x_wanted("K", [1, 10, 100]),
          "log x: sigma over two decades linear, or K logarithmic")


SIGNATURES = {"png": b"\x89PNG", "pdf": b"%PDF", "svg": b"<?xml"}
OPTIONS = [["--format", "pdf"], ["--format", "svg"], ["--runs"], ["--where", "K=2"],
           ["--at-end", "tail"], ["--style", "paper"], ["--size", "4", "3"],
           ["--stat", "median", "--x", "lr"]]


def check_cli(sweep, linear, work):
    for i, option in enumerate(OPTIONS):
        fmt = option[1] if option[0] == "--format" else "png"
        out = os.path.join(work, f"cli{i}")
        p = subprocess.run([sys.executable, os.path.join(SOURCE, "scripts", "plot.py"), sweep,
                            linear, "--out", out] + option, capture_output=True, text=True)
        check(p.returncode == 0, f"plot.py {' '.join(option)}: exit {p.returncode}: {p.stderr}")
        paths = p.stdout.split()
        names = {os.path.basename(x) for x in paths}
        for stem in ("figs_eg_alpha", "figs_eg_final", "compare_eg_final"):
            check(f"{stem}.{fmt}" in names, f"plot.py {' '.join(option)}: no {stem}.{fmt}")
        check(not any("errors_final" in n for n in names),
              f"plot.py {' '.join(option)}: errors_final without a training set")
        for path in paths:
            with open(path, "rb") as f:
                head = f.read(8)
            size = os.path.getsize(path)
            check(head.startswith(SIGNATURES[fmt]) and size > 5000,
                  f"{path}: {size} bytes, starts {head!r}")


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 1
    work = tempfile.mkdtemp()
    try:
        sweep = run_tsgd(sys.argv[1], work, SWEEP)
        linear = run_tsgd(sys.argv[1], work, LINEAR)
        check_final(sweep)
        check_open_bars(sweep, work)
        check_seeds(sweep)
        check_alpha(sweep)
        check_where_compare(sweep, linear)
        check_paper(sweep)
        check_cli(sweep, linear, work)
        check_training_error(run_tsgd(sys.argv[1], work, FINITE), work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        print(f"test_plot_figures: {len(failures)} failure(s)", file=sys.stderr)
        return 1
    print("test_plot_figures: passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
