"""How things are written on the figures: parameter values and names, a grid point's
label, the names of series (SGD, ODE, theory), the error bars, the title's alpha and the
one-line footer of the parameters shared by all grid points."""

import numpy as np

from .results import runs_of

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
    "alpha": r"$\alpha$",
}
# Parameters of the one-line description under a figure's title, in this order.
DESCRIBED = ["teacher_activation", "student_activation", "teacher_init", "train", "N", "M", "K", "lr", "lr2",
             "sigma", "teacher_v", "teacher_v_init", "student_v", "student_v_init", "init", "init_scale", "output_scaling",
             "batch_size", "weight_decay", "alpha"]
ACTIVATIONS = ("teacher_activation", "student_activation")
V_INITS = {"teacher_v_init": "v*", "student_v_init": "v_0"}
# --error-bars: what the bars of the final eps_g show.
ERROR_BARS = {"ci95": "95% interval", "std": "± 1 std over seeds", "sem": "± 1 s.e.m."}
# --stat: the SGD value drawn (over the seeds that did not diverge), and what its band or
# error bars are when it is not the mean (whose bars --error-bars chooses).
STATISTICS = {"mean": "mean over seeds", "median": "median over seeds",
              "gmean": "geometric mean over seeds"}
STAT_BARS = {"median": "quartiles", "gmean": "95% interval of ln eps_g"}


def bars_label(stat, error_bars):
    """What the band or error bars of statistic STAT are."""
    return STAT_BARS.get(stat) or ERROR_BARS[error_bars]


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


def fmt_vector(values, first=8):
    """[a, b, ...] with three significant digits, the first `first` entries."""
    return ("[" + ", ".join(f"{x:.3g}" for x in values[:first])
            + (", ..." if values.size > first else "") + "]")


def axis_label(key):
    """The name of the parameter `key` on an axis (None: points are numbered)."""
    return PRETTY.get(key, key) if key else "grid point"


def point_label(res, point, key):
    """A grid point by its value of `key` (by its number when nothing is swept)."""
    if key is None:
        return f"point {point['point_id']}"
    return fmt_param(key, res.param(point, key))


def diverged_note(point):
    """What a legend adds to a point whose runs diverged (all or some)."""
    nd, runs = point.get("n_diverged", 0), runs_of(point)
    if runs and nd == runs:
        return f": all {runs} runs diverged"
    if runs and nd:
        return f" ({nd}/{runs} diverged)"
    return ""


def tagged(text, name):
    """A series' label: text, then ': name' when the series has a name."""
    return text + (f": {name}" if name else "")


def sgd_label(name, has_bars, error_bars, stat="mean"):
    what = "" if stat == "mean" else f"{STATISTICS[stat].split(' over')[0]}, "
    return tagged("SGD", name) + (f" ({what}{bars_label(stat, error_bars)})" if has_bars
                                  else " (one run: no error bar)")


def theory_label(formula, exact, name):
    """What the entry is: exact, the first order in sigma^2 (eq. (10) and the other
    linear responses, exact in eta), or the leading order in eta (the rest)."""
    if exact:
        order = " (exact)"
    elif formula == "eq. (10)" or "first order in sigma^2" in formula:
        order = " (first order in σ²)" if "first order" not in formula else ""
    else:
        order = " (leading order in η)"
    return tagged(f"theory {formula}" + order, name)


def sgd_key_label(stat, error_bars, has_bars, at_end="final"):
    """The key-legend entry of SGD's markers: the statistic and what its bars are."""
    what = "tail average, " if at_end == "tail" else ""
    if not has_bars:
        return "SGD (one run: no bar)"
    return f"SGD ({what}{STATISTICS[stat].split(' over')[0]}, bars: {bars_label(stat, error_bars)})"


def end_label(points, at_end, over_sigma2, settled):
    """The y label of a final-error figure: what is drawn, honestly. eps_g* (the converged
    error) only when every point passed the convergence test (settled)."""
    name = r"\epsilon_g" + ("^*" if settled else "") + (r"/\sigma^2" if over_sigma2 else "")
    if at_end == "tail":
        starts = sorted({(p.get("eg_tail") or {}).get("alpha_from") for p in points} - {None})
        where = (r"averaged over $\alpha \geq$ " + fmt_value(starts[0]) if len(starts) == 1
                 else "averaged over the second half of training")
    else:
        alphas = sorted({p.get("alpha_final") for p in points} - {None})
        where = (r"at $\alpha$ = " + fmt_value(alphas[0]) if len(alphas) == 1
                 else r"at the last $\alpha$")
    return f"${name}$ ({where})" if settled else f"${name}$ {where}"


def settled_note(verdicts, tests):
    """The footer's sentence on convergence: how many points passed which test."""
    how = []
    if "ode" in tests:
        how.append("ODE changed < 1% over the last decade of " + r"$\alpha$")
    if "sgd" in tests:
        how.append("SGD's last value and tail average in each other's 95% intervals")
    test = " or ".join(how) or "no test possible (no ODE, one seed)"
    passed = sum(v is True for v in verdicts)
    if verdicts and passed == len(verdicts):
        return r"$\epsilon_g^*$: converged at every point (" + test + ")"
    return f"converged ({test}) at {passed} of {len(verdicts)} points only: no " + r"$\epsilon_g^*$"


def at_final_alpha(points):
    """The end of the title of a final-eps_g figure: the alpha at which it is taken."""
    alphas = sorted({p.get("alpha_final") for p in points if p.get("alpha_final")})
    if len(alphas) == 1:
        return " at " + r"$\alpha$" + f" = {fmt_value(alphas[0])}"
    if alphas:
        return " at each point's final " + r"$\alpha$"
    return ""


def omitted(key, value, params):
    """True for a fixed parameter not worth naming: a default, or one without effect."""
    train, init = params.get("train"), params.get("init")
    return ((key == "lr2" and (value == params.get("lr") or train != "both_layers"))
            or (key == "output_scaling" and value == "none")
            or (key == "teacher_init" and value == "gaussian")
            or (key in V_INITS and value == "uniform")
            or (key == "batch_size" and value == 1)
            or (key == "weight_decay" and value == 0)
            or (key == "init_scale" and init not in ("small", "informed", "denoise"))
            or (key == "student_v" and train == "both_layers" and init != "large"))


def describe(key, value):
    if key == "train":
        return "both layers" if value == "both_layers" else "first layer only"
    if key in V_INITS:
        return f"{V_INITS[key]} {value}"
    if key == "init":
        return f"init {value}"
    if key == "teacher_init":
        return f"{value} teacher"
    return fmt_param(key, value).replace(" = ", "=")


def describe_fixed(res, exclude, show_seeds=True):
    """One line naming the parameters shared by all grid points (those not swept)."""
    params = res.points[0]["params"]
    parts = []
    if not any(a in exclude for a in ACTIVATIONS):
        parts.append(f"{params.get('teacher_activation')} teacher, "
                     f"{params.get('student_activation')} student")
    for key in DESCRIBED:
        value = params.get(key)
        if key in exclude or key in ACTIVATIONS or value is None:
            continue
        if not omitted(key, value, params):
            parts.append(describe(key, value))
    if res.seeds and show_seeds:
        parts.append(f"{res.seeds} seed{'s' if res.seeds != 1 else ''}")
    return ", ".join(parts)
