"""The grid points of a results directory as the figures see them: the primary swept
parameter (the x-axis or the colour), the groups of points drawn together (panels,
series) and the x position of a parameter value."""

import json

from .labels import fmt_param
from .results import UsageError


def sort_key(v):
    return (0, float(v), "") if isinstance(v, (int, float)) and not isinstance(v, bool) else (1, 0.0, str(v))


def primary_key(res, requested):
    """--x when given (checked), else K when swept, else the swept key with most values."""
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


def x_value(res, point, key):
    """The point's value of key (its number when nothing is swept)."""
    return res.param(point, key) if key else point["point_id"]


def group_points(res, key):
    """Groups of points sharing every swept parameter but `key` and those paired with it
    by zip (they vary along the same axis): [(label, [points])]."""
    paired = res.paired_with(key) if key else set()
    others = [k for k in res.swept if k != key and k not in paired and
              not (key == "L" and k in ("K", "M") and sum(s in ("K", "M") for s in res.swept) < 2)]
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


def categorical_values(values):
    """None when the values are numbers (a numeric axis), else their sorted list."""
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return None
    return sorted(set(values), key=sort_key)


def positions(values, categorical):
    """x positions for parameter values: the values, or category indices."""
    return [categorical.index(v) if categorical is not None else v for v in values]
