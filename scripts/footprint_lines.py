#!/usr/bin/env python3
"""Flash of a firmware ELF by crate and by module of embedded-mqtts, inlined code included.

Usage: footprint_lines.py ELF [--json OUT] [--top N]

Every byte of `.text` is attributed through the DWARF line table (`llvm-dwarfdump
--debug-line`: each row covers the bytes up to the next row) and the inline chain of its
address (`llvm-symbolizer --inlining`): the frames from the innermost inlined function out to
the real one, each with the source file of the code at that address. Two attributions:

- **source**: the innermost frame's file, where the instructions were written. A slice index
  inlined into `session.rs` counts for `core`.
- **owner**: the innermost frame whose file is not Rust's own library (`core`, `alloc`,
  `compiler_builtins`): the code that asked for those instructions. The same slice index counts
  for `session`. This is the figure for "how big is module X", inlining included: a module
  pays for the generic core code (iterators, formatting glue, bounds checks) it instantiates,
  wherever LTO put it.

Bytes without line information (padding, hand-written assembly of compiler_builtins) are
attributed to the symbol that contains them (`arm-none-eabi-nm`), or to "(no line info)".
`.rodata` has no line information: its named symbols are attributed by their demangled path
(crate, and module of embedded-mqtts), the rest is "(anonymous .rodata)": string literals,
panic locations, lookup tables. The ELF must have debug information (`debug = true` in the
release profile; it is not loaded on the device).

Needs: llvm-dwarfdump, llvm-symbolizer (Debian llvm), arm-none-eabi-nm, arm-none-eabi-readelf.
"""

import json
import os
import re
import subprocess
import sys
from collections import defaultdict

STD_CRATES = {"core", "alloc", "compiler_builtins", "std"}


def run(*args, stdin=None):
    return subprocess.run(args, input=stdin, capture_output=True, text=True, check=True).stdout


def sections(elf):
    """{name: (address, size, file offset)} of the sections."""
    found = {}
    for line in run("arm-none-eabi-readelf", "-SW", elf).splitlines():
        m = re.match(r"\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)", line)
        if m:
            found[m.group(1)] = (int(m.group(2), 16), int(m.group(4), 16), int(m.group(3), 16))
    return found


def references(elf, secs):
    """[(from address, to address)] of the absolute addresses the linker wrote into .text,
    .rodata and the other code sections (p256-cm4's `.p256-cortex-m4`): literal-pool words and
    MOVW/MOVT pairs, from the relocations kept by linking with `--emit-relocs`. Empty when the
    ELF has none."""
    image = open(elf, "rb").read()

    def word(address, section):
        start, _size, offset = secs[section]
        at = offset + address - start
        return int.from_bytes(image[at:at + 4], "little")

    def thumb_imm16(address, section):
        first, second = word(address, section) & 0xFFFF, word(address, section) >> 16
        return ((first & 0xF) << 12) | (((first >> 10) & 1) << 11) | (((second >> 12) & 7) << 8) | (second & 0xFF), (second >> 8) & 0xF

    # A literal-pool word belongs to the instruction that loads it (`ldr rN, [pc, #k]`), not
    # to the line row the pool happens to sit after: the pool of a function holds the
    # addresses its inlined callees use too.
    loader = {}
    for line in run("arm-none-eabi-objdump", "-d", "--no-show-raw-insn", elf).splitlines():
        m = re.match(r"^\s*([0-9a-f]+):\s+ldr\S*\s.*\[pc, #-?\d+\]\s+@ \(?([0-9a-f]+) <", line)
        if m:
            loader.setdefault(int(m.group(2), 16), int(m.group(1), 16))

    refs, movw = [], {}
    section = None
    for line in run("arm-none-eabi-readelf", "-rW", elf).splitlines():
        m = re.match(r"^Relocation section '\.rel(\.[\w.-]+)'", line)
        if m:
            section = m.group(1)
            continue
        if section not in secs or section.startswith(".debug") or section == ".vector_table":
            continue
        parts = line.split()
        if len(parts) < 3 or not re.fullmatch(r"[0-9a-f]{8}", parts[0]):
            continue
        at, kind = int(parts[0], 16), parts[2]
        if kind == "R_ARM_ABS32":
            refs.append((loader.get(at, at), word(at, section)))
        elif kind == "R_ARM_THM_MOVW_ABS_NC":
            low, register = thumb_imm16(at, section)
            movw[register] = (at, low)
        elif kind == "R_ARM_THM_MOVT_ABS":
            high, register = thumb_imm16(at, section)
            if register in movw:
                at_movw, low = movw.pop(register)
                refs.append((at_movw, (high << 16) | low))
    return refs


