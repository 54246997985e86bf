#!/usr/bin/env bash
# The size ratchet: builds every firmware image (a no-op for those the `test` and `firmware`
# stages of scripts/test.sh already built), prints its text/data/bss (`arm-none-eabi-size`),
# runs the QEMU Ethernet images once against a local Mosquitto to read the RAM peaks they
# print, and fails when an image is above its budget in scripts/size-budget.txt.
#
# Usage: scripts/size-budget.sh [--static] [--lower]
#   --static  sizes of the ELFs only; no QEMU run, so the `ram` column is not checked.
#   --lower   after a saving: rewrites scripts/size-budget.txt with each budget lowered to the
#             measured figure plus a margin, rounded up to 256 B; never raised; commit the file.
#             Margins: `flash` 512 B (the same sources build up to ~150 B apart in another
#             checkout: cargo's `-C metadata` hash of a path dependency outside the example's
#             workspace, the library and the embedded-tls fork, includes its absolute path,
#             which reorders code and changes LLVM's outlining; measured on 2026-12-07:
#             -16 to +152 B between /work/main, /tmp/clean and CI's checkout; the source paths
#             printed in panic messages are remapped by scripts/firmware-paths.sh), `static_ram` none,
#             `ram` 1 KiB (the stack peak of a run varies with timing: mps2-eth's RSA build
#             measured 27,216 to 27,976 B, P-256 25,864 to 27,456 B in runs of 2026-12-07).
#
# Figures, per image:
#   flash      = text + data (the initial values of .data are stored in flash)
#   static_ram = data + bss (every static buffer)
#   ram        = data + bss + stack peak: what the run really used, the stack measured by
#                painting (the firmware's `stack_peak=`); only for the images that run under
#                QEMU here (mps2-eth, its P-256 build, mps2-embassy).
# No image has a heap (since 2026-12-07: RSA is verified on the stack): their global allocator
# has no memory (examples/qemu-mps2/src/no_heap.rs), so an allocation would end the run with a
# panic, and a run that passes allocated nothing. There is no heap column to measure.
# The run: TLS 1.3 handshake with the image's CA pinned (RSA chain, or P-256 for the P-256
# build), CONNECT, one QoS 1 and one QoS 2 PUBLISH, each acknowledged (`count=2 qos=1+2`).
#
# The P-256 build of mps2-eth (`--no-default-features`: no `rsa`) shares mps2-eth's target
# directory: its dependencies that do not depend on the feature are built once for both, and
# the default build is made last so that the ELF the tests run is the RSA one.
#
# Needs: cargo with thumbv7em-none-eabihf, arm-none-eabi-size, qemu-system-arm, mosquitto,
# python3 (all installed by scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/firmware-paths.sh
source scripts/firmware-paths.sh

static_only=0
lower=0
while [ $# -gt 0 ]; do
    case $1 in
    --static) static_only=1 && shift ;;
    --lower) lower=1 && shift ;;
    *) echo "unknown argument $1 (see the header of $0)" >&2 && exit 2 ;;
    esac
done

