"""The look shared by every figure: matplotlib's Agg backend, resolution, colours,
fonts and sizes (--style, --size), title and footer layout, legends, log-axis tick
labels and saving (--format)."""

import math
import os
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)
import numpy as np  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter  # noqa: E402

# --style: "default" (a screen figure with title and footer) or "paper" (one column of a
# two-column paper: 3.4 in wide, 8 pt text, no title: the caption says it).
STYLES = ("default", "paper")
FORMATS = ("png", "pdf", "svg")
PAPER_WIDTH = 3.4  # in: one column (a figure of several panels gets two: 7 in)
PAPER_FONT_SCALE = 0.8  # 10 pt -> 8 pt
_settings = {"style": "default", "size": None, "format": "png"}


def configure(style="default", size=None, fmt="png"):
    """Chooses the style, an explicit figure size (W, H in inches) and the file format."""
    _settings.update(style=style, size=tuple(size) if size else None, format=fmt)
    plt.rcdefaults()
    if style == "paper":
        plt.rcParams.update({"font.size": 8, "axes.labelsize": 8, "xtick.labelsize": 7,
                             "ytick.labelsize": 7, "legend.fontsize": 6.5, "lines.linewidth": 1.0,
                             "lines.markersize": 4, "errorbar.capsize": 2, "savefig.dpi": 300,
                             "font.family": "serif", "mathtext.fontset": "dejavuserif"})


def paper():
    return _settings["style"] == "paper"


def fs(points):
    """A font size of the default style, scaled for the chosen one."""
    return points * (PAPER_FONT_SCALE if paper() else 1.0)


def ms(points):
    """A marker size or line width of the default style, scaled for the chosen one."""
    return points * (0.6 if paper() else 1.0)


def fixed_size():
    """True when the figure's size is given (--size or --style paper): legends stay inside."""
    return paper() or _settings["size"] is not None


def figsize(width, height):
    """The size of a figure drawn at (width, height) in the default style."""
    if _settings["size"]:
        return _settings["size"]
    if paper():
        target = PAPER_WIDTH if width <= 8.5 else 2 * PAPER_WIDTH + 0.2
        return target, height * target / width * 1.3  # room for the key and the footer
    return width, height


def colours(n):
    if n <= 10:
        cmap = plt.get_cmap("tab10")
        return [cmap(i) for i in range(n)]
    cmap = plt.get_cmap("viridis")
    return [cmap(x) for x in np.linspace(0.0, 0.92, n)]


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


def finish_layout(fig, title, footer, title_size=12, tight=True):
    """Title on top (not in the paper style), the wrapped footer (fixed parameters) at the
    bottom, tight axes between."""
    width_in, height_in = fig.get_size_inches()
    scale = PAPER_FONT_SCALE if paper() else 1.0
    footer_size = 6 if paper() else 8
    title = "" if paper() else wrap(title, int(width_in * 11))
    footer = wrap(footer, int(width_in * 15 * 8 / footer_size))
    if title:
        fig.suptitle(title, fontsize=title_size)
    fig.text(0.5, 0.01, footer, ha="center", va="bottom", fontsize=footer_size, color="0.25")
    top_in = (0.25 + 0.24 * (title.count("\n") + 1)) * scale if title else 0.1
    bottom_in = (0.12 + 0.15 * (footer.count("\n") + 1)) * footer_size / 8
    if tight:
        # tight_layout makes room for the suptitle itself (matplotlib >= 3.3)
        fig.tight_layout(rect=(0, bottom_in / height_in, 1, 1), pad=0.6 if paper() else 1.08)
    else:  # colour-bar axes: place the grid by hand, leaving room for tick labels
        fig.subplots_adjust(left=0.9 * scale / width_in, right=1 - 0.8 * scale / width_in,
                            bottom=(bottom_in + 0.55 * scale) / height_in,
                            top=1 - (top_in + 0.35 * scale) / height_in)


def place_legend(fig, ax, handles, labels, gid=None, **kwargs):
    """Inside the axes when short or the size is fixed; to the right of them (the figure
    widened) when long."""
    kwargs.setdefault("fontsize", fs(8))
    if len(handles) <= 6 or fixed_size():
        legend = ax.legend(handles, labels, loc="best", framealpha=0.85, **kwargs)
    else:
        width, height = fig.get_size_inches()
        longest = max(visible_len(l) for l in labels)
        fig.set_size_inches(width + min(6.0, 0.6 + 0.062 * longest), height)
        legend = ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.02, 1.0),
                           framealpha=0.85, borderaxespad=0.0, **kwargs)
    legend.set_gid(gid)
    return legend


def _log_minor_label(value, _pos):
    """A minor tick's label on a short log axis: 2, 3 and 5 times a power of ten."""
    mantissa = value / 10 ** math.floor(math.log10(value) + 1e-9)
    return f"{value:g}" if round(mantissa) in (2, 3, 5) and abs(mantissa - round(mantissa)) < 1e-6 \
        else ""


def label_short_log_axes(ax):
    """A log axis spanning less than ~1.3 decades shows at most one power of ten: label its
    minor ticks at 2, 3 and 5 too (call once the limits are final)."""
    for axis, limits, scale in ((ax.xaxis, ax.get_xlim(), ax.get_xscale()),
                                (ax.yaxis, ax.get_ylim(), ax.get_yscale())):
        lo, hi = sorted(limits)
        if scale != "log" or lo <= 0 or math.log10(hi / lo) > 1.3:
            continue
        axis.set_minor_locator(LogLocator(base=10, subs=np.arange(2, 10)))
        axis.set_minor_formatter(FuncFormatter(_log_minor_label))
        axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))  # 0.001 beside 0.002


def quiet_minor_labels(axis):
    """No labels on the minor ticks of a log axis whose major ticks are labelled by hand."""
    axis.set_minor_formatter(NullFormatter())


def save(fig, out_dir, stem):
    """Writes the figure as out_dir/stem.FORMAT (--format), closes it, returns the path."""
    path = os.path.join(out_dir, f"{stem}.{_settings['format']}")
    fig.savefig(path, dpi=300 if paper() else 100)
    plt.close(fig)
    return path
