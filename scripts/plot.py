#!/usr/bin/python3
"""Figures from a tsgd results directory (PNG, matplotlib's Agg backend).

    scripts/plot.py RESULTS_DIR [RESULTS_DIR ...] [--out DIR] [--run POINT_ID SEED]
                    [--at ALPHA ...] [--x KEY] [--ylim LO HI] [--over-sigma2] [--error-bars ci95|std|sem]
                    [--labels LABEL ...]

For each results directory (the output of `tsgd run` or `tsgd ode`):

  NAME_eg_alpha.png     eps_g(alpha) on log-log axes: the mean over seeds with its
                        95% interval (eg_lo..eg_hi, the lower edge clipped positive),
                        the ODE (eg_ode) on top; grid points coloured by the primary
                        swept parameter, one panel per value of the other ones.
  NAME_eg_final.png     the final eps_g against the primary swept parameter: SGD mean
                        with its 95% interval, the ODE's final value and the
                        closed-form theory of summary.json ("theory"), where present.
  NAME_overlaps_pP_sS.png
                        heat maps of the final order parameters Q and R (and v when
                        the second layer is trained) of one run: by default the first
                        seed of every grid point, or the run given by --run.
  NAME_overlaps_pP_sS_aA.png
                        the same at the record time A nearest to each --at ALPHA
                        (from order_parameters.jsonl), as in the insets of fig. 1b.

With several results directories, also compare_eg_final.png: their final eps_g on
one set of axes (e.g. the erf, linear and ReLU committee machines of fig. 2a).

The primary swept parameter is model.K when it is swept, otherwise the swept key
with the most values; --x chooses another (a key such as lr, or L for K - M).
--over-sigma2 divides the final errors by sigma^2 (the y-axis of fig. 2a);
--error-bars std draws one standard deviation over seeds (fig. 4) instead of the 95% interval.

Files go to --out (default RESULTS_DIR/plots); their paths are printed, one a line.
Exit status 2, with a message, when a directory is not a tsgd results directory.
"""

import argparse
import csv
import json
import math
import os
import re
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)
import numpy as np  # noqa: E402

DPI = 100
MAX_CURVES_PER_PANEL = 8  # beyond this a panel of eps_g(alpha) curves stops reading well
MAX_PANELS = 12
MAX_ANNOTATED_UNITS = 8  # heat-map cells carry their value up to this many rows

# How parameters are written on the figures.
PRETTY = {
    "lr": r"$\eta$",
    "lr2": r"$\eta_v$",
    "sigma": r"$\sigma$",
    "weight_decay": r"$\kappa$",
    "weight_decay2": r"$\kappa_v$",
    "teacher_v": r"$v^*$",
    "student_v": r"$v_0$",
    "batch_size": "B",
    "L": "L = K - M",
}
# Parameters of the one-line description under a figure's title, in this order.
DESCRIBED = ["teacher_activation", "student_activation", "train", "N", "M", "K", "lr", "lr2",
             "sigma", "teacher_v", "teacher_v_init", "student_v", "student_v_init", "init", "init_scale", "output_scaling",
             "batch_size", "weight_decay", "alpha"]


class UsageError(Exception):
    """A problem with the command line or the results directory (exit status 2)."""


# ---------------------------------------------------------------------------------------
# Reading a results directory


def read_csv_columns(path):
    """A CSV file as {column: numpy array of float} (empty cells and 'nan' become NaN)."""
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            raise UsageError(f"{path}: empty file (no header)")
        rows = [r for r in reader if r]
    columns = {}
    for i, name in enumerate(header):
        values = []
        for r in rows:
            cell = r[i].strip() if i < len(r) else ""
            try:
                values.append(float(cell) if cell else math.nan)
            except ValueError:
                values.append(math.nan)
        columns[name] = np.array(values, dtype=float)
    return columns


def as_float_matrix(rows):
    """A JSON list of rows (null for NaN) as a 2-d float array."""
    if rows is None:
        return np.zeros((0, 0))
    return np.array([[math.nan if x is None else float(x) for x in row] for row in rows],
                    dtype=float).reshape(len(rows), -1)


def as_float_vector(values):
    return np.array([math.nan if x is None else float(x) for x in (values or [])], dtype=float)


