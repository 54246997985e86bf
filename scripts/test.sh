#!/usr/bin/env bash
# THE test command of embedded-mqtts: installs what is needed (setup.sh), then runs every
# check in order, timing each, and prints a summary. Exits non-zero if any stage failed.
# Every stage runs even after a failure, so one run shows everything that is wrong.
#
# To add a stage: write a function stage_NAME below and add NAME to STAGES.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/firmware-paths.sh
source scripts/firmware-paths.sh

stage_setup() { bash scripts/setup.sh; }
stage_fmt() { cargo fmt --all -- --check; }
stage_clippy() { cargo clippy --all-targets --all-features -- -D warnings; }
# The no_std build without the default features (no RSA), and the unit tests in that build
# (RSA refused by name; every other unit test as with RSA).
stage_no_std() { cargo build --no-default-features && cargo test --no-default-features --lib; }
# Unit, integration (against real Mosquitto brokers and QEMU) and doc tests. Not
# --all-features: `defmt` needs a logger that only firmware links.
stage_test() { cargo test --features std; }
# The fork of embedded-tls (third_party/embedded-tls/FORK.md): its own tests, without the two
# that connect to google.com.
stage_fork() {
    cd third_party/embedded-tls
    cargo test --features webpki,rsa,ed25519,p384 -- --skip test_google --skip src/lib.rs
}
# The FRDM-K64F board firmware: it cannot run here, but it must build; prints text/data/bss.
# Then the host tests of the network layer it shares with examples/mps2-eth (which the test
# stage runs under QEMU: tests/qemu_eth.rs).
stage_firmware() {
    bash examples/frdm-k64f/scripts/size.sh
    (cd examples/firmware-net && cargo test --features smoltcp)
}
# The size ratchet: text/data/bss of every firmware image (reusing the builds of the test and
# firmware stages; only mps2-eth's P-256 build is new) and the RAM peaks of one QEMU run of each
# Ethernet image, against the budgets in scripts/size-budget.txt. About 3 s warm; from a clean
# clone the P-256 build (embedded-tls, the library, the firmware) adds about 35 s.
stage_size() { bash scripts/size-budget.sh; }
# The K64F's hand-written registers against NXP's SVD (155 constants). --fetch gets the SVD
# from crates.io (the `k64` 0.1.0 package ships it) through cargo's cache: no NXP site.
stage_regs() { python3 examples/frdm-k64f/scripts/check-regs.py --fetch; }
stage_doc() { RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --all-features; }
# Every cargo-fuzz target for 30 s from the committed seeds (installs cargo-fuzz if missing).
stage_fuzz() { bash scripts/fuzz.sh 30; }

STAGES=(setup fmt clippy no_std test fork fuzz firmware size regs doc)

summary=()
failed=0
for stage in "${STAGES[@]}"; do
    echo "=== $stage"
    start=$SECONDS
    # A subshell outside any `if`/`||`, so `set -e` stops the stage at its first failing command.
    set +e
    (
        set -e
        "stage_$stage"
    )
    status=$?
    set -e
    seconds=$((SECONDS - start))
    if [ $status -eq 0 ]; then
        summary+=("$(printf '  ok      %-8s %4ss' "$stage" "$seconds")")
    else
        summary+=("$(printf '  FAILED  %-8s %4ss  (exit %s)' "$stage" "$seconds" "$status")")
        failed=1
        # Without its tools nothing else can run.
        [ "$stage" = setup ] && break
    fi
done

echo "=== summary"
printf '%s\n' "${summary[@]}"
if [ $failed -ne 0 ]; then
    echo "scripts/test.sh: FAILED"
    exit 1
fi
echo "scripts/test.sh: all stages passed"
