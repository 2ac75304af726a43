"""The look shared by every figure: matplotlib's Agg backend, resolution, colours,
title and footer layout, legends and saving."""

import os
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)
import numpy as np  # noqa: E402

DPI = 100


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
    """Title on top, the wrapped footer (fixed parameters) at the bottom, tight axes between."""
    width_in, height_in = fig.get_size_inches()
    title = wrap(title, int(width_in * 11))
    footer = wrap(footer, int(width_in * 15))
    fig.suptitle(title, fontsize=title_size)
    fig.text(0.5, 0.01, footer, ha="center", va="bottom", fontsize=8, color="0.25")
    top_in = 0.25 + 0.24 * (title.count("\n") + 1)
    bottom_in = 0.12 + 0.15 * (footer.count("\n") + 1)
    if tight:
        # tight_layout makes room for the suptitle itself (matplotlib >= 3.3)
        fig.tight_layout(rect=(0, bottom_in / height_in, 1, 1))
    else:  # colour-bar axes: place the grid by hand, leaving room for tick labels
        fig.subplots_adjust(left=0.9 / width_in, right=1 - 0.8 / width_in,
                            bottom=(bottom_in + 0.55) / height_in,
                            top=1 - (top_in + 0.35) / height_in)


def place_legend(fig, ax, fontsize=8):
    """Inside the axes when short; to the right of them (the figure widened) when long."""
    handles, labels = ax.get_legend_handles_labels()
    if len(handles) <= 6:
        ax.legend(fontsize=fontsize, loc="best", framealpha=0.85)
        return
    width, height = fig.get_size_inches()
    longest = max(len(l) for l in labels)
    extra = min(6.0, 0.6 + 0.062 * longest)
    fig.set_size_inches(width + extra, height)
    ax.legend(fontsize=fontsize, loc="upper left", bbox_to_anchor=(1.02, 1.0), framealpha=0.85,
              borderaxespad=0.0)


def save(fig, out_dir, file_name):
    """Writes the figure as out_dir/file_name, closes it and returns the path."""
    path = os.path.join(out_dir, file_name)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path