class Results:
    """The files of one results directory that the figures need."""

    def __init__(self, directory):
        self.dir = directory
        required = ["summary.json", "curves.csv"]
        if not os.path.isdir(directory):
            raise UsageError(f"{directory}: no such directory")
        missing = [f for f in required if not os.path.isfile(os.path.join(directory, f))]
        if missing:
            raise UsageError(
                f"{directory}: not a tsgd results directory (missing {', '.join(missing)}); "
                "run `tsgd run CONFIG` (or `tsgd ode CONFIG`) to make one")
        try:
            with open(os.path.join(directory, "summary.json")) as f:
                self.summary = json.load(f)
        except (OSError, ValueError) as e:
            raise UsageError(f"{directory}/summary.json: unreadable ({e})")
        if not isinstance(self.summary.get("points"), list) or not self.summary["points"]:
            raise UsageError(f"{directory}/summary.json: no grid points")
        self.name = self.summary.get("name") or os.path.basename(os.path.normpath(directory))
        self.seeds = self.summary.get("seeds")
        self.points = sorted(self.summary["points"], key=lambda p: p["point_id"])
        self.point_by_id = {p["point_id"]: p for p in self.points}
        self.swept = [k.split(".")[-1] for k in self.summary.get("swept", [])]
        self.curves = read_csv_columns(os.path.join(directory, "curves.csv"))
        for col in ["point_id", "alpha", "n", "eg_mean", "eg_lo", "eg_hi"]:
            if col not in self.curves:
                raise UsageError(f"{directory}/curves.csv: no column '{col}'")
        self.has_ode = "eg_ode" in self.curves and np.isfinite(self.curves["eg_ode"]).any()
        self.has_sgd = any(p.get("runs", 0) > 0 for p in self.points)
        self.description = ""
        config_path = os.path.join(directory, "config.json")
        if os.path.isfile(config_path):
            try:
                with open(config_path) as f:
                    self.description = json.load(f).get("description", "")
            except (OSError, ValueError):
                pass

    def curve(self, point_id):
        """(alpha, n, mean, lo, hi, ode) of one grid point, sorted by alpha."""
        c = self.curves
        sel = c["point_id"] == point_id
        order = np.argsort(c["alpha"][sel])
        ode = c["eg_ode"][sel][order] if "eg_ode" in c else np.full(order.size, math.nan)
        return (c["alpha"][sel][order], c["n"][sel][order], c["eg_mean"][sel][order],
                c["eg_lo"][sel][order], c["eg_hi"][sel][order], ode)

    def final_order_parameters(self):
        """The records of final_order_parameters.jsonl (an empty list if there are none)."""
        path = os.path.join(self.dir, "final_order_parameters.jsonl")
        if not os.path.isfile(path):
            return []
        records = []
        with open(path) as f:
            for number, line in enumerate(f, 1):
                line = line.strip()
                if not line:
                    continue
                try:
                    records.append(json.loads(line))
                except ValueError as e:
                    raise UsageError(f"{path}:{number}: not JSON ({e})")
        return records

    def records_at(self, runs, alphas):
        """For each run (point_id, seed): [(alpha, record)], the record of
        order_parameters.jsonl nearest to each requested alpha."""
        path = os.path.join(self.dir, "order_parameters.jsonl")
        if not os.path.isfile(path):
            raise UsageError(f"--at: {path} missing (set record.order_parameters to true)")
        wanted = set(runs)
        best = {}  # (run, target) -> (distance, record)
        with open(path) as f:
            for line in f:
                if not line.strip():
                    continue
                r = json.loads(line)
                if r.get("seed") is None:
                    continue
                run = (int(r["point_id"]), int(r["seed"]))
                if run not in wanted:
                    continue
                for target in alphas:
                    # distance on a log scale (record times are usually log-spaced)
                    d = abs(math.log((r["alpha"] + 1e-12) / target))
                    if (run, target) not in best or d < best[(run, target)][0]:
                        best[(run, target)] = (d, r)
        out = {}
        for run in runs:
            out[run] = [(best[(run, t)][1]["alpha"], best[(run, t)][1])
                        for t in alphas if (run, t) in best]
        return out

    def param(self, point, key):
        """A parameter of a grid point; "L" is K - M."""
        params = point["params"]
        if key == "L":
            return params["K"] - params["M"]
        return params.get(key)


# ---------------------------------------------------------------------------------------
# Formatting helpers


def fmt_value(v):
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e6:
            return str(int(v))
        return f"{v:g}"
    return str(v)


def fmt_param(key, value):
    name = PRETTY.get(key, key)
    if key == "L":
        name = "L"
    return f"{name} = {fmt_value(value)}"


def describe_fixed(res, exclude, show_seeds=True):
    """One line naming the parameters shared by all grid points (those not swept)."""
    params = res.points[0]["params"]
    parts = []
    acts = (params.get("teacher_activation"), params.get("student_activation"))
    if "teacher_activation" not in exclude and "student_activation" not in exclude:
        parts.append(f"{acts[0]} teacher, {acts[1]} student")
    for key in DESCRIBED:
        if key in exclude or key in ("teacher_activation", "student_activation"):
            continue
        value = params.get(key)
        if value is None:
            continue
        if key == "train":
            parts.append("both layers" if value == "both_layers" else "first layer only")
            continue
        if key == "lr2" and (value == params.get("lr") or params.get("train") != "both_layers"):
            continue
        if key == "output_scaling" and value == "none":
            continue
        if key in ("teacher_v_init", "student_v_init"):
            if value != "uniform":
                parts.append(f"{'v*' if key == 'teacher_v_init' else 'v_0'} {value}")
            continue
        if key == "batch_size" and value == 1:
            continue
        if key == "weight_decay" and value == 0:
            continue
        if key == "init_scale" and params.get("init") not in ("small", "informed", "denoise"):
            continue
        if key == "student_v" and params.get("train") == "both_layers" and params.get("init") != "large":
            continue
        if key == "init":
            parts.append(f"init {value}")
            continue
        parts.append(fmt_param(key, value).replace(" = ", "="))
    if res.seeds and show_seeds:
        parts.append(f"{res.seeds} seed{'s' if res.seeds != 1 else ''}")
    return ", ".join(parts)


