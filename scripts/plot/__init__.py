"""The figures of scripts/plot.py, one module per kind (the command line is scripts/plot.py).

    options    what the command line chose (Options), handed to every figure
    results    reading a tsgd results directory (summary.json, curves.csv, runs.csv, *.jsonl),
               --where, the convergence test behind eps_g*
    style      figure constants, colours, --style / --size / --format, layout, legends, saving
    labels     how parameters, points, series, axes and fixed parameters are written
    grid       the primary swept parameter, panels (groups of points), x positions
    eg_alpha   NAME_eg_alpha: eps_g(alpha) curves
    final      NAME_eg_final: eps_g at the end of training against the swept parameter
    compare    compare_eg_final: the same for several directories
    overlaps   NAME_overlaps_*: heat maps of Q, R (and v) of one run

Each figure has a *_figure function returning the finished matplotlib Figure (the tests
read its artists) and a plot_* function that saves it.
"""
