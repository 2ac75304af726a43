"""NAME_eg_final.{png,pdf,svg}: eps_g at the end of training against the primary swept
parameter: SGD's mean (or median, or geometric mean: --stat; the last record or the tail
average: --at-end) with error bars, the ODE and the closed-form theory of summary.json.
Colour and marker shape name the series (one legend entry each); a second legend, the key
above the axes, says what markers, bars, lines and dashes are. Its series, drawing and axes
serve compare_eg_final too (compare.py)."""

import math

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.container import ErrorbarContainer
from matplotlib.lines import Line2D
from matplotlib.transforms import ScaledTranslation

from . import style
from .grid import categorical_values, group_points, positions, x_value
from .labels import (axis_label, describe_fixed, end_label, fmt_value, settled_note,
                     sgd_key_label, theory_label)
from .results import (UsageError, all_runs_diverged, eg_final_bars, eg_tail_bars, ode_eg_final,
                      theory_entries)
from .style import plt

MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
THEORY_STYLES = ["--", ":", "-.", (0, (3, 1, 1, 1, 1, 1)), (0, (1, 1)), (0, (6, 2, 1, 2, 1, 2)),
                 (0, (4, 4))]
GREY = "0.3"
# Parameters that scale (an axis of them is logarithmic when they span more than a factor
# 10) and those counted in units (always linear).
MULTIPLICATIVE = {"lr", "lr2", "sigma", "weight_decay", "weight_decay2", "init_scale", "N",
                  "alpha", "batch_size", "teacher_v", "student_v"}
LINEAR = {"K", "M", "L"}


def _num(v, scale):
    return math.nan if v is None else float(v) * scale


def _end_values(res, p, opts):
    """(value, lo, hi, ode) of a point at the end of training, as --at-end and --stat say."""
    if opts.at_end == "tail":
        return eg_tail_bars(p, opts.error_bars) + (res.ode_tail(p),)
    return eg_final_bars(p, opts.error_bars, res.stat) + (ode_eg_final(p),)


def final_series(res, key, opts):
    """Per group: x values, SGD (value, lo, hi), ODE, theory {formula: (x, y, exact)},
    the diverged points and each point's convergence verdict."""
    if opts.at_end == "tail" and res.has_sgd and not any(p.get("eg_tail") for p in res.points):
        raise UsageError(f"--at-end tail: {res.dir}/summary.json has no eg_tail (written by an "
                         "older tsgd: rerun the same command to rewrite the files)")
    series = []
    for label, pts in group_points(res, key):
        s = dict(label=label, x=[], value=[], lo=[], hi=[], ode=[], theory={}, diverged_x=[],
                 settled=[], stat=res.stat, points=pts, seeds=[])
        for p in pts:
            sigma = p["params"].get("sigma", 0.0)
            scale = (1.0 / (sigma * sigma) if sigma else math.nan) if opts.over_sigma2 else 1.0
            x = x_value(res, p, key)
            s["x"].append(x)
            for name, v in zip(("value", "lo", "hi", "ode"), _end_values(res, p, opts)):
                s[name].append(_num(v, scale))
            if all_runs_diverged(p):
                s["diverged_x"].append(x)
            s["settled"].append(res.settled(p))
            if opts.runs and res.has_sgd:
                values = res.run_end_values(p)[1 if opts.at_end == "tail" else 0]
                s["seeds"].append((x, values * scale))
            for formula, eg, exact in theory_entries(p):
                entry = s["theory"].setdefault(formula, ([], [], exact))
                entry[0].append(x)
                entry[1].append(eg * scale)
        for name in ("value", "lo", "hi", "ode"):
            s[name] = np.array(s[name], dtype=float)
        series.append(s)
    return series