def line_rows(elf):
    """(start, end) address ranges of the line table rows, one per row."""
    ranges = []
    previous = None
    for line in run("llvm-dwarfdump", "--debug-line", elf).splitlines():
        m = re.match(r"^0x([0-9a-f]{16})\s+\d+\s+\d+\s+\d+\s+\d+\s+\d+\s*(.*)$", line)
        if not m:
            continue
        address = int(m.group(1), 16)
        if previous is not None and address > previous:
            ranges.append((previous, address))
        previous = None if "end_sequence" in m.group(2) else address
    return ranges


def crate_and_module(path):
    """(crate, module of embedded-mqtts or None) for a source file path."""
    m = re.search(r"/registry/src/[^/]+/([A-Za-z0-9_\-]+?)-\d+\.\d+\.\d+[^/]*/", path)
    if m:
        return m.group(1).replace("-", "_"), None
    m = re.search(r"library/([a-z_\-]+)/", path)
    if m and (path.startswith("/rustc/") or path.startswith("library/")):
        name = m.group(1).replace("-", "_")
        return ("compiler_builtins" if name.startswith("compiler_builtins") else name), None
    m = re.search(r"/third_party/([A-Za-z0-9_\-]+)/", path)
    if m:  # the forks kept in the repository count as the crates they are
        return m.group(1).replace("-", "_"), None
    m = re.search(r"/examples/([A-Za-z0-9_\-]+)/", path)
    if m:
        folder = m.group(1)
        if folder == "firmware-net":
            return "firmware_net", None
        # Files shared through #[path] from another firmware folder count for the firmware;
        # the module is the file.
        file = re.search(r"/examples/[^/]+/(?:src/)?(.+)\.rs$", path)
        return "firmware (" + folder + ")", file.group(1) if file else None
    m = re.search(r"/src/(.+)\.rs$", path)
    if m:
        module = m.group(1)
        if module in ("lib",):
            module = "lib"
        module = re.sub(r"/mod$", "", module)
        return "embedded_mqtts", module
    return "(unknown: " + path + ")", None


def frames_of(elf, addresses):
    """For each address, the list of source files of its inline chain, innermost first."""
    out = run(
        "llvm-symbolizer", "--obj=" + elf, "--inlining", "--functions=none", "--output-style=LLVM",
        stdin="".join(f"0x{a:x}\n" for a in addresses),
    )
    blocks = out.split("\n\n")
    result = []
    for block in blocks[: len(addresses)]:
        files = []
        for line in block.strip().splitlines():
            m = re.match(r"^(.*):(\d+):(\d+)$", line.strip())
            files.append(m.group(1) if m else line.strip())
        result.append(files)
    return result


def symbol_table(elf):
    """[(address, size, demangled name)] of code and data symbols, by address."""
    symbols = []
    for line in run("arm-none-eabi-nm", "-S", "--demangle", "-n", elf).splitlines():
        parts = line.split(" ", 3)
        if len(parts) == 4 and parts[2] in "tTrRdDbB":
            symbols.append((int(parts[0], 16) & ~1, int(parts[1], 16), parts[2], parts[3]))
    return symbols


def path_of_symbol(name):
    """The crate and module of a demangled symbol name (its self type for a trait method)."""
    m = re.match(r"^<(?:&mut |&|\*const |\*mut |dyn )*([A-Za-z_][\w:]*)", name)
    head = m.group(1) if m else name.split("<")[0]
    parts = head.split("::")
    if len(parts) < 2:
        return "(no path: " + ("memcpy, __aeabi_*, start-up" if name else "?") + ")", None
    crate = parts[0]
    if crate == "embedded_mqtts":
        return crate, "/".join(parts[1:-1]) or "lib"
    return crate, None


