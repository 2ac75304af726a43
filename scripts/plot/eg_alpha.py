"""NAME_eg_alpha.{png,pdf,svg}: eps_g(alpha) on log-log axes, SGD's mean over seeds with
its 95% band and the ODE (with --runs, every seed's curve thin behind them), one colour per
value of the primary swept parameter, one panel per value of the other swept parameters."""

import json
import math
import sys

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from . import style
from .grid import group_points, sort_key
from .labels import STATISTICS, bars_label, describe_fixed, diverged_note, point_label
from .results import runs_of
from .style import plt

MAX_CURVES_PER_PANEL = 8  # beyond this a panel of eps_g(alpha) curves stops reading well
MAX_PANELS = 12


def panels_of(res, key):
    """[(title, points)] of the panels: groups of points, split when too many for one."""
    panels = []
    for label, pts in group_points(res, key):
        for start in range(0, len(pts), MAX_CURVES_PER_PANEL):
            panels.append((label, pts[start:start + MAX_CURVES_PER_PANEL]))
    if len(panels) > MAX_PANELS:
        print(f"plot.py: note: {res.name}: {len(panels)} panels of eps_g(alpha); "
              f"drawing the first {MAX_PANELS}", file=sys.stderr)
        panels = panels[:MAX_PANELS]
    return panels


def colour_of_points(res, key):
    """point -> colour: one per value of the primary parameter, the same in every panel."""
    def value_of(p):
        return json.dumps(res.param(p, key)) if key else str(p["point_id"])

    values = sorted({value_of(p) for p in res.points},
                    key=lambda s: sort_key(json.loads(s)) if key else int(s))
    colour = dict(zip(values, style.colours(len(values))))
    return lambda p: colour[value_of(p)]


def y_floor(curves, ylim):
    """The positive values drawn, and the bottom of the y-axis (where bands are clipped)."""
    y_positive = []
    for alpha, _n, mean, _lo, _hi, ode in curves:
        for y in (mean, ode):
            y_positive.extend(y[(alpha > 0) & np.isfinite(y) & (y > 0)])
    floor = (min(y_positive) / 3.0) if y_positive else 1e-6
    if y_positive:  # below 1e-10 of the largest value only rounding is left (sigma = 0)
        floor = max(floor, 1e-10 * max(y_positive))
    if ylim:
        floor = ylim[0]
    return y_positive, floor


def draw_runs(ax, res, point, c):
    """Every seed's eps_g(alpha) (runs.csv), thin and translucent, behind the statistic."""
    for _seed, alpha, eg in res.runs_curves(point["point_id"]):
        ok = (alpha > 0) & np.isfinite(eg) & (eg > 0)
        if ok.any():
            ax.plot(alpha[ok], eg[ok], color=c, linewidth=0.5 * style.ms(1), alpha=0.3, zorder=1)


def draw_curve(ax, point, name, curve, c, floor):
    """SGD (band and crosses) and the ODE of one point; True when the band was clipped."""
    alpha, _n, mean, lo, hi, ode = curve
    keep = alpha > 0  # log axes: alpha = 0 is not drawn
    a = alpha[keep]
    m = mean[keep]
    ok = np.isfinite(m) & (m > 0)
    clipped = False
    drew_sgd = False
    if ok.any():
        lo_k, hi_k = lo[keep], hi[keep]
        band = ok & np.isfinite(lo_k) & np.isfinite(hi_k)
        if band.any():
            clipped = bool((lo_k[band] <= floor).any())
            ax.fill_between(a, np.clip(lo_k, floor, None), np.clip(hi_k, floor, None),
                            where=band, color=c, alpha=0.15, linewidth=0)
        # Crosses for SGD as in the paper (at most ~40 of them), on a thin line.
        every = max(1, int(math.ceil(ok.sum() / 40)))
        ax.plot(a[ok], m[ok], color=c, linewidth=0.7, marker="x", markevery=every,
                markersize=style.ms(4.5), label=f"{name}", zorder=3)
        drew_sgd = True
    elif runs_of(point) > 0:
        # Every run of this point diverged: say so in the legend.
        ax.plot([], [], color=c, marker="x", linestyle="none", label=name)
    o = ode[keep]
    ook = np.isfinite(o) & (o > 0)
    if ook.any():
        ax.plot(a[ook], o[ook], color=c, linewidth=1.8 * style.ms(1), zorder=2,
                label=None if drew_sgd else f"{name} (ODE)")
    return clipped


