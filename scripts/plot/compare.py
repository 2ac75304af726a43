"""compare_eg_final.png: the final eps_g of several results directories on one set of
axes (e.g. the erf, linear and ReLU committee machines of fig. 2a)."""

from . import style
from .final import draw_final_figure, final_series
from .grid import categorical_values, primary_key
from .labels import ACTIVATIONS, at_final_alpha, describe_fixed


def shared_footer(results, key):
    """The footer names only what all the experiments share."""
    differing = {k for k, v in results[0].points[0]["params"].items()
                 if any(r.points[0]["params"].get(k) != v for r in results[1:])}
    exclude = differing | {key} | {k for r in results for k in r.swept}
    if any(a in differing for a in ACTIVATIONS):
        exclude |= set(ACTIVATIONS)
    seeds = {r.seeds for r in results}
    return describe_fixed(results[0], exclude, show_seeds=len(seeds) == 1)


def plot_compare(results, labels, key_request, over_sigma2, error_bars, out_dir):
    series_list = []
    key_used = None
    for res, tag in zip(results, labels):
        key = primary_key(res, key_request)
        key_used = key_used or key
        for s in final_series(res, key, over_sigma2, error_bars):
            series_list.append((tag + (f", {s['label']}" if s["label"] else ""), s))
    categorical = categorical_values([x for _, s in series_list for x in s["x"]])
    fig = draw_final_figure(series_list, key_used, categorical, over_sigma2, error_bars)
    title = ("final generalisation error" + at_final_alpha([p for r in results for p in r.points])
             + ": " + ", ".join(labels))
    style.finish_layout(fig, title, shared_footer(results, key_used), title_size=11)
    return style.save(fig, out_dir, "compare_eg_final.png")