def visible_len(text):
    """Length of text as drawn: a mathtext command such as \\epsilon counts as one character."""
    return len(re.sub(r"\\[a-zA-Z]+", "x", text).translate(str.maketrans("", "", "${}_^")))


def wrap(text, width):
    """Breaks text into lines of at most width characters (at spaces; newlines kept)."""
    if "\n" in text:
        return "\n".join(wrap(part, width) for part in text.split("\n"))
    lines, line = [], ""
    for word in text.split(" "):
        if line and visible_len(line) + 1 + visible_len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        lines.append(line)
    return "\n".join(lines)


def colours(n):
    if n <= 10:
        cmap = plt.get_cmap("tab10")
        return [cmap(i) for i in range(n)]
    cmap = plt.get_cmap("viridis")
    return [cmap(x) for x in np.linspace(0.0, 0.92, n)]


def finish_layout(fig, title, footer, title_size=12, tight=True):
    """Title on top, the wrapped footer (fixed parameters) at the bottom, tight axes between."""
    width_in, height_in = fig.get_size_inches()
    title = wrap(title, int(width_in * 11))
    footer = wrap(footer, int(width_in * 15))
    fig.suptitle(title, fontsize=title_size)
    fig.text(0.5, 0.01, footer, ha="center", va="bottom", fontsize=8, color="0.25")
    top_in = 0.25 + 0.24 * (title.count("\n") + 1)
    bottom_in = 0.12 + 0.15 * (footer.count("\n") + 1)
    if tight:
        # tight_layout makes room for the suptitle itself (matplotlib >= 3.3)
        fig.tight_layout(rect=(0, bottom_in / height_in, 1, 1))
    else:  # colour-bar axes: place the grid by hand, leaving room for tick labels
        fig.subplots_adjust(left=0.9 / width_in, right=1 - 0.8 / width_in,
                            bottom=(bottom_in + 0.55) / height_in,
                            top=1 - (top_in + 0.35) / height_in)


def sort_key(v):
    return (0, float(v), "") if isinstance(v, (int, float)) and not isinstance(v, bool) else (1, 0.0, str(v))


# ---------------------------------------------------------------------------------------
# Which parameter goes on the x-axis / the colour, and how points group into panels


def primary_key(res, requested):
    if requested:
        if requested != "L" and requested not in res.points[0]["params"]:
            known = ", ".join(sorted(res.points[0]["params"]))
            raise UsageError(f"--x {requested}: not a parameter of {res.name} (one of: L, {known})")
        return requested
    if not res.swept:
        return None
    if "K" in res.swept:
        return "K"
    counts = {k: len({json.dumps(res.param(p, k)) for p in res.points}) for k in res.swept}
    return max(res.swept, key=lambda k: counts[k])


def group_points(res, key):
    """Groups of points sharing every swept parameter but `key`: [(label, [points])]."""
    others = [k for k in res.swept if k != key and not (key == "L" and k in ("K", "M") and
                                                          sum(s in ("K", "M") for s in res.swept) < 2)]
    groups = {}
    for p in res.points:
        label_values = tuple((k, res.param(p, k)) for k in others)
        groups.setdefault(label_values, []).append(p)
    out = []
    for label_values, pts in sorted(groups.items(), key=lambda kv: [sort_key(v) for _, v in kv[0]]):
        label = ", ".join(fmt_param(k, v) for k, v in label_values)
        if key:
            pts = sorted(pts, key=lambda p: sort_key(res.param(p, key)))
        out.append((label, pts))
    return out


def point_label(res, point, key):
    if key is None:
        return f"point {point['point_id']}"
    return fmt_param(key, res.param(point, key))


def diverged_note(point):
    nd, runs = point.get("n_diverged", 0), point.get("runs", 0)
    if runs and nd == runs:
        return f": all {runs} runs diverged"
    if runs and nd:
        return f" ({nd}/{runs} diverged)"
    return ""


# ---------------------------------------------------------------------------------------
# (a) eps_g(alpha)


