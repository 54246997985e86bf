#!/usr/bin/env bash
# Flash footprint on the Cortex-M4 (thumbv7em-none-eabihf), per module of this crate and per
# crate, at opt-level "s" and "z"; then the whole FRDM-K64F image (text/data/bss).
#
# Usage: scripts/footprint.sh [--markdown FILE] [--no-k64f]
#
# What is built: examples/qemu-mps2 (the blocking client over TLS 1.3 with an RSA CA pin,
# RSA + P-256, SUBSCRIBE / PUBLISH QoS 1 / DISCONNECT; fat LTO, one codegen unit,
# panic = "abort"), once per opt-level (CARGO_PROFILE_RELEASE_OPT_LEVEL=s|z), into
# $TARGET/footprint-{s,z} so nothing else's build is disturbed. The symbols of the image
# (`arm-none-eabi-nm --size-sort -S --demangle`, code and named constants) are grouped by the
# path in their demangled name: `embedded_mqtts::session::...` counts for `session`, a trait
# method `<X as Trait>::f` for X's path (for the trait's when X is a bare type parameter), a
# generic function for the crate that defines it, wherever it was instantiated.
#
# Caveat: with LTO and these opt-levels much code is inlined into its callers, and then it
# counts for the caller's module or crate (often the firmware's own `qemu_mps2_mqtts`); code
# merged across functions is counted once for one of them; anonymous constants (string
# literals, tables) are not attributed. The module figures are therefore approximate, lower
# bounds for small inlined helpers; the sum of the attributed rows is shown next to the
# section totals.
#
# Needs: cargo with the thumbv7em-none-eabihf target, arm-none-eabi-nm and -size (Debian
# binutils-arm-none-eabi), python3.
set -euo pipefail
cd "$(dirname "$0")/.."

markdown=""
k64f=1
while [ $# -gt 0 ]; do
    case $1 in
    --markdown) markdown=$2 && shift 2 ;;
    --no-k64f) k64f=0 && shift ;;
    *) echo "unknown argument $1 (see the header of $0)" >&2 && exit 2 ;;
    esac
done

