"""The figures of scripts/plot.py, one module per kind (the command line is scripts/plot.py).

    results    reading a tsgd results directory (summary.json, curves.csv, *.jsonl)
    style      figure constants, colours, layout, legends, saving
    labels     how parameters, points, series and fixed parameters are written
    grid       the primary swept parameter, panels (groups of points), x positions
    eg_alpha   NAME_eg_alpha.png: eps_g(alpha) curves
    final      NAME_eg_final.png: the final eps_g against the swept parameter
    compare    compare_eg_final.png: the final eps_g of several directories
    overlaps   NAME_overlaps_*.png: heat maps of Q, R (and v) of one run
"""