def _sgd_bars(s, log_y):
    """Error bar lengths (lower, upper) and the points whose interval reaches to or below
    zero: on a log axis their lower bar is drawn to the axis bottom (open_bars)."""
    m = s["value"]
    lo = np.where(np.isfinite(s["lo"]), s["lo"], m)
    hi = np.where(np.isfinite(s["hi"]), s["hi"], m)
    open_low = (lo <= 0) & np.isfinite(m) & log_y
    lower = np.where(open_low, 0.0, np.clip(m - lo, 0, None))
    return np.vstack([lower, np.clip(hi - m, 0, None)]), open_low


def _draw_sgd(ax, x, s, c, marker, log_y):
    """SGD's markers with bars; returns the positions of the open lower bars."""
    m = s["value"]
    ok = np.isfinite(m) & ((m > 0) | (not log_y))
    if not ok.any():
        return []
    yerr, open_low = _sgd_bars(s, log_y)
    ax.errorbar(x[ok], m[ok], yerr=yerr[:, ok], color=c, marker=marker, linestyle="none",
                markersize=style.ms(6), capsize=style.ms(3), zorder=4)
    return [(xi, mi, c) for xi, mi, o, k in zip(x, m, open_low, ok) if o and k]


def _draw_ode(ax, x, s, c, marker, log_y):
    o = s["ode"]
    ook = np.isfinite(o) & ((o > 0) | (not log_y))
    if ook.any():
        ax.plot(x[ook], o[ook], color=c, linewidth=1.4 * style.ms(1), marker=marker,
                markerfacecolor="white", markersize=style.ms(9), zorder=3)


def _draw_seeds(ax, s, c, categorical, log_y):
    """--runs: each seed's value, small and translucent, a few points right of the
    statistic's marker (which would hide them)."""
    shift = ax.transData + ScaledTranslation(style.ms(7) / 72, 0, ax.figure.dpi_scale_trans)
    for x, values in s["seeds"]:
        v = values[np.isfinite(values) & ((values > 0) | (not log_y))]
        ax.plot(np.full(v.size, positions([x], categorical)[0], dtype=float), v, color=c,
                marker="o", markersize=style.ms(3), alpha=0.45, linestyle="none", zorder=2,
                transform=shift)


def _draw_theory(ax, s, c, categorical, dash_of):
    for formula, (tx, ty, _exact) in s["theory"].items():
        tpos = np.array(positions(tx, categorical), dtype=float)
        ty = np.array(ty, dtype=float)
        shown = ty > 0  # a log axis shows no zero (eq. (10) at sigma = 0)
        if not shown.any():
            continue
        order = np.argsort(tpos[shown])
        # a short horizontal tick at each value, so that a single point shows too
        ax.plot(tpos[shown][order], ty[shown][order], color=c, marker="_",
                markersize=style.ms(16), linestyle=dash_of[formula], linewidth=1.3 * style.ms(1))


def _positive_values(series_list):
    ys = []
    for s in series_list:
        ys += [*s["value"], *s["ode"], *s["hi"], *s["lo"]]
        ys += [y for _tx, ty, _e in s["theory"].values() for y in ty]
    return [y for y in ys if np.isfinite(y) and y > 0]


def _formulas(series_list):
    """{formula: exact} of every theory entry drawn (with a positive value somewhere)."""
    out = {}
    for s in series_list:
        for formula, (_tx, ty, exact) in s["theory"].items():
            if any(y > 0 for y in ty):
                out[formula] = exact
    return dict(sorted(out.items()))


