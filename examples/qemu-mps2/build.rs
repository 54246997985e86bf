//! Puts `memory.x` where the linker (cortex-m-rt's `link.x`) finds it, and the pinned CA
//! (DER) at `$OUT_DIR/ca.der`: `../../certs/rsa-root.der`, or the file named by the
//! environment variable `QEMU_MPS2_CA` at build time (a path relative to this folder), e.g.
//! `QEMU_MPS2_CA=../../certs/p256-root.der` for a broker serving `certs/p256-leaf`.

use std::env;
use std::fs;
use std::path::PathBuf;

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::copy("memory.x", out.join("memory.x")).expect("copy memory.x into OUT_DIR");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory.x");
    let ca = env::var("QEMU_MPS2_CA").unwrap_or_else(|_| "../../certs/rsa-root.der".into());
    fs::copy(&ca, out.join("ca.der")).unwrap_or_else(|e| panic!("copy the CA {ca}: {e}"));
    println!("cargo:rerun-if-env-changed=QEMU_MPS2_CA");
    println!("cargo:rerun-if-changed={ca}");
    println!("cargo:rerun-if-changed=build.rs");
}
