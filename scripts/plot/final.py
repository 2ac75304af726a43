"""NAME_eg_final.png: the final eps_g against the primary swept parameter: SGD's mean
(or median, or geometric mean: --stat) with error bars, the ODE's final value and the closed-form theory of summary.json.
Its series, drawing and axes serve compare_eg_final.png too (compare.py)."""

import math

import numpy as np

from . import style
from .grid import categorical_values, group_points, positions, x_value
from .labels import (at_final_alpha, axis_label, describe_fixed, fmt_value, sgd_label, tagged,
                     theory_label)
from .results import all_runs_diverged, eg_final_bars, ode_eg_final, theory_entries
from .style import plt

MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
THEORY_STYLES = ["--", ":", "-.", (0, (5, 1, 1, 1))]


def _num(v, scale):
    return math.nan if v is None else float(v) * scale


def final_series(res, key, over_sigma2, error_bars="ci95"):
    """Per group: x values, SGD (mean, lo, hi), ODE, theory {formula: (x, y, exact)}, notes."""
    series = []
    for label, pts in group_points(res, key):
        xs, mean, lo, hi, ode, diverged_x = [], [], [], [], [], []
        theory = {}
        for p in pts:
            x = x_value(res, p, key)
            scale = 1.0
            if over_sigma2:
                s = p["params"].get("sigma", 0.0)
                scale = 1.0 / (s * s) if s else math.nan
            xs.append(x)
            for column, v in zip((mean, lo, hi), eg_final_bars(p, error_bars, res.stat)):
                column.append(_num(v, scale))
            ode.append(_num(ode_eg_final(p), scale))
            if all_runs_diverged(p):
                diverged_x.append(x)
            for formula, eg, exact in theory_entries(p):
                entry = theory.setdefault(formula, ([], [], exact))
                entry[0].append(x)
                entry[1].append(eg * scale)
        series.append(dict(label=label, x=xs, mean=np.array(mean), lo=np.array(lo),
                           hi=np.array(hi), ode=np.array(ode), theory=theory,
                           diverged_x=diverged_x, stat=res.stat))
    return series


def _draw_sgd(ax, x, s, name, c, marker, error_bars):
    m = s["mean"]
    ok = np.isfinite(m)
    if not ok.any():
        return []
    lo = np.where(np.isfinite(s["lo"]), np.clip(s["lo"], 0.0, None), m)
    hi = np.where(np.isfinite(s["hi"]), s["hi"], m)
    yerr = np.vstack([np.clip(m - lo, 0, None), np.clip(hi - m, 0, None)])[:, ok]
    ax.errorbar(x[ok], m[ok], yerr=yerr, color=c, marker=marker,
                linestyle="none", markersize=6, capsize=3, zorder=4,
                label=sgd_label(name, np.isfinite(s["lo"][ok]).any(), error_bars,
                                s.get("stat", "mean")))
    return list(m[ok]) + list(lo[ok][lo[ok] > 0]) + list(hi[ok])


def _draw_ode(ax, x, s, name, c, marker):
    o = s["ode"]
    if not np.isfinite(o).any():
        return []
    ook = np.isfinite(o)
    ax.plot(x[ook], o[ook], color=c, linewidth=1.4, marker=marker,
            markerfacecolor="white", markersize=9, zorder=3, label=tagged("ODE", name))
    return list(o[ook])


def _draw_theory(ax, s, name, c, categorical):
    ys = []
    for j, (formula, (tx, ty, exact)) in enumerate(sorted(s["theory"].items())):
        tpos = np.array(positions(tx, categorical), dtype=float)
        ty = np.array(ty, dtype=float)
        # The log axis shows no zero (e.g. eq. (10) at sigma = 0): no legend entry for nothing.
        shown = ty > 0
        if not shown.any():
            continue
        order = np.argsort(tpos[shown])
        # a short horizontal tick at each value, so that a single point shows too
        ax.plot(tpos[shown][order], ty[shown][order], color=c, marker="_", markersize=16,
                linestyle=THEORY_STYLES[j % len(THEORY_STYLES)], linewidth=1.3,
                label=theory_label(formula, exact, name))
        ys.extend(ty[shown])
    return ys


def draw_final(ax, series_list, categorical, error_bars="ci95"):
    """Draws SGD points with error bars, the ODE and the theory; returns the y values."""
    ys = []
    cols = style.colours(max(1, len(series_list)))
    for i, (name, s) in enumerate(series_list):
        c = cols[i]
        marker = MARKERS[i % len(MARKERS)]
        x = np.array(positions(s["x"], categorical), dtype=float)
        ys.extend(_draw_sgd(ax, x, s, name, c, marker, error_bars))
        ys.extend(_draw_ode(ax, x, s, name, c, marker))
        ys.extend(_draw_theory(ax, s, name, c, categorical))
        for xd in s["diverged_x"]:
            ax.annotate("all runs\ndiverged", xy=(positions([xd], categorical)[0], 0.02),
                        xycoords=("data", "axes fraction"), ha="center", fontsize=7, color=c)
    return [y for y in ys if np.isfinite(y)]


def _set_x_axis(ax, categorical, x_values):
    if categorical is not None:
        ax.set_xticks(range(len(categorical)))
        ax.set_xticklabels([fmt_value(v) for v in categorical])
        ax.set_xlim(-0.5, len(categorical) - 0.5)
        return
    xs = sorted({float(v) for v in x_values})
    if len(xs) > 2 and xs[0] > 0 and xs[-1] / xs[0] > 50:
        ax.set_xscale("log")
    if all(float(v).is_integer() for v in xs) and len(xs) <= 20:
        ax.set_xticks(xs)
        ax.set_xticklabels([fmt_value(int(v)) for v in xs])
    if ax.get_xscale() == "linear":
        pad = 0.07 * (xs[-1] - xs[0]) if xs[-1] > xs[0] else 0.5
        ax.set_xlim(xs[0] - pad, xs[-1] + pad)


def set_final_axes(ax, ys, key, categorical, over_sigma2, x_values):
    positive = [y for y in ys if y > 0]
    if positive and max(positive) / min(positive) > 30:
        ax.set_yscale("log")
    else:
        ax.set_ylim(bottom=0)
    _set_x_axis(ax, categorical, x_values)
    ax.set_xlabel(axis_label(key))
    ax.set_ylabel(r"final $\epsilon_g^*/\sigma^2$" if over_sigma2 else r"final $\epsilon_g^*$")
    ax.grid(True, alpha=0.3)


def draw_final_figure(series_list, key, categorical, over_sigma2, error_bars):
    """The figure of a final-eps_g plot, axes and legend done, title and footer to come."""
    x_values = [x for _, s in series_list for x in s["x"]]
    fig, ax = plt.subplots(figsize=(7.5, 5.6))
    ys = draw_final(ax, series_list, categorical, error_bars)
    set_final_axes(ax, ys, key, categorical, over_sigma2, x_values)
    style.place_legend(fig, ax)
    return fig


def plot_eg_final(res, key, over_sigma2, error_bars, out_dir):
    series = final_series(res, key, over_sigma2, error_bars)
    x_values = [x for s in series for x in s["x"]]
    categorical = categorical_values(x_values) if key else sorted(set(x_values))
    fig = draw_final_figure([(s["label"], s) for s in series], key, categorical, over_sigma2,
                            error_bars)
    # One alpha for all points, or (alpha swept) each point at its own end.
    title = f"{res.name}: final generalisation error" + at_final_alpha(res.points)
    style.finish_layout(fig, title, describe_fixed(res, set(res.swept) | {key}))
    return style.save(fig, out_dir, f"{res.name}_eg_final.png")
