//! The trust policy's input: what the firmware pins ([`Pin`]), and PEM pins read without a heap.
//!
//! User documentation: the `tls` module, section "Pins".

use core::fmt;

use sha2::{Digest, Sha256};

use super::pem::{self, PemError};
use super::x509::{Certificate, ParseError};

/// Something the client trusts the server by. See the
/// [`tls` module documentation](crate::tls#pins).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pin<'a> {
    /// Trust server certificates issued, directly or through intermediates the server sends,
    /// by one of these CA certificates (DER). The host name is checked.
    Ca(&'a [&'a [u8]]),
    /// Trust exactly this server certificate (DER). Dates are checked, the host name is not.
    Certificate(&'a [u8]),
    /// Trust the server key whose SubjectPublicKeyInfo has this SHA-256. Dates are checked,
    /// the host name is not.
    SpkiSha256([u8; 32]),
}

impl Pin<'static> {
    /// An SPKI pin from 64 hex digits, upper or lower case, optionally separated by `:`
    /// (as openssl prints fingerprints).
    ///
    /// Usable in constants:
    /// `const PIN: Pin = match Pin::spki_sha256_hex("0f..38") { Ok(p) => p, Err(_) => panic!() };`
    ///
    /// # Errors
    /// [`PinError::InvalidHex`] at the first character that is neither a hex digit nor `:`;
    /// [`PinError::HashLength`] unless there are exactly 64 digits.
    // `const fn` cannot use `get_mut`; the one index is guarded by `digits < 64`.
    #[allow(clippy::indexing_slicing)]
    pub const fn spki_sha256_hex(hex: &str) -> Result<Pin<'static>, PinError> {
        let mut rest = hex.as_bytes();
        let mut out = [0u8; 32];
        let mut digits = 0usize;
        let mut i = 0;
        while let [c, tail @ ..] = rest {
            let c = *c;
            rest = tail;
            let value = match c {
                b'0'..=b'9' => c - b'0',
                b'a'..=b'f' => c - b'a' + 10,
                b'A'..=b'F' => c - b'A' + 10,
                b':' => {
                    i += 1;
                    continue;
                }
                _ => return Err(PinError::InvalidHex { position: i }),
            };
            // `digits < 64` keeps the index below 32.
            if digits < 64 {
                let shift = if digits.is_multiple_of(2) { 4 } else { 0 };
                out[digits / 2] |= value << shift;
            }
            digits += 1;
            i += 1;
        }
        if digits != 64 {
            return Err(PinError::HashLength { digits });
        }
        Ok(Pin::SpkiSha256(out))
    }
}

/// Why a pin could not be made from text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum PinError {
    /// A character that is not a hex digit (or `:`), at this byte position.
    InvalidHex {
        /// Byte offset of the character.
        position: usize,
    },
    /// Not 64 hex digits.
    HashLength {
        /// How many there were.
        digits: usize,
    },
    /// No `-----BEGIN CERTIFICATE-----` ... `-----END CERTIFICATE-----` block was found.
    NoCertificate,
    /// The PEM block is not valid RFC 7468 text (base64, line lengths, boundaries).
    Pem,
    /// The output buffer has no room for the decoded certificate(s).
    BufferTooSmall,
    /// More certificates than the caller's list holds.
    TooManyCertificates,
}

impl fmt::Display for PinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidHex { position } => {
                write!(
                    f,
                    "SPKI hash has a non-hex character at position {position}"
                )
            }
            Self::HashLength { digits } => {
                write!(f, "SPKI SHA-256 needs 64 hex digits, {digits} were given")
            }
            Self::NoCertificate => write!(f, "no PEM CERTIFICATE block found"),
            Self::Pem => write!(f, "PEM certificate block is not valid RFC 7468 base64 text"),
            Self::BufferTooSmall => write!(f, "buffer too small for the decoded certificate"),
            Self::TooManyCertificates => write!(f, "more PEM certificates than room for them"),
        }
    }
}

impl core::error::Error for PinError {}

/// Decodes one PEM block into `out`, with the pin's errors.
fn decode_block<'o>(block: &[u8], out: &'o mut [u8]) -> Result<&'o [u8], PinError> {
    pem::decode(block, out).map_err(|e| match e {
        PemError::BufferTooSmall => PinError::BufferTooSmall,
        PemError::Invalid => PinError::Pem,
    })
}

