"""Reading a tsgd results directory: summary.json, curves.csv, config.json and the
runs' curves and order parameters: from results.h5 when it is there and h5py is
installed (faster), else from runs.csv, final_order_parameters.jsonl and
order_parameters.jsonl.

Every rule about what the files hold lives here: the errors of a malformed directory
(UsageError, exit status 2), a grid point's parameters, its final eps_g with error
bars, its closed-form theory entries and the runs that diverged.
"""

import csv
import json
import math
import os

import numpy as np

try:
    import h5py
except ImportError:  # the CSV and JSON lines files instead
    h5py = None


class UsageError(Exception):
    """A problem with the command line or the results directory (exit status 2)."""


def read_csv_columns(path):
    """A CSV file as {column: numpy array of float} (empty cells and 'nan' become NaN)."""
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            raise UsageError(f"{path}: empty file (no header)")
        rows = [r for r in reader if r]
    columns = {}
    for i, name in enumerate(header):
        values = []
        for r in rows:
            cell = r[i].strip() if i < len(r) else ""
            try:
                values.append(float(cell) if cell else math.nan)
            except ValueError:
                values.append(math.nan)
        columns[name] = np.array(values, dtype=float)
    return columns


def read_jsonl(path):
    """The records of a JSON-lines file, one at a time (blank lines skipped)."""
    with open(path) as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                yield json.loads(line)
            except ValueError as e:
                raise UsageError(f"{path}:{number}: not JSON ({e})")


def run_of(record):
    """The run (point_id, seed) of an order-parameter record; None for the ODE's records."""
    if record.get("seed") is None or record.get("point_id") is None:
        return None
    return int(record["point_id"]), int(record["seed"])


def as_float_matrix(rows):
    """A JSON list of rows (null for NaN) as a 2-d float array."""
    if rows is None:
        return np.zeros((0, 0))
    return np.array([[math.nan if x is None else float(x) for x in row] for row in rows],
                    dtype=float).reshape(len(rows), -1)


def as_float_vector(values):
    return np.array([math.nan if x is None else float(x) for x in (values or [])], dtype=float)


# ---------------------------------------------------------------------------------------
# One grid point of summary.json


def param(point, key):
    """A parameter of a grid point; "L" is K - M."""
    params = point["params"]
    if key == "L":
        return params["K"] - params["M"]
    return params.get(key)


def runs_of(point):
    """How many SGD runs the point had (0 for `tsgd ode`)."""
    return point.get("runs", 0)


def all_runs_diverged(point):
    """True when the point had runs and none is left in its statistics."""
    return runs_of(point) > 0 and point.get("n", 0) == 0


# --stat: summary.json's eg_final fields and curves.csv's columns (value, lo, hi) of each
# statistic but the mean (whose lo..hi --error-bars chooses).
STAT_FIELDS = {"median": ("median", "q1", "q3"), "gmean": ("gmean", "gmean_lo", "gmean_hi")}


def eg_final_bars(point, error_bars, stat="mean"):
    """(value, lo, hi) of the final eps_g over seeds (None where absent). For the mean,
    lo..hi is the 95% interval for "ci95", else the mean -+ one std or one s.e.m. ("std",
    "sem"); the median has its quartiles, the geometric mean its log-scale interval."""
    e = point.get("eg_final") or {}
    if stat in STAT_FIELDS:
        return tuple(e.get(f) for f in STAT_FIELDS[stat])
    return _mean_bars(e, error_bars)


def _mean_bars(e, error_bars):
    """(mean, lo, hi) of a summary.json interval object: lo..hi its 95% interval for
    "ci95", else the mean -+ one std or one s.e.m."""
    mean = e.get("mean")
    if error_bars == "ci95":
        return mean, e.get("lo"), e.get("hi")
    d = e.get(error_bars)
    if mean is None or d is None:
        return mean, None, None
    return mean, mean - d, mean + d


def eg_tail_bars(point, error_bars):
    """(mean, lo, hi) of eg_tail: each run's eps_g averaged over its records at alpha >=
    alpha_from, then over the runs (only the mean: no quartiles are written for it)."""
    return _mean_bars(point.get("eg_tail") or {}, error_bars)


def ode_eg_final(point):
    """The ODE's final eps_g of the point (None without the ODE)."""
    return (point.get("ode") or {}).get("eg_final")