def main():
    args = sys.argv[1:]
    if not args:
        print(__doc__)
        sys.exit(2)
    elf = args[0]
    json_out = args[args.index("--json") + 1] if "--json" in args else None
    top = int(args[args.index("--top") + 1]) if "--top" in args else 0
    secs = sections(elf)
    text_start, text_size = secs[".text"][:2]
    text_end = text_start + text_size

    rows = [(a, b) for a, b in line_rows(elf) if text_start <= a < text_end]
    chains = frames_of(elf, [a for a, _ in rows])

    source = defaultdict(int)  # (crate, module) -> bytes
    owner = defaultdict(int)
    covered = bytearray(text_size)
    row_owner = []  # (start, end, owner key) for the .rodata attribution
    for (start, end), files in zip(rows, chains):
        end = min(end, text_end)
        size = end - start
        if size <= 0 or not files:
            continue
        # Rows of different sequences can overlap (folded functions); count each byte once.
        fresh = size - sum(covered[start - text_start:end - text_start])
        if fresh <= 0:
            continue
        covered[start - text_start:end - text_start] = b"\x01" * size
        leaf = crate_and_module(files[0])
        source[leaf] += fresh
        own = leaf
        for f in files:
            c = crate_and_module(f)
            if c[0] not in STD_CRATES:
                own = c
                break
        owner[own] += fresh
        row_owner.append((start, end, own))

    # Bytes of .text without line information: by the symbol containing them.
    symbols = symbol_table(elf)
    uncovered = defaultdict(int)
    for address, size, kind, name in symbols:
        if kind not in "tT" or size == 0:
            continue
        lo, hi = max(address, text_start), min(address + size, text_end)
        if lo >= hi:
            continue
        missing = (hi - lo) - sum(covered[lo - text_start:hi - text_start])
        if missing > 0:
            uncovered[path_of_symbol(name)] += missing
            covered[lo - text_start:hi - text_start] = b"\x01" * (hi - lo)
    rest = text_size - sum(covered)
    for key, size in uncovered.items():
        source[key] += size
        owner[key] += size
    if rest:
        source[("(no line info, no symbol: padding)", None)] += rest
        owner[("(no line info, no symbol: padding)", None)] += rest

    rodata = attribute_rodata(elf, secs, symbols, row_owner)
    result = {
        "elf": os.path.abspath(elf),
        "sections": {k: v[1] for k, v in secs.items() if not k.startswith((".debug", ".rel", ".sym", ".str", ".comment", ".ARM", ".shstr"))},
        "text_source": {f"{c}|{m or ''}": v for (c, m), v in source.items()},
        "text_owner": {f"{c}|{m or ''}": v for (c, m), v in owner.items()},
        "rodata": {f"{c}|{m or ''}": round(v) for (c, m), v in rodata.items()},
    }
    if json_out:
        with open(json_out, "w") as f:
            json.dump(result, f, indent=1, sort_keys=True)
    print_tables(result, top)


