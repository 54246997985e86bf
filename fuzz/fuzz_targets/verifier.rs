//! Arbitrary DER as the server certificate and as intermediates, verified against fixed pins
//! (the test PKI's roots in `certs/`, a certificate pin, an SPKI pin), through both public
//! entry points: `verify_server_certificate` and `PinnedVerifier` driven the way embedded-tls
//! drives it (Certificate, then CertificateVerify).
//!
//! Input: one byte of options, one byte choosing the server name (low nibble) and the
//! `max_chain_depth` (high nibble: 0 the default, n > 0 a limit of n - 1), then DER elements
//! back to back (each TLV's own length says where it ends; a malformed one takes the rest). The first
//! element is the server certificate, the others the intermediates it sent. So a seed is simply
//! `options, name, leaf.der, intermediate.der, ...`. Option mode 5 takes the *last* element as
//! the pinned CA instead, so that x509-limbo chains reach full path validation.
//!
//! Properties:
//! - nothing panics, and every refusal's `Display` is one line;
//! - `PinnedVerifier` reaches exactly the verdict `verify_server_certificate` does, and reports
//!   the same error;
//! - an accepted chain names a pin that exists, and its leaf key is the leaf's real SPKI
//!   (`spki_sha256` and `CertificateSummary` agree); an exact-certificate pin accepts only its
//!   certificate, an SPKI pin only its key;
//! - a CertificateVerify made of input bytes is never accepted, and after it the verifier never
//!   reports success;
//! - a `max_chain_depth` limit only refuses: what a limited verification accepts, the default
//!   one accepts too (unless the default one ran out of its work budget on the deeper paths the
//!   limit cut), and a limit of at least as many intermediates as were sent changes nothing.
#![no_main]
#![allow(clippy::result_large_err)]

use embedded_mqtts::tls::{
    spki_sha256, verify_server_certificate, CertificateSummary, Pin, PinnedVerifier, ValidityTime,
    VerifyError, VerifyOptions, MAX_CHAIN_DEPTH,
};
use embedded_tls::{
    Aes128GcmSha256, CertificateEntryRef, CertificateRef, CertificateVerifyRef, SignatureScheme,
    TlsVerifier,
};
use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};

const RSA_ROOT: &[u8] = include_bytes!("../../certs/rsa-root.der");
const P256_ROOT: &[u8] = include_bytes!("../../certs/p256-root.der");
const SELF_SIGNED: &[u8] = include_bytes!("../../certs/self-signed.der");
const P256_LEAF: &[u8] = include_bytes!("../../certs/p256-leaf.der");

/// 2030-01-01: inside every good certificate of `certs/`.
const T2030: u64 = 1_893_456_000;
/// 2020-06-01: before the test CAs were valid.
const T2020: u64 = 1_590_969_600;
/// 2045-06-01: after the test leaves expired.
const T2045: u64 = 2_380_233_600;

const NAMES: &[&str] = &[
    "localhost",
    "127.0.0.1",
    "example.com",
    "test.localhost",
    "broker.example",
    "::1",
    "foo.example.com",
    "*.example.com",
    "",
];

/// The most certificates embedded-tls hands over from one Certificate message.
const MAX_CHAIN: usize = 16;

/// Splits `data` into DER elements: tag, definite length, contents.
fn split_der(mut data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while !data.is_empty() && out.len() < MAX_CHAIN {
        let len = tlv_len(data).unwrap_or(data.len()).min(data.len());
        out.push(&data[..len]);
        data = &data[len..];
    }
    out
}

/// The total length of the TLV at the front of `data`, if its header is readable.
fn tlv_len(data: &[u8]) -> Option<usize> {
    let first = *data.get(1)?;
    if first < 0x80 {
        return Some(2 + usize::from(first));
    }
    let n = usize::from(first & 0x7f);
    if n == 0 || n > 3 {
        return None;
    }
    let mut len = 0usize;
    for i in 0..n {
        len = len << 8 | usize::from(*data.get(2 + i)?);
    }
    Some(2 + n + len)
}

fn check_display(e: &VerifyError) {
    let text = e.to_string();
    assert!(!text.is_empty() && !text.contains('\n'), "{text:?}");
}

