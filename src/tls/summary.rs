//! What a certificate says, in words: for consoles, logs and the pin tool.
//!
//! [`CertificateSummary`] reads a DER certificate with the verifier's own parser (no heap, no
//! second parser) and exposes what a person choosing a pin wants to see: subject, issuer,
//! validity, subjectAltNames, whether it is a CA, and the SPKI SHA-256 pin. Parsing is not
//! verifying: nothing here says the certificate can be trusted.

use core::fmt;

use sha2::{Digest, Sha256};

use super::text::{DnText, Hex, UnixTime};
use super::x509::{self, Certificate, GeneralName, ParseError};

/// One subjectAltName entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AltName<'a> {
    /// dNSName.
    Dns(&'a str),
    /// iPAddress: 4 bytes (IPv4) or 16 (IPv6).
    Ip(&'a [u8]),
    /// Another kind (email, URI, ...), by its GeneralName tag number.
    Other(u8),
}

impl fmt::Display for AltName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            AltName::Dns(name) => write!(f, "DNS:{name}"),
            AltName::Ip(&[a, b, c, d]) => write!(f, "IP:{a}.{b}.{c}.{d}"),
            AltName::Ip(bytes) if bytes.len() == 16 => {
                f.write_str("IP:")?;
                for (i, pair) in bytes.chunks(2).enumerate() {
                    let sep = if i == 0 { "" } else { ":" };
                    let word = pair.iter().fold(0u16, |w, &b| (w << 8) | u16::from(b));
                    write!(f, "{sep}{word:x}")?;
                }
                Ok(())
            }
            AltName::Ip(bytes) => write!(f, "IP:{}", Hex(bytes)),
            AltName::Other(tag) => write!(f, "other name (tag {tag})"),
        }
    }
}

/// A date as unix seconds, displayed as `YYYY-MM-DD HH:MM:SS UTC`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date(pub u64);

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        UnixTime(self.0).fmt(f)
    }
}

/// The readable facts of one certificate, for consoles, logs and the pin tool: subject,
/// issuer, validity, subjectAltNames, whether it is a CA, and the SPKI SHA-256 pin. It reads
/// the DER with the verifier's own parser (no heap, no second parser). Parsing is not
/// verifying: nothing here says the certificate can be trusted.
#[derive(Clone, Copy, Debug)]
pub struct CertificateSummary<'a> {
    cert: Certificate<'a>,
}

impl<'a> CertificateSummary<'a> {
    /// Read a DER certificate.
    ///
    /// # Errors
    /// [`ParseError`] when it is not a DER X.509 certificate of the shape RFC 5280 sets.
    pub fn parse(der: &'a [u8]) -> Result<Self, ParseError> {
        Certificate::parse(der).map(|cert| CertificateSummary { cert })
    }

    /// X.509 version: 1, 2 or 3.
    pub fn version(&self) -> u8 {
        self.cert.version
    }

    /// The subject name, e.g. `CN=broker, O=Example`.
    pub fn subject(&self) -> DnText {
        self.cert.subject_text()
    }

    /// The issuer name.
    pub fn issuer(&self) -> DnText {
        x509::dn_text(self.cert.issuer)
    }

    /// Whether subject and issuer are the same name (a root, or a self-signed server).
    pub fn is_self_issued(&self) -> bool {
        self.cert.is_self_issued()
    }

    /// Whether basicConstraints says this is a CA certificate.
    pub fn is_ca(&self) -> bool {
        self.cert
            .ext
            .basic_constraints
            .is_some_and(|constraints| constraints.ca)
    }

    /// notBefore.
    pub fn not_before(&self) -> Date {
        Date(self.cert.not_before)
    }

    /// notAfter.
    pub fn not_after(&self) -> Date {
        Date(self.cert.not_after)
    }

    /// The subjectAltName entries, in order (none without the extension).
    pub fn alt_names(&self) -> impl Iterator<Item = AltName<'a>> + 'a {
        let contents = self.cert.ext.subject_alt_name.unwrap_or_default();
        x509::general_names(contents).map(|name| match name {
            GeneralName::Dns(bytes) => match core::str::from_utf8(bytes) {
                Ok(text) => AltName::Dns(text),
                Err(_) => AltName::Other(2),
            },
            GeneralName::Ip(bytes) => AltName::Ip(bytes),
            GeneralName::Other(tag) => AltName::Other(tag),
        })
    }

    /// The SHA-256 of the SubjectPublicKeyInfo: the value of a [`Pin::SpkiSha256`] for this
    /// key.
    ///
    /// [`Pin::SpkiSha256`]: super::Pin::SpkiSha256
    pub fn spki_sha256(&self) -> [u8; 32] {
        Sha256::digest(self.cert.spki).into()
    }

    /// The DER encoding this summary reads.
    pub fn der(&self) -> &'a [u8] {
        self.cert.der
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::format;
    use std::string::ToString;
    use std::vec::Vec;

    fn cert(name: &str) -> Vec<u8> {
        let path = format!("{}/certs/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn summarises_a_leaf() {
        let der = cert("rsa-leaf.der");
        let s = CertificateSummary::parse(&der).unwrap();
        assert_eq!(s.version(), 3);
        assert!(s.subject().contains("CN=localhost"));
        assert!(!s.is_ca() && !s.is_self_issued());
        let names: Vec<_> = s.alt_names().map(|n| n.to_string()).collect();
        assert_eq!(names, ["DNS:localhost", "IP:127.0.0.1"]);
        assert_eq!(s.not_before().to_string(), "2025-01-01 00:00:00 UTC");
        assert_eq!(s.spki_sha256(), crate::tls::spki_sha256(&der).unwrap());
    }

    #[test]
    fn summarises_the_seed_v1_certificate() {
        let der = cert("seed/m2mqtt_srv.der");
        let s = CertificateSummary::parse(&der).unwrap();
        assert_eq!(s.version(), 1);
        assert!(s.is_self_issued());
        assert_eq!(s.alt_names().count(), 0);
        assert_eq!(s.not_after().to_string(), "2027-04-21 08:03:47 UTC");
        assert_eq!(
            Hex(&s.spki_sha256()).to_string(),
            "11019cc10973f22aad90f274fe480ffb1394a90865388309ca87914108cbfad1"
        );
    }

    #[test]
    fn ipv6_names_display_as_groups() {
        let v6 = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        assert_eq!(AltName::Ip(&v6).to_string(), "IP:2001:db8:0:0:0:0:0:1");
    }
}
