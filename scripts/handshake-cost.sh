#!/usr/bin/env bash
# Instructions for a full TLS 1.3 handshake with verification on an emulated Cortex-M4
# (QEMU mps2-an386, examples/qemu-mps2) against a local Mosquitto, for an RSA chain and a
# P-256 chain, with the time spent waiting for the broker taken out; converted to milliseconds
# at 120 MHz assuming one instruction per cycle (an estimate).
#
# Usage: scripts/handshake-cost.sh [--runs N] [--markdown FILE] [--portable]
#
# P-256 (ECDHE, ECDSA verification): the firmware's default, p256-cm4's Cortex-M4 assembly
# (src/tls/cortex_m4_p256.rs); --portable builds it with the library's `portable-p256` feature
# instead (RustCrypto's p256, what every build used before; its own target directories).
#
# How: QEMU runs with `-icount shift=0,align=off,sleep=off`, so every emulated instruction is
# one nanosecond of emulated time. The firmware reads SysTick (25 MHz, so one tick = 40
# instructions) before and after `TlsStream::connect` and counts the turns of its UART wait
# loops (exactly 5 instructions each, in assembly: examples/qemu-mps2/src/uart.rs); it prints
# `handshake ticks_25mhz=T uart_wait_spins=S`. Handshake instructions = 40 T - 5 S: the
# client's own work (ClientHello, ECDHE P-256 key share, key schedule, record decryption,
# chain verification against the pin, CertificateVerify, Finished) plus the UART driver's
# byte moves, without the waits for the broker. Resolution: 40 instructions, plus a few for
# the SysTick interrupt every 1,000,000.
#
# Chains: rsa = Mosquitto serves certs/rsa-leaf-chain.crt (RSA-2048 leaf and intermediate,
# RSA-4096 root pinned: the firmware's default); p256 = certs/p256-leaf.crt (P-256 leaf, P-256
# root pinned; firmware built with QEMU_MPS2_CA=../../certs/p256-root.der). Both use ECDHE
# P-256 and AES-128-GCM, max_fragment_length 4096.
#
# Needs: qemu-system-arm, mosquitto, cargo with thumbv7em-none-eabihf, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/firmware-paths.sh
source scripts/firmware-paths.sh

runs=3
markdown=""
portable=""
while [ $# -gt 0 ]; do
    case $1 in
    --runs) runs=$2 && shift 2 ;;
    --markdown) markdown=$2 && shift 2 ;;
    --portable) portable=1 && shift ;;
    *) echo "unknown argument $1 (see the header of $0)" >&2 && exit 2 ;;
    esac
done

