#!/usr/bin/env bash
# Configures and builds tsgd (Release) after making sure the Debian packages
# are there (scripts/setup.sh). Extra arguments go to `cmake --build`, e.g.
# `scripts/build.sh --target tsgd`.
#
#   TSGD_BUILD_DIR=DIR        build directory (default: build), relative to the repository
#   TSGD_BUILD_TYPE=TYPE      CMAKE_BUILD_TYPE (default: Release)
#   TSGD_CMAKE_ARGS="..."     extra configure arguments, e.g. "-DTSGD_CUDA=OFF"
#   TSGD_NO_SETUP=1           skip scripts/setup.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build_dir=${TSGD_BUILD_DIR:-build}
build_type=${TSGD_BUILD_TYPE:-Release}
# Word splitting is intended: TSGD_CMAKE_ARGS holds several arguments.
read -r -a cmake_args <<<"${TSGD_CMAKE_ARGS:-}"

TSGD_SETUP_QUIET=1 bash scripts/setup.sh

cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE="$build_type" "${cmake_args[@]}"
cmake --build "$build_dir" -j "$(nproc)" "$@"
