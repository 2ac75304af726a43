#!/usr/bin/python3
"""Figures from a tsgd results directory (matplotlib's Agg backend; PNG, PDF or SVG).

    scripts/plot.py RESULTS_DIR [RESULTS_DIR ...] [--out DIR] [--run POINT_ID SEED]
                    [--at ALPHA ...] [--x KEY] [--where KEY=VALUE,...] [--ylim LO HI]
                    [--over-sigma2] [--stat mean|median|gmean] [--at-end final|tail]
                    [--error-bars ci95|std|sem] [--runs] [--labels LABEL ...]
                    [--format png|pdf|svg] [--style default|paper] [--size W H]

For each results directory (the output of `tsgd run` or `tsgd ode`):

  NAME_eg_alpha.png     eps_g(alpha) on log-log axes: the mean over seeds with its
                        95% interval (eg_lo..eg_hi, the lower edge clipped positive),
                        the ODE (eg_ode) on top (--runs: every seed's curve, thin,
                        behind them); grid points coloured by the primary swept
                        parameter, one panel per value of the other ones.
  NAME_eg_final.png     eps_g at the end of training against the primary swept
                        parameter: SGD with error bars, the ODE and the closed-form
                        theory of summary.json ("theory": only where its conditions
                        hold). One colour and marker per series (one legend entry
                        each); a key above the axes says what markers, bars, lines
                        and dashes are. The y label says what is drawn ("eps_g at
                        alpha = 300", "averaged over alpha >= 150"); eps_g* only when
                        every point converged: its ODE curve changed by < 1% over the
                        last decade of alpha (without the ODE: SGD's last value and
                        tail average lie in each other's 95% intervals). A lower bar
                        reaching 0 on a log axis ends in a triangle on the axis.
                        --runs: each seed's value as a dot beside its point.
  NAME_errors_final.png (a finite training set, data.train_size: summary.json's
                        et_final) eps_g and the training error eps_t at the end of
                        training side by side, series as in eg_final; the eps_t panel
                        draws the label noise's floor sigma^2/2 (dashed).
  NAME_overlaps_pP_sS.png
                        heat maps of the final order parameters Q and R (and v when
                        the second layer is trained) of one run: by default the first
                        seed of every grid point, or the run given by --run.
  NAME_overlaps_pP_sS_aA.png
                        the same at the record time A nearest to each --at ALPHA
                        (from results.h5, else order_parameters.jsonl), as in the insets of fig. 1b.

With several results directories, also compare_eg_final.png: their final eps_g on
one set of axes (e.g. the erf, linear and ReLU committee machines of fig. 2a); the
footer names the parameters all share, each label those that differ.

The primary swept parameter is model.K when it is swept, otherwise the swept key
with the most values; --x chooses another (a key such as lr, or L for K - M). An
axis of learning rates, noise or another scale is logarithmic when its values span
a factor 10 or more; K, M and L are always linear.

Files go to --out (default RESULTS_DIR/plots); their paths are printed, one a line.
Exit status 2, with a message, when a directory is not a tsgd results directory or
an option names what it does not hold.
"""

# The figures are drawn by the package scripts/plot/ (one module per kind of figure);
# this file is its command line.

import argparse
import os
import sys

