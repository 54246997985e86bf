#!/usr/bin/env python3
"""Estimates the firmware's worst-case stack depth without the board.

Builds the release firmware with nightly rustc's `-Z emit-stack-sizes` (each function's
frame size goes to a `.stack_sizes` section; separate target directory, so the stable build
is untouched), reads the direct calls from the disassembly (`bl`, and branches to another
function, i.e. tail calls, counted as calls), and prints the deepest chain from `main`.

What the figure is: an upper bound along *direct* calls (a tail call is counted as if the
caller's frame stayed), plus the exception frame with FP context (104 bytes) and the
deepest exception handler. What it is not: calls through function pointers and `dyn`
(formatting's `Display::fmt`, `fmt::Write`) are not followed, and recursion is counted once;
both are listed. Compare with the painted high-water mark that `status` shows on the board.

Needs: `rustup toolchain install nightly`, `rustup target add --toolchain nightly
thumbv7em-none-eabihf`, and arm-none-eabi binutils (objdump, nm, objcopy).
Usage: scripts/stack-estimate.py [--no-build] [--top N]
"""

import os
import re
import subprocess
import sys
import tempfile
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
TARGET_DIR = os.path.join(ROOT, "target", "stack-sizes")
ELF = os.path.join(TARGET_DIR, "thumbv7em-none-eabihf", "release", "frdm-k64f-mqtts")
# Cortex-M4F exception entry with the FPU in use: 8 core words + 18 FP words (lazy stacking
# reserves the space), aligned: 26 words.
EXCEPTION_FRAME = 104
ENTRY = "main"
EXCEPTION_HANDLERS = ("HardFault_", "DefaultHandler_", "HardFault")


def build():
    env = dict(os.environ)
    env["CARGO_TARGET_DIR"] = TARGET_DIR
    env["RUSTFLAGS"] = "-C link-arg=-Tlink.x -Z emit-stack-sizes"
    subprocess.run(["cargo", "+nightly", "build", "--release", "--quiet"], cwd=ROOT, env=env,
                   check=True)


def run(*args):
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def stack_sizes():
    """{function address: frame bytes} from .stack_sizes (u32 address, ULEB128 size)."""
    with tempfile.NamedTemporaryFile() as out:
        run("arm-none-eabi-objcopy", "--dump-section", f".stack_sizes={out.name}", ELF, "/dev/null")
        data = open(out.name, "rb").read()
    sizes, i = {}, 0
    while i + 4 <= len(data):
        address = int.from_bytes(data[i:i + 4], "little") & ~1
        i += 4
        size, shift = 0, 0
        while True:
            byte = data[i]
            i += 1
            size |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                break
        sizes[address] = max(size, sizes.get(address, 0))
    return sizes


def functions():
    """[(start, end, name)] of the code symbols, sorted."""
    found = {}
    for line in run("arm-none-eabi-nm", "-S", "-C", "--defined-only", ELF).splitlines():
        parts = line.split(None, 3)
        if len(parts) == 4 and parts[2] in "tTW":
            start, size = int(parts[0], 16) & ~1, int(parts[1], 16)
            if size and (start not in found or found[start][1] < size):
                found[start] = (start + size, parts[3])
    return sorted((start, end, name) for start, (end, name) in found.items())


INSTRUCTION = re.compile(r"^\s*([0-9a-f]+):\s+(?:[0-9a-f]{4}\s(?:[0-9a-f]{4}\s)?)?\s*(\S+)\s*(.*)$")
TARGET = re.compile(r"^([0-9a-f]+) <")
BRANCH = re.compile(r"^(b|bl|blx)(eq|ne|cs|hs|cc|lo|mi|pl|vs|vc|hi|ls|ge|lt|gt|le|al)?(\.[nw])?$")


def call_graph(funcs):
    """Direct calls {caller start: set(callee start)} and indirect call counts."""
    starts = [f[0] for f in funcs]
    import bisect

    def owner(address):
        k = bisect.bisect_right(starts, address) - 1
        if k >= 0 and address < funcs[k][1]:
            return funcs[k][0]
        return None

    calls, indirect = defaultdict(set), defaultdict(int)
    text = run("arm-none-eabi-objdump", "-d", "-j", ".text", ELF)
    for line in text.splitlines():
        m = INSTRUCTION.match(line)
        if not m:
            continue
        address, mnemonic, operands = int(m.group(1), 16), m.group(2), m.group(3)
        caller = owner(address)
        if caller is None:
            continue
        if mnemonic == "blx" and operands.startswith("r"):
            indirect[caller] += 1
            continue
        b = BRANCH.match(mnemonic)
        t = TARGET.match(operands)
        if not (b and t):
            continue
        callee = owner(int(t.group(1), 16))
        if callee is None or callee == caller:
            continue
        if b.group(1) in ("bl", "blx") or int(t.group(1), 16) == callee:
            calls[caller].add(callee)
    return calls, indirect


def deepest(start, sizes, calls, memo, active, cycles):
    if start in memo:
        return memo[start]
    active.add(start)
    best, via = 0, None
    for callee in calls.get(start, ()):
        if callee in active:
            cycles.add((start, callee))
            continue
        depth, _ = deepest(callee, sizes, calls, memo, active, cycles)
        if depth > best:
            best, via = depth, callee
    active.discard(start)
    memo[start] = (sizes.get(start, 0) + best, via)
    return memo[start]


def main():
    if "--no-build" not in sys.argv:
        build()
    top = int(sys.argv[sys.argv.index("--top") + 1]) if "--top" in sys.argv else 40
    sizes, funcs = stack_sizes(), functions()
    names = {start: name for start, _, name in funcs}
    by_name = {name: start for start, _, name in funcs}
    calls, indirect = call_graph(funcs)
    memo, cycles = {}, set()
    if ENTRY not in by_name:
        sys.exit(f"no symbol {ENTRY}")
    total, _ = deepest(by_name[ENTRY], sizes, calls, memo, set(), cycles)
    print(f"deepest chain of direct calls from {ENTRY}: {total} bytes")
    node, shown, indirect_on_path = by_name[ENTRY], 0, 0
    while node is not None and shown < top:
        own = sizes.get(node, 0)
        mark = f"  [{indirect[node]} indirect calls]" if indirect[node] else ""
        indirect_on_path += indirect[node]
        print(f"  {own:6} {memo[node][0]:7}  {names[node][:110]}{mark}")
        node, shown = memo[node][1], shown + 1
    handler = 0
    for name in EXCEPTION_HANDLERS:
        if name in by_name:
            handler = max(handler, deepest(by_name[name], sizes, calls, memo, set(), cycles)[0])
    print(f"exception on top: {EXCEPTION_FRAME} bytes of frame + {handler} bytes of handler")
    print(f"estimate: {total + EXCEPTION_FRAME + handler} bytes")
    missing = [names[f] for f in names if f not in sizes]
    print(f"functions without a stack size (assembly, or none emitted): {len(missing)}"
          + (f", e.g. {', '.join(m[:40] for m in missing[:5])}" if missing else ""))
    print(f"indirect calls in the program: {sum(indirect.values())}, on the chain above: "
          f"{indirect_on_path} (not followed)")
    if cycles:
        print(f"recursive call edges (counted once): {len(cycles)}, e.g. "
              + "; ".join(f"{names[a][:50]} -> {names[b][:50]}" for a, b in sorted(cycles)[:3]))


if __name__ == "__main__":
    main()