def draw_final(ax, named_series, categorical, log_y):
    """Draws every series in its colour and marker; returns the open lower bars
    [(x, value, colour)] and the series' legend handles."""
    dash_of = {f: THEORY_STYLES[i % len(THEORY_STYLES)]
               for i, f in enumerate(_formulas([s for _, s in named_series]))}
    cols = style.colours(max(1, len(named_series)))
    open_bars, handles = [], []
    for i, (name, s) in enumerate(named_series):
        c, marker = cols[i], MARKERS[i % len(MARKERS)]
        x = np.array(positions(s["x"], categorical), dtype=float)
        open_bars += _draw_sgd(ax, x, s, c, marker, log_y)
        _draw_ode(ax, x, s, c, marker, log_y)
        _draw_seeds(ax, s, c, categorical, log_y)
        _draw_theory(ax, s, c, categorical, dash_of)
        for xd in s["diverged_x"]:
            ax.annotate("all runs\ndiverged", xy=(positions([xd], categorical)[0], 0.02),
                        xycoords=("data", "axes fraction"), ha="center", fontsize=style.fs(7),
                        color=c)
        if name:
            handles.append(Line2D([], [], color=c, marker=marker, label=name))
    return open_bars, handles


def _draw_open_bars(ax, open_bars):
    """Lower bars of intervals reaching to or below zero: to the axis bottom, ending in a
    downward triangle on the axis (the footer says what it means)."""
    bottom, top = ax.get_ylim()
    for x, value, c in open_bars:
        ax.plot([x, x], [bottom, value], color=c, linewidth=1.0 * style.ms(1), zorder=4)
        ax.plot([x], [0.0], transform=ax.get_xaxis_transform(), marker="v", color=c,
                markersize=style.ms(7), clip_on=False, zorder=5)
    ax.set_ylim(bottom, top)


def log_x_wanted(key, xs):
    """Log x for a multiplicative parameter spanning a factor 10 or more (learning
    rates, noise), never for unit counts (K, M, L); else for > 2 values spanning > 50."""
    if key in LINEAR or not xs or xs[0] <= 0:
        return False
    if key in MULTIPLICATIVE:
        return xs[-1] / xs[0] >= 10 * (1 - 1e-9)
    return len(xs) > 2 and xs[-1] / xs[0] > 50


def _set_x_axis(ax, key, categorical, x_values):
    if categorical is not None:
        ax.set_xticks(range(len(categorical)))
        ax.set_xticklabels([fmt_value(v) for v in categorical])
        ax.set_xlim(-0.5, len(categorical) - 0.5)
        return
    xs = sorted({float(v) for v in x_values})
    if log_x_wanted(key, xs):
        ax.set_xscale("log")
        if len(xs) <= 8:  # the values themselves, labelled (a decade or less gets labels too)
            ax.set_xticks(xs)
            ax.set_xticklabels([fmt_value(v) for v in xs])
            style.quiet_minor_labels(ax.xaxis)
        span = math.sqrt(xs[-1] / xs[0]) ** 0.12 if xs[-1] > xs[0] else 1.5
        ax.set_xlim(xs[0] / span, xs[-1] * span)
        return
    if all(v.is_integer() for v in xs) and len(xs) <= 20:
        ax.set_xticks(xs)
        ax.set_xticklabels([fmt_value(int(v)) for v in xs])
    pad = 0.07 * (xs[-1] - xs[0]) if xs[-1] > xs[0] else 0.5
    ax.set_xlim(xs[0] - pad, xs[-1] + pad)


def key_handles(named_series, has_ode, formulas, opts, stat):
    """The key legend: what SGD's markers and bars, the ODE's open markers and each theory
    formula's dashes are (in grey: the colours name the series)."""
    handles = []
    values = [s for _, s in named_series if np.isfinite(s["value"]).any()]
    if values:
        has_bars = any(np.isfinite(s["lo"]).any() for s in values)
        label = sgd_key_label(stat, opts.error_bars, has_bars, opts.at_end)
        marker = Line2D([], [], color=GREY, marker="o", linestyle="none")
        bars = [LineCollection([], colors=GREY)] if has_bars else []
        handles.append(ErrorbarContainer((marker, [], bars), has_yerr=has_bars, label=label))
    if any(s["seeds"] for _, s in named_series):
        handles.append(Line2D([], [], color=GREY, marker="o", markersize=style.ms(3), alpha=0.45,
                              linestyle="none", label="one seed"))
    if has_ode:
        handles.append(Line2D([], [], color=GREY, marker="o", markerfacecolor="white",
                              label="ODE" + (" (tail average)" if opts.at_end == "tail" else "")))
    for i, (formula, exact) in enumerate(formulas.items()):
        handles.append(Line2D([], [], color=GREY,
                              linestyle=THEORY_STYLES[i % len(THEORY_STYLES)],
                              label=theory_label(formula, exact, "")))
    return handles


