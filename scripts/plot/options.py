"""What the command line chose for the figures (scripts/plot.py builds it; the tests build
their own): one object handed to every figure."""

from dataclasses import dataclass, field


@dataclass
class Options:
    x: str = None             # --x: the primary parameter (None: K when swept, ...)
    over_sigma2: bool = False  # --over-sigma2: the final errors divided by sigma^2
    error_bars: str = "ci95"  # --error-bars: ci95, std or sem (of the mean)
    stat: str = "mean"        # --stat: mean, median or gmean over seeds
    at_end: str = "final"     # --at-end: eps_g at the last record (final) or eg_tail (tail)
    runs: bool = False        # --runs: every seed's eps_g(alpha) behind the statistic
    ylim: tuple = None        # --ylim: y-range of the eps_g(alpha) panels
    where: dict = field(default_factory=dict)  # --where: {key: [values]} of the points drawn
