//! Puts `memory.x` on the linker's path and embeds the broker's CA certificate (the pin).
//!
//! The pin comes from `$BROKER_CA` if set, else `../../certs/rsa-root.der` (the repository's
//! test PKI). DER is copied; PEM (`-----BEGIN CERTIFICATE-----`) is converted to DER
//! (`../firmware-net/build-support/broker_ca.rs`). A missing file is not an error here: the
//! firmware is built with an empty pin and its `mqtt connect` refuses, naming the file (cargo
//! prints a warning).

use std::{env, fs, path::PathBuf};

include!("../firmware-net/build-support/broker_ca.rs");

const DEFAULT_CA: &str = "../../certs/rsa-root.der";

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::write(out.join("memory.x"), include_bytes!("memory.x")).expect("write memory.x");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory.x");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=../firmware-net/build-support/broker_ca.rs");

    let (der, source) = match broker_ca_der(DEFAULT_CA) {
        (path, Ok(der)) => (der, path),
        (path, Err(error)) => {
            println!("cargo:warning=no broker CA pin: {path}: {error}; mqtt connect will refuse");
            (Vec::new(), format!("missing at build time: {path}"))
        }
    };
    fs::write(out.join("broker-ca.der"), der).expect("write broker-ca.der");
    println!("cargo:rustc-env=BROKER_CA_SOURCE={source}");
}