budget_file=scripts/size-budget.txt
work=$(mktemp -d)
broker_pid=""
cleanup() {
    if [ -n "$broker_pid" ]; then kill "$broker_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

# The images: name, folder under examples/, binary, extra `cargo build` arguments, the
# BROKER_CA to pin (empty: the folder's default, certs/rsa-root.der), and the certificate the
# broker serves for the QEMU run (empty: the image is not run here).
IMAGES=(
    "mps2-eth-p256|mps2-eth|mps2-eth|--no-default-features|../../certs/p256-root.der|p256-leaf"
    "mps2-eth|mps2-eth|mps2-eth|||rsa-leaf"
    "mps2-embassy|mps2-embassy|mps2-embassy|||rsa-leaf"
    "qemu-mps2|qemu-mps2|qemu-mps2-mqtts|||"
    "frdm-k64f|frdm-k64f|frdm-k64f-mqtts|||"
)

# cargo build --release in examples/$folder, with the environment of the QEMU tests
# (tests/support/firmware.rs) so that their builds are reused; the ELF is copied to $work/$name.
build() {
    local name=$1 folder=$2 binary=$3 args=$4 ca=$5
    local dir=examples/$folder
    # shellcheck disable=SC2086 # $args is a list of words
    (
        cd "$dir"
        unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS CARGO_BUILD_TARGET BROKER_CA
        if [ -n "$ca" ]; then export BROKER_CA=$ca; fi
        CARGO_TARGET_DIR="$PWD/target" cargo build --release --quiet $args
    )
    cp "$dir/target/thumbv7em-none-eabihf/release/$binary" "$work/$name"
}

# Starts one Mosquitto with a TLS listener per served certificate; sets $broker_pid and
# writes the listener ports to $work/port-<cert>.
start_broker() {
    local conf=$work/mosquitto.conf
    {
        echo "user root"
        echo "log_dest file $work/mosquitto.log"
        echo "allow_anonymous true"
        echo "per_listener_settings false"
    } >"$conf"
    local cert port
    for cert in rsa-leaf p256-leaf; do
        port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
        echo "$port" >"$work/port-$cert"
        local certfile=certs/$cert.crt
        [ -f "certs/$cert-chain.crt" ] && certfile=certs/$cert-chain.crt
        {
            echo "listener $port 127.0.0.1"
            echo "certfile $PWD/$certfile"
            echo "keyfile $PWD/certs/$cert.key"
        } >>"$conf"
    done
    mosquitto -c "$conf" >/dev/null 2>&1 &
    broker_pid=$!
    local tries=0
    for cert in rsa-leaf p256-leaf; do
        port=$(cat "$work/port-$cert")
        until python3 -c "import socket, sys; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null; do
            tries=$((tries + 1))
            if [ $tries -gt 100 ]; then
                echo "mosquitto did not listen on port $port within 10 s:" >&2
                cat "$work/mosquitto.log" >&2 || true
                exit 1
            fi
            sleep 0.1
        done
    done
}

# Runs the image under QEMU against the broker's listener for $cert; prints the figures line.
run_image() {
    local name=$1 cert=$2
    local port
    port=$(cat "$work/port-$cert")
    local out=$work/$name.console
    set +e
    timeout 120 qemu-system-arm -M mps2-an386 -nographic -monitor none \
        -semihosting-config enable=on,target=native -nic user,model=lan9118 \
        -kernel "$work/$name" -append "port=$port topic=size/$name count=2 qos=1+2" \
        </dev/null >"$out" 2>&1
    local status=$?
    set -e
    if [ $status -ne 0 ]; then
        echo "$name: the QEMU run failed (exit $status); its console:" >&2
        cat "$out" >&2
        return 1
    fi
    grep -m1 'stack_peak=' "$out"
}

# The value of `key=` in a figures line.
figure() { sed -n "s/.*[ :]$1=\([0-9]*\).*/\1/p" <<<"$2"; }

if [ "$static_only" = 0 ]; then start_broker; fi

printf '%-14s %7s %6s %6s %7s %10s %10s %7s\n' image text data bss flash static_ram stack_peak ram
failed=0
declare -A measured figures
for entry in "${IMAGES[@]}"; do
    IFS='|' read -r name folder binary args ca cert <<<"$entry"
    build "$name" "$folder" "$binary" "$args" "$ca"
    read -r text data bss _ < <(arm-none-eabi-size "$work/$name" | tail -1)
    flash=$((text + data))
    static_ram=$((data + bss))
    ram="-" stack_peak="-"
    if [ "$static_only" = 0 ] && [ -n "$cert" ]; then
        line=$(run_image "$name" "$cert") || {
            failed=1
            continue
        }
        stack_peak=$(figure stack_peak "$line")
        ram=$((static_ram + stack_peak))
    fi
    printf '%-14s %7s %6s %6s %7s %10s %10s %7s\n' "$name" "$text" "$data" "$bss" \
        "$flash" "$static_ram" "$stack_peak" "$ram"
    measured[$name]="$flash $static_ram $ram"
    figures[$name]="$flash $static_ram $ram"
done

# Compare with the budget file: `image flash static_ram ram` per line, `-` for not checked.
echo
while read -r name flash_budget static_budget ram_budget _; do
    case $name in '' | '#'*) continue ;; esac
    if [ -z "${measured[$name]:-}" ]; then
        echo "FAILED $name: in $budget_file but not measured" && failed=1 && continue
    fi
    read -r flash static_ram ram <<<"${measured[$name]}"
    for what in flash static_ram ram; do
        case $what in
        flash) value=$flash budget=$flash_budget margin=512 ;;
        static_ram) value=$static_ram budget=$static_budget margin=0 ;;
        ram) value=$ram budget=$ram_budget margin=1024 ;;
        esac
        [ "$budget" = "-" ] || [ "$value" = "-" ] && continue
        if [ "$value" -gt "$budget" ]; then
            echo "FAILED $name: $what $value B is $((value - budget)) B over its budget $budget B ($budget_file)"
            failed=1
        elif [ $(((value + margin + 255) / 256 * 256)) -lt "$budget" ]; then
            # What --lower would write (the margins are explained at the top) is lower.
            echo "ok     $name: $what $value B, $((budget - value)) B under its budget $budget B: lower the budget"
        else
            echo "ok     $name: $what $value B (budget $budget B)"
        fi
    done
    unset "measured[$name]"
done <"$budget_file"
for name in "${!measured[@]}"; do
    echo "FAILED $name: measured but it has no line in $budget_file" && failed=1
done
if [ "$lower" = 1 ]; then
    for name in "${!figures[@]}"; do echo "$name ${figures[$name]}"; done >"$work/figures"
    python3 - "$budget_file" "$work/figures" <<'EOF'
import sys
path, figures = sys.argv[1:3]
measured = {words[0]: words[1:] for words in (line.split() for line in open(figures)) if words}
out = []
for line in open(path):
    words = line.split()
    if words and not words[0].startswith("#") and words[0] in measured:
        budgets = []
        for column, (budget, value) in enumerate(zip(words[1:4], measured[words[0]])):
            if budget == "-" or value == "-":
                budgets.append(budget)
            else:
                slack = {0: 512, 1: 0, 2: 1024}[column]  # the margins, as in the check above
                budgets.append(str(min(int(budget), -(-(int(value) + slack) // 256) * 256)))
        line = f"{words[0]:<15} {budgets[0]:<7} {budgets[1]:<11} {budgets[2]}\n"
    out.append(line)
open(path, "w").write("".join(out))
EOF
    echo "lowered the budgets in $budget_file where the measured figures allow"
fi
exit $failed
