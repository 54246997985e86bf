#!/usr/bin/env bash
# Runs every cargo-fuzz target of fuzz/ for SECONDS each (default 30), one after the other,
# starting from the committed seeds (fuzz/seeds/<target>, copied into fuzz/corpus/<target>,
# which keeps growing between runs and is not checked in).
#
#   bash scripts/fuzz.sh            # 30 s per target: the `fuzz` stage of scripts/test.sh
#   bash scripts/fuzz.sh 600        # a longer run
#   bash scripts/fuzz.sh 300 session verifier
#   FUZZ_RUNS=10000000 bash scripts/fuzz.sh 3600 session   # stop after 10 M executions
#
# Uses cargo-fuzz when installed (FUZZ_INSTALL=1 installs it; FUZZ_CARGO_FUZZ=0 ignores it),
# else builds and runs the same libFuzzer binaries with cargo alone (see below). Uses the
# nightly toolchain when rustup has one, else stable with RUSTC_BOOTSTRAP=1 (the build needs -Z
# flags; FUZZ_TOOLCHAIN=stable forces that path).
# AddressSanitizer when its runtime is there, else no sanitizer (the targets' own assertions
# still run). Prints one line per target with its executions, then a summary; exits non-zero
# if any target found a crash, with the path of the input that caused it (replay:
# cargo fuzz run TARGET PATH).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-30}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(packet_decode topic_match session streamed verifier pin_parse)
fi

# FUZZ_TOOLCHAIN=stable forces the stable path (to check it where nightly is installed).
toolchain=()
if [ "${FUZZ_TOOLCHAIN:-}" != stable ] && rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    toolchain=(+nightly)
else
    export RUSTC_BOOTSTRAP=1
fi

# cargo-fuzz when it is installed (or FUZZ_INSTALL=1 asks for it). Without it, the targets are
# built with cargo directly, with the flags `cargo fuzz build` uses (sanitizer coverage,
# `--cfg fuzzing`, debug assertions, one codegen unit), and the libFuzzer binaries run as they
# are: the same fuzzing, without the ~3 minutes `cargo install cargo-fuzz` takes on a 2-core
# machine.
if ! cargo fuzz --version >/dev/null 2>&1 && [ "${FUZZ_INSTALL:-}" = 1 ]; then
    echo "fuzz: installing cargo-fuzz"
    start=$SECONDS
    cargo install cargo-fuzz --locked
    echo "fuzz: cargo-fuzz installed in $((SECONDS - start)) s"
fi
cargo_fuzz=0
if [ "${FUZZ_CARGO_FUZZ:-}" != 0 ] && cargo fuzz --version >/dev/null 2>&1; then
    cargo_fuzz=1
fi

cd fuzz
host=$(rustc "${toolchain[@]}" -vV | sed -n 's/^host: //p')
coverage="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4"
coverage+=" -Cllvm-args=-sanitizer-coverage-inline-8bit-counters"
coverage+=" -Cllvm-args=-sanitizer-coverage-pc-table"
coverage+=" -Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing"
coverage+=" -Cllvm-args=-simplifycfg-branch-fold-threshold=0"
coverage+=" -Cllvm-args=-sanitizer-coverage-stack-depth -Cdebug-assertions -Ccodegen-units=1"
export ASAN_OPTIONS=detect_odr_violation=0

# Builds every target with sanitizer $1 (address or none).
build() {
    if [ $cargo_fuzz = 1 ]; then
        cargo "${toolchain[@]}" fuzz build -s "$1"
    else
        local flags="$coverage"
        [ "$1" = address ] && flags+=" -Zsanitizer=address"
        RUSTFLAGS="$flags" cargo "${toolchain[@]}" build --release --bins --target "$host" \
            --config 'profile.release.debug="line-tables-only"'
    fi
}

start=$SECONDS
sanitizer=address
if ! build address 2>build.log; then
    if grep -qiE 'asan|sanitizer' build.log; then
        echo "fuzz: AddressSanitizer unavailable with this toolchain; building without it"
        sanitizer=none
        build none
    else
        cat build.log >&2
        exit 1
    fi
fi
rm -f build.log
echo "fuzz: built the fuzz crate (${toolchain[*]:-stable, RUSTC_BOOTSTRAP=1}," \
    "$([ $cargo_fuzz = 1 ] && echo cargo-fuzz || echo 'cargo, no cargo-fuzz')," \
    "sanitizer $sanitizer) in $((SECONDS - start)) s"

# Runs target $1 on its corpus with the libFuzzer options that follow.
run() {
    local target=$1
    shift
    if [ $cargo_fuzz = 1 ]; then
        cargo "${toolchain[@]}" fuzz run -s "$sanitizer" "$target" "corpus/$target" -- "$@"
    else
        "target/$host/release/$target" -artifact_prefix="artifacts/$target/" "$@" \
            "corpus/$target"
    fi
}

summary=()
failed=0
total=0
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target" "artifacts/$target"
    if [ -d "seeds/$target" ]; then
        cp -n seeds/"$target"/* "corpus/$target/" 2>/dev/null || true
    fi
    log="artifacts/$target/last-run.log"
    corpus_before=$(find "corpus/$target" -type f | wc -l)
    runs=()
    [ -n "${FUZZ_RUNS:-}" ] && runs=(-runs="$FUZZ_RUNS")
    started=$SECONDS
    set +e
    run "$target" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 "${runs[@]}" \
        >"$log" 2>&1
    status=$?
    set -e
    took=$((SECONDS - started))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    execs=${execs:-0}
    total=$((total + execs))
    corpus=$(find "corpus/$target" -type f | wc -l)
    if [ $status -eq 0 ]; then
        line=$(printf '  ok      %-14s %4ss %12s execs %8s/s  corpus %s -> %s' "$target" "$took" \
            "$execs" "$((execs / (took > 0 ? took : 1)))" "$corpus_before" "$corpus")
    else
        failed=1
        artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
        case "$artifact" in
        /*) ;;
        ?*) artifact="fuzz/${artifact#./}" ;;
        *) artifact="?" ;;
        esac
        line=$(printf '  CRASH   %-14s exit %s  input: %s  log: fuzz/%s' "$target" \
            "$status" "$artifact" "$log")
        grep -E "panicked at|ERROR: |SUMMARY" "$log" | head -5 | sed 's/^/          /' >&2 || true
    fi
    echo "$line"
    summary+=("$line")
done

echo "=== fuzz summary ($seconds s per target, $total executions)"
printf '%s\n' "${summary[@]}"
if [ $failed -ne 0 ]; then
    echo "scripts/fuzz.sh: CRASH found (replay: cd fuzz && cargo ${toolchain[*]} fuzz run TARGET INPUT," \
        "or target/$host/release/TARGET INPUT)"
    exit 1
fi
echo "scripts/fuzz.sh: no crash"
