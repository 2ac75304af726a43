"""compare_eg_final: eps_g at the end of training of several results directories on one
set of axes (e.g. the erf, linear and ReLU committee machines of fig. 2a). The footer
names what all the directories share; each series' label names what differs."""

from . import style
from .final import draw_final_figure, final_series
from .grid import categorical_values, primary_key
from .labels import ACTIVATIONS, describe, describe_fixed, omitted


def differing_keys(results):
    """The parameters fixed within each directory whose values differ between them."""
    swept = {k for r in results for k in r.swept}
    first = results[0].points[0]["params"]
    keys = set(first) | {k for r in results for k in r.points[0]["params"]}
    return sorted(k for k in keys - swept
                  if any(r.points[0]["params"].get(k) != first.get(k) for r in results[1:]))


def shared_footer(results, key):
    """The footer names only what all the experiments share (N, lr, ... when fixed)."""
    differing = set(differing_keys(results))
    exclude = differing | {key} | {k for r in results for k in r.swept}
    if any(a in differing for a in ACTIVATIONS):
        exclude |= set(ACTIVATIONS)
    seeds = {r.seeds for r in results}
    return describe_fixed(results[0], exclude, show_seeds=len(seeds) == 1)


def directory_label(res, tag, differing):
    """TAG and, unless TAG already says them, the directory's values of the parameters
    that differ between the directories."""
    params = res.points[0]["params"]
    parts = []
    if any(a in differing for a in ACTIVATIONS):
        t, s = (params.get(a) for a in ACTIVATIONS)
        parts.append(t if t == s else f"{t} teacher, {s} student")
    parts += [describe(k, params[k]) for k in differing
              if k not in ACTIVATIONS and k in params and not omitted(k, params[k], params)]
    parts = [p for p in parts if p not in tag]
    return tag + (f" ({', '.join(parts)})" if parts else "")


def compare_figure(results, labels, opts):
    """The finished figure of compare_eg_final (the tests read its artists)."""
    differing = differing_keys(results)
    named = []
    key_used = None
    for res, tag in zip(results, labels):
        key = primary_key(res, opts.x)
        key_used = key_used or key
        name = directory_label(res, tag, differing)
        for s in final_series(res, key, opts):
            named.append((name + (f", {s['label']}" if s["label"] else ""), s))
    categorical = categorical_values([x for _, s in named for x in s["x"]])
    stats = {r.stat for r in results}
    fig, notes = draw_final_figure(named, key_used, categorical, opts, stats.pop())
    title = "generalisation error at the end of training: " + ", ".join(labels)
    style.finish_layout(fig, title, "; ".join([shared_footer(results, key_used)] + notes),
                        title_size=11)
    return fig


def plot_compare(results, labels, opts, out_dir):
    return style.save(compare_figure(results, labels, opts), out_dir, "compare_eg_final")