def style_keys(res, runs=False):
    """Legend entries saying what a thin line with crosses, a band and a thick line mean."""
    keys = []
    if runs and res.has_sgd:
        keys.append(Line2D([], [], color="0.3", linewidth=0.5, alpha=0.5, label="one seed"))
    if res.has_sgd:
        keys.append(Line2D([], [], color="0.3", marker="x", linewidth=0.7,
                           label="SGD" + (", " + STATISTICS[res.stat] if res.several_seeds
                                          else " (one run)")))
        if res.several_seeds:
            keys.append(Patch(color="0.3", alpha=0.15, label=bars_label(res.stat, "ci95")))
    if res.has_ode:
        keys.append(Line2D([], [], color="0.3", linewidth=1.8, label="ODE"))
    return keys


def draw_panel(ax, res, key, label, pts, colour_of, opts):
    """One panel; returns (whether a band was clipped, the labels of its curves)."""
    ylim = opts.ylim
    curves = [res.curve(p["point_id"]) for p in pts]
    y_positive, floor = y_floor(curves, ylim)
    clipped = False
    for p, curve in zip(pts, curves):
        if opts.runs:
            draw_runs(ax, res, p, colour_of(p))
        name = point_label(res, p, key) + diverged_note(p)
        clipped |= draw_curve(ax, p, name, curve, colour_of(p), floor)
    ax.set_xscale("log")
    ax.set_yscale("log")
    if ylim:
        ax.set_ylim(*ylim)
    elif y_positive:
        ax.set_ylim(bottom=floor)
    if not y_positive:
        # Nothing drawn (every run diverged, no ODE): log axes need limits of their own.
        alpha = np.concatenate([c[0] for c in curves])
        alpha = alpha[alpha > 0]
        if alpha.size:
            ax.set_xlim(alpha.min(), alpha.max())
        if not ylim:
            ax.set_ylim(floor, 1.0)
    ax.set_xlabel(r"$\alpha$ = steps / N")
    ax.set_ylabel(r"$\epsilon_g$")
    ax.grid(True, which="major", alpha=0.3)
    if label:
        ax.set_title(label, fontsize=style.fs(11))
    style.label_short_log_axes(ax)
    handles, labels = ax.get_legend_handles_labels()
    keys = style_keys(res, opts.runs)
    if handles or keys:
        ax.legend(handles + keys, labels + [s.get_label() for s in keys], fontsize=style.fs(8),
                  loc="best", framealpha=0.85)
    return clipped, tuple(labels)


def title_of(res):
    what = []
    if res.has_sgd:
        what.append(f"SGD ({STATISTICS[res.stat].split(' over')[0]}, "
                    f"{bars_label(res.stat, 'ci95')} band)"
                    if res.several_seeds else "SGD (one run per point)")
    if res.has_ode:
        what.append("ODE")
    return f"{res.name}: " + r"$\epsilon_g(\alpha)$" + (f", {' and '.join(what)}" if what else "")


def eg_alpha_figure(res, key, opts):
    """The finished figure of NAME_eg_alpha (the tests read its artists)."""
    panels = panels_of(res, key)
    n = len(panels)
    ncols = min(3, n)
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, squeeze=False,
                             figsize=style.figsize(max(7.5, 5.4 * ncols), 4.3 * nrows + 1.3))
    colour_of = colour_of_points(res, key)
    clipped_any = False
    panel_labels = []
    for ax, (label, pts) in zip(axes.flat, panels):
        clipped, labels = draw_panel(ax, res, key, label, pts, colour_of, opts)
        clipped_any |= clipped
        panel_labels.append(labels)
    # The same curves in every panel (colours are shared): one legend, in the first panel.
    if n > 1 and len(set(panel_labels)) == 1:
        for ax in list(axes.flat)[1:n]:
            if ax.get_legend():
                ax.get_legend().remove()
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    footer = describe_fixed(res, set(res.swept))
    if clipped_any:
        footer += ("; band: lower edge clipped to the axis where the "
                   f"{bars_label(res.stat, 'ci95')} reaches 0")
    style.finish_layout(fig, title_of(res), footer)
    return fig


def plot_eg_alpha(res, key, opts, out_dir):
    return style.save(eg_alpha_figure(res, key, opts), out_dir, f"{res.name}_eg_alpha")
