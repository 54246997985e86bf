//! Puts `memory.x` and an empty `device.x` on the linker's path and the broker's CA (the pin) as DER at
//! `$OUT_DIR/broker-ca.der`: from `$BROKER_CA` (DER or PEM, a path relative to this folder) if
//! set, else `../../certs/rsa-root.der`, the repository's test PKI. The reader is shared with
//! the other firmwares (`../firmware-net/build-support/broker_ca.rs`); a file that cannot be
//! read is a build error here, since the firmware cannot verify any broker without it.

use std::{env, fs, path::PathBuf};

include!("../firmware-net/build-support/broker_ca.rs");

const DEFAULT_CA: &str = "../../certs/rsa-root.der";

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::write(out.join("memory.x"), include_bytes!("memory.x")).expect("write memory.x");
    // cortex-m-rt's `device` feature makes its linker script include `device.x`, where a
    // device crate would name its interrupt handlers; every entry of this firmware's table is
    // cortex-m-rt's `DefaultHandler` (`__INTERRUPTS` in src/main.rs).
    fs::write(out.join("device.x"), "/* no device interrupt handlers */\n")
        .expect("write device.x");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory.x");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=../firmware-net/build-support/broker_ca.rs");

    let (path, der) = broker_ca_der(DEFAULT_CA);
    let der = der.unwrap_or_else(|e| panic!("BROKER_CA {path}: {e}"));
    fs::write(out.join("broker-ca.der"), der).expect("write broker-ca.der");
    println!("cargo:rustc-env=BROKER_CA_SOURCE={path}");
}
