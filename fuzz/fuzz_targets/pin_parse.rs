//! Arbitrary bytes through pin parsing: `pem_to_der`, `pem_certificates_to_der`,
//! `spki_sha256`, `Pin::spki_sha256_hex`, and `CertificateSummary` (what the pin tool prints).
//!
//! Properties:
//! - nothing panics;
//! - a decoded PEM block re-encoded as PEM decodes to the same DER; it needs exactly its own
//!   length of buffer (one byte less is `BufferTooSmall`); the first certificate of a bundle is
//!   what `pem_to_der` gives, and the bundle's certificates sit back to back in the buffer;
//! - `spki_sha256` succeeds exactly when `CertificateSummary::parse` does, with the same hash;
//! - `spki_sha256_hex` accepts exactly 64 hex digits (with any `:`), gives the bytes they spell,
//!   and otherwise names the first bad character or the digit count.
#![no_main]
#![allow(clippy::result_large_err)]

use embedded_mqtts::tls::{
    pem_certificates_to_der, pem_to_der, spki_sha256, CertificateSummary, Pin, PinError,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut out = vec![0u8; data.len() + 16];
    let first = pem_to_der(data, &mut out).map(<[u8]>::to_vec);
    if let Err(e) = &first {
        assert!(!e.to_string().contains('\n'));
    }
    if let Ok(der) = &first {
        der_properties(der);
        let pem = to_pem(der);
        let mut again = vec![0u8; der.len()];
        assert_eq!(
            pem_to_der(&pem, &mut again).map(<[u8]>::to_vec),
            Ok(der.clone())
        );
        if !der.is_empty() {
            let mut short = vec![0u8; der.len() - 1];
            assert_eq!(pem_to_der(&pem, &mut short), Err(PinError::BufferTooSmall));
        }
    }

    let mut bundle = vec![0u8; data.len() + 16];
    let base = bundle.as_ptr() as usize;
    match pem_certificates_to_der::<4>(data, &mut bundle) {
        Ok(ders) => {
            assert!(!ders.is_empty() && ders.len() <= 4);
            assert_eq!(Ok(ders[0].to_vec()), first);
            let mut offset = 0;
            for der in &ders {
                assert_eq!(der.as_ptr() as usize - base, offset, "back to back");
                offset += der.len();
                der_properties(der);
            }
        }
        Err(PinError::NoCertificate) => assert_eq!(first, Err(PinError::NoCertificate)),
        Err(PinError::InvalidHex { .. } | PinError::HashLength { .. }) => {
            panic!("a PEM error that is about hex")
        }
        Err(_) => {}
    }

    der_properties(data);

    if let Ok(text) = core::str::from_utf8(data) {
        hex_properties(text);
    }
});

fn der_properties(der: &[u8]) {
    let hash = spki_sha256(der);
    let summary = CertificateSummary::parse(der);
    match (&hash, &summary) {
        (Ok(h), Ok(s)) => {
            assert_eq!(*h, s.spki_sha256());
            assert_eq!(s.der(), der);
            assert!(matches!(s.version(), 1..=3));
            let _ = (s.subject(), s.issuer(), s.is_self_issued(), s.is_ca());
            let _ = format!("{} {}", s.not_before(), s.not_after());
            for name in s.alt_names().take(64) {
                let _ = format!("{name:?}");
            }
        }
        (Err(a), Err(b)) => {
            assert_eq!(a, b);
            assert!(!a.to_string().contains('\n'));
        }
        _ => panic!(
            "spki_sha256 {hash:?} but CertificateSummary {:?}",
            summary.is_ok()
        ),
    }
}

fn hex_properties(text: &str) {
    let digits: Vec<u8> = text.bytes().filter(|&c| c != b':').collect();
    let bad = text
        .bytes()
        .position(|c| !(c.is_ascii_hexdigit() || c == b':'));
    match Pin::spki_sha256_hex(text) {
        Ok(Pin::SpkiSha256(hash)) => {
            assert_eq!(bad, None);
            let spelled: String = hash.iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(
                spelled,
                String::from_utf8_lossy(&digits).to_ascii_lowercase()
            );
        }
        Ok(other) => panic!("{other:?}"),
        Err(PinError::InvalidHex { position }) => assert_eq!(Some(position), bad),
        Err(PinError::HashLength { digits: n }) => {
            assert_eq!(bad, None);
            assert_eq!(n, digits.len());
            assert_ne!(n, 64);
        }
        Err(e) => panic!("{e:?}"),
    }
}

/// DER as a PEM CERTIFICATE block, 64 characters a line.
fn to_pem(der: &[u8]) -> Vec<u8> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut text = Vec::new();
    for chunk in der.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                text.push(ALPHABET[(n >> (18 - 6 * i) & 0x3f) as usize]);
            } else {
                text.push(b'=');
            }
        }
    }
    let mut pem = b"-----BEGIN CERTIFICATE-----\n".to_vec();
    for line in text.chunks(64) {
        pem.extend_from_slice(line);
        pem.push(b'\n');
    }
    pem.extend_from_slice(b"-----END CERTIFICATE-----\n");
    pem
}
