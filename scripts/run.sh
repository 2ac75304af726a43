#!/usr/bin/env bash
# The quick start: installs what is missing, builds tsgd, runs
# configs/quickstart.json (SGD on the GPU if there is one, else the CPU, plus
# the ODEs), and says where the results are. tsgd prints the summary table.
# Arguments go to `tsgd run`, e.g. --backend cpu, --threads 4, --output DIR,
# --force; they are read from the repository root, where tsgd runs.
#
#   TSGD_CONFIG=FILE          another configuration (default: configs/quickstart.json)
#   TSGD_BUILD_DIR, TSGD_CMAKE_ARGS and TSGD_NO_SETUP as for scripts/build.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

config=${TSGD_CONFIG:-configs/quickstart.json}
build_dir=${TSGD_BUILD_DIR:-build}

bash scripts/build.sh --target tsgd

status=0
"$build_dir/tsgd" run "$config" "$@" || status=$?
if ((status != 0)); then
  exit "$status"
fi
for arg in "$@"; do
  case "$arg" in -h | --help) exit 0 ;; esac
done

# Where tsgd wrote: --output/-o if given, else the config's "output", else
# results/<name> (the rule in host/experiment/config.cpp).
output=
previous=
for arg in "$@"; do
  case "$previous" in --output | -o) output=$arg ;; esac
  case "$arg" in --output=*) output=${arg#--output=} ;; esac
  previous=$arg
done
if [[ -z "$output" ]]; then
  output=$(/usr/bin/python3 -c '
import json, sys
config = json.load(open(sys.argv[1]))
print(config.get("output") or "results/" + config["name"])' "$config" 2>/dev/null || true)
fi
if [[ -n "$output" ]]; then
  [[ "$output" == /* ]] || output="$PWD/$output"
  # tsgd has printed the results directory; add how to draw them.
  if [[ -f scripts/plot.py ]]; then
    echo "Figures: /usr/bin/python3 scripts/plot.py $output"
  fi
fi
