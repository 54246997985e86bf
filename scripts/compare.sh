#!/usr/bin/env bash
# Side by side against Mosquitto's own clients, over TLS to a local Mosquitto:
# 10,000 QoS 1 messages published with `mqtt pub -l` (this crate's CLI, examples/mqtt.rs,
# release build) and with `mosquitto_pub -l`, received with `mqtt sub -C` and
# `mosquitto_sub -C`. For each program: messages per second, CPU seconds (user + sys) and peak
# RSS, from GNU time (`/usr/bin/time -f`), in the same run; printed as a markdown table with
# the ratio ours / mosquitto.
#
# Usage: scripts/compare.sh [--messages N] [--rounds R] [--cert rsa|p256] [--markdown FILE]
#   --messages N   messages per publisher (default 10000)
#   --rounds R     rounds (default 1); each round runs both pairs, the order alternating
#   --cert         the broker's certificate: rsa = certs/rsa-leaf-chain.crt (RSA-2048 leaf,
#                  RSA-2048 intermediate, RSA-4096 root; the default), p256 = certs/p256-leaf
#   --markdown F   also write the table (with the date, machine and command) to F
#
# Each round, per pair (ours: mqtt sub + mqtt pub; mosquitto: mosquitto_sub + mosquitto_pub):
# the subscriber starts first (QoS 1, its own topic), the script waits until the broker has
# logged its subscription, then the publisher sends the N lines of one input file (48-byte
# payloads) with QoS 1 and exits once every PUBACK came. The publisher's rate is N / its wall
# time (process start to exit: TLS handshake included); the subscriber's is N / (publisher's
# start to the subscriber's exit, after its N-th message). Both pairs talk to the same broker,
# one pair at a time. Needs: mosquitto, mosquitto_pub, mosquitto_sub, GNU time (Debian `time`),
# cargo, python3.
set -euo pipefail
cd "$(dirname "$0")/.."

messages=10000
rounds=1
cert=rsa
markdown=""
while [ $# -gt 0 ]; do
    case $1 in
    --messages) messages=$2 && shift 2 ;;
    --rounds) rounds=$2 && shift 2 ;;
    --cert) cert=$2 && shift 2 ;;
    --markdown) markdown=$2 && shift 2 ;;
    *) echo "unknown argument $1 (see the header of $0)" >&2 && exit 2 ;;
    esac
done
case $cert in
rsa) certfile=certs/rsa-leaf-chain.crt keyfile=certs/rsa-leaf.key cafile=certs/rsa-root.crt ;;
p256) certfile=certs/p256-leaf.crt keyfile=certs/p256-leaf.key cafile=certs/p256-root.crt ;;
*) echo "--cert rsa or p256" >&2 && exit 2 ;;
esac
command="scripts/compare.sh --messages $messages --rounds $rounds --cert $cert"

for tool in mosquitto mosquitto_pub mosquitto_sub /usr/bin/time python3; do
    command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] ||
        { echo "missing $tool (Debian: apt-get install mosquitto mosquitto-clients time)" >&2 && exit 1; }
done
/usr/bin/time -f %M true 2>/dev/null || { echo "/usr/bin/time is not GNU time" >&2 && exit 1; }

