"""NAME_overlaps_pP_sS[_aA].png: heat maps of the order parameters Q and R (and v when it
is learned or differs between units) of one run, at its end or at a record time."""

import numpy as np

from . import style
from .labels import describe_fixed, fmt_param, fmt_value, fmt_vector
from .results import UsageError, as_float_matrix, as_float_vector, run_of
from .style import plt

MAX_ANNOTATED_UNITS = 8  # heat-map cells carry their value up to this many rows


def choose_runs(res, records, run):
    """The (point_id, seed) -> record of the runs to draw."""
    by_run = {}
    for r in records:
        if run_of(r) is not None:
            by_run[run_of(r)] = r
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


def colour_limit(*arrays):
    """The largest finite |value| of the arrays (1 when there is none or it is 0)."""
    finite = [np.abs(m[np.isfinite(m)]).max() for m in arrays if m.size and np.isfinite(m).any()]
    vmax = max(finite) if finite else 1.0
    return vmax if vmax > 0 else 1.0


def heat_map(ax, matrix, title, row_label, col_label, vmax):
    im = ax.imshow(matrix, cmap="RdBu_r", vmin=-vmax, vmax=vmax, aspect="equal",
                   interpolation="nearest")
    rows, cols = matrix.shape
    ax.set_title(title, fontsize=style.fs(11))
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
                ax.text(j, i, text, ha="center", va="center", fontsize=5.5 if style.paper() else 8,
                        color="white" if dark else "black")
    return im


def draw_maps(Q, R, v, show_v):
    """The figure: Q, R and their colour bar side by side, then v and its own."""
    vmax = colour_limit(Q, R)
    K = max(Q.shape[0], 1)
    M = R.shape[1] if R.ndim == 2 and R.size else 0
    # Panels side by side, widths proportional to their columns so that cells are square;
    # a narrow column for the colour bar of Q and R after the R panel.
    widths = [K, max(M, 1), 0.35] + ([0.9, 1, 0.35] if show_v else [])
    cell = min(0.55, 4.5 / K)
    fig_w = max(7.5, 1.6 + cell * sum(widths) + 1.3 * (3 if show_v else 2))
    fig_h = max(4.2, 2.4 + cell * K)
    fig = plt.figure(figsize=style.figsize(fig_w, fig_h))
    grid = fig.add_gridspec(1, len(widths), width_ratios=widths, wspace=0.35)
    ax_q, ax_r, ax_cb = (fig.add_subplot(grid[0, i]) for i in range(3))
    # One column of a paper: short titles, the row label once (the panels share it).
    short = style.paper()
    im = heat_map(ax_q, Q, r"$Q_{ik}$" if short else r"$Q_{ik} = w_i \cdot w_k / N$",
                  "student unit i", "student unit k", vmax)
    if M:
        heat_map(ax_r, R, r"$R_{in}$" if short else r"$R_{in} = w_i \cdot w^*_n / N$",
                 "" if short else "student unit i", "teacher unit n", vmax)
    else:
        ax_r.set_visible(False)
    fig.colorbar(im, cax=ax_cb, label="overlap")
    if show_v:
        ax_v, ax_vcb = fig.add_subplot(grid[0, 4]), fig.add_subplot(grid[0, 5])
        fig.add_subplot(grid[0, 3]).set_visible(False)
        im_v = heat_map(ax_v, v.reshape(-1, 1), r"$v_i$", "" if short else "student unit i", "",
                        colour_limit(v))
        ax_v.set_xticks([])
        fig.colorbar(im_v, cax=ax_vcb, label="second-layer weight")
    return fig


def title_of(res, point, seed, record, at):
    status = " (diverged; last record)" if record.get("diverged") else ""
    eg = record.get("eg")
    nbsp = "\u00a0"  # keeps "eps_g = value" on one line when the title wraps
    eg_text = ""
    if isinstance(eg, (int, float)):
        # eps_g is a difference of O(1) terms: below ~1e-13 only rounding is left
        value = f"{nbsp}={nbsp}{eg:.3g}" if abs(eg) >= 1e-13 else f"{nbsp}<{nbsp}1e-13"
        eg_text = ", " + r"$\epsilon_g$" + value
    where = (", ".join(fmt_param(k, res.param(point, k)) for k in res.swept)
             or f"point {point['point_id']}")
    which = "final order parameters" if at is None else "order parameters"
    return (f"{res.name}: {which}, {where}, seed {seed}, "
            + r"$\alpha$" + f" = {fmt_value(record.get('alpha'))}{eg_text}{status}")


def footer_of(res, v, vstar, show_v):
    footer = describe_fixed(res, set(res.swept))
    if vstar.size:
        footer += "; teacher v* = " + fmt_vector(vstar)
        if not show_v:
            footer += ", student v = " + fmt_vector(v)
    return footer


def overlaps_figure(res, point_id, seed, record, at=None):
    """The finished figure of NAME_overlaps_pP_sS[_aA] (the tests read its artists)."""
    point = res.point_by_id.get(point_id, {"params": {}, "point_id": point_id})
    Q = as_float_matrix(record.get("Q"))
    R = as_float_matrix(record.get("R"))
    v = as_float_vector(record.get("v"))
    vstar = as_float_vector(record.get("vstar"))
    params = point.get("params", {})
    # v is worth a panel when it is learned (both layers) or differs between units.
    show_v = v.size > 0 and (params.get("train") == "both_layers" or
                             (np.isfinite(v).all() and np.ptp(v) > 0))
    fig = draw_maps(Q, R, v, show_v)
    title, footer = title_of(res, point, seed, record, at), footer_of(res, v, vstar, show_v)
    if style.paper():  # no title there: the footer says which run and when
        footer = title.split(": ", 1)[-1] + "; " + footer
    style.finish_layout(fig, title, footer, title_size=11, tight=False)
    return fig


def plot_overlaps(res, point_id, seed, record, out_dir, at=None):
    suffix = "" if at is None else f"_a{fmt_value(float(at))}"
    return style.save(overlaps_figure(res, point_id, seed, record, at), out_dir,
                      f"{res.name}_overlaps_p{point_id}_s{seed}{suffix}")