target_dir=$(cargo metadata --no-deps --format-version 1 |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for level in s z; do
    dir="$target_dir/footprint-$level"
    (cd examples/qemu-mps2 && CARGO_TARGET_DIR="$dir" CARGO_PROFILE_RELEASE_OPT_LEVEL=$level \
        cargo build --release --quiet)
    elf="$dir/thumbv7em-none-eabihf/release/qemu-mps2-mqtts"
    arm-none-eabi-nm --size-sort -S --demangle "$elf" >"$work/nm-$level.txt"
    arm-none-eabi-size -A "$elf" >"$work/sections-$level.txt"
    arm-none-eabi-size "$elf" | tail -1 >"$work/berkeley-$level.txt"
done

if [ "$k64f" = 1 ]; then
    bash examples/frdm-k64f/scripts/size.sh >"$work/k64f.txt"
fi

DATE=$(date -u '+%Y-%m-%d %H:%M UTC') RUSTC=$(rustc --version) \
    NM_VERSION=$(arm-none-eabi-nm --version | head -1) \
    python3 - "$work" "$markdown" <<'EOF'
import os, re, sys
from collections import defaultdict

work, markdown_path = sys.argv[1:3]

# Modules of this crate, longest prefix first; the row names of the module table.
MODULES = [
    ("embedded_mqtts::packet::encode", "packet (encode)"),
    ("embedded_mqtts::packet", "packet (parse, scan)"),
    ("embedded_mqtts::session", "session"),
    ("embedded_mqtts::inflight", "session (in-flight table)"),
    ("embedded_mqtts::topic", "topic"),
    ("embedded_mqtts::client::blocking", "client drivers (blocking)"),
    ("embedded_mqtts::client::asynch", "client drivers (async)"),
    ("embedded_mqtts::client", "client drivers (shared)"),
    ("embedded_mqtts::connection", "connection (framing, send queue)"),
    ("embedded_mqtts::tls::connection", "tls glue (connection)"),
    ("embedded_mqtts::tls::provider", "tls glue (provider)"),
    ("embedded_mqtts::tls::verify", "verify (path search, checks)"),
    ("embedded_mqtts::tls::name", "verify (host names)"),
    ("embedded_mqtts::tls::x509", "x509"),
    ("embedded_mqtts::tls::summary", "x509 (summary)"),
    ("embedded_mqtts::tls::sig", "sig"),
    ("embedded_mqtts::tls::pin", "pin"),
    ("embedded_mqtts::tls::pem", "pin"),
    ("embedded_mqtts::tls::text", "errors (Display)"),
    ("embedded_mqtts::error", "errors (Display)"),
    ("embedded_mqtts::time", "time"),
    ("embedded_mqtts", "other"),
]
# The sans-IO connection around the session (was `ClientState`, in the client module).
CONNECTION = "connection (framing, send queue)"
MQTT_PART = {"packet (encode)", "packet (parse, scan)", "session", "session (in-flight table)", "topic"}


def owner_path(name):
    """The path a demangled symbol is attributed to."""
    name = name.strip()
    m = re.match(r"^<(.*)>::[^<>]*$", name)
    if m:
        inner = m.group(1)
        # Split "<X as Trait>" at the top-level " as ".
        depth, split = 0, None
        for i, ch in enumerate(inner):
            if ch in "<([":
                depth += 1
            elif ch in ">)]":
                depth -= 1
            elif depth == 0 and inner.startswith(" as ", i):
                split = i
                break
        self_ty = inner if split is None else inner[:split]
        trait = None if split is None else inner[split + 4:]
        self_ty = re.sub(r"^(&mut |&|\*const |\*mut |dyn |\[)+", "", self_ty)
        if "::" in self_ty.split("<")[0]:
            return self_ty
        return trait or self_ty
    return name


def crate_of(path):
    head = path.split("<")[0]
    return head.split("::")[0] if "::" in head else None


def module_of(path):
    head = path.split("<")[0]
    for prefix, label in MODULES:
        if head == prefix or head.startswith(prefix + "::"):
            return label
    return None


def load(level):
    symbols = []
    for line in open(os.path.join(work, f"nm-{level}.txt")):
        parts = line.rstrip("\n").split(" ", 3)
        if len(parts) < 4:
            continue
        _addr, size, kind, name = parts
        if kind not in "tTrR":
            continue
        symbols.append((int(size, 16), kind, name))
    sections = {}
    for line in open(os.path.join(work, f"sections-{level}.txt")):
        parts = line.split()
        if len(parts) >= 2 and parts[0].startswith(".") and parts[1].isdigit():
            sections[parts[0]] = int(parts[1])
    text, data, bss = (int(x) for x in open(os.path.join(work, f"berkeley-{level}.txt")).read().split()[:3])
    return symbols, sections, (text, data, bss)


levels = {level: load(level) for level in ("s", "z")}
modules = {level: defaultdict(int) for level in levels}
crates = {level: defaultdict(int) for level in levels}
for level, (symbols, _sections, _berkeley) in levels.items():
    for size, _kind, name in symbols:
        path = owner_path(name)
        crate = crate_of(path) or "(no path: memcpy, __aeabi_*, start-up)"
        crates[level][crate] += size
        if crate == "embedded_mqtts":
            modules[level][module_of(path)] += size


def kib(n):
    return f"{n:,} B ({n / 1024:.1f} KiB)"


lines = [
    f"Measured {os.environ['DATE']}, {os.environ['RUSTC']}, {os.environ['NM_VERSION']}.",
    "",
    "Command: `scripts/footprint.sh`. Image: `examples/qemu-mps2` (blocking client, TLS 1.3, "
    "RSA CA pin, RSA + P-256 verification, SUBSCRIBE/PUBLISH QoS 1), release profile with fat LTO, "
    "one codegen unit, `panic = \"abort\"`, `CARGO_PROFILE_RELEASE_OPT_LEVEL=s` or `z`, "
    "thumbv7em-none-eabihf. Sizes are those of named code and constant symbols "
    "(`arm-none-eabi-nm --size-sort -S --demangle`), grouped by the path in their name.",
    "",
    "Whole image (`arm-none-eabi-size`): "
    + "; ".join(f"opt-level \"{l}\": text {b[0]:,}, data {b[1]:,}, bss {b[2]:,}"
                for l, (_s, _sec, b) in levels.items()) + ".",
    "",
    "### Per module of embedded-mqtts",
    "",
    "| module | opt-level \"s\" | opt-level \"z\" |",
    "|---|---|---|",
]
labels = []
for _prefix, label in MODULES:
    if label not in labels:
        labels.append(label)
for label in labels:
    s, z = modules["s"].get(label, 0), modules["z"].get(label, 0)
    if s or z:
        lines.append(f"| {label} | {s:,} | {z:,} |")
mqtt = {l: sum(v for k, v in modules[l].items() if k in MQTT_PART) for l in levels}
total = {l: sum(modules[l].values()) for l in levels}
lines += [
    f"| **MQTT part** (packet + session + topic) | **{mqtt['s']:,}** | **{mqtt['z']:,}** |",
    f"| MQTT part + `Connection` (the session's packet handling may be inlined into `Connection::poll_event`) "
    f"| {mqtt['s'] + modules['s'].get(CONNECTION, 0):,} "
    f"| {mqtt['z'] + modules['z'].get(CONNECTION, 0):,} |",
    f"| all of embedded_mqtts | {total['s']:,} | {total['z']:,} |",
    "",
    f"Target: MQTT part under 7 KiB (7,168 B): "
    + ", ".join(f"opt-level \"{l}\" {mqtt[l]:,} B, {'met' if mqtt[l] < 7168 else 'not met'}" for l in levels)
    + " by the symbols named after those modules; counting `Connection` too, "
    + ", ".join(f"\"{l}\" {mqtt[l] + modules[l].get(CONNECTION, 0):,} B" for l in levels)
    + ". Inlining decides between the two: see the caveat.",
    "",
    "### Per crate",
    "",
    "| crate | opt-level \"s\" | opt-level \"z\" |",
    "|---|---|---|",
]
all_crates = sorted(set(crates["s"]) | set(crates["z"]), key=lambda c: -crates["z"].get(c, 0))
for crate in all_crates:
    lines.append(f"| {crate} | {crates['s'].get(crate, 0):,} | {crates['z'].get(crate, 0):,} |")
attributed = {l: sum(crates[l].values()) for l in levels}
sections = {l: levels[l][1] for l in levels}
lines += [
    f"| **sum of named symbols** | **{attributed['s']:,}** | **{attributed['z']:,}** |",
    f"| `.text` + `.rodata` sections | {sections['s'].get('.text', 0) + sections['s'].get('.rodata', 0):,} "
    f"| {sections['z'].get('.text', 0) + sections['z'].get('.rodata', 0):,} |",
    "",
    "The difference between the last two rows is anonymous constants (string literals, "
    "panic locations, tables) and padding. Inlined code counts for its caller: "
    "`qemu_mps2_mqtts` holds the firmware's flow and whatever of the client, session and TLS "
    "code LTO inlined into it.",
]

k64f_path = os.path.join(work, "k64f.txt")
if os.path.exists(k64f_path):
    raw = open(k64f_path).read().splitlines()
    text, data, bss = (int(x) for x in raw[1].split()[:3])
    flash = text + data
    lines += [
        "",
        "### Whole FRDM-K64F image",
        "",
        "Command: `bash examples/frdm-k64f/scripts/size.sh` (its release profile: opt-level \"z\", "
        "fat LTO; the board support, smoltcp TCP/IP, console, and this crate with RSA):",
        "",
        "```",
        *raw,
        "```",
        "",
        f"Flash = text + data = {flash:,} B against 131,072 (128 KiB): "
        + ("met." if flash <= 131072 else f"**not met**, {flash - 131072:,} B over ({flash / 131072:.2f}×)."),
    ]

text = "\n".join(lines)
print(text)
if markdown_path:
    with open(markdown_path, "w") as f:
        f.write(text + "\n")
EOF