def add_legends(fig, ax, series_handles, keys):
    """The key above the axes (gid "key": the axes' own legend, which the layout makes
    room for), the series inside them (gid "series")."""
    if series_handles:
        legend = style.place_legend(fig, ax, series_handles,
                                    [h.get_label() for h in series_handles], gid="series")
        if keys:
            ax.legend_ = None
            ax.add_artist(legend)
    if keys:
        labels = [k.get_label() for k in keys]
        size = style.fs(7.5)
        # columns as wide as the longest entry (about 0.55 em a character, a 3.5 em handle)
        column_in = (0.55 * max(style.visible_len(l) for l in labels) + 5.5) * size / 72
        ncol = max(1, min(len(keys), 2, int(0.95 * fig.get_size_inches()[0] / column_in)))
        legend = ax.legend(keys, labels, loc="lower center",
                           bbox_to_anchor=(0.5, 1.01), ncol=ncol, fontsize=size,
                           frameon=False, borderaxespad=0.2, handlelength=3.5)
        legend.set_gid("key")


def draw_final_figure(named_series, key, categorical, opts, stat):
    """The figure of a final-eps_g plot, axes and legends done; returns (figure, notes
    for the footer)."""
    series_list = [s for _, s in named_series]
    x_values = [x for s in series_list for x in s["x"]]
    ys = _positive_values(series_list)
    log_y = bool(ys) and max(ys) / min(ys) > 30
    fig, ax = plt.subplots(figsize=style.figsize(7.5, 5.6))
    if log_y:
        ax.set_yscale("log")
    open_bars, series_handles = draw_final(ax, named_series, categorical, log_y)
    _set_x_axis(ax, key, categorical, x_values)
    if not log_y and all(not (lo < 0) for s in series_list for lo in s["lo"]):
        ax.set_ylim(bottom=0)
    _draw_open_bars(ax, open_bars)
    points = [p for s in series_list for p in s["points"]]
    verdicts = [v for s in series_list for v in s["settled"]]
    settled = bool(verdicts) and all(v is True for v in verdicts)
    ax.set_xlabel(axis_label(key))
    ax.set_ylabel(end_label(points, opts.at_end, opts.over_sigma2, settled))
    ax.grid(True, alpha=0.3)
    style.label_short_log_axes(ax)
    has_ode = any(np.isfinite(s["ode"]).any() for s in series_list)
    add_legends(fig, ax, series_handles,
                key_handles(named_series, has_ode, _formulas(series_list), opts, stat))
    tests = {"ode" if np.isfinite(o) else "sgd" for s in series_list for o in s["ode"]}
    notes = [settled_note(verdicts, tests)]
    if open_bars:
        notes.append("\u25bc: the interval reaches 0 (lower bar drawn to the axis)")
    return fig, notes


def eg_final_figure(res, key, opts):
    """The finished figure of NAME_eg_final (the tests read its artists)."""
    series = final_series(res, key, opts)
    x_values = [x for s in series for x in s["x"]]
    categorical = categorical_values(x_values) if key else sorted(set(x_values))
    fig, notes = draw_final_figure([(s["label"], s) for s in series], key, categorical, opts,
                                   res.stat)
    title = f"{res.name}: generalisation error at the end of training"
    footer = "; ".join([describe_fixed(res, set(res.swept) | {key})] + notes)
    style.finish_layout(fig, title, footer)
    return fig


def plot_eg_final(res, key, opts, out_dir):
    return style.save(eg_final_figure(res, key, opts), out_dir, f"{res.name}_eg_final")
