#!/bin/bash
# scripts/plot.py end to end: tsgd runs two tiny experiments, plot.py turns them into
# PNG files, and every file it names must exist, be non-empty and start with the PNG
# signature. Covers every module of scripts/plot/: a two-point sweep with the ODE,
# --run and --at, an experiment without the ODE whose second point diverges in every
# run, the comparison of both (with --labels, --x, --over-sigma2, --error-bars), and
# the error exits on a directory that holds no results and on an unknown --x.
# What the figures show (legend entries, scales, labels, bars) and every other option
# (--format, --style, --size, --runs, --where, --at-end) are tested by
# tests/scripts/test_plot_figures.py, which reads the figures' artists.
#
#   tests/test_plot.sh TSGD_BINARY SOURCE_DIR
#
# Exit 0: passed; 1: failed; 77: skipped (/usr/bin/python3 lacks numpy or matplotlib).
set -u

if [ $# -ne 2 ]; then
  echo "usage: $0 TSGD_BINARY SOURCE_DIR" >&2
  exit 1
fi
tsgd=$1
source_dir=$2
python=${TSGD_PLOT_PYTHON:-/usr/bin/python3}  # override only to test the skip
plot="$source_dir/scripts/plot.py"

if ! "$python" -c "import numpy, matplotlib" 2>/dev/null; then
  echo "SKIP: $python lacks numpy or matplotlib (apt-get install python3-numpy python3-matplotlib)"
  exit 77
fi
for f in "$tsgd" "$plot"; do
  [ -e "$f" ] || { echo "FAIL: $f not found" >&2; exit 1; }
done

work=$(mktemp -d) || { echo "FAIL: mktemp" >&2; exit 1; }
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

png_signature=89504e470d0a1a0a
# check_pngs LIST_FILE: every path listed is a non-empty PNG.
check_pngs() {
  local count=0 path
  while IFS= read -r path; do
    [ -n "$path" ] || continue
    count=$((count + 1))
    if [ ! -s "$path" ]; then
      fail "$path missing or empty"
    elif [ "$(head -c 8 "$path" | od -An -tx1 | tr -d ' \n')" != "$png_signature" ]; then
      fail "$path is not a PNG (signature $(head -c 8 "$path" | od -An -tx1))"
    fi
  done <"$1"
  [ "$count" -gt 0 ] || fail "plot.py listed no files in $1"
}
# expect LIST_FILE NAME...: each named file is among those listed.
expect() {
  local list=$1 name
  shift
  for name in "$@"; do
    grep -q "/$name\$" "$list" || fail "plot.py did not write $name (wrote: $(tr '\n' ' ' <"$list"))"
  done
}

# 1. Two grid points (K = 1, 2), two seeds, with the ODE.
cat >"$work/sweep.json" <<'EOF'
{
  "name": "plot_sweep",
  "model": {"teacher_activation": "erf", "student_activation": "erf",
            "N": 50, "M": 1, "K": [1, 2], "train": "first_layer"},
  "training": {"lr": 0.5, "sigma": 0.1, "alpha": 2, "init": "large"},
  "seeds": {"count": 2},
  "record": {"points": 12, "spacing": "log", "alpha_min": 0.05, "order_parameters": true},
  "ode": {"enabled": true}
}
EOF
if ! "$tsgd" run "$work/sweep.json" --output "$work/sweep" --backend cpu --threads 1 --quiet; then
  echo "FAIL: tsgd run sweep.json" >&2
  exit 1
fi
if "$python" "$plot" "$work/sweep" --out "$work/plots" >"$work/sweep.list"; then
  check_pngs "$work/sweep.list"
  expect "$work/sweep.list" plot_sweep_eg_alpha.png plot_sweep_eg_final.png \
    plot_sweep_overlaps_p0_s0.png plot_sweep_overlaps_p1_s0.png
else
  fail "plot.py $work/sweep"
fi
if "$python" "$plot" "$work/sweep" --out "$work/plots_run" --run 1 1 --at 2 >"$work/run.list"; then
  check_pngs "$work/run.list"
  expect "$work/run.list" plot_sweep_overlaps_p1_s1.png plot_sweep_overlaps_p1_s1_a2.png
else
  fail "plot.py --run 1 1 --at 2"
fi

# 2. No ODE; the second point (lr = 5, linear) diverges in every run.
cat >"$work/diverge.json" <<'EOF'
{
  "name": "plot_diverge",
  "model": {"teacher_activation": "linear", "student_activation": "linear",
            "N": 50, "M": 1, "K": 2, "train": "first_layer"},
  "training": {"lr": [0.2, 5.0], "sigma": 0.1, "alpha": 1, "init": "large"},
  "seeds": {"count": 2},
  "record": {"points": 8, "spacing": "log", "alpha_min": 0.05},
  "simulate": {"diverge_eg": 10},
  "ode": {"enabled": false}
}
EOF
if ! "$tsgd" run "$work/diverge.json" --output "$work/diverge" --backend cpu --threads 1 --quiet; then
  echo "FAIL: tsgd run diverge.json" >&2
  exit 1
fi
if ! grep -q '"n": 0' "$work/diverge/summary.json"; then
  fail "diverge.json: expected a point whose runs all diverged (tsgd's divergence rule changed?)"
fi
if "$python" "$plot" "$work/diverge" --out "$work/plots" >"$work/diverge.list"; then
  check_pngs "$work/diverge.list"
  expect "$work/diverge.list" plot_diverge_eg_alpha.png plot_diverge_eg_final.png
else
  fail "plot.py $work/diverge"
fi
# --x K (not swept): one panel per lr, that of lr = 5 with nothing to draw.
if "$python" "$plot" "$work/diverge" --out "$work/plots_k" --x K >"$work/diverge_k.list"; then
  check_pngs "$work/diverge_k.list"
  expect "$work/diverge_k.list" plot_diverge_eg_alpha.png
else
  fail "plot.py $work/diverge --x K (a panel whose runs all diverged)"
fi

# 3. Both experiments on one set of axes (and each on its own).
if "$python" "$plot" "$work/sweep" "$work/diverge" --out "$work/plots_compare" --labels erf linear \
    --x lr --over-sigma2 --error-bars std >"$work/compare.list"; then
  check_pngs "$work/compare.list"
  expect "$work/compare.list" compare_eg_final.png plot_sweep_eg_final.png plot_diverge_eg_final.png
else
  fail "plot.py $work/sweep $work/diverge (comparison)"
fi

# 3b. The robust statistics instead of the mean (--stat): each figure written.
for stat in median gmean; do
  if "$python" "$plot" "$work/sweep" --out "$work/plots_$stat" --stat "$stat" >"$work/$stat.list"; then
    check_pngs "$work/$stat.list"
    expect "$work/$stat.list" plot_sweep_eg_alpha.png plot_sweep_eg_final.png
  else
    fail "plot.py $work/sweep --stat $stat"
  fi
done

# 4. Not a results directory, or an unknown --x: exit status 2 and a message.
mkdir -p "$work/empty"
"$python" "$plot" "$work/empty" >/dev/null 2>"$work/empty.err"
status=$?
if [ "$status" -eq 0 ]; then
  fail "plot.py on an empty directory exited 0"
elif ! grep -q "not a tsgd results directory" "$work/empty.err"; then
  fail "plot.py on an empty directory: unclear message: $(cat "$work/empty.err")"
fi
"$python" "$plot" "$work/sweep" --out "$work/plots_bad" --x no_such_key >/dev/null 2>"$work/badx.err"
status=$?
if [ "$status" -ne 2 ]; then
  fail "plot.py --x no_such_key exited $status, not 2"
elif ! grep -q "not a parameter of plot_sweep" "$work/badx.err"; then
  fail "plot.py --x no_such_key: unclear message: $(cat "$work/badx.err")"
fi

# 5. tsgd run --plot into a directory whose name holds a quote and a space.
odd="$work/it's a dir"
if ! "$tsgd" run "$work/sweep.json" --output "$odd" --backend cpu --threads 1 --quiet --plot 2>"$work/odd.err"; then
  fail "tsgd run --plot --output \"$odd\": $(cat "$work/odd.err")"
elif [ -s "$work/odd.err" ]; then
  fail "tsgd run --plot --output \"$odd\" complained: $(cat "$work/odd.err")"
else
  find "$odd/plots" -name '*.png' >"$work/odd.list" 2>/dev/null
  check_pngs "$work/odd.list"
fi

if [ "$failures" -ne 0 ]; then
  echo "test_plot: $failures failure(s)" >&2
  exit 1
fi
echo "test_plot: passed ($(cat "$work"/*.list | wc -l) PNG files checked)"
