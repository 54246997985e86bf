#!/usr/bin/env bash
# Builds the release firmware, writes the .bin for OpenSDA drag-and-drop, and checks the
# start of the image: the initial stack pointer, the reset vector, and the flash
# configuration field at 0x400 (a wrong FSEC byte can lock the MCU for good).
source "$(dirname "$0")/tools.sh"
cargo build --release --quiet
"$(tool objcopy)" -O binary "$ELF" "$BIN"

word() { od -An -v -tx1 -j "$1" -N 4 "$BIN" | awk '{ print $4 $3 $2 $1 }'; }
field=$(od -An -v -tx1 -j 1024 -N 16 "$BIN" | tr -d ' \n')
expected=ffffffffffffffffffffffff""feffffff
stack=$(word 0)
reset=$(word 4)
status=0
echo "image        : $BIN ($(stat -c %s "$BIN") bytes)"
echo "initial SP   : 0x$stack"
echo "reset vector : 0x$reset"
echo "0x400..0x410 : $field"
if [ "$field" != "$expected" ]; then
    echo "FAIL: flash configuration field must be $expected" >&2
    status=1
fi
if [ "$stack" != 1ffffff8 ]; then
    echo "FAIL: initial SP should be 0x1ffffff8 (top of SRAM_L less 8)" >&2
    status=1
fi
if (( (16#$reset & 1) == 0 || 16#$reset < 0x410 || 16#$reset >= 0x100000 )); then
    echo "FAIL: reset vector must be a Thumb address in flash after 0x410" >&2
    status=1
fi
[ $status = 0 ] && echo "OK"
exit $status
