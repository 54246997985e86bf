#!/usr/bin/env python3
"""Checks src/regs.rs against NXP's MK64F12.svd.

Every `Reg::at(address)` must be a register of the named peripheral with the same width,
and every field constant (`REG_FIELD = 1 << n`, `REG_FIELD_SHIFT = n`, `REG_FIELD_MASK =
bits << n`) must match the SVD's bit offset and width. Peripheral base constants (PORTA..)
must match the SVD's base addresses.

The SVD ships in the `k64` 0.1.0 crate. Give its path as the first argument, or set
MK64F12_SVD, or pass --fetch to let cargo download that crate into its cache (ordinary
`cargo fetch` of a throw-away manifest). Exit status 1 on any mismatch.
"""

import glob
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
REGS_RS = os.path.join(HERE, "..", "src", "regs.rs")

# Rust module -> SVD peripheral (None: register names carry the peripheral, e.g. GPIOB_PSOR).
MODULES = {
    "sim": "SIM", "wdog": "WDOG", "mcg": "MCG", "osc": "OSC", "sysmpu": "SYSMPU",
    "port": "PORTA", "gpio": None, "uart0": "UART0", "enet": "ENET", "rng": "RNG",
    "rtc": "RTC", "pit": "PIT",
}


def find_svd(args):
    if args and not args[0].startswith("--"):
        return args[0]
    if os.environ.get("MK64F12_SVD"):
        return os.environ["MK64F12_SVD"]
    home = os.environ.get("CARGO_HOME", os.path.expanduser("~/.cargo"))
    pattern = os.path.join(home, "registry", "src", "*", "k64-0.1.0", "MK64F12.svd")
    found = glob.glob(pattern)
    if not found and "--fetch" in args:
        with tempfile.TemporaryDirectory() as tmp:
            with open(os.path.join(tmp, "Cargo.toml"), "w") as manifest:
                manifest.write('[package]\nname = "svd-fetch"\nversion = "0.0.0"\n'
                               'edition = "2021"\n[lib]\npath = "lib.rs"\n'
                               '[dependencies]\nk64 = "=0.1.0"\n')
            open(os.path.join(tmp, "lib.rs"), "w").close()
            subprocess.run(["cargo", "fetch", "--manifest-path",
                            os.path.join(tmp, "Cargo.toml")], check=True)
        found = glob.glob(pattern)
    if not found:
        sys.exit("MK64F12.svd not found: pass its path, set MK64F12_SVD, or use --fetch")
    return found[0]


def load_svd(path):
    root = ET.parse(path).getroot()
    by_name = {p.findtext("name"): p for p in root.iter("peripheral")}
    peripherals = {}
    for name, p in by_name.items():
        source = by_name.get(p.get("derivedFrom"), p)
        base = int(p.findtext("baseAddress"), 0)
        registers = {}
        for r in source.iter("register"):
            offset = int(r.findtext("addressOffset"), 0)
            size = int(r.findtext("size") or "32", 0)
            fields = {f.findtext("name"): (int(f.findtext("bitOffset")), int(f.findtext("bitWidth")))
                      for f in r.iter("field")}
            rname = r.findtext("name")
            dim = r.findtext("dim")
            if dim:
                step = int(r.findtext("dimIncrement"), 0)
                generic = rname.replace("%s", "")
                registers[generic] = (base + offset, size, fields)
                for i in range(int(dim, 0)):
                    registers[rname.replace("%s", str(i))] = (base + offset + i * step, size, fields)
            else:
                registers[rname] = (base + offset, size, fields)
        peripherals[name] = (base, registers)
    return peripherals


def rust_modules(text):
    """Yields (module, body) for each `pub mod name { ... }` at the top level."""
    for match in re.finditer(r"^pub mod (\w+) \{\n(.*?)^\}", text, re.S | re.M):
        yield match.group(1), match.group(2)


def main(args):
    svd = load_svd(find_svd(args))
    text = open(REGS_RS).read()
    errors, checked = [], 0
    for module, body in rust_modules(text):
        peripheral = MODULES.get(module)
        if module not in MODULES:
            errors.append(f"{module}: no SVD peripheral mapped")
            continue
        values = {}
        registers = svd[peripheral][1] if peripheral else {}
        for name, width, address in re.findall(
                r"pub const (\w+): (?:Reg<u(\d+)>|DmaAddressReg) =\s*(?:DmaAddressReg\()?"
                r"Reg::at\((0x[0-9A-Fa-f_]+)\)", body):
            address = int(address, 0)
            width = int(width or 32)
            if peripheral is None:
                periph_name, reg_name = name.split("_", 1)
                regs = svd[periph_name][1]
            else:
                periph_name, reg_name, regs = peripheral, name, registers
            if reg_name not in regs:
                errors.append(f"{module}::{name}: no register {reg_name} in {periph_name}")
                continue
            svd_address, svd_size, _ = regs[reg_name]
            if (svd_address, svd_size) != (address, width):
                errors.append(f"{module}::{name}: {address:#010x}/u{width}, SVD says "
                              f"{svd_address:#010x}/u{svd_size}")
            checked += 1
        expressions = dict(re.findall(r"pub const (\w+): (?:u8|u16|u32|usize) = ([^;]+);", body))

        def evaluate(name, seen=()):
            if name in values:
                return values[name]
            if name not in expressions or name in seen:
                raise NameError(name)
            expression = re.sub(r"\b([A-Z][A-Z0-9_]*)\b",
                                lambda m: str(evaluate(m.group(1), seen + (name,))),
                                expressions[name])
            values[name] = eval(expression, {"__builtins__": {}})
            return values[name]

        for name, value in expressions.items():
            try:
                number = evaluate(name)
            except Exception as error:
                errors.append(f"{module}::{name}: cannot evaluate {value!r}: {error}")
                continue
            if module == "port" and name in ("PORTA", "PORTB", "PORTE"):
                if svd[name][0] != number:
                    errors.append(f"port::{name}: {number:#x}, SVD base {svd[name][0]:#x}")
                checked += 1
                continue
            regs = registers if peripheral else {}
            if module == "port":
                regs = {"PCR": registers["PCR0"]}
            prefix = max((r for r in regs if name.startswith(r + "_")), key=len, default=None)
            if prefix is None:
                errors.append(f"{module}::{name}: not a field of any {peripheral} register")
                continue
            field, kind = name[len(prefix) + 1:], "bit"
            for suffix in ("_SHIFT", "_MASK"):
                if field.endswith(suffix):
                    field, kind = field[: -len(suffix)], suffix[1:].lower()
            fields = regs[prefix][2]
            if field not in fields:
                errors.append(f"{module}::{name}: {prefix} has no field {field}")
                continue
            offset, width = fields[field]
            expected = {"bit": 1 << offset, "shift": offset,
                        "mask": ((1 << width) - 1) << offset}[kind]
            if kind == "bit" and width != 1:
                errors.append(f"{module}::{name}: {prefix}.{field} is {width} bits wide")
            elif number != expected:
                errors.append(f"{module}::{name} = {number:#x}, SVD {prefix}.{field} gives {expected:#x}")
            checked += 1
    for error in errors:
        print("MISMATCH", error)
    print(f"{checked} constants checked against the SVD, {len(errors)} mismatches")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