/// Decodes the first `CERTIFICATE` block of PEM text (text around it is ignored; CRLF line
/// ends are fine) into `out`, and returns the DER, which starts at `out[0]`.
///
/// # Errors
/// [`PinError::NoCertificate`], [`PinError::Pem`], or [`PinError::BufferTooSmall`].
pub fn pem_to_der<'o>(pem: &[u8], out: &'o mut [u8]) -> Result<&'o [u8], PinError> {
    let (block, _) = pem::next_block(pem, &pem::CERTIFICATE).ok_or(PinError::NoCertificate)?;
    decode_block(block, out)
}

/// Decodes every `CERTIFICATE` block of PEM text (a CA bundle) into `out`, one after the
/// other, and returns the DER slices in order, ready for [`Pin::Ca`].
///
/// # Errors
/// As [`pem_to_der`], and [`PinError::TooManyCertificates`] when there are more than `N`.
pub fn pem_certificates_to_der<'o, const N: usize>(
    pem: &[u8],
    out: &'o mut [u8],
) -> Result<heapless::Vec<&'o [u8], N>, PinError> {
    let mut ders = heapless::Vec::new();
    let mut rest = pem;
    let mut free = out;
    while let Some((block, after)) = pem::next_block(rest, &pem::CERTIFICATE) {
        let len = decode_block(block, free)?.len();
        let (der, tail) = core::mem::take(&mut free).split_at_mut(len);
        ders.push(&*der)
            .map_err(|_| PinError::TooManyCertificates)?;
        free = tail;
        rest = after;
    }
    if ders.is_empty() {
        return Err(PinError::NoCertificate);
    }
    Ok(ders)
}

/// The SHA-256 of a DER certificate's SubjectPublicKeyInfo: the value a [`Pin::SpkiSha256`]
/// holds.
///
/// # Errors
/// [`ParseError`] when the certificate cannot be parsed.
pub fn spki_sha256(cert_der: &[u8]) -> Result<[u8; 32], ParseError> {
    let cert = Certificate::parse(cert_der)?;
    Ok(Sha256::digest(cert.spki).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "11019cc10973f22aad90f274fe480ffb1394a90865388309ca87914108cbfad1";

    #[test]
    fn hex_pins_parse_in_both_cases_and_with_colons() {
        let Ok(Pin::SpkiSha256(h)) = Pin::spki_sha256_hex(HEX) else {
            panic!("pin")
        };
        assert_eq!(h[0], 0x11);
        assert_eq!(h[31], 0xd1);
        let upper = "11:01:9C:C1:09:73:F2:2A:AD:90:F2:74:FE:48:0F:FB:13:94:A9:08:65:38:83:09:CA:87:91:41:08:CB:FA:D1";
        assert_eq!(Pin::spki_sha256_hex(upper), Ok(Pin::SpkiSha256(h)));
        assert_eq!(
            Pin::spki_sha256_hex(&HEX[..62]),
            Err(PinError::HashLength { digits: 62 })
        );
        assert_eq!(
            Pin::spki_sha256_hex("zz"),
            Err(PinError::InvalidHex { position: 0 })
        );
        const _CONST: Pin<'static> = match Pin::spki_sha256_hex(HEX) {
            Ok(p) => p,
            Err(_) => panic!("bad pin"),
        };
    }

    #[test]
    fn pem_blocks_decode_into_one_buffer() {
        let pem = include_bytes!("../../tests/data/verify/seed-srv.crt");
        let mut out = [0u8; 2048];
        let der = pem_to_der(pem, &mut out).unwrap();
        assert_eq!(der, include_bytes!("../../tests/data/verify/seed-srv.der"));

        let mut bundle = [0u8; 4096];
        let mut text = [0u8; 4096];
        let both = {
            let a = include_bytes!("../../tests/data/verify/seed-srv.crt");
            let b = include_bytes!("../../tests/data/verify/seed-ca.crt");
            text[..a.len()].copy_from_slice(a);
            text[a.len()..a.len() + b.len()].copy_from_slice(b);
            &text[..a.len() + b.len()]
        };
        let ders = pem_certificates_to_der::<4>(both, &mut bundle).unwrap();
        assert_eq!(ders.len(), 2);
        assert_eq!(
            ders[1],
            include_bytes!("../../tests/data/verify/seed-ca.der")
        );
        drop(ders);
        let mut small = [0u8; 100];
        assert_eq!(pem_to_der(pem, &mut small), Err(PinError::BufferTooSmall));
        assert_eq!(
            pem_to_der(b"nothing", &mut out),
            Err(PinError::NoCertificate)
        );
        assert_eq!(
            pem_certificates_to_der::<1>(both, &mut bundle).unwrap_err(),
            PinError::TooManyCertificates
        );
    }
}