def plot_eg_alpha(res, key, out_dir, ylim=None):
    groups = group_points(res, key)
    # Split groups that have too many curves for one panel.
    panels = []
    for label, pts in groups:
        for start in range(0, len(pts), MAX_CURVES_PER_PANEL):
            panels.append((label, pts[start:start + MAX_CURVES_PER_PANEL]))
    if len(panels) > MAX_PANELS:
        print(f"plot.py: note: {res.name}: {len(panels)} panels of eps_g(alpha); "
              f"drawing the first {MAX_PANELS}", file=sys.stderr)
        panels = panels[:MAX_PANELS]
    n = len(panels)
    ncols = min(3, n)
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(max(7.5, 5.4 * ncols), 4.3 * nrows + 1.3),
                             squeeze=False)
    # One colour per value of the primary parameter, the same in every panel.
    values = sorted({json.dumps(res.param(p, key)) if key else str(p["point_id"])
                     for p in res.points}, key=lambda s: sort_key(json.loads(s)) if key else int(s))
    colour_of = dict(zip(values, colours(len(values))))
    clipped_any = False
    panel_labels = []
    for ax, (label, pts) in zip(axes.flat, panels):
        y_positive = []
        curves = []
        for p in pts:
            alpha, n_ok, mean, lo, hi, ode = res.curve(p["point_id"])
            curves.append((p, alpha, n_ok, mean, lo, hi, ode))
            for y in (mean, ode):
                y_positive.extend(y[(alpha > 0) & np.isfinite(y) & (y > 0)])
        floor = (min(y_positive) / 3.0) if y_positive else 1e-6
        if y_positive:  # below 1e-10 of the largest value only rounding is left (sigma = 0)
            floor = max(floor, 1e-10 * max(y_positive))
        if ylim:
            floor = ylim[0]
        for p, alpha, n_ok, mean, lo, hi, ode in curves:
            c = colour_of[json.dumps(res.param(p, key)) if key else str(p["point_id"])]
            keep = alpha > 0  # log axes: alpha = 0 is not drawn
            a = alpha[keep]
            name = point_label(res, p, key) + diverged_note(p)
            m = mean[keep]
            ok = np.isfinite(m) & (m > 0)
            drew_sgd = False
            if ok.any():
                lo_k, hi_k = lo[keep], hi[keep]
                band = ok & np.isfinite(lo_k) & np.isfinite(hi_k)
                if band.any():
                    clipped_any |= bool((lo_k[band] <= floor).any())
                    ax.fill_between(a, np.clip(lo_k, floor, None), np.clip(hi_k, floor, None),
                                    where=band, color=c, alpha=0.15, linewidth=0)
                # Crosses for SGD as in the paper (at most ~40 of them), on a thin line.
                every = max(1, int(math.ceil(ok.sum() / 40)))
                ax.plot(a[ok], m[ok], color=c, linewidth=0.7, marker="x", markevery=every,
                        markersize=4.5, label=f"{name}", zorder=3)
                drew_sgd = True
            elif p.get("runs", 0) > 0:
                # Every run of this point diverged: say so in the legend.
                ax.plot([], [], color=c, marker="x", linestyle="none", label=name)
            o = ode[keep]
            ook = np.isfinite(o) & (o > 0)
            if ook.any():
                ax.plot(a[ook], o[ook], color=c, linewidth=1.8, zorder=2,
                        label=None if drew_sgd else f"{name} (ODE)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        if ylim:
            ax.set_ylim(*ylim)
        elif y_positive:
            ax.set_ylim(bottom=floor)
        ax.set_xlabel(r"$\alpha$ = steps / N")
        ax.set_ylabel(r"$\epsilon_g$")
        ax.grid(True, which="major", alpha=0.3)
        if label:
            ax.set_title(label, fontsize=11)
        handles, labels = ax.get_legend_handles_labels()
        # Style keys: what a thin line with crosses, a band and a thick line mean.
        style = []
        if res.has_sgd:
            style.append(plt.Line2D([], [], color="0.3", marker="x", linewidth=0.7,
                                    label="SGD" + (", mean over seeds" if (res.seeds or 1) > 1
                                                   else " (one run)")))
            if (res.seeds or 1) > 1:
                style.append(matplotlib.patches.Patch(color="0.3", alpha=0.15,
                                                      label="95% interval"))
        if res.has_ode:
            style.append(plt.Line2D([], [], color="0.3", linewidth=1.8, label="ODE"))
        panel_labels.append(tuple(labels))
        if handles or style:
            ax.legend(handles + style, labels + [s.get_label() for s in style], fontsize=8,
                      loc="best", framealpha=0.85)
    # The same curves in every panel (colours are shared): one legend, in the first panel.
    if n > 1 and len(set(panel_labels)) == 1:
        for ax in list(axes.flat)[1:n]:
            if ax.get_legend():
                ax.get_legend().remove()
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    what = []
    if res.has_sgd:
        what.append("SGD (mean, 95% band)" if (res.seeds or 1) > 1 else "SGD (one run per point)")
    if res.has_ode:
        what.append("ODE")
    title = f"{res.name}: " + r"$\epsilon_g(\alpha)$" + (f", {' and '.join(what)}" if what else "")
    footer = describe_fixed(res, set(res.swept))
    if clipped_any:
        footer += "; band: lower edge clipped to the axis where the 95% interval reaches 0"
    finish_layout(fig, title, footer)
    path = os.path.join(out_dir, f"{res.name}_eg_alpha.png")
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


# ---------------------------------------------------------------------------------------
# (b) the final eps_g against the swept parameter


ERROR_BARS = {"ci95": "95% interval", "std": "± 1 std over seeds", "sem": "± 1 s.e.m."}


def final_series(res, key, over_sigma2, error_bars="ci95"):
    """Per group: x values, SGD (mean, lo, hi), ODE, theory {formula: (x, y, exact)}, notes."""
    series = []
    for label, pts in group_points(res, key):
        xs, mean, lo, hi, ode, diverged_x = [], [], [], [], [], []
        theory = {}
        for p in pts:
            x = res.param(p, key) if key else p["point_id"]
            scale = 1.0
            if over_sigma2:
                s = p["params"].get("sigma", 0.0)
                scale = 1.0 / (s * s) if s else math.nan
            e = p.get("eg_final") or {}

            def num(v):
                return math.nan if v is None else float(v) * scale

            xs.append(x)
            mean.append(num(e.get("mean")))
            if error_bars == "ci95":
                lo.append(num(e.get("lo")))
                hi.append(num(e.get("hi")))
            else:
                m, d = e.get("mean"), e.get(error_bars)
                ok = m is not None and d is not None
                lo.append(num(m - d) if ok else math.nan)
                hi.append(num(m + d) if ok else math.nan)
            o = (p.get("ode") or {}).get("eg_final")
            ode.append(num(o))
            if p.get("runs", 0) > 0 and p.get("n", 0) == 0:
                diverged_x.append(x)
            for t in p.get("theory") or []:
                if t.get("eg") is None:
                    continue
                entry = theory.setdefault(t["formula"], ([], [], t.get("exact", False)))
                entry[0].append(x)
                entry[1].append(float(t["eg"]) * scale)
        series.append(dict(label=label, x=xs, mean=np.array(mean), lo=np.array(lo),
                           hi=np.array(hi), ode=np.array(ode), theory=theory,
                           diverged_x=diverged_x))
    return series


def positions(values, categorical):
    """x positions for parameter values: the values, or category indices."""
    return [categorical.index(v) if categorical is not None else v for v in values]


def draw_final(ax, series_list, key, categorical, error_bars="ci95"):
    """Draws SGD points with 95% error bars, the ODE and the theory; returns the y values."""
    ys = []
    markers = ["o", "s", "^", "D", "v", "P", "X", "*"]
    theory_styles = ["--", ":", "-.", (0, (5, 1, 1, 1))]
    cols = colours(max(1, len(series_list)))
    for i, (tag, s) in enumerate(series_list):
        c = cols[i]
        x = np.array(positions(s["x"], categorical), dtype=float)
        m = s["mean"]
        ok = np.isfinite(m)
        name = tag
        if ok.any():
            lo = np.where(np.isfinite(s["lo"]), np.clip(s["lo"], 0.0, None), m)
            hi = np.where(np.isfinite(s["hi"]), s["hi"], m)
            yerr = np.vstack([np.clip(m - lo, 0, None), np.clip(hi - m, 0, None)])[:, ok]
            ax.errorbar(x[ok], m[ok], yerr=yerr, color=c, marker=markers[i % len(markers)],
                        linestyle="none", markersize=6, capsize=3, zorder=4,
                        label=f"SGD{': ' + name if name else ''}"
                              + (f" ({ERROR_BARS[error_bars]})" if np.isfinite(s["lo"][ok]).any()
                                 else " (one run: no error bar)"))
            ys.extend(m[ok])
            ys.extend(lo[ok][lo[ok] > 0])
            ys.extend(hi[ok])
        if np.isfinite(s["ode"]).any():
            o = s["ode"]
            ook = np.isfinite(o)
            ax.plot(x[ook], o[ook], color=c, linewidth=1.4, marker=markers[i % len(markers)],
                    markerfacecolor="white", markersize=9, zorder=3,
                    label=f"ODE{': ' + name if name else ''}")
            ys.extend(o[ook])
        for j, (formula, (tx, ty, exact)) in enumerate(sorted(s["theory"].items())):
            tpos = np.array(positions(tx, categorical), dtype=float)
            order = np.argsort(tpos)
            # a short horizontal tick at each value, so that a single point shows too
            ax.plot(tpos[order], np.array(ty)[order], color=c, marker="_", markersize=16,
                    linestyle=theory_styles[j % len(theory_styles)], linewidth=1.3,
                    label=f"theory {formula}" + (" (exact)" if exact else " (leading order)")
                          + (f": {name}" if name else ""))
            ys.extend(ty)
        for xd in s["diverged_x"]:
            ax.annotate("all runs\ndiverged", xy=(positions([xd], categorical)[0], 0.02),
                        xycoords=("data", "axes fraction"), ha="center", fontsize=7, color=c)
    return [y for y in ys if np.isfinite(y)]


def set_final_axes(ax, ys, key, categorical, over_sigma2, x_values):
    positive = [y for y in ys if y > 0]
    if positive and max(positive) / min(positive) > 30:
        ax.set_yscale("log")
    else:
        ax.set_ylim(bottom=0)
    if categorical is not None:
        ax.set_xticks(range(len(categorical)))
        ax.set_xticklabels([fmt_value(v) for v in categorical])
        ax.set_xlim(-0.5, len(categorical) - 0.5)
    else:
        xs = sorted({float(v) for v in x_values})
        if len(xs) > 2 and xs[0] > 0 and xs[-1] / xs[0] > 50:
            ax.set_xscale("log")
        if all(float(v).is_integer() for v in xs) and len(xs) <= 20:
            ax.set_xticks(xs)
            ax.set_xticklabels([fmt_value(int(v)) for v in xs])
        if ax.get_xscale() == "linear":
            pad = 0.07 * (xs[-1] - xs[0]) if xs[-1] > xs[0] else 0.5
            ax.set_xlim(xs[0] - pad, xs[-1] + pad)
    ax.set_xlabel(PRETTY.get(key, key) if key else "grid point")
    ax.set_ylabel(r"final $\epsilon_g^*/\sigma^2$" if over_sigma2 else r"final $\epsilon_g^*$")
    ax.grid(True, alpha=0.3)


def place_legend(fig, ax, fontsize=8):
    """Inside the axes when short; to the right of them (the figure widened) when long."""
    handles, labels = ax.get_legend_handles_labels()
    if len(handles) <= 6:
        ax.legend(fontsize=fontsize, loc="best", framealpha=0.85)
        return
    width, height = fig.get_size_inches()
    longest = max(len(l) for l in labels)
    extra = min(6.0, 0.6 + 0.062 * longest)
    fig.set_size_inches(width + extra, height)
    ax.legend(fontsize=fontsize, loc="upper left", bbox_to_anchor=(1.02, 1.0), framealpha=0.85,
              borderaxespad=0.0)


def categorical_values(values):
    """None when the values are numbers (a numeric axis), else their sorted list."""
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return None
    return sorted(set(values), key=sort_key)


def plot_eg_final(res, key, over_sigma2, error_bars, out_dir):
    series = final_series(res, key, over_sigma2, error_bars)
    x_values = [x for s in series for x in s["x"]]
    categorical = categorical_values(x_values) if key else sorted(set(x_values))
    fig, ax = plt.subplots(figsize=(7.5, 5.6))
    ys = draw_final(ax, [(s["label"], s) for s in series], key, categorical, error_bars)
    set_final_axes(ax, ys, key, categorical, over_sigma2, x_values)
    place_legend(fig, ax)
    # One alpha for all points, or (alpha swept) each point at its own end.
    alphas = sorted({p.get("alpha_final") for p in res.points if p.get("alpha_final")})
    title = f"{res.name}: final generalisation error"
    if len(alphas) == 1:
        title += " at " + r"$\alpha$" + f" = {fmt_value(alphas[0])}"
    elif alphas:
        title += " at each point's final " + r"$\alpha$"
    finish_layout(fig, title, describe_fixed(res, set(res.swept) | {key}))
    path = os.path.join(out_dir, f"{res.name}_eg_final.png")
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def plot_compare(results, labels, key_request, over_sigma2, error_bars, out_dir):
    series_list = []
    x_values = []
    key_used = None
    for res, tag in zip(results, labels):
        key = primary_key(res, key_request)
        key_used = key_used or key
        for s in final_series(res, key, over_sigma2, error_bars):
            name = tag + (f", {s['label']}" if s["label"] else "")
            series_list.append((name, s))
            x_values.extend(s["x"])
    categorical = categorical_values(x_values)
    fig, ax = plt.subplots(figsize=(7.5, 5.6))
    ys = draw_final(ax, series_list, key_used, categorical, error_bars)
    set_final_axes(ax, ys, key_used, categorical, over_sigma2, x_values)
    place_legend(fig, ax)
    alphas = sorted({p.get("alpha_final") for r in results for p in r.points if p.get("alpha_final")})
    title = "final generalisation error"
    if len(alphas) == 1:
        title += " at " + r"$\alpha$" + f" = {fmt_value(alphas[0])}"
    elif alphas:
        title += " at each point's final " + r"$\alpha$"
    title += ": " + ", ".join(labels)
    # The footer names only what all the experiments share.
    differing = {k for k, v in results[0].points[0]["params"].items()
                 if any(r.points[0]["params"].get(k) != v for r in results[1:])}
    exclude = differing | {key_used} | {k for r in results for k in r.swept}
    if "teacher_activation" in differing or "student_activation" in differing:
        exclude |= {"teacher_activation", "student_activation"}
    seeds = {r.seeds for r in results}
    common = describe_fixed(results[0], exclude, show_seeds=len(seeds) == 1)
    finish_layout(fig, title, common, title_size=11)
    path = os.path.join(out_dir, "compare_eg_final.png")
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


# ---------------------------------------------------------------------------------------
# (c) heat maps of the final Q, R (and v) of one run


def choose_runs(res, records, run):
    """The (point_id, seed) -> record of the runs to draw."""
    by_run = {}
    for r in records:
        seed = r.get("seed")
        if seed is None or r.get("point_id") is None:
            continue
        by_run[(int(r["point_id"]), int(seed))] = r
    if run is not None:
        if run not in by_run:
            available = ", ".join(f"{p} {s}" for p, s in sorted(by_run)[:20])
            raise UsageError(f"--run {run[0]} {run[1]}: no such run in {res.dir}/"
                             f"final_order_parameters.jsonl (runs: {available or 'none'}"
                             f"{', ...' if len(by_run) > 20 else ''})")
        return {run: by_run[run]}
    chosen = {}
    for (pid, seed) in sorted(by_run):
        if pid not in {k[0] for k in chosen}:
            chosen[(pid, seed)] = by_run[(pid, seed)]
    return chosen


def heat_map(ax, matrix, title, row_label, col_label, vmax):
    im = ax.imshow(matrix, cmap="RdBu_r", vmin=-vmax, vmax=vmax, aspect="equal",
                   interpolation="nearest")
    rows, cols = matrix.shape
    ax.set_title(title, fontsize=11)
    ax.set_xlabel(col_label)
    ax.set_ylabel(row_label)
    step_r = max(1, rows // 10)
    step_c = max(1, cols // 10)
    ax.set_xticks(range(0, cols, step_c))
    ax.set_yticks(range(0, rows, step_r))
    if rows <= MAX_ANNOTATED_UNITS and cols <= MAX_ANNOTATED_UNITS:
        for i in range(rows):
            for j in range(cols):
                v = matrix[i, j]
                text = "nan" if not np.isfinite(v) else f"{v:.2f}"
                dark = np.isfinite(v) and abs(v) > 0.6 * vmax
                ax.text(j, i, text, ha="center", va="center", fontsize=8,
                        color="white" if dark else "black")
    return im


def plot_overlaps(res, point_id, seed, record, out_dir, at=None):
    point = res.point_by_id.get(point_id, {"params": {}, "point_id": point_id})
    Q = as_float_matrix(record.get("Q"))
    R = as_float_matrix(record.get("R"))
    v = as_float_vector(record.get("v"))
    vstar = as_float_vector(record.get("vstar"))
    params = point.get("params", {})
    # v is worth a panel when it is learned (both layers) or differs between units.
    show_v = v.size > 0 and (params.get("train") == "both_layers" or
                             (np.isfinite(v).all() and np.ptp(v) > 0))
    finite = [np.abs(m[np.isfinite(m)]).max() for m in (Q, R) if m.size and np.isfinite(m).any()]
    vmax = max(finite) if finite else 1.0
    vmax = vmax if vmax > 0 else 1.0
    K = max(Q.shape[0], 1)
    M = R.shape[1] if R.ndim == 2 and R.size else 0
    # Panels side by side, widths proportional to their columns so that cells are square;
    # a narrow column for the colour bar of Q and R after the R panel.
    widths = [K, max(M, 1), 0.35] + ([0.9, 1, 0.35] if show_v else [])
    cell = min(0.55, 4.5 / K)
    fig_w = max(7.5, 1.6 + cell * sum(widths) + 1.3 * (3 if show_v else 2))
    fig_h = max(4.2, 2.4 + cell * K)
    fig = plt.figure(figsize=(fig_w, fig_h))
    grid = fig.add_gridspec(1, len(widths), width_ratios=widths, wspace=0.35)
    ax_q, ax_r, ax_cb = (fig.add_subplot(grid[0, i]) for i in range(3))
    im = heat_map(ax_q, Q, r"$Q_{ik} = w_i \cdot w_k / N$", "student unit i", "student unit k",
                  vmax)
    if M:
        heat_map(ax_r, R, r"$R_{in} = w_i \cdot w^*_n / N$", "student unit i", "teacher unit n",
                 vmax)
    else:
        ax_r.set_visible(False)
    fig.colorbar(im, cax=ax_cb, label="overlap")
    if show_v:
        ax_v, ax_vcb = fig.add_subplot(grid[0, 4]), fig.add_subplot(grid[0, 5])
        fig.add_subplot(grid[0, 3]).set_visible(False)
        vv = np.abs(v[np.isfinite(v)])
        vlim = vv.max() if vv.size and vv.max() > 0 else 1.0
        im_v = heat_map(ax_v, v.reshape(-1, 1), r"$v_i$", "student unit i", "", vlim)
        ax_v.set_xticks([])
        fig.colorbar(im_v, cax=ax_vcb, label="second-layer weight")
    status = ""
    if record.get("diverged"):
        status = " (diverged; last record)"
    eg = record.get("eg")
    nbsp = "\u00a0"  # keeps "eps_g = value" on one line when the title wraps
    eg_text = ""
    if isinstance(eg, (int, float)):
        # eps_g is a difference of O(1) terms: below ~1e-13 only rounding is left
        value = f"{nbsp}={nbsp}{eg:.3g}" if abs(eg) >= 1e-13 else f"{nbsp}<{nbsp}1e-13"
        eg_text = ", " + r"$\epsilon_g$" + value
    where = ", ".join(fmt_param(k, res.param(point, k)) for k in res.swept) or f"point {point_id}"
    which = "final order parameters" if at is None else "order parameters"
    title = (f"{res.name}: {which}, {where}, seed {seed}, "
             + r"$\alpha$" + f" = {fmt_value(record.get('alpha'))}{eg_text}{status}")
    footer = describe_fixed(res, set(res.swept))
    if vstar.size:
        footer += ("; teacher v* = [" + ", ".join(f"{x:.3g}" for x in vstar[:8])
                   + (", ..." if vstar.size > 8 else "") + "]")
        if not show_v:
            footer += (", student v = [" + ", ".join(f"{x:.3g}" for x in v[:8])
                       + (", ..." if v.size > 8 else "") + "]")
    finish_layout(fig, title, footer, title_size=11, tight=False)
    suffix = "" if at is None else f"_a{fmt_value(float(at))}"
    path = os.path.join(out_dir, f"{res.name}_overlaps_p{point_id}_s{seed}{suffix}.png")
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


# ---------------------------------------------------------------------------------------


def plot_results(res, args, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    key = primary_key(res, args.x)
    written = [plot_eg_alpha(res, key, out_dir, args.ylim), plot_eg_final(res, key, args.over_sigma2, args.error_bars, out_dir)]
    records = res.final_order_parameters()
    run = tuple(args.run) if args.run else None
    if not records:
        if run is not None:
            raise UsageError(f"--run: {res.dir} has no final order parameters of SGD runs")
        print(f"plot.py: note: {res.name}: no SGD runs (final_order_parameters.jsonl empty "
              "or missing): no overlap maps", file=sys.stderr)
    else:
        chosen = choose_runs(res, records, run)
        for (pid, seed), record in chosen.items():
            written.append(plot_overlaps(res, pid, seed, record, out_dir))
        if args.at:
            for (pid, seed), targets in res.records_at(sorted(chosen), args.at).items():
                for target, record in targets:
                    written.append(plot_overlaps(res, pid, seed, record, out_dir, at=target))
    return written


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="plot.py", description=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", nargs="+", metavar="RESULTS_DIR",
                        help="output directory of `tsgd run` / `tsgd ode`")
    parser.add_argument("--out", metavar="DIR",
                        help="where to write the PNG files (default: RESULTS_DIR/plots)")
    parser.add_argument("--run", nargs=2, type=int, metavar=("POINT_ID", "SEED"),
                        help="the run whose final Q and R are drawn (default: the first seed "
                             "of every grid point)")
    parser.add_argument("--at", nargs="+", type=float, metavar="ALPHA",
                        help="also draw Q and R of the same runs at the record times nearest "
                             "to these alphas (from order_parameters.jsonl; fig. 1b's insets)")
    parser.add_argument("--x", metavar="KEY",
                        help="the parameter on the x-axis / the colour: a parameter name "
                             "(K, lr, sigma, ...) or L (= K - M); default K when swept")
    parser.add_argument("--ylim", nargs=2, type=float, metavar=("LO", "HI"),
                        help="y-range of the eps_g(alpha) panels (default: from the data, "
                             "at most 10 decades)")
    parser.add_argument("--over-sigma2", action="store_true",
                        help="plot the final eps_g divided by sigma^2 (as in fig. 2a)")
    parser.add_argument("--error-bars", choices=sorted(ERROR_BARS), default="ci95",
                        help="error bars of the final eps_g: 95%% interval (default), one "
                             "standard deviation over seeds (as in fig. 4), or one s.e.m.")
    parser.add_argument("--labels", nargs="+", metavar="LABEL",
                        help="names of the results directories in compare_eg_final.png")
    args = parser.parse_args(argv)
    if args.ylim and not 0 < args.ylim[0] < args.ylim[1]:
        parser.error("--ylim: need 0 < LO < HI (log axis)")
    if args.at and any(a <= 0 for a in args.at):
        parser.error("--at: alphas must be > 0")
    if args.labels and len(args.labels) != len(args.results):
        parser.error("--labels needs one label per RESULTS_DIR")
    return args


def main(argv):
    args = parse_args(argv)
    try:
        results = [Results(d) for d in args.results]
        written = []
        for res in results:
            out_dir = args.out or os.path.join(res.dir, "plots")
            written.extend(plot_results(res, args, out_dir))
        if len(results) > 1:
            labels = args.labels or [r.name for r in results]
            out_dir = args.out or os.path.join(results[0].dir, "plots")
            written.append(plot_compare(results, labels, args.x, args.over_sigma2, args.error_bars,
                                        out_dir))
    except UsageError as e:
        print(f"plot.py: error: {e}", file=sys.stderr)
        return 2
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