fuzz_target!(|data: &[u8]| {
    let [options, name, rest @ ..] = data else {
        return;
    };
    let mut certs = split_der(rest);
    let p256_leaf_spki = spki_sha256(P256_LEAF).expect("the test leaf parses");
    let rsa_root = [RSA_ROOT];
    let p256_root = [P256_ROOT];
    let both_roots = [RSA_ROOT, P256_ROOT];
    let input_root: [&[u8]; 1];
    let pins: Vec<Pin<'_>> = match options & 0b111 {
        0 | 7 => vec![Pin::Ca(&rsa_root)],
        1 => vec![Pin::Ca(&p256_root)],
        2 => vec![Pin::Ca(&both_roots)],
        3 => vec![Pin::SpkiSha256(p256_leaf_spki)],
        4 => vec![Pin::Certificate(SELF_SIGNED)],
        5 => {
            let Some(root) = certs.pop() else {
                return;
            };
            input_root = [root];
            vec![Pin::Ca(&input_root)]
        }
        _ => vec![Pin::SpkiSha256(p256_leaf_spki), Pin::Ca(&rsa_root)],
    };
    let Some((&leaf, intermediates)) = certs.split_first() else {
        return;
    };
    let time = match (options >> 3) & 0b11 {
        0 => ValidityTime::UnixSeconds(T2030),
        1 => ValidityTime::UnknownSkipDateChecks,
        2 => ValidityTime::UnixSeconds(T2020),
        _ => ValidityTime::UnixSeconds(T2045),
    };
    let mut verify_options = VerifyOptions::new();
    if options & 0x20 != 0 {
        verify_options = verify_options.skip_host_name_check();
    }
    if options & 0x40 != 0 {
        verify_options = verify_options.allow_common_name();
    }
    if options & 0x80 != 0 {
        verify_options = verify_options.allow_legacy_profile();
    }
    let server_name = NAMES[usize::from(name & 0x0f) % NAMES.len()];
    let depth_limit = (name >> 4).checked_sub(1);
    if let Some(depth) = depth_limit {
        verify_options = verify_options.with_max_chain_depth(depth);
    }

    let direct = verify_server_certificate(
        &pins,
        leaf,
        intermediates,
        Some(server_name),
        time,
        &verify_options,
    );
    match &direct {
        Ok(chain) => {
            assert!(chain.pin_index() < pins.len());
            let spki_hash = spki_sha256(leaf).expect("an accepted leaf parses");
            assert_eq!(chain.leaf_spki_sha256(), spki_hash);
            assert_eq!(
                <[u8; 32]>::from(Sha256::digest(chain.leaf_spki())),
                spki_hash
            );
            let summary = CertificateSummary::parse(leaf).expect("an accepted leaf parses");
            assert_eq!(summary.spki_sha256(), spki_hash);
            assert_eq!(summary.der(), leaf);
            if let ValidityTime::UnixSeconds(now) = time {
                assert!(summary.not_before().0 <= now && now <= summary.not_after().0);
            }
            match pins[chain.pin_index()] {
                Pin::Certificate(der) => assert_eq!(der, leaf),
                Pin::SpkiSha256(hash) => assert_eq!(hash, spki_hash),
                Pin::Ca(_) => {
                    assert!(!summary.is_ca(), "a CA accepted as the server");
                    if options & 0x60 == 0 {
                        // Host check on, no commonName: only a subjectAltName can match.
                        assert!(
                            summary.alt_names().next().is_some(),
                            "matched without a SAN"
                        );
                    }
                }
            }
        }
        Err(e) => check_display(e),
    }
    if let Some(depth) = depth_limit {
        let default_depth = verify_options.with_max_chain_depth(MAX_CHAIN_DEPTH);
        let unlimited = verify_server_certificate(
            &pins,
            leaf,
            intermediates,
            Some(server_name),
            time,
            &default_depth,
        );
        if usize::from(depth) >= intermediates.len() {
            assert_eq!(
                direct.as_ref().err(),
                unlimited.as_ref().err(),
                "a limit above the chain changed the verdict"
            );
        }
        if direct.is_ok() && !matches!(unlimited, Err(VerifyError::LimitReached { .. })) {
            assert!(unlimited.is_ok(), "accepted only with a depth limit: {unlimited:?}");
        }
    }

    // The same through the TlsVerifier, as embedded-tls calls it.
    let mut transcript = Sha256::new();
    transcript.update(b"ClientHello ServerHello EncryptedExtensions");
    transcript.update(rest);
    let mut verifier = PinnedVerifier::new(&pins).with_options(verify_options);
    verifier.set_validity_time(time);
    TlsVerifier::<Aes128GcmSha256>::set_hostname_verification(&mut verifier, server_name)
        .expect("a short name is kept");
    let mut message = CertificateRef::with_context(&[]);
    for der in &certs {
        message
            .add(CertificateEntryRef::X509(der))
            .expect("at most 16 entries");
    }
    let accepted =
        TlsVerifier::<Aes128GcmSha256>::verify_certificate(&mut verifier, &transcript, message)
            .is_ok();
    assert_eq!(accepted, direct.is_ok());
    match (&direct, verifier.outcome()) {
        (Ok(_), Err(VerifyError::MissingCertificateVerify)) => {}
        (Err(expected), Err(got)) => assert_eq!(&got, expected),
        (direct, outcome) => panic!("direct {direct:?}, verifier {outcome:?}"),
    }

    // A CertificateVerify from the input's bytes: never a valid signature.
    let schemes = [
        SignatureScheme::EcdsaSecp256r1Sha256,
        SignatureScheme::RsaPssRsaeSha256,
        SignatureScheme::RsaPkcs1Sha256,
        SignatureScheme::RsaPssPssSha256,
        SignatureScheme::Ed25519,
        SignatureScheme::EcdsaSecp384r1Sha384,
    ];
    let scheme = schemes[usize::from(name >> 4) % schemes.len()];
    let signature = certs.last().copied().unwrap_or_default();
    let verify = CertificateVerifyRef {
        signature_scheme: scheme,
        signature,
    };
    let signed = TlsVerifier::<Aes128GcmSha256>::verify_signature(&mut verifier, verify);
    assert!(
        signed.is_err(),
        "a CertificateVerify made of input bytes was accepted"
    );
    match verifier.outcome() {
        Ok(v) => panic!("verified without a valid signature: {v:?}"),
        Err(e) => check_display(&e),
    }
});
