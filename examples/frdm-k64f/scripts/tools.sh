# Sourced by the other scripts: finds the ELF and the binutils to read it with.
# arm-none-eabi-* (Debian: binutils-arm-none-eabi) or the LLVM tools that rustup ships
# (`rustup component add llvm-tools`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ELF=target/thumbv7em-none-eabihf/release/frdm-k64f-mqtts
BIN=target/thumbv7em-none-eabihf/release/frdm-k64f-mqtts.bin

tool() { # tool NAME: arm-none-eabi-NAME, else llvm-NAME from the Rust sysroot
    if command -v "arm-none-eabi-$1" >/dev/null 2>&1; then
        echo "arm-none-eabi-$1"
        return
    fi
    local llvm
    llvm="$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin/llvm-$1"
    if [ -x "$llvm" ]; then
        echo "$llvm"
        return
    fi
    echo "need arm-none-eabi-$1 (apt-get install binutils-arm-none-eabi)" \
        "or llvm-$1 (rustup component add llvm-tools)" >&2
    exit 1
}
