"""NAME_errors_final.{png,pdf,svg}, for a finite training set (data.train_size): the
generalisation error eps_g (left) and the training error eps_t (right) at the end of
training against the primary swept parameter, one colour and marker per series as in
NAME_eg_final, error bars as --error-bars says. The right panel draws the label noise's
floor sigma^2/2 (dashed): a training error below it is the student fitting the noise,
which a generalisation error above the online value goes with (overfitting). Not with
labels from files (data.inputs.labels): those are no teacher's outputs plus noise."""

import numpy as np

from . import style
from .final import _set_x_axis, draw_final, final_series
from .grid import categorical_values
from .labels import axis_label, describe_fixed, fmt_value
from .results import _mean_bars
from .style import plt


def has_training_error(res):
    """Whether any point has a final training error (summary.json's et_final)."""
    return any((p.get("et_final") or {}).get("mean") is not None for p in res.points)


def _training_series(eg_series, opts):
    """The series of eg_series with the final training error in place of eps_g: no ODE,
    theory or seeds (neither exists for eps_t)."""
    out = []
    for s in eg_series:
        t = dict(s, theory={}, seeds=[], diverged_x=[])
        values = [_mean_bars(p.get("et_final") or {}, opts.error_bars) for p in s["points"]]
        for i, name in enumerate(("value", "lo", "hi")):
            t[name] = np.array([np.nan if v[i] is None else v[i] for v in values], dtype=float)
        t["ode"] = np.full(len(values), np.nan)
        out.append(t)
    return out


def _log_wanted(series_list):
    ys = [y for s in series_list for y in (*s["value"], *s["hi"]) if np.isfinite(y) and y > 0]
    return bool(ys) and max(ys) / min(ys) > 30


def _floor(et, sigmas, log_y):
    """The bottom of a log eps_t axis: 1e-4 sigma^2/2 when some value lies below it (else
    None: the data's own range)."""
    positive = [x for x in sigmas if x > 0]
    if not log_y or not positive:
        return None
    floor = 1e-4 * min(positive) ** 2 / 2
    values = [v for s in et for v in s["value"] if np.isfinite(v)]
    return floor if values and min(values) < floor else None


def errors_final_figure(res, key, opts):
    """The finished figure (the tests read its artists): two axes, eps_g and eps_t."""
    eg = final_series(res, key, opts)
    et = _training_series(eg, opts)
    x_values = [x for s in eg for x in s["x"]]
    categorical = categorical_values(x_values) if key else sorted(set(x_values))
    fig, axes = plt.subplots(1, 2, figsize=style.figsize(11, 5), sharex=True)
    handles = []
    for ax, series, name in ((axes[0], eg, r"\epsilon_g"), (axes[1], et, r"\epsilon_t")):
        log_y = _log_wanted(series)
        if log_y:
            ax.set_yscale("log")
        _open, handles = draw_final(ax, [(s["label"], s) for s in series], categorical, log_y)
        _set_x_axis(ax, key, categorical, x_values)
        ax.set_xlabel(axis_label(key))
        alphas = sorted({p.get("alpha_final") for p in res.points} - {None})
        where = r"at $\alpha$ = " + fmt_value(alphas[0]) if len(alphas) == 1 else "at the end"
        ax.set_ylabel(f"${name}$ {where}")
        ax.grid(True, alpha=0.3)
    # The floor holds for a teacher's labels; with the files' class labels (+-1, the
    # points that record class_err) the labels are no function plus noise: none drawn.
    labelled = any(p.get("class_err_final") for p in res.points)
    sigmas = [] if labelled else sorted({res.param(p, "sigma") for p in res.points})
    note = (r"labels from files: no $\sigma^2/2$ floor" if labelled else
            r"dashed: $\sigma^2/2$ (below it the student fits the label noise)")
    for sigma in sigmas:
        if sigma > 0:
            axes[1].axhline(sigma * sigma / 2, color="0.3", linestyle="--", linewidth=1,
                            gid="label_noise")
    floor = _floor(et, sigmas, axes[1].get_yscale() == "log")
    if floor is not None:  # an interpolated training set (eps_t ~ 1e-30) would squash the rest
        axes[1].set_ylim(bottom=floor)
        for s in et:
            low = np.isfinite(s["value"]) & (s["value"] < floor)
            if not low.any():  # (an empty line off the clip would stretch the layout)
                continue
            axes[1].plot(np.array(s["x"], dtype=float)[low] if categorical is None else
                         np.flatnonzero(low), np.full(low.sum(), floor), marker="v",
                         linestyle="none", color="0.2", clip_on=False, gid="below_floor")
        note += "; \u25bc: below " + fmt_value(floor) + " (the training set interpolated)"
    if handles:
        axes[0].legend(handles=handles, fontsize=style.fs(8), loc="best").set_gid("series")
    title = f"{res.name}: generalisation and training error at the end of training"
    footer = describe_fixed(res, set(res.swept) | {key}) + "; right panel: " + note
    style.finish_layout(fig, title, footer)
    return fig


def plot_errors_final(res, key, opts, out_dir):
    return style.save(errors_final_figure(res, key, opts), out_dir, f"{res.name}_errors_final")