# --at-end's convergence test: the ODE curve changes by less than this (relative) over the
# last decade of record times.
SETTLED_REL = 0.01


def ode_settled(alpha, ode):
    """True when the ODE curve changed by < 1% over the last decade of records (alpha_final
    / 10 .. alpha_final); None when it cannot tell (no ODE, records too short)."""
    ok = np.isfinite(ode) & (alpha > 0)
    if not ok.any():
        return None
    a, o = alpha[ok], ode[ok]
    earlier = a <= a[-1] / 10 * (1 + 1e-9)
    if not earlier.any() or o[-1] == 0:
        return None
    return bool(abs(o[-1] - o[earlier][-1]) < SETTLED_REL * abs(o[-1]))


def sgd_settled(point):
    """True when the last record's mean and the tail average lie each in the other's 95%
    interval; None without intervals (one seed, no tail)."""
    f, t = point.get("eg_final") or {}, point.get("eg_tail") or {}
    values = [f.get(k) for k in ("mean", "lo", "hi")] + [t.get(k) for k in ("mean", "lo", "hi")]
    if any(v is None for v in values):
        return None
    fm, flo, fhi, tm, tlo, thi = values
    return bool(flo <= tm <= fhi and tlo <= fm <= thi)


def theory_entries(point):
    """The closed forms whose conditions hold at the point (summary.json's "theory"; those
    listed under "theory_skipped" are never drawn): [(formula, eg, exact)]."""
    return [(t["formula"], float(t["eg"]), t.get("exact", False))
            for t in point.get("theory") or [] if t.get("eg") is not None]


def parse_where(text):
    """--where K=3,lr=0.5 as {key: [values]} (a key given twice: either value)."""
    where = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        key = key.strip().split(".")[-1]
        if not sep or not key or not value.strip():
            raise UsageError(f"--where {text}: expected KEY=VALUE[,KEY=VALUE...], got '{part}'")
        where.setdefault(key, []).append(value.strip())
    return where


def matches(value, text):
    """A parameter's value against --where's text: numbers by value, the rest as written."""
    if isinstance(value, bool):
        return text.lower() == str(value).lower()
    if isinstance(value, (int, float)):
        try:
            return math.isclose(float(value), float(text), rel_tol=1e-9, abs_tol=1e-300)
        except ValueError:
            return False
    return str(value) == text


# ---------------------------------------------------------------------------------------
# The directory


