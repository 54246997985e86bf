#!/usr/bin/env bash
# Runs the MQTT benchmarks (benches/codec.rs, benches/session.rs) and rewrites the generated
# part of docs/performance.md from criterion's results, with the date, the machine, the rustc
# version and the command, so every figure there says where it came from.
#
# Usage:
#   scripts/bench.sh [CRITERION ARGS...]   e.g. scripts/bench.sh --measurement-time 3
#   scripts/bench.sh --report-only         rewrite the doc from the last run, without running
#
# Arguments go to criterion (after `--`): a filter such as `encode_publish`, or
# `--measurement-time 3`, `--warm-up-time 1`, `--sample-size 50`. Only results written by this
# run go into the doc (older ones in target/criterion are ignored), so the ratios in the doc
# always come from one run; a filtered run therefore produces a doc with only those rows.
#
# Needs: cargo, python3 (standard library only).
set -euo pipefail
cd "$(dirname "$0")/.."

target_dir=$(cargo metadata --no-deps --format-version 1 |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
criterion_dir="$target_dir/criterion"
run_file="$criterion_dir/embedded-mqtts-run.json"

if [[ "${1:-}" != "--report-only" ]]; then
    mkdir -p "$criterion_dir"
    cpu=$(grep -m1 -E '^(model name|Model|cpu model)' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//')
    # The run's facts are written before it starts: its start time decides which results
    # belong to it.
    DATE=$(date -u '+%Y-%m-%d %H:%M UTC') \
        MACHINE="${cpu:-unknown CPU}, $(nproc) CPUs, $(uname -sm), load average $(cut -d' ' -f1-3 /proc/loadavg) at the start" \
        RUSTC=$(rustc --version) \
        COMMAND="scripts/bench.sh $*" \
        CARGO_COMMAND="cargo bench --bench codec --bench session -- $*" \
        python3 - "$run_file" <<'EOF'
import json, os, sys, time
keys = ["DATE", "MACHINE", "RUSTC", "COMMAND", "CARGO_COMMAND"]
run = {k.lower(): os.environ[k].strip() for k in keys}
run["started"] = time.time()
with open(sys.argv[1], "w") as f:
    json.dump(run, f, indent=1)
EOF
    cargo bench --bench codec --bench session -- "$@"
fi

[[ -f "$run_file" ]] || { echo "no run recorded in $run_file: run without --report-only" >&2; exit 1; }

python3 - "$criterion_dir" "$run_file" docs/performance.md <<'EOF'
"""Turns criterion's new/benchmark.json + new/estimates.json of one run into markdown tables."""
import json, os, sys

criterion_dir, run_file, doc_path = sys.argv[1:4]
with open(run_file) as f:
    run = json.load(f)

# (group, function, value) -> (estimate ns, lower ns, upper ns, throughput)
results = {}
for root, _dirs, files in os.walk(criterion_dir):
    if os.path.basename(root) != "new" or "benchmark.json" not in files:
        continue
    estimates_path = os.path.join(root, "estimates.json")
    # Leave out results older than this run (a second of slack for file-system clocks).
    if os.path.getmtime(estimates_path) < run["started"] - 1:
        continue
    with open(os.path.join(root, "benchmark.json")) as f:
        bench = json.load(f)
    with open(estimates_path) as f:
        estimates = json.load(f)
    # The figure criterion prints as "time": the slope of the linear fit if it made one,
    # else the mean.
    stat = estimates.get("slope") or estimates["mean"]
    ci = stat["confidence_interval"]
    key = (bench["group_id"], bench["function_id"] or "", bench["value_str"] or "")
    results[key] = (stat["point_estimate"], ci["lower_bound"], ci["upper_bound"],
                    bench.get("throughput"))

if not results:
    sys.exit(f"no criterion results from this run under {criterion_dir}")


def fmt_time(ns):
    if ns < 1_000:
        return f"{ns:.1f} ns"
    if ns < 1_000_000:
        return f"{ns / 1_000:.2f} µs"
    return f"{ns / 1_000_000:.2f} ms"


def fmt_ci(lower, upper):
    return f"{fmt_time(lower)} – {fmt_time(upper)}"


def fmt_size(value):
    if not value:
        return "–"
    size = int(value)
    return f"{size // 1024} KiB" if size >= 1024 and size % 1024 == 0 else f"{size} B"


PACKETS = {
    "encode_connect": "CONNECT",
    "encode_publish": "PUBLISH (QoS 1)",
    "encode_subscribe": "SUBSCRIBE (2 filters)",
    "encode_puback": "PUBACK",
    "decode_publish": "PUBLISH (QoS 1)",
    "decode_puback": "PUBACK",
}
# How the mqttrs side of a row differs from plain `mqttrs` (see benches/codec.rs).
BASELINES = {
    "mqttrs": "",
    "mqttrs_build": ", mqttrs packet built in the loop",
}
FLOWS = {
    "publish_qos0": "QoS 0 publish (encode only)",
    "publish_qos1_round_trip": "QoS 1 publish round trip (PUBLISH, PUBACK)",
    "publish_qos2_round_trip": "QoS 2 publish round trip (PUBLISH, PUBREC→PUBREL, PUBCOMP)",
    "inbound_qos1": "QoS 1 delivery (PUBLISH → Message + PUBACK)",
    "inbound_qos2": "QoS 2 delivery (PUBLISH → Message + PUBREC, PUBREL → PUBCOMP)",
}


def sort_key(key):
    group, function, value = key
    order = list(PACKETS) + ["topic_checks", "session"]
    rank = order.index(group) if group in order else len(order)
    flow = list(FLOWS).index(function) if function in FLOWS else len(FLOWS)
    return (rank, group, flow, int(value) if value.isdigit() else 0, function)


def cell(result):
    estimate, lower, upper, _ = result
    return f"{fmt_time(estimate)} ({fmt_ci(lower, upper)})"


def table(header, row):
    """A markdown table under the `header` line: one row per result for which `row(key,
    result)` gives the cells, in `sort_key` order; a "(not run)" row if there is none."""
    columns = header.count("|") - 1
    body = []
    for key in sorted(results, key=sort_key):
        cells = row(key, results[key])
        if cells:
            body.append("| " + " | ".join(cells) + " |")
    placeholder = "| (not run) " + "| " * (columns - 1) + "|"
    return [header, "|" + "---|" * columns] + (body or [placeholder]), len(body)


def codec_row(key, base):
    group, function, value = key
    ours = results.get((group, "ours", value))
    if group not in PACKETS or function == "ours" or ours is None:
        return None
    ratio = ours[0] / base[0]
    packet = PACKETS[group] + BASELINES.get(function, f", mqttrs function `{function}`")
    operation = group.partition("_")[0]
    return [operation, packet, fmt_size(value), cell(ours), cell(base), f"{ratio:.2f}",
            "yes" if ratio <= 1.10 else "no"]


def check_row(key, result):
    if key[0] in PACKETS or key[0] == "session":
        return None
    return [f"`{'/'.join(part for part in key if part)}`", cell(result)]


def session_row(key, result):
    group, function, _ = key
    if group != "session":
        return None
    return [FLOWS.get(function, function), cell(result), f"{1e9 / result[0]:,.0f}"]


codec, codec_rows = table(
    "| Operation | Packet | Payload | ours | mqttrs | ours / mqttrs | ≤ 1.10 |", codec_row)
checks, _ = table("| Check | time |", check_row)
session, session_rows = table("| Flow | time per message | messages / s |", session_row)
lines = [
    f"Measured {run['date']} on {run['machine']}, {run['rustc']}.",
    "",
    f"Command: `{run['command']}` (runs `{run['cargo_command']}`).",
    "",
    "Times are criterion's estimate per iteration (the slope of its linear fit), with the",
    "95 % confidence interval. Ratio = ours / mqttrs: below 1.00 ours is faster; the target",
    "is at most 1.10.",
    "",
    "### Codec: ours vs plain mqttrs (`benches/codec.rs`)",
    "",
    *codec,
    "",
    "Checks ours makes and mqttrs does not, timed alone (group `topic_checks`; 22-byte",
    "topic name, the same two SUBSCRIBE filters):",
    "",
    *checks,
    "",
    "### Session throughput, sans-IO (`benches/session.rs`)",
    "",
    "One message per iteration, 16 B payload on a 22-byte topic, every packet of its flow",
    "encoded or handled; no transport, TLS or clock.",
    "",
    *session,
]

BEGIN = "<!-- BEGIN GENERATED by scripts/bench.sh: edits here are overwritten -->"
END = "<!-- END GENERATED -->"
with open(doc_path) as f:
    doc = f.read()
start, end = doc.find(BEGIN), doc.find(END)
if start < 0 or end < start:
    sys.exit(f"{doc_path} lacks the markers {BEGIN!r} ... {END!r}")
doc = doc[: start + len(BEGIN)] + "\n" + "\n".join(lines) + "\n" + doc[end:]
with open(doc_path, "w") as f:
    f.write(doc)
print(f"{doc_path}: {codec_rows} codec comparisons, {session_rows} session flows")
print("\n".join(lines))
EOF