def attribute_rodata(elf, secs, symbols, row_owner):
    """Bytes of .rodata by (crate, module). With relocations (`--emit-relocs`), .rodata is cut
    at every address something refers to, and each piece is charged to the code that refers to
    it (the owner of the referring .text row; a piece referred to only from other .rodata, like
    the strings of a table, goes to whoever owns that table), shared equally among several
    owners. Without them: named symbols by their path, the rest "(anonymous .rodata)"."""
    import bisect

    ro_start, ro_size = secs.get(".rodata", (0, 0, 0))[:2]
    ro_end = ro_start + ro_size
    rodata = defaultdict(float)
    named = [(a, size, name) for a, size, kind, name in symbols if kind in "rR" and ro_start <= a < ro_end]
    refs = references(elf, secs) if ".rel.text" in secs else []
    if not refs:
        for _a, size, name in named:
            rodata[path_of_symbol(name)] += size
        rodata[("(anonymous .rodata: literals, panic locations, tables)", None)] += ro_size - sum(n[1] for n in named)
        return rodata
    bounds = sorted({ro_start, ro_end} | {t for _f, t in refs if ro_start <= t < ro_end} | {a for a, _s, _n in named})
    pieces = list(zip(bounds, bounds[1:]))
    starts = [a for a, _ in pieces]
    piece_of = lambda address: bisect.bisect_right(starts, address) - 1
    row_owner = sorted(row_owner)  # line sequences come per unit, not in address order
    row_starts = [r[0] for r in row_owner]

    def text_owner(address):
        i = bisect.bisect_right(row_starts, address) - 1
        if i >= 0 and row_owner[i][0] <= address < row_owner[i][1]:
            return row_owner[i][2]
        return ("(code without line info)", None)

    code_symbols = sorted((a, a + size, name) for a, size, kind, name in symbols if kind in "tT" and size)
    code_starts = [a for a, _e, _n in code_symbols]

    def symbol_owner(address):
        i = bisect.bisect_right(code_starts, address) - 1
        if i >= 0 and code_symbols[i][0] <= address < code_symbols[i][1]:
            return path_of_symbol(code_symbols[i][2])
        return ("(code without line info)", None)

    owners = [defaultdict(float) for _ in pieces]
    from_rodata = defaultdict(set)  # piece -> pieces referring to it
    text_start, text_size = secs[".text"][:2]
    for source, target in refs:
        if not ro_start <= target < ro_end:
            continue
        if text_start <= source < text_start + text_size:
            owners[piece_of(target)][text_owner(source)] += 1
        elif ro_start <= source < ro_end:
            from_rodata[piece_of(target)].add(piece_of(source))
        else:  # another code section (assembly without line information): its symbol's crate
            owners[piece_of(target)][symbol_owner(source)] += 1
    for _ in range(8):  # tables of tables: a few levels
        for target, sources in from_rodata.items():
            if owners[target]:
                continue
            merged = defaultdict(float)
            for source in sources:
                for key, weight in owners[source].items():
                    merged[key] += weight
            if merged:
                owners[target] = merged
    names = {a: name for a, _s, name in named}
    for (start, end), weights in zip(pieces, owners):
        size = end - start
        if not weights:
            key = path_of_symbol(names[start]) if start in names else ("(.rodata nothing refers to: padding)", None)
            rodata[key] += size
            continue
        total = sum(weights.values())
        for key, weight in weights.items():
            rodata[key] += size * weight / total
    return rodata


def by_crate(table):
    crates = defaultdict(int)
    for key, size in table.items():
        crates[key.split("|")[0]] += size
    return crates


def print_tables(result, top=0):
    secs = result["sections"]
    print(f"{result['elf']}: .text {secs.get('.text', 0):,} B, .rodata {secs.get('.rodata', 0):,} B")
    src, own, ro = (by_crate(result[k]) for k in ("text_source", "text_owner", "rodata"))
    print(f"\n{'crate':<44} {'text (owner)':>12} {'text (source)':>13} {'rodata':>8}")
    for crate in sorted(set(src) | set(own) | set(ro), key=lambda c: -(own.get(c, 0) + ro.get(c, 0))):
        print(f"{crate:<44} {own.get(crate, 0):>12,} {src.get(crate, 0):>13,} {ro.get(crate, 0):>8,}")
    print(f"{'total':<44} {sum(own.values()):>12,} {sum(src.values()):>13,} {sum(ro.values()):>8,}")
    print(f"\n{'embedded_mqtts module':<44} {'text (owner)':>12} {'text (source)':>13} {'rodata':>8}")
    modules = {k.split("|")[1] for t in ("text_source", "text_owner", "rodata") for k in result[t]
               if k.startswith("embedded_mqtts|")}
    get = lambda t, m: result[t].get("embedded_mqtts|" + m, 0)
    for module in sorted(modules, key=lambda m: -get("text_owner", m)):
        print(f"{module:<44} {get('text_owner', module):>12,} {get('text_source', module):>13,} {get('rodata', module):>8,}")


if __name__ == "__main__":
    main()