target_dir=$(cargo metadata --no-deps --format-version 1 |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
cargo build --quiet --release --example mqtt --features std
mqtt="$target_dir/release/examples/mqtt"

work=$(mktemp -d)
broker_pid=""
cleanup() {
    [ -n "$broker_pid" ] && kill "$broker_pid" 2>/dev/null && wait "$broker_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$work/mosquitto.conf" <<EOF
user $(id -un)
allow_anonymous true
log_dest file $work/mosquitto.log
log_type error
log_type warning
log_type subscribe
# Never drop a QoS 1 message queued for a slow subscriber (the default limit is 1000).
max_queued_messages 0
listener $port 127.0.0.1
certfile $(pwd)/$certfile
keyfile $(pwd)/$keyfile
EOF
mosquitto=$(command -v mosquitto || echo /usr/sbin/mosquitto)
"$mosquitto" -c "$work/mosquitto.conf" 2>>"$work/mosquitto.log" &
broker_pid=$!
for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
done

# N lines of 48 bytes each.
python3 -c "
for i in range($messages):
    print(f'message {i:08d} ' + 'x' * 31)" >"$work/input"

tls=(-h localhost -p "$port" --cafile "$cafile")

now_ns() { date +%s%N; }

# pair ROUND NAME PUB_CMD SUB_CMD: runs one subscriber + publisher pair, appends a result line.
run_pair() {
    local round=$1 name=$2 pub=$3 sub=$4
    local topic="compare/$name/$round" id="cmp-$name-sub-$round"
    local sub_out="$work/$name.$round.sub.time" pub_out="$work/$name.$round.pub.time"
    # shellcheck disable=SC2086
    /usr/bin/time -f '%e %U %S %M' -o "$sub_out" $sub "${tls[@]}" -i "$id" -t "$topic" -q 1 \
        -C "$messages" >"$work/$name.$round.received" 2>"$work/$name.$round.sub.err" &
    local sub_pid=$!
    local waited=0
    until grep -q "$id 1 $topic" "$work/mosquitto.log" 2>/dev/null; do
        sleep 0.05
        waited=$((waited + 1))
        [ $waited -lt 200 ] || { echo "$name: no subscription after 10 s" >&2 && cat "$work/$name.$round.sub.err" >&2 && exit 1; }
    done
    local start end sub_end
    start=$(now_ns)
    # shellcheck disable=SC2086
    /usr/bin/time -f '%e %U %S %M' -o "$pub_out" $pub "${tls[@]}" -i "cmp-$name-pub-$round" \
        -t "$topic" -q 1 -l <"$work/input" 2>"$work/$name.$round.pub.err" ||
        { echo "$name publisher failed:" >&2 && cat "$work/$name.$round.pub.err" >&2 && exit 1; }
    end=$(now_ns)
    wait "$sub_pid" || { echo "$name subscriber failed:" >&2 && cat "$work/$name.$round.sub.err" >&2 && exit 1; }
    sub_end=$(now_ns)
    local received
    received=$(wc -l <"$work/$name.$round.received")
    [ "$received" = "$messages" ] || { echo "$name: subscriber printed $received lines, not $messages" >&2 && exit 1; }
    cmp -s "$work/input" "$work/$name.$round.received" ||
        { echo "$name: the messages received differ from those sent (order or content)" >&2 && exit 1; }
    echo "$round $name pub $((end - start)) $(cat "$pub_out")" >>"$work/results"
    echo "$round $name sub $((sub_end - start)) $(cat "$sub_out")" >>"$work/results"
}

: >"$work/results"
load=$(cut -d' ' -f1-3 /proc/loadavg)
for round in $(seq "$rounds"); do
    if [ $((round % 2)) = 1 ]; then
        run_pair "$round" ours "$mqtt pub" "$mqtt sub"
        run_pair "$round" mosquitto mosquitto_pub mosquitto_sub
    else
        run_pair "$round" mosquitto mosquitto_pub mosquitto_sub
        run_pair "$round" ours "$mqtt pub" "$mqtt sub"
    fi
done

cpu=$(grep -m1 -E '^(model name|Model|cpu model)' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//')
DATE=$(date -u '+%Y-%m-%d %H:%M UTC') MACHINE="${cpu:-unknown CPU}, $(nproc) CPUs, $(uname -sm), load average $load at the start" \
    COMMAND="$command" MESSAGES=$messages CERT=$certfile \
    VERSIONS="$("$mosquitto" -h 2>/dev/null | head -1 | sed 's/ is an.*//'), $(mosquitto_pub --help | sed -n 2p | sed 's/ running on.*//'), $(rustc --version)" \
    python3 - "$work/results" "$markdown" <<'EOF'
import os, sys
from collections import defaultdict

results_path, markdown_path = sys.argv[1:3]
messages = int(os.environ["MESSAGES"])
# (round, client, role) -> (wall s, user s, sys s, max RSS KiB)
rows = {}
for line in open(results_path):
    rnd, client, role, ns, _elapsed, user, system, rss = line.split()
    rows[(int(rnd), client, role)] = (int(ns) / 1e9, float(user), float(system), int(rss))

PROGRAMS = {("ours", "pub"): "mqtt pub -l", ("ours", "sub"): f"mqtt sub -C {messages}",
            ("mosquitto", "pub"): "mosquitto_pub -l", ("mosquitto", "sub"): f"mosquitto_sub -C {messages}"}
lines = [
    f"Measured {os.environ['DATE']} on {os.environ['MACHINE']}; {os.environ['VERSIONS']}.",
    "",
    f"Command: `{os.environ['COMMAND']}`. {messages:,} QoS 1 messages of 48 bytes, TLS 1.3 to a local "
    f"Mosquitto serving `{os.environ['CERT']}`; one subscriber + publisher pair at a time. Rate = "
    "messages / wall time (publisher: its start to its exit; subscriber: the publisher's start "
    "to its own exit). CPU = user + sys of the process; RSS = peak resident set (GNU time). "
    "Ratio = ours / mosquitto: above 1 is more for ours.",
    "",
    "| round | role | ours: msg/s | mosquitto: msg/s | rate ratio | ours: CPU s | mosquitto: CPU s | CPU ratio | ours: peak RSS | mosquitto: peak RSS | RSS ratio |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
]
totals = defaultdict(list)
rounds = sorted({k[0] for k in rows})
for rnd in rounds:
    for role in ("pub", "sub"):
        o, m = rows[(rnd, "ours", role)], rows[(rnd, "mosquitto", role)]
        rate_o, rate_m = messages / o[0], messages / m[0]
        cpu_o, cpu_m = o[1] + o[2], m[1] + m[2]
        totals[role].append((rate_o, rate_m, cpu_o, cpu_m, o[3], m[3]))
        cpu_ratio = f"{cpu_o / cpu_m:.2f}" if cpu_m > 0 else "–"
        lines.append(
            f"| {rnd} | {PROGRAMS[('ours', role)]} vs {PROGRAMS[('mosquitto', role)]} | {rate_o:,.0f} | {rate_m:,.0f} | "
            f"{rate_o / rate_m:.2f} | {cpu_o:.2f} | {cpu_m:.2f} | {cpu_ratio} | "
            f"{o[3]:,} KiB | {m[3]:,} KiB | {o[3] / m[3]:.2f} |")
if len(rounds) > 1:
    for role in ("pub", "sub"):
        t = totals[role]
        n = len(t)
        avg = [sum(x[i] for x in t) / n for i in range(6)]
        lines.append(
            f"| mean of {n} | {role} | {avg[0]:,.0f} | {avg[1]:,.0f} | {avg[0] / avg[1]:.2f} | "
            f"{avg[2]:.2f} | {avg[3]:.2f} | {avg[2] / avg[3]:.2f} | {avg[4]:,.0f} KiB | {avg[5]:,.0f} KiB | {avg[4] / avg[5]:.2f} |")
text = "\n".join(lines)
print(text)
if markdown_path:
    with open(markdown_path, "w") as f:
        f.write(text + "\n")
EOF
