//! Puts `memory.x` on the linker's path and embeds the broker's CA certificate (the pin).
//!
//! The pin comes from `$BROKER_CA` if set, else `../../certs/rsa-root.der` (the repository's
//! test PKI). DER is copied; PEM (`-----BEGIN CERTIFICATE-----`) is converted to DER. A
//! missing file is not an error here: the firmware is built with an empty pin and its
//! `mqtt connect` refuses, naming the file (cargo prints a warning).

use std::{env, fs, path::PathBuf};

const DEFAULT_CA: &str = "../../certs/rsa-root.der";

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::write(out.join("memory.x"), include_bytes!("memory.x")).expect("write memory.x");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory.x");
    println!("cargo:rerun-if-changed=build.rs");

    println!("cargo:rerun-if-env-changed=BROKER_CA");
    let path = env::var("BROKER_CA").unwrap_or_else(|_| DEFAULT_CA.to_string());
    println!("cargo:rerun-if-changed={path}");
    let (der, source) = match fs::read(&path) {
        Ok(bytes) => match certificate_der(&bytes) {
            Some(der) => (der, path),
            None => panic!("{path}: neither DER nor a PEM CERTIFICATE"),
        },
        Err(error) => {
            println!("cargo:warning=no broker CA pin: {path}: {error}; mqtt connect will refuse");
            (Vec::new(), format!("missing at build time: {path}"))
        }
    };
    fs::write(out.join("broker-ca.der"), der).expect("write broker-ca.der");
    println!("cargo:rustc-env=BROKER_CA_SOURCE={source}");
}

/// DER as is (starts with a SEQUENCE tag), or the first PEM certificate decoded.
fn certificate_der(bytes: &[u8]) -> Option<Vec<u8>> {
    if bytes.first() == Some(&0x30) {
        return Some(bytes.to_vec());
    }
    let text = std::str::from_utf8(bytes).ok()?;
    let body = text
        .split("-----BEGIN CERTIFICATE-----")
        .nth(1)?
        .split("-----END CERTIFICATE-----")
        .next()?;
    base64_decode(body)
}

fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut bits, mut count) = (0u32, 0u32);
    for byte in text
        .bytes()
        .filter(|b| !b.is_ascii_whitespace() && *b != b'=')
    {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        bits = bits << 6 | u32::from(value);
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    Some(out)
}
