# Sourced (not run) by the scripts that build firmware images whose sizes are compared across
# machines: scripts/test.sh (so the QEMU tests and the firmware stage build the same images),
# scripts/size-budget.sh, scripts/handshake-cost.sh and scripts/footprint.sh (whose crate
# attribution reads the remapped paths: /repo/src/..., /cargo/registry/src/...).
#
# A firmware image holds the source path of every panic location that survives linking
# (`/home/me/src/embedded-mqtts/third_party/embedded-tls/src/record.rs`, and the paths of the
# registry's crates under cargo's home), so its size depended on where the repository was
# cloned: the size ratchet measured 96 B more on CI's checkout than on the machine that set the
# budget. Remapping both prefixes makes an image the same bytes wherever it is built.
#
# The variable is cargo's per-target form of `rustflags`; cargo appends it to the
# `[target.thumbv7em-none-eabihf] rustflags` of each example's .cargo/config.toml (it does not
# replace them, unlike RUSTFLAGS). Paths containing spaces are not supported (cargo splits the
# variable on whitespace).
firmware_paths_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CARGO_TARGET_THUMBV7EM_NONE_EABIHF_RUSTFLAGS="--remap-path-prefix=$firmware_paths_root=/repo --remap-path-prefix=${CARGO_HOME:-$HOME/.cargo}=/cargo"
unset firmware_paths_root