# The package lies beside this file; Python puts this directory first on sys.path
# unless told not to (python3 -P, PYTHONSAFEPATH).
_HERE = os.path.dirname(os.path.realpath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from plot import style
from plot.compare import plot_compare
from plot.eg_alpha import plot_eg_alpha
from plot.errors_final import has_training_error, plot_errors_final
from plot.final import plot_eg_final
from plot.grid import primary_key
from plot.labels import ERROR_BARS, STATISTICS
from plot.options import Options
from plot.overlaps import choose_runs, plot_overlaps
from plot.results import Results, UsageError, parse_where


def plot_results(res, opts, args, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    key = primary_key(res, opts.x)
    written = [plot_eg_alpha(res, key, opts, out_dir), plot_eg_final(res, key, opts, out_dir)]
    if has_training_error(res):
        written.append(plot_errors_final(res, key, opts, out_dir))
    records = res.final_order_parameters()
    run = tuple(args.run) if args.run else None
    if not records:
        if run is not None:
            raise UsageError(f"--run: {res.dir} has no final order parameters of SGD runs")
        print(f"plot.py: note: {res.name}: no SGD runs (final_order_parameters.jsonl empty "
              "or missing): no overlap maps", file=sys.stderr)
    else:
        chosen = choose_runs(res, records, run)
        for (pid, seed), record in chosen.items():
            written.append(plot_overlaps(res, pid, seed, record, out_dir))
        if args.at:
            for (pid, seed), targets in res.records_at(sorted(chosen), args.at).items():
                for target, record in targets:
                    written.append(plot_overlaps(res, pid, seed, record, out_dir, at=target))
    return written


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="plot.py", description=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", nargs="+", metavar="RESULTS_DIR",
                        help="output directory of `tsgd run` / `tsgd ode`")
    parser.add_argument("--out", metavar="DIR",
                        help="where to write the figures (default: RESULTS_DIR/plots)")
    parser.add_argument("--run", nargs=2, type=int, metavar=("POINT_ID", "SEED"),
                        help="the run whose final Q and R are drawn (default: the first seed "
                             "of every grid point)")
    parser.add_argument("--at", nargs="+", type=float, metavar="ALPHA",
                        help="also draw Q and R of the same runs at the record times nearest "
                             "to these alphas (from results.h5, else order_parameters.jsonl; fig. 1b's insets)")
    parser.add_argument("--x", metavar="KEY",
                        help="the parameter on the x-axis / the colour: a parameter name "
                             "(K, lr, sigma, ...) or L (= K - M); default K when swept")
    parser.add_argument("--ylim", nargs=2, type=float, metavar=("LO", "HI"),
                        help="y-range of the eps_g(alpha) panels (default: from the data, "
                             "at most 10 decades)")
    parser.add_argument("--over-sigma2", action="store_true",
                        help="plot the final eps_g divided by sigma^2 (as in fig. 2a)")
    parser.add_argument("--error-bars", choices=sorted(ERROR_BARS), default="ci95",
                        help="error bars of the final eps_g: 95%% interval (default), one "
                             "standard deviation over seeds (as in fig. 4), or one s.e.m.")
    parser.add_argument("--stat", choices=sorted(STATISTICS), default="mean",
                        help="the SGD value drawn: the mean over seeds (default; error bars "
                             "by --error-bars), the median with its quartiles, or the "
                             "geometric mean with its 95%% interval on the log scale (robust "
                             "to a few runs stuck on the plateau)")
    parser.add_argument("--at-end", choices=("final", "tail"), default="final",
                        help="the value of the final-error figures: eps_g at the last record "
                             "(final, default) or each run's eps_g averaged over the second "
                             "half of training, alpha >= alpha_final/2 (tail: summary.json's "
                             "eg_tail, the mean only; the ODE averaged the same way)")
    parser.add_argument("--runs", action="store_true",
                        help="draw every seed's eps_g(alpha) (runs.csv), thin and translucent, "
                             "behind the statistic, and each seed's end value as a small dot "
                             "beside each point of the final-error figures")
    parser.add_argument("--where", metavar="KEY=VALUE,...",
                        help="draw only the grid points with these values, e.g. K=3,lr=0.5 "
                             "(numbers compared by value; a key given twice: either value)")
    parser.add_argument("--labels", nargs="+", metavar="LABEL",
                        help="names of the results directories in compare_eg_final")
    parser.add_argument("--format", choices=style.FORMATS, default="png",
                        help="file format of every figure (default png)")
    parser.add_argument("--style", choices=style.STYLES, default="default",
                        help="default: a screen figure with title and footer; paper: one "
                             "column of a paper (3.4 in wide, two columns for several panels, "
                             "8 pt serif text, no title, 300 dpi)")
    parser.add_argument("--size", nargs=2, type=float, metavar=("W", "H"),
                        help="every figure's size in inches (legends then stay inside)")
    args = parser.parse_args(argv)
    if args.at_end == "tail" and args.stat != "mean":
        parser.error("--at-end tail: the tail average has the mean only (use --stat mean)")
    if args.size and min(args.size) <= 0:
        parser.error("--size: need W, H > 0")
    if args.ylim and not 0 < args.ylim[0] < args.ylim[1]:
        parser.error("--ylim: need 0 < LO < HI (log axis)")
    if args.at and any(a <= 0 for a in args.at):
        parser.error("--at: alphas must be > 0")
    if args.labels and len(args.labels) != len(args.results):
        parser.error("--labels needs one label per RESULTS_DIR")
    return args


def options_of(args):
    where = parse_where(args.where) if args.where else {}
    return Options(x=args.x, over_sigma2=args.over_sigma2, error_bars=args.error_bars,
                   stat=args.stat, at_end=args.at_end, runs=args.runs, ylim=args.ylim,
                   where=where)


def main(argv):
    args = parse_args(argv)
    style.configure(args.style, args.size, args.format)
    try:
        opts = options_of(args)
        results = [Results(d, args.stat, opts.where) for d in args.results]
        written = []
        for res in results:
            out_dir = args.out or os.path.join(res.dir, "plots")
            written.extend(plot_results(res, opts, args, out_dir))
        if len(results) > 1:
            labels = args.labels or [r.name for r in results]
            out_dir = args.out or os.path.join(results[0].dir, "plots")
            written.append(plot_compare(results, labels, opts, out_dir))
    except UsageError as e:
        print(f"plot.py: error: {e}", file=sys.stderr)
        return 2
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
