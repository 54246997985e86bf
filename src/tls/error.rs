//! Why a server certificate was refused.
//!
//! Every refusal of the verifier is one [`VerifyError`] variant that carries the facts a person
//! reading a log needs without openssl at hand: the date a certificate expired, the name that
//! was expected and the one that was found, the issuer that is not trusted, both SPKI hashes of
//! a pin mismatch. The type needs no heap: names are kept in bounded [`heapless::String`]s and
//! cut (with `...`) when longer.

use core::fmt;

use super::text::{DnText, Hex, NameText, UnixTime};

/// The reason a server certificate (chain) or its TLS 1.3 CertificateVerify was refused.
///
/// Dates are seconds since 1970-01-01 00:00:00 UTC and are displayed as
/// `YYYY-MM-DD HH:MM:SS UTC`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum VerifyError {
    /// A certificate of the path had expired at the validation time.
    Expired {
        /// Subject of the expired certificate.
        subject: DnText,
        /// Its notAfter date (unix seconds).
        not_after: u64,
    },
    /// A certificate of the path was not valid yet at the validation time.
    NotYetValid {
        /// Subject of the certificate.
        subject: DnText,
        /// Its notBefore date (unix seconds).
        not_before: u64,
    },
    /// The server certificate is not for the host name (or IP address) that was expected.
    NameMismatch {
        /// The name the client expected.
        expected: NameText,
        /// The first subjectAltName of the certificate, its CN, or `no SAN`.
        presented: NameText,
    },
    /// The host name check is on but no server name was given to check against.
    MissingServerName,
    /// The expected server name is neither a valid DNS name nor an IP address.
    InvalidServerName {
        /// The name as given.
        name: NameText,
    },
    /// No pinned CA certificate issued the top of the chain the server sent.
    UnknownIssuer {
        /// The issuer name of the highest certificate that could be linked.
        issuer: DnText,
    },
    /// The SHA-256 of the server's SubjectPublicKeyInfo differs from the pinned one.
    PinMismatch {
        /// The pinned hash.
        expected: [u8; 32],
        /// The hash of the key the server presented.
        presented: [u8; 32],
    },
    /// The server's certificate is not the pinned certificate (SHA-256 of both DER encodings).
    CertificateMismatch {
        /// SHA-256 of the pinned certificate.
        expected: [u8; 32],
        /// SHA-256 of the certificate the server presented.
        presented: [u8; 32],
    },
    /// A certificate's signature does not verify with its issuer's key.
    BadSignature {
        /// Subject of the certificate whose signature failed.
        subject: DnText,
    },
    /// The signature algorithm does not fit the type of the key that should have made it.
    SignatureKeyMismatch {
        /// Which combination.
        what: &'static str,
    },
    /// A key type or signature algorithm this crate cannot check.
    UnsupportedAlgorithm {
        /// Which one.
        what: &'static str,
    },
    /// A signature made with a broken hash (SHA-1, MD5) or a key that is too short.
    WeakAlgorithm {
        /// Which one.
        what: &'static str,
    },
    /// A certificate (or key, or signature) that is not valid DER of the expected shape.
    Malformed {
        /// What was wrong.
        what: &'static str,
    },
    /// A certificate used as an issuer is not a CA (basicConstraints cA is not set).
    NotCa {
        /// Subject of that certificate.
        subject: DnText,
    },
    /// The server certificate is itself a CA certificate (basicConstraints cA is set).
    LeafIsCa {
        /// Subject of the server certificate.
        subject: DnText,
    },
    /// A keyUsage extension forbids the use the certificate is put to.
    KeyUsage {
        /// Subject of that certificate.
        subject: DnText,
        /// Which usage is missing or forbidden.
        what: &'static str,
    },
    /// An extendedKeyUsage extension is present without serverAuth (or anyExtendedKeyUsage).
    ExtendedKeyUsage {
        /// Subject of that certificate.
        subject: DnText,
    },
    /// A CA's pathLenConstraint allows fewer intermediates below it than the path has.
    PathLenExceeded {
        /// Subject of the constraining CA.
        subject: DnText,
        /// Its pathLenConstraint.
        path_len: u8,
    },
    /// No path to a pinned CA within the depth and work limits of the path search.
    PathTooLong,
    /// A name of the server certificate lies outside a CA's nameConstraints.
    NameConstraintViolation {
        /// Subject of the constraining CA.
        issuer: DnText,
        /// The name that violates it.
        name: NameText,
    },
    /// A CA constrains a name type this crate does not check (only DNS and IP are checked).
    UnsupportedNameConstraint {
        /// Subject of that CA.
        issuer: DnText,
    },
    /// A certificate breaks a rule RFC 5280 (or the CA/Browser Forum profile) sets for the
    /// CAs that issue certificates; see `VerifyOptions::allow_legacy_profile`.
    ProfileViolation {
        /// Subject of that certificate.
        subject: DnText,
        /// Which rule.
        what: &'static str,
    },
    /// A certificate has a critical extension this crate does not process.
    UnknownCriticalExtension {
        /// Subject of that certificate.
        subject: DnText,
        /// The extension's OID, dotted.
        oid: NameText,
    },
    /// The server's SubjectPublicKeyInfo is larger than the buffer kept for it.
    KeyTooLarge {
        /// Its length in bytes.
        len: usize,
    },
    /// The server's CertificateVerify signature over the handshake does not verify.
    CertificateVerifyFailed,
    /// The handshake finished without a Certificate message, so nothing was verified.
    MissingCertificate,
    /// The handshake finished without a CertificateVerify message, so the server never
    /// proved it holds the certificate's private key.
    MissingCertificateVerify,
    /// A handshake message came twice or out of order.
    UnexpectedMessage {
        /// Which message.
        what: &'static str,
    },
}

