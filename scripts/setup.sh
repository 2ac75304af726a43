#!/usr/bin/env bash
# Installs the Debian 12 packages tsgd needs to build, test and plot, and
# nothing else: the compiler and build tools, nlohmann-json, CLI11, Eigen,
# GoogleTest (header/source packages) and zlib (gzip-compressed IDX inputs),
# the Debian Python with numpy and matplotlib for scripts/plot.py and the
# checks in scripts/, pandas and h5py for reading the results as the README
# shows (/usr/bin/python3;
# pip is never used, so a pyenv or venv python3 earlier on PATH is left alone),
# clang-format for the formatting check (scripts/check_format.sh), the HDF5
# C library (libhdf5-dev) that writes results.h5, and Fashion-MNIST's IDX files
# (dataset-fashion-mnist, in /usr/share/datasets/fashion-mnist) for real inputs.
#
# Idempotent: checks with dpkg-query first and touches apt only when
# something is missing (then apt-get update + install, noninteractive; sudo
# when not root). CUDA is not installed here: the build uses nvcc when it
# finds one (/usr/local/cuda/bin/nvcc) and builds the CPU engine otherwise.
#
#   scripts/setup.sh             prints what it installed, or "all present"
#   TSGD_SETUP_QUIET=1           print nothing when nothing was missing
#   TSGD_NO_SETUP=1              skip entirely (machines without apt access)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

packages=(cmake g++ make git pkg-config nlohmann-json3-dev libcli11-dev libeigen3-dev
          googletest libgtest-dev zlib1g-dev libhdf5-dev python3 python3-numpy python3-matplotlib
          python3-pandas python3-h5py clang-format dataset-fashion-mnist)

if [[ "${TSGD_NO_SETUP:-}" == 1 ]]; then
  exit 0
fi

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
  echo "setup: no dpkg/apt-get here (not Debian?); install these yourself: ${packages[*]}" >&2
  exit 0
fi

# One dpkg-query for all: "name status" for each package dpkg knows of.
installed=" $(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${packages[@]}" 2>/dev/null |
              awk '$2 == "installed" { printf "%s ", $1 }' || true)"
missing=()
for package in "${packages[@]}"; do
  [[ "$installed" == *" $package "* ]] || missing+=("$package")
done

if ((${#missing[@]} == 0)); then
  [[ "${TSGD_SETUP_QUIET:-}" == 1 ]] || echo "setup: all packages present"
  exit 0
fi

sudo=()
if ((EUID != 0)); then
  if command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
  else
    echo "setup: missing packages: ${missing[*]}; run as root (or install sudo) to install them" >&2
    exit 1
  fi
fi

# apt's output goes to a log, shown only when something fails.
log=$(mktemp "${TMPDIR:-/tmp}/tsgd-setup.XXXXXX")
trap 'rm -f "$log"' EXIT
apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -y -q -o DPkg::Lock::Timeout=600)
if ! { "${apt[@]}" update && "${apt[@]}" install --no-install-recommends "${missing[@]}"; } \
     >"$log" 2>&1; then
  cat "$log" >&2
  echo "setup: apt-get failed installing: ${missing[*]}" >&2
  exit 1
fi
echo "setup: installed ${missing[*]}"