class Results:
    """The files of one results directory that the figures need."""

    def __init__(self, directory, stat="mean", where=None):
        self.dir = directory
        self.stat = stat
        self._check_directory()
        self.summary = self._read_summary()
        self.name = self.summary.get("name") or os.path.basename(os.path.normpath(directory))
        self.seeds = self.summary.get("seeds")
        self.points = sorted(self.summary["points"], key=lambda p: p["point_id"])
        self.swept = [k.split(".")[-1] for k in self.summary.get("swept", [])]
        if where:
            self._select(where)
        self.point_by_id = {p["point_id"]: p for p in self.points}
        self._runs = None
        self._h5 = None
        self.curves = read_csv_columns(os.path.join(directory, "curves.csv"))
        for col in ["point_id", "alpha", "n"] + list(self._curve_columns()):
            if col not in self.curves:
                raise UsageError(f"{directory}/curves.csv: no column '{col}'" +
                                 ("" if stat == "mean" else
                                  f" for --stat {stat} (written by tsgd before it had robust "
                                  "statistics: rerun the same command to rewrite the files)"))
        self.has_ode = "eg_ode" in self.curves and np.isfinite(self.curves["eg_ode"]).any()
        self.has_sgd = any(runs_of(p) > 0 for p in self.points)
        self.description, self.zip_groups = self._read_config()

    def _select(self, where):
        """Keeps the points matching --where ({key: [values]}: every key, any of its values);
        a parameter left with one value is no longer swept (the footer names it)."""
        known = set(self.points[0]["params"]) | {"L"}
        for key, values in where.items():
            if key not in known:
                raise UsageError(f"--where {key}: not a parameter of {self.name} (one of: "
                                 f"{', '.join(sorted(known))})")
        self.points = [p for p in self.points
                       if all(any(matches(param(p, k), v) for v in vs) for k, vs in where.items())]
        if not self.points:
            said = ",".join(f"{k}={v}" for k, vs in where.items() for v in vs)
            raise UsageError(f"--where {said}: no grid point of {self.name} matches")
        self.swept = [k for k in self.swept
                      if len({json.dumps(param(p, k)) for p in self.points}) > 1]

    def _check_directory(self):
        required = ["summary.json", "curves.csv"]
        if not os.path.isdir(self.dir):
            raise UsageError(f"{self.dir}: no such directory")
        missing = [f for f in required if not os.path.isfile(os.path.join(self.dir, f))]
        if missing:
            raise UsageError(
                f"{self.dir}: not a tsgd results directory (missing {', '.join(missing)}); "
                "run `tsgd run CONFIG` (or `tsgd ode CONFIG`) to make one")

    def _read_summary(self):
        try:
            with open(os.path.join(self.dir, "summary.json")) as f:
                summary = json.load(f)
        except (OSError, ValueError) as e:
            raise UsageError(f"{self.dir}/summary.json: unreadable ({e})")
        if not isinstance(summary.get("points"), list) or not summary["points"]:
            raise UsageError(f"{self.dir}/summary.json: no grid points")
        return summary

    def _read_config(self):
        """The description and the zip groups (parameter names that advance together)."""
        config_path = os.path.join(self.dir, "config.json")
        if os.path.isfile(config_path):
            try:
                with open(config_path) as f:
                    config = json.load(f)
                groups = [{k.split(".")[-1] for k in g} for g in config.get("zip", [])]
                return config.get("description", ""), groups
            except (OSError, ValueError, AttributeError, TypeError):
                pass
        return "", []

    def paired_with(self, key):
        """The swept parameters that advance together with KEY (zip), KEY not included;
        for L, those paired with K."""
        names = {"K"} if key == "L" else {key}
        out = set()
        for group in self.zip_groups:
            if names & group:
                out |= group
        return out - names

    @property
    def several_seeds(self):
        """True when each point's statistics are over more than one seed."""
        return (self.seeds or 1) > 1

    param = staticmethod(param)

    def _curve_columns(self):
        """curves.csv's (value, lo, hi) columns of the statistic drawn."""
        return tuple("eg_" + f for f in STAT_FIELDS.get(self.stat, ("mean", "lo", "hi")))

    def curve(self, point_id):
        """(alpha, n, value, lo, hi, ode) of one grid point, sorted by alpha: the statistic
        of --stat with its band (mean: 95% interval; median: quartiles; gmean: log interval)."""
        c = self.curves
        sel = c["point_id"] == point_id
        order = np.argsort(c["alpha"][sel])
        ode = c["eg_ode"][sel][order] if "eg_ode" in c else np.full(order.size, math.nan)
        value, lo, hi = (c[col][sel][order] for col in self._curve_columns())
        return (c["alpha"][sel][order], c["n"][sel][order], value, lo, hi, ode)

    def ode_tail(self, point):
        """The ODE curve averaged over the records of the point's eg_tail (alpha >=
        alpha_from), as eg_tail averages each run; None without the ODE."""
        alpha, *_rest, ode = self.curve(point["point_id"])
        if not alpha.size:
            return None
        # tsgd ode writes no eg_tail: its rule, alpha >= alpha_final / 2
        alpha_from = (point.get("eg_tail") or {}).get("alpha_from") or alpha.max() / 2
        keep = np.isfinite(ode) & (alpha >= alpha_from)
        return float(ode[keep].mean()) if keep.any() else None

    def settled(self, point):
        """The convergence test of a point: its ODE curve's (ode_settled) where it has one,
        else SGD's (sgd_settled); None when neither can tell."""
        alpha, *_rest, ode = self.curve(point["point_id"])
        verdict = ode_settled(alpha, ode)
        return verdict if verdict is not None else sgd_settled(point)

    def _h5_point(self, point_id):
        """The group of the point in results.h5, or None without the file or h5py."""
        path = os.path.join(self.dir, "results.h5")
        if h5py is None or not os.path.isfile(path):
            return None
        if self._h5 is None:
            self._h5 = h5py.File(path, "r")
        return self._h5[f"points/{point_id}"]

    def runs_curves(self, point_id):
        """[(seed, alpha, eg)] of every run of the point (results.h5, else runs.csv; sorted)."""
        g = self._h5_point(point_id)
        if g is not None:
            alpha, eg, records = g["alpha"][:], g["eg"][:].astype(float), g["records"][:]
            return [(int(seed), alpha[:n], eg[i, :n])
                    for i, (seed, n) in enumerate(zip(g["seed"][:], records))]
        if self._runs is None:
            path = os.path.join(self.dir, "runs.csv")
            if not os.path.isfile(path):
                raise UsageError(f"--runs: {path} missing")
            self._runs = read_csv_columns(path)
        c = self._runs
        out = []
        sel = c["point_id"] == point_id
        for seed in np.unique(c["seed"][sel]):
            one = sel & (c["seed"] == seed)
            order = np.argsort(c["alpha"][one])
            out.append((int(seed), c["alpha"][one][order], c["eg"][one][order]))
        return out

    def run_end_values(self, point):
        """Each run's eps_g at the last record and averaged over alpha >= eg_tail's
        alpha_from (as eg_tail does), of the runs that did not diverge: (final, tail)."""
        alpha_from = (point.get("eg_tail") or {}).get("alpha_from", math.inf)
        final, tail = [], []
        for _seed, alpha, eg in self.runs_curves(point["point_id"]):
            if eg.size == 0 or not np.isfinite(eg).all() or alpha[-1] < point.get("alpha_final", 0):
                continue  # diverged: stopped early
            final.append(eg[-1])
            if (alpha >= alpha_from).any():
                tail.append(eg[alpha >= alpha_from].mean())
        return np.array(final), np.array(tail)

    def final_order_parameters(self):
        """The records of final_order_parameters.jsonl of the points drawn (an empty list
        if there are none)."""
        path = os.path.join(self.dir, "final_order_parameters.jsonl")
        if not os.path.isfile(path):
            return []
        return [r for r in read_jsonl(path)
                if run_of(r) is None or run_of(r)[0] in self.point_by_id]

    def _h5_records_at(self, runs, alphas):
        """records_at from results.h5 (None without it)."""
        out = {}
        for point_id, seed in runs:
            g = self._h5_point(point_id)
            if g is None:
                return None
            if "Q" not in g:
                raise UsageError("--at: results.h5 holds no order parameters at every record "
                                 "(set record.order_parameters to true)")
            rows = np.flatnonzero(g["seed"][:] == seed)
            out[(point_id, seed)] = []
            if rows.size == 0:
                continue
            i = int(rows[0])
            alpha = g["alpha"][: int(g["records"][i])]
            for target in alphas:
                # distance on a log scale (record times are usually log-spaced)
                j = int(np.argmin(np.abs(np.log((alpha + 1e-12) / target))))
                record = {"point_id": point_id, "seed": seed, "alpha": float(alpha[j]),
                          "eg": float(g["eg"][i, j])}
                for key in ("Q", "R", "T", "v", "vstar"):
                    record[key] = g[key][i, j].astype(float).tolist()
                out[(point_id, seed)].append((record["alpha"], record))
        return out

    def records_at(self, runs, alphas):
        """For each run (point_id, seed): [(alpha, record)], the record nearest to each
        requested alpha (results.h5, else order_parameters.jsonl)."""
        from_h5 = self._h5_records_at(runs, alphas)
        if from_h5 is not None:
            return from_h5
        path = os.path.join(self.dir, "order_parameters.jsonl")
        if not os.path.isfile(path):
            raise UsageError(f"--at: {path} missing (set record.order_parameters and "
                             "record.jsonl to true, or install h5py to read results.h5)")
        wanted = set(runs)
        best = {}  # (run, target) -> (distance, record)
        for r in read_jsonl(path):
            run = run_of(r)
            if run not in wanted:
                continue
            for target in alphas:
                # distance on a log scale (record times are usually log-spaced)
                d = abs(math.log((r["alpha"] + 1e-12) / target))
                if (run, target) not in best or d < best[(run, target)][0]:
                    best[(run, target)] = (d, r)
        return {run: [(best[(run, t)][1]["alpha"], best[(run, t)][1])
                      for t in alphas if (run, t) in best]
                for run in runs}
