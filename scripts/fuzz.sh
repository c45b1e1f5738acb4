#!/usr/bin/env bash
# `make fuzz`: runs every libFuzzer target of fuzz/ for SECONDS each, one after another, on a
# working copy of its seed corpus in the build tree (fuzz/corpus/ itself is never written;
# what a run learns stays in BUILD_DIR/corpus/ for the next run). Fails when a target crashes,
# leaks, hangs (10 s for one input) or breaks a property; the input that did it is kept in
# BUILD_DIR/crashes/<target>/ and the target's log in BUILD_DIR/logs/<target>.log.
#   scripts/fuzz.sh BUILD_DIR SECONDS
set -euo pipefail
cd "$(dirname "$0")/.."

build=$1
seconds=$2
targets=(http_request webhook checkout_body form_query redis_reply admission_token)

failed=()
for target in "${targets[@]}"; do
    corpus=$build/corpus/$target
    crashes=$build/crashes/$target
    log=$build/logs/$target.log
    mkdir -p "$corpus" "$crashes" "$(dirname "$log")"
    cp fuzz/corpus/"$target"/* "$corpus"/
    if "$build/fuzz_$target" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$crashes/" "$corpus" >"$log" 2>&1; then
        verdict=clean
    else
        verdict="FAILED (see $log)"
        failed+=("$target")
    fi
    stats=$(sed -n 's/.*DONE *\(cov: [0-9]*\).* \(exec\/s: [0-9]*\).*/\1, \2/p' "$log")
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    echo "fuzz: $target ${seconds}s: ${runs:-?} inputs, ${stats:-no summary}: $verdict"
done

if [ ${#failed[@]} -gt 0 ]; then
    for target in "${failed[@]}"; do
        echo "--- fuzz: $target"
        grep -E "ERROR|SUMMARY|property broken|Test unit written" "$build/logs/$target.log" || true
    done
    exit 1
fi
