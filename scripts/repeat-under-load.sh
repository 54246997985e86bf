#!/usr/bin/env bash
# Runs a test binary many times on one loaded core, to find timing races in tests: the binary
# and a busy loop (`yes > /dev/null`) are both pinned to CPU 0, so the test's threads are
# preempted at any point, as on a busy CI machine. Prints each failing run's panic line and the
# count of failed runs; keeps every run's output in OUTDIR.
#
# Usage: scripts/repeat-under-load.sh BINARY RUNS OUTDIR [test arguments...]
# The binary: the path cargo prints for `cargo test --features std --test NAME --no-run`.
# Example (the figure of 2026-12-07 for tests/faults.rs: 17 of 300 runs failed before the
# proxy counted bytes before writing them, 0 of 300 after):
#   scripts/repeat-under-load.sh target/debug/deps/faults-HASH 300 /tmp/runs \
#       a_publish_whose_send_failed_is_resent_not_lost
# Pinned to one core the test harness sees one CPU: pass `--test-threads 2` to run a whole
# binary as CI does.
set -u
[ $# -ge 3 ] || { sed -n 2,15p "$0" >&2; exit 2; }
bin=$1 runs=$2 out=$3
shift 3
mkdir -p "$out"
taskset -c 0 yes >/dev/null &
load=$!
trap 'kill $load 2>/dev/null' EXIT
failed=0
for i in $(seq 1 "$runs"); do
    if ! taskset -c 0 "$bin" "$@" >"$out/run$i.log" 2>&1; then
        failed=$((failed + 1))
        echo "run $i FAILED: $(grep -m1 -A1 'panicked at' "$out/run$i.log" | tr '\n' ' ')"
    fi
done
echo "failed runs: $failed / $runs"
[ "$failed" = 0 ]
