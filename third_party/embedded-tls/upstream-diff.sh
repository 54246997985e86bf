#!/usr/bin/env bash
# Prints the diff of this fork against the published embedded-tls 0.19.0 (see FORK.md).
#
#   bash third_party/embedded-tls/upstream-diff.sh          # the whole diff
#   bash third_party/embedded-tls/upstream-diff.sh --stat   # files and lines
#
# The original comes from crates.io through cargo (`cargo vendor` of a throwaway crate that
# depends on embedded-tls =0.19.0; the root Cargo.toml's [patch] does not apply there), the
# fork from git (what is committed, without build output). Needs network access to crates.io
# unless cargo's cache already has the crate.
set -euo pipefail
fork="$(cd "$(dirname "$0")" && pwd)"
root="$(git -C "$fork" rev-parse --show-toplevel)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

mkdir -p "$tmp/fetch/src" "$tmp/a" "$tmp/b"
touch "$tmp/fetch/src/lib.rs"
cat >"$tmp/fetch/Cargo.toml" <<'EOF'
[package]
name = "fetch-embedded-tls"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
embedded-tls = { version = "=0.19.0", default-features = false }

[workspace]
EOF
cargo vendor --quiet --manifest-path "$tmp/fetch/Cargo.toml" "$tmp/vendor" >/dev/null
cp -a "$tmp/vendor/embedded-tls/." "$tmp/a/embedded-tls"
rm -f "$tmp/a/embedded-tls/.cargo-checksum.json" # written by cargo vendor, not published

prefix="${fork#"$root"/}"
git -C "$root" archive HEAD "$prefix" | tar -x -C "$tmp/b"
mv "$tmp/b/$prefix" "$tmp/b/embedded-tls"

cd "$tmp"
# git diff exits 1 when the trees differ, which they do.
git diff --no-index "$@" a/embedded-tls b/embedded-tls || true