target_dir=$(cargo metadata --no-deps --format-version 1 |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
work=$(mktemp -d)
broker_pid=""
cleanup() {
    [ -n "$broker_pid" ] && kill "$broker_pid" 2>/dev/null && wait "$broker_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

features=()
backend="p256-cm4 (Cortex-M4 assembly)"
if [ -n "$portable" ]; then
    features=(--features embedded-mqtts/portable-p256)
    backend="RustCrypto p256 (portable-p256)"
fi
declare -A elf
for chain in rsa p256; do
    dir="$target_dir/handshake-$chain${portable:+-portable}"
    ca=../../certs/rsa-root.der
    [ "$chain" = p256 ] && ca=../../certs/p256-root.der
    (cd examples/qemu-mps2 && CARGO_TARGET_DIR="$dir" QEMU_MPS2_CA=$ca cargo build --release --quiet "${features[@]}")
    elf[$chain]="$dir/thumbv7em-none-eabihf/release/qemu-mps2-mqtts"
done

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
declare -A port
port[rsa]=$(free_port)
port[p256]=$(free_port)
while [ "${port[p256]}" = "${port[rsa]}" ]; do port[p256]=$(free_port); done
certs=$(pwd)/certs
cat >"$work/mosquitto.conf" <<EOF
user $(id -un)
allow_anonymous true
log_dest file $work/mosquitto.log
listener ${port[rsa]} 127.0.0.1
certfile $certs/rsa-leaf-chain.crt
keyfile $certs/rsa-leaf.key
listener ${port[p256]} 127.0.0.1
certfile $certs/p256-leaf.crt
keyfile $certs/p256-leaf.key
EOF
mosquitto=$(command -v mosquitto || echo /usr/sbin/mosquitto)
"$mosquitto" -c "$work/mosquitto.conf" 2>>"$work/mosquitto.log" &
broker_pid=$!
for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/${port[rsa]}") 2>/dev/null &&
        (exec 3<>"/dev/tcp/127.0.0.1/${port[p256]}") 2>/dev/null && break
    sleep 0.1
done

: >"$work/results"
for run in $(seq "$runs"); do
    for chain in rsa p256; do
        out="$work/$chain.$run.out"
        timeout 120 qemu-system-arm -M mps2-an386 -nographic -monitor none \
            -icount shift=0,align=off,sleep=off \
            -semihosting-config enable=on,target=native \
            -serial "tcp:127.0.0.1:${port[$chain]},nodelay=on" \
            -kernel "${elf[$chain]}" -append tls >"$out" 2>&1 ||
            { echo "$chain run $run failed:" >&2 && cat "$out" >&2 && exit 1; }
        grep -q "qemu-mps2: PASS" "$out" || { cat "$out" >&2 && exit 1; }
        read -r _text data bss _rest < <(arm-none-eabi-size "${elf[$chain]}" | tail -1)
        echo "$chain $(grep -o 'ticks_25mhz=[0-9]* uart_wait_spins=[0-9]*' "$out") $(grep -o 'stack_peak=[0-9]*' "$out") data=$data bss=$bss" >>"$work/results"
    done
done

DATE=$(date -u '+%Y-%m-%d %H:%M UTC') COMMAND="scripts/handshake-cost.sh --runs $runs${portable:+ --portable}" \
    BACKEND="$backend" \
    VERSIONS="$(qemu-system-arm --version | head -1), $("$mosquitto" -h 2>/dev/null | head -1 | sed 's/ is an.*//'), $(rustc --version)" \
    python3 - "$work/results" "$markdown" <<'EOF'
import os, re, statistics, sys

results_path, markdown_path = sys.argv[1:3]
runs = {"rsa": [], "p256": []}
for line in open(results_path):
    chain, rest = line.split(" ", 1)
    fields = dict(re.findall(r"(\w+)=(\d+)", rest))
    total = int(fields["ticks_25mhz"]) * 40
    waiting = int(fields["uart_wait_spins"]) * 5
    # RAM in use: .data + .bss + the stack's peak (no image has a heap).
    ram = int(fields["data"]) + int(fields["bss"]) + int(fields["stack_peak"])
    runs[chain].append((total, waiting, total - waiting, int(fields["stack_peak"]),
                        ram, int(fields["data"]), int(fields["bss"])))

NAMES = {
    "rsa": "RSA: leaf RSA-2048 ← intermediate RSA-2048 ← pinned root RSA-4096 (`certs/rsa-leaf-chain.crt`); CertificateVerify rsa_pss_rsae_sha256",
    "p256": "P-256: leaf P-256 ← pinned root P-256 (`certs/p256-leaf.crt`); CertificateVerify ecdsa_secp256r1_sha256",
}
lines = [
    f"Measured {os.environ['DATE']}; {os.environ['VERSIONS']}; P-256 by {os.environ['BACKEND']}.",
    "",
    f"Command: `{os.environ['COMMAND']}` (QEMU `-icount shift=0,align=off,sleep=off`: one "
    "instruction = one emulated ns). Instructions of `TlsStream::connect` with the UART wait "
    "loops taken out; the median of the runs, with the range. **Milliseconds are an estimate**: "
    "instructions / 120 MHz, assuming one instruction per cycle (a real Cortex-M4 at 120 MHz "
    "needs flash wait states and some multi-cycle instructions, so expect more).",
    "",
    "| chain | runs | handshake instructions (waits excluded) | range | waits for the broker (excluded) | estimate at 120 MHz | peak stack | RAM in use |",
    "|---|---|---|---|---|---|---|---|",
]
for chain, values in runs.items():
    if not values:
        continue
    compute = [v[2] for v in values]
    median = statistics.median(compute)
    waiting = statistics.median(v[1] for v in values)
    lines.append(
        f"| {NAMES[chain]} | {len(values)} | {median:,.0f} | {min(compute):,} – {max(compute):,} | "
        f"{waiting:,.0f} | ~{median / 120e3:.0f} ms | {max(v[3] for v in values):,} B | "
        f"{max(v[4] for v in values):,} B |")
lines += [
    "",
    "Peak stack by painting (the firmware prints it; no image has a heap). "
    "RAM in use = `.data` + `.bss` + peak stack, "
    "for this firmware (client, TLS with max_fragment_length 4096: 4,352-byte read and "
    "1,157-byte write buffers, MQTT state; no TCP/IP stack, the UART is the link): "
    + "; ".join(f"{chain}: {v[0][5]:,} + {v[0][6]:,} + {max(x[3] for x in v):,} = "
                f"{max(x[4] for x in v):,} B, target 49,152 B (48 KiB) "
                f"{'met' if max(x[4] for x in v) <= 49152 else 'not met'}"
                for chain, v in runs.items() if v) + ".",
]
text = "\n".join(lines)
print(text)
if markdown_path:
    with open(markdown_path, "w") as f:
        f.write(text + "\n")
EOF
