//! Puts the memory map of the emulated board (`../qemu-mps2/memory.x`: QEMU's mps2-an386) where
//! cortex-m-rt's `link.x` finds it, and turns Wycheproof's ECDSA P-256 (SHA-256, DER
//! signatures) and ECDH secp256r1 (SEC1 points) vectors into tables for the firmware,
//! `$OUT_DIR/vectors.rs`: the `wycheproof` crate needs `std`, the firmware cannot have it.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;

use wycheproof::{ecdh, ecdsa, TestResult};

/// A byte string as a Rust slice expression.
fn bytes(b: &[u8]) -> String {
    let mut s = String::from("&[");
    for byte in b {
        write!(s, "{byte},").expect("write to a String");
    }
    s.push(']');
    s
}

/// The firmware's `Expected` for a Wycheproof result.
fn expected(result: TestResult) -> &'static str {
    match result {
        TestResult::Valid => "Expected::Valid",
        TestResult::Invalid => "Expected::Invalid",
        TestResult::Acceptable => "Expected::Acceptable",
    }
}

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::copy("../qemu-mps2/memory.x", out.join("memory.x")).expect("copy memory.x");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=../qemu-mps2/memory.x");
    println!("cargo:rerun-if-changed=build.rs");

    let mut code = String::new();
    let set = ecdsa::TestSet::load(ecdsa::TestName::EcdsaSecp256r1Sha256).expect("ECDSA vectors");
    code.push_str("pub static ECDSA: &[EcdsaVector] = &[\n");
    for group in &set.test_groups {
        for test in &group.tests {
            writeln!(
                code,
                "EcdsaVector {{ id: {}, key: {}, msg: {}, sig: {}, expected: {} }},",
                test.tc_id,
                bytes(&group.key.key),
                bytes(&test.msg),
                bytes(&test.sig),
                expected(test.result)
            )
            .expect("write to a String");
        }
    }
    code.push_str("];\n");

    let set = ecdh::TestSet::load(ecdh::TestName::EcdhSecp256r1Ecpoint).expect("ECDH vectors");
    code.push_str("pub static ECDH: &[EcdhVector] = &[\n");
    for group in &set.test_groups {
        for test in &group.tests {
            // Wycheproof writes private keys as signed integers (a leading 00 when the top bit
            // is set): the firmware takes 32 bytes, big-endian.
            let significant: Vec<u8> = test
                .private_key
                .iter()
                .copied()
                .skip_while(|b| *b == 0)
                .collect();
            assert!(
                significant.len() <= 32,
                "ECDH test {}: private key over 256 bits",
                test.tc_id
            );
            let mut private = vec![0u8; 32 - significant.len()];
            private.extend_from_slice(&significant);
            writeln!(
                code,
                "EcdhVector {{ id: {}, private: {}, public: {}, shared: {}, expected: {} }},",
                test.tc_id,
                bytes(&private),
                bytes(&test.public_key),
                bytes(&test.shared_secret),
                expected(test.result)
            )
            .expect("write to a String");
        }
    }
    code.push_str("];\n");
    fs::write(out.join("vectors.rs"), code).expect("write vectors.rs");
}
