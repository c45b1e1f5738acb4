#!/usr/bin/env bash
# `make tidy`: clang-tidy 14 with the checks of .clang-tidy over every translation unit of src/,
# tests/ and bench/ in BUILD_DIR/compile_commands.json, JOBS at a time. The compile lines are
# GCC's: clang is told to ignore the warning options it does not know and to keep warnings
# warnings (the GCC build decides about those; only the checks count here). Fails on any finding.
#   scripts/tidy.sh BUILD_DIR JOBS
set -euo pipefail
cd "$(dirname "$0")/.."

build=$1
jobs=$2
root=$(pwd)

mapfile -t files < <(/usr/bin/python3 -c '
import json, sys
root = sys.argv[2]
for entry in json.load(open(sys.argv[1])):
    name = entry["file"]
    if any(name.startswith(f"{root}/{part}/") for part in ("src", "tests", "bench")):
        print(name)
' "$build/compile_commands.json" "$root" | sort -u)

if [ ${#files[@]} -eq 0 ]; then
    echo "tidy: no translation units in $build/compile_commands.json" >&2
    exit 1
fi

started=$SECONDS
set +e
printf '%s\0' "${files[@]}" |
    xargs -0 -n 1 -P "$jobs" clang-tidy-14 -p "$build" --quiet \
        --extra-arg=-Wno-unknown-warning-option --extra-arg=-Wno-error 2>&1 |
    grep -v -E '^[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$'
status=${PIPESTATUS[1]}
set -e
elapsed=$((SECONDS - started))
if [ "$status" -ne 0 ]; then
    echo "tidy: findings in the files above (${#files[@]} files, ${elapsed} s)" >&2
    exit 1
fi
echo "tidy: ${#files[@]} files clean (${elapsed} s)"
