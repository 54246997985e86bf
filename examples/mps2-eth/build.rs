//! Puts the board's `memory.x` (the one of `../qemu-mps2`: same board) and an empty `device.x`
//! where cortex-m-rt's linker script finds them, and the pinned CA as DER at `$OUT_DIR/broker-ca.der`: the file
//! named by `BROKER_CA` at build time (DER or PEM, relative to this folder), else
//! `../../certs/rsa-root.der`. For an ECDSA-only image:
//! `BROKER_CA=../../certs/p256-root.der cargo build --release --no-default-features`.

use std::{env, fs, path::PathBuf};

include!("../firmware-net/build-support/broker_ca.rs");

const DEFAULT_CA: &str = "../../certs/rsa-root.der";

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::write(
        out.join("memory.x"),
        include_bytes!("../qemu-mps2/memory.x"),
    )
    .expect("write memory.x");
    // cortex-m-rt's `device` feature makes its linker script include `device.x`, where a
    // device crate would name its interrupt handlers; this firmware names none (its one
    // entry is cortex-m-rt's `DefaultHandler`: `__INTERRUPTS` in src/main.rs).
    fs::write(out.join("device.x"), "/* no device interrupt handlers */\n")
        .expect("write device.x");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=../qemu-mps2/memory.x");
    println!("cargo:rerun-if-changed=../firmware-net/build-support/broker_ca.rs");
    println!("cargo:rerun-if-changed=build.rs");
    match broker_ca_der(DEFAULT_CA) {
        (_, Ok(der)) => fs::write(out.join("broker-ca.der"), der).expect("write broker-ca.der"),
        (path, Err(error)) => panic!("the broker CA to pin, {path}: {error}"),
    }
}