impl VerifyError {
    /// Shorthand for [`VerifyError::Malformed`].
    pub(crate) const fn malformed(what: &'static str) -> Self {
        Self::Malformed { what }
    }
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Expired { subject, not_after } => write!(
                f,
                "certificate '{subject}' expired on {}",
                UnixTime(*not_after)
            ),
            Self::NotYetValid {
                subject,
                not_before,
            } => write!(
                f,
                "certificate '{subject}' is not valid before {}",
                UnixTime(*not_before)
            ),
            Self::NameMismatch {
                expected,
                presented,
            } => write!(
                f,
                "certificate is not for '{expected}' (it names '{presented}')"
            ),
            Self::MissingServerName => write!(
                f,
                "no server name to check the certificate against (set one, or skip the host name check explicitly)"
            ),
            Self::InvalidServerName { name } => write!(
                f,
                "server name '{name}' is neither a valid DNS name nor an IP address"
            ),
            Self::UnknownIssuer { issuer } => {
                write!(f, "issuer '{issuer}' is not a pinned CA")
            }
            Self::PinMismatch {
                expected,
                presented,
            } => write!(
                f,
                "server key SPKI SHA-256 {} does not match the pinned {}",
                Hex(presented),
                Hex(expected)
            ),
            Self::CertificateMismatch {
                expected,
                presented,
            } => write!(
                f,
                "server certificate SHA-256 {} is not the pinned certificate {}",
                Hex(presented),
                Hex(expected)
            ),
            Self::BadSignature { subject } => write!(
                f,
                "signature on certificate '{subject}' does not verify with its issuer's key"
            ),
            Self::SignatureKeyMismatch { what } => {
                write!(f, "signature algorithm does not fit the key: {what}")
            }
            Self::UnsupportedAlgorithm { what } => write!(f, "unsupported algorithm: {what}"),
            Self::WeakAlgorithm { what } => write!(f, "refused weak algorithm: {what}"),
            Self::Malformed { what } => write!(f, "malformed certificate: {what}"),
            Self::NotCa { subject } => write!(
                f,
                "certificate '{subject}' is used as an issuer but is not a CA"
            ),
            Self::LeafIsCa { subject } => write!(
                f,
                "server certificate '{subject}' is a CA certificate, not an end-entity certificate"
            ),
            Self::KeyUsage { subject, what } => {
                write!(f, "key usage of certificate '{subject}': {what}")
            }
            Self::ExtendedKeyUsage { subject } => write!(
                f,
                "certificate '{subject}' has an extended key usage without serverAuth"
            ),
            Self::PathLenExceeded { subject, path_len } => write!(
                f,
                "CA '{subject}' allows {path_len} intermediate(s) below it (pathLenConstraint), the path has more"
            ),
            Self::PathTooLong => write!(
                f,
                "no path to a pinned CA within the path search's depth and work limits"
            ),
            Self::NameConstraintViolation { issuer, name } => write!(
                f,
                "name '{name}' is outside the name constraints of CA '{issuer}'"
            ),
            Self::UnsupportedNameConstraint { issuer } => write!(
                f,
                "CA '{issuer}' has name constraints on name types that are not checked (only DNS and IP are)"
            ),
            Self::ProfileViolation { subject, what } => write!(
                f,
                "certificate '{subject}' breaks the certificate profile: {what}"
            ),
            Self::UnknownCriticalExtension { subject, oid } => write!(
                f,
                "certificate '{subject}' has an unknown critical extension {oid}"
            ),
            Self::KeyTooLarge { len } => write!(
                f,
                "server public key info of {len} bytes is larger than the {} bytes kept",
                crate::tls::verify::MAX_LEAF_SPKI_LEN
            ),
            Self::CertificateVerifyFailed => write!(
                f,
                "server's CertificateVerify signature over the handshake does not verify with its certificate's key"
            ),
            Self::MissingCertificate => {
                write!(f, "server sent no certificate: nothing was verified")
            }
            Self::MissingCertificateVerify => write!(
                f,
                "server sent no CertificateVerify: it did not prove it holds the certificate's key"
            ),
            Self::UnexpectedMessage { what } => write!(f, "unexpected handshake message: {what}"),
        }
    }
}

impl core::error::Error for VerifyError {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::text::bounded;
    use std::string::ToString;

    #[test]
    fn an_expiry_names_the_certificate_and_its_date() {
        let e = VerifyError::Expired {
            subject: bounded("CN=leaf"),
            not_after: 1_711_929_600,
        };
        assert_eq!(
            e.to_string(),
            "certificate 'CN=leaf' expired on 2024-04-01 00:00:00 UTC"
        );
    }
}
