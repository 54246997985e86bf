#!/usr/bin/env bash
# Builds the release firmware and prints its size: Berkeley totals, then the sections.
# Flash used = text + data (the initial values of .data are stored in flash);
# SRAM_U used = data + bss (no heap); the stack has SRAM_L.
source "$(dirname "$0")/tools.sh"
cargo build --release --quiet
SIZE="$(tool size)"
"$SIZE" "$ELF"
echo
"$SIZE" -A "$ELF" | grep -E '^(section|\.vector_table|\.flash_config|\.text|\.rodata|\.data|\.bss|\.uninit) '
