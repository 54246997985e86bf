#!/usr/bin/env bash
# Flash footprint of a firmware image by crate and by module of embedded-mqtts, inlined code
# counted where it came from (scripts/footprint_lines.py: DWARF line table + inline chains for
# .text, relocations for .rodata).
#
# Usage: scripts/footprint.sh [--image NAME]... [--markdown FILE] [--json DIR]
#   NAME: mps2-eth-p256 (default: the issue's target image, `examples/mps2-eth
#         --no-default-features` with certs/p256-root.der pinned), mps2-eth (RSA), mps2-embassy,
#         frdm-k64f. Several --image options measure several images.
#
# Each image is linked once more with `-C link-arg=--emit-relocs` (`cargo rustc`: only the
# final link changes, the loaded bytes are the same; the relocations let .rodata be charged to
# the code that refers to it), in the image's own target directory; the folder's normal
# `cargo build --release` is run afterwards so that the ELF the tests use is the usual one.
#
# Two figures per crate and module (see footprint_lines.py):
#   owner  = the code a module asked for, with the core/alloc code inlined into it (iterators,
#            bounds checks, formatting glue): the honest "how big is this module";
#   source = where the instructions were written (core's inlined code counts for core).
# "MQTT client" is the part coreMQTT counts for itself: codec (packet, packet/encode, topic),
# session (session, inflight), connection state (connection) and one driver (client,
# client/blocking), owner figures, .text + .rodata.
#
# Needs: cargo with thumbv7em-none-eabihf, llvm-dwarfdump and llvm-symbolizer (Debian llvm),
# arm-none-eabi-nm, -readelf and -size (binutils-arm-none-eabi), python3.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/firmware-paths.sh
source scripts/firmware-paths.sh

markdown=""
json_dir=""
images=()
while [ $# -gt 0 ]; do
    case $1 in
    --image) images+=("$2") && shift 2 ;;
    --markdown) markdown=$2 && shift 2 ;;
    --json) json_dir=$2 && shift 2 ;;
    *) echo "unknown argument $1 (see the header of $0)" >&2 && exit 2 ;;
    esac
done
[ ${#images[@]} -gt 0 ] || images=(mps2-eth-p256)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# folder|binary|cargo arguments|BROKER_CA
describe() {
    case $1 in
    mps2-eth-p256) echo "mps2-eth|mps2-eth|--no-default-features|../../certs/p256-root.der" ;;
    mps2-eth) echo "mps2-eth|mps2-eth||" ;;
    mps2-embassy) echo "mps2-embassy|mps2-embassy||" ;;
    frdm-k64f) echo "frdm-k64f|frdm-k64f-mqtts||" ;;
    *) echo "unknown image $1 (see the header of $0)" >&2 && exit 2 ;;
    esac
}

for image in "${images[@]}"; do
    IFS='|' read -r folder binary args ca <<<"$(describe "$image")"
    # shellcheck disable=SC2086 # $args is a list of words
    (
        cd "examples/$folder"
        unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS CARGO_BUILD_TARGET BROKER_CA
        if [ -n "$ca" ]; then export BROKER_CA=$ca; fi
        export CARGO_TARGET_DIR="$PWD/target"
        cargo rustc --release --quiet --bin "$binary" $args -- -C link-arg=--emit-relocs
        cp "target/thumbv7em-none-eabihf/release/$binary" "$work/$image.elf"
        unset BROKER_CA
        cargo build --release --quiet
    )
    arm-none-eabi-size "$work/$image.elf" | tail -1 >"$work/$image.berkeley"
    python3 scripts/footprint_lines.py "$work/$image.elf" --json "$work/$image.json" >/dev/null
    if [ -n "$json_dir" ]; then cp "$work/$image.json" "$json_dir/$image.json"; fi
done

DATE=$(date -u '+%Y-%m-%d %H:%M UTC') RUSTC=$(rustc --version) \
    python3 - "$work" "$markdown" "${images[@]}" <<'EOF'
import json, os, sys
from collections import defaultdict

work, markdown_path, images = sys.argv[1], sys.argv[2], sys.argv[3:]
MQTT_CLIENT = ["packet", "packet/encode", "topic", "session", "inflight", "connection", "client", "client/blocking"]
lines = [f"Measured {os.environ['DATE']}, {os.environ['RUSTC']}. Command: `scripts/footprint.sh"
         + "".join(f" --image {i}" for i in images) + "`."]
for image in images:
    r = json.load(open(os.path.join(work, image + ".json")))
    text, data, bss = (int(x) for x in open(os.path.join(work, image + ".berkeley")).read().split()[:3])
    crates = defaultdict(lambda: [0, 0, 0])
    modules = defaultdict(lambda: [0, 0, 0])
    firmware = defaultdict(lambda: [0, 0, 0])
    for column, table in enumerate(("text_owner", "text_source", "rodata")):
        for key, size in r[table].items():
            crate, module = key.split("|")
            crates[crate][column] += size
            if crate == "embedded_mqtts":
                modules[module][column] += size
            elif crate.startswith("firmware (") and module:
                firmware[module][column] += size
    lines += ["", f"### {image}: text {text:,}, data {data:,}, bss {bss:,}; flash {text + data:,} B",
              "", f"Sections: " + ", ".join(f"`{k}` {v:,}" for k, v in sorted(r["sections"].items()) if v) + ".",
              "", "| crate | .text (owner) | .text (source) | .rodata | owner + .rodata |", "|---|---|---|---|---|"]
    for crate, (own, src, ro) in sorted(crates.items(), key=lambda kv: -(kv[1][0] + kv[1][2])):
        if own + src + ro:
            lines.append(f"| {crate} | {own:,} | {src:,} | {ro:,} | {own + ro:,} |")
    lines += ["", "| embedded-mqtts module | .text (owner) | .text (source) | .rodata | owner + .rodata |", "|---|---|---|---|---|"]
    for module, (own, src, ro) in sorted(modules.items(), key=lambda kv: -(kv[1][0] + kv[1][2])):
        lines.append(f"| {module} | {own:,} | {src:,} | {ro:,} | {own + ro:,} |")
    total = [sum(v[i] for v in modules.values()) for i in range(3)]
    mqtt = [sum(modules[m][i] for m in MQTT_CLIENT if m in modules) for i in range(3)]
    lines += [f"| **all of embedded-mqtts** | **{total[0]:,}** | {total[1]:,} | {total[2]:,} | **{total[0] + total[2]:,}** |",
              f"| **MQTT client** ({', '.join(MQTT_CLIENT)}) | **{mqtt[0]:,}** | {mqtt[1]:,} | {mqtt[2]:,} | **{mqtt[0] + mqtt[2]:,}** |"]
    lines += ["", "| firmware file | .text (owner) | .text (source) | .rodata | owner + .rodata |", "|---|---|---|---|---|"]
    for module, (own, src, ro) in sorted(firmware.items(), key=lambda kv: -(kv[1][0] + kv[1][2])):
        lines.append(f"| {module} | {own:,} | {src:,} | {ro:,} | {own + ro:,} |")
text = "\n".join(lines)
print(text)
if markdown_path:
    with open(markdown_path, "w") as f:
        f.write(text + "\n")
EOF
