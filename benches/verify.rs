//! Certificate verification cost on the host: the broker's chain checked against a pinned CA
//! (`verify_server_certificate`: parsing, every signature up to the pin, validity, CA
//! constraints, key usage, host name), and the TLS 1.3 CertificateVerify signature check
//! (`verify_certificate_verify`), for RSA and P-256 keys.
//!
//! Chains (all DER, committed):
//! - `p256`: `tests/data/verify/p256-root` → `p256-leaf`, both ECDSA P-256 with SHA-256: one
//!   ECDSA verification.
//! - `rsa2048`: `benches/data/rsa2048-root` → `rsa2048-int` → `rsa2048-leaf`, every key
//!   RSA-2048, sha256WithRSAEncryption (`benches/data/make.sh`): two RSA-2048 verifications.
//! - `rsa4096_root`: `tests/data/verify/rsa-root` (RSA-4096) → `rsa-int` (RSA-2048) →
//!   `rsa-leaf` (RSA-2048), the shape of `certs/` (what the demo broker and the firmware use):
//!   one RSA-2048 and one RSA-4096 verification.
//!
//! CertificateVerify: `rsa_pss_rsae_sha256` (0x0804) with the RSA-2048 leaf key, and
//! `ecdsa_secp256r1_sha256` (0x0403) with the P-256 leaf key, over a 32-byte transcript hash.
//! The signatures are made once, before timing.
//!
//! Each case is checked once (it must verify) before it is measured.

#![allow(clippy::result_large_err)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use embedded_mqtts::tls::{
    verify_certificate_verify, verify_server_certificate, Pin, ValidityTime, VerifyOptions,
};
use sha2::{Digest, Sha256};

macro_rules! test_der {
    ($name:literal) => {
        include_bytes!(concat!("../tests/data/verify/", $name, ".der")).as_slice()
    };
}
macro_rules! bench_der {
    ($name:literal) => {
        include_bytes!(concat!("data/", $name, ".der")).as_slice()
    };
}

/// 2030-01-01 00:00:00 UTC: inside the validity of every certificate used here.
const T2030: u64 = 1_893_456_000;

struct Chain {
    name: &'static str,
    root: &'static [u8],
    leaf: &'static [u8],
    intermediates: &'static [&'static [u8]],
    host: &'static str,
}

const CHAINS: [Chain; 3] = [
    Chain {
        name: "p256",
        root: test_der!("p256-root"),
        leaf: test_der!("p256-leaf"),
        intermediates: &[],
        host: "broker.example",
    },
    Chain {
        name: "rsa2048",
        root: bench_der!("rsa2048-root"),
        leaf: bench_der!("rsa2048-leaf"),
        intermediates: &[bench_der!("rsa2048-int")],
        host: "localhost",
    },
    Chain {
        name: "rsa4096_root",
        root: test_der!("rsa-root"),
        leaf: test_der!("rsa-leaf"),
        intermediates: &[test_der!("rsa-int")],
        host: "broker.example",
    },
];

fn chains(c: &mut Criterion) {
    let options = VerifyOptions::new();
    let mut group = c.benchmark_group("verify_chain");
    for chain in &CHAINS {
        let cas = [chain.root];
        let pins = [Pin::Ca(&cas)];
        let run = || {
            verify_server_certificate(
                &pins,
                chain.leaf,
                chain.intermediates,
                Some(chain.host),
                ValidityTime::UnixSeconds(T2030),
                &options,
            )
        };
        if let Err(e) = run() {
            panic!("chain {} does not verify: {e}", chain.name);
        }
        group.bench_function(chain.name, |b| {
            b.iter(|| {
                let verified = run();
                black_box(&verified);
            })
        });
    }
    group.finish();
}

/// The content a TLS 1.3 server signs in CertificateVerify (RFC 8446, 4.4.3).
fn certificate_verify_content(transcript_hash: &[u8]) -> Vec<u8> {
    let mut content = vec![0x20; 64];
    content.extend_from_slice(b"TLS 1.3, server CertificateVerify\0");
    content.extend_from_slice(transcript_hash);
    content
}

/// The leaf's SubjectPublicKeyInfo, as the verifier hands it on after checking the chain.
fn leaf_spki(cert: &[u8]) -> Vec<u8> {
    let pins = [Pin::Certificate(cert)];
    let time = ValidityTime::UnixSeconds(T2030);
    verify_server_certificate(&pins, cert, &[], None, time, &VerifyOptions::new())
        .expect("exact-certificate pin")
        .leaf_spki()
        .to_vec()
}

fn p256_signature(sec1: &[u8], message: &[u8]) -> Vec<u8> {
    use p256::ecdsa::signature::Signer;
    // SEC1 ECPrivateKey: 30 77 02 01 01 04 20 <32-byte scalar> ...
    assert_eq!(&sec1[..7], &[0x30, 0x77, 0x02, 0x01, 0x01, 0x04, 0x20]);
    let key = p256::ecdsa::SigningKey::from_slice(&sec1[7..39]).expect("P-256 key");
    let signature: p256::ecdsa::Signature = key.sign(message);
    signature.to_der().as_bytes().to_vec()
}

fn rsa_pss_signature(pkcs8: &[u8], message: &[u8]) -> Vec<u8> {
    use rsa::pkcs8::DecodePrivateKey;
    use rsa::signature::{RandomizedSigner, SignatureEncoding};
    let key = rsa::RsaPrivateKey::from_pkcs8_der(pkcs8).expect("RSA key");
    rsa::pss::BlindedSigningKey::<Sha256>::new(key)
        .sign_with_rng(&mut rand::thread_rng(), message)
        .to_vec()
}

fn certificate_verify(c: &mut Criterion) {
    let hash = Sha256::digest(b"ClientHello ServerHello EncryptedExtensions Certificate");
    let content = certificate_verify_content(&hash);
    let cases = [
        (
            "rsa_pss_rsae_sha256_2048",
            leaf_spki(bench_der!("rsa2048-leaf")),
            0x0804,
            rsa_pss_signature(bench_der!("rsa2048-leaf.key"), &content),
        ),
        (
            "ecdsa_secp256r1_sha256",
            leaf_spki(test_der!("p256-leaf")),
            0x0403,
            p256_signature(test_der!("p256-leaf.sec1"), &content),
        ),
    ];
    let mut group = c.benchmark_group("certificate_verify");
    for (name, spki, scheme, signature) in &cases {
        let run = || verify_certificate_verify(spki, *scheme, signature, &hash);
        if let Err(e) = run() {
            panic!("{name}: the signature does not verify: {e}");
        }
        group.bench_function(*name, |b| {
            b.iter(|| {
                let checked = run();
                black_box(&checked);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, chains, certificate_verify);
criterion_main!(benches);
