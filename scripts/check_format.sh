#!/usr/bin/env bash
# Checks that every C++ and CUDA source is formatted by the project's
# .clang-format (clang-format --dry-run --Werror); prints the files that are
# not, with the command that fixes them. Exit 77 (skipped under ctest) when
# clang-format is missing (scripts/setup.sh installs it).
#
#   scripts/check_format.sh [REPOSITORY_ROOT]
set -euo pipefail
cd "${1:-$(dirname "${BASH_SOURCE[0]}")/..}"
formatter=$(command -v clang-format || command -v clang-format-14 || true)
if [[ -z "$formatter" ]]; then
  echo "check_format: clang-format not found (scripts/setup.sh installs it)"
  exit 77
fi
mapfile -t files < <(find host cuda tests -type f \( -name '*.h' -o -name '*.cpp' -o -name '*.cu' -o -name '*.cuh' \) | sort)
bad=()
for f in "${files[@]}"; do
  "$formatter" --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if ((${#bad[@]} > 0)); then
  printf 'not formatted: %s\n' "${bad[@]}"
  echo "check_format: ${#bad[@]} of ${#files[@]} files; fix with: clang-format -i ${bad[*]}"
  exit 1
fi
echo "check_format: ${#files[@]} files formatted"
