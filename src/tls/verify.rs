//! Server certificate verification against [`Pin`]s: path building and the checks of RFC 5280
//! §6 that matter for a TLS server, the refusals ([`VerifyError`]) and the proof tokens
//! ([`VerifiedChain`], [`ServerVerified`]).
//!
//! User documentation: the `tls` module, section "What is verified".

use core::fmt;

use sha2::{Digest, Sha256};

use super::name::{
    check_name_constraints, common_name_fault, is_for_host, presented_name, BudgetSpent,
    Comparisons, ConstraintFailure, Reference, NAME_CONSTRAINT_BUDGET,
};
use super::pin::Pin;
use super::sig::{certificate_verify, public_key, verify_signed_data, SignatureError};
use super::text::{bounded, DnText, Hex, NameText, UnixTime};
use super::x509::{
    dn_text, key_usage, subtree_bases, Certificate, DerReader, GeneralName, ParseError,
};

/// The largest server SubjectPublicKeyInfo kept for CertificateVerify (an RSA-4096 key takes
/// 550 bytes).
pub const MAX_LEAF_SPKI_LEN: usize = 600;

/// The most certificates in a path, server certificate and pinned CA included.
pub const MAX_PATH_LEN: usize = 8;

/// The most signature checks one path search makes; beyond it the certificate is refused
/// ([`VerifyError::LimitReached`]).
pub const SIGNATURE_BUDGET: u32 = 48;

/// The default [`VerifyOptions::max_chain_depth`]: as many intermediates as a path of
/// [`MAX_PATH_LEN`] certificates holds.
pub const MAX_CHAIN_DEPTH: u8 = MAX_PATH_LEN as u8 - 2;

/// The longest server name kept in a [`ServerVerified`] (the DNS limit).
pub const MAX_SERVER_NAME_LEN: usize = 253;

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
    /// An extendedKeyUsage extension is present without serverAuth (or anyExtendedKeyUsage in
    /// a CA), or with anyExtendedKeyUsage in a server certificate.
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
    /// No path to a pinned CA within [`MAX_PATH_LEN`] certificates.
    PathTooLong,
    /// The verification stopped at one of its limits: the signature checks
    /// ([`SIGNATURE_BUDGET`]) or name comparisons
    /// ([`NAME_CONSTRAINT_BUDGET`](super::NAME_CONSTRAINT_BUDGET)) of one verification, or
    /// the intermediates a path may have ([`VerifyOptions::max_chain_depth`]).
    LimitReached {
        /// Which limit.
        what: &'static str,
        /// Its value.
        limit: u32,
    },
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
    /// No validity time was given for this handshake, so the certificate was not checked
    /// (see [`PinnedProvider::set_validity_time`](super::PinnedProvider::set_validity_time)).
    NoValidityTime,
}

impl VerifyError {
    /// Shorthand for [`VerifyError::Malformed`].
    pub(crate) const fn malformed(what: &'static str) -> Self {
        Self::Malformed { what }
    }
}

impl From<ParseError> for VerifyError {
    fn from(e: ParseError) -> Self {
        Self::malformed(e.what)
    }
}

/// A refused signature as the verifier reports it. A signature that does not verify is the
/// CertificateVerify's here; a certificate's bad signature is reported with its subject
/// ([`VerifyError::BadSignature`]) where the path is checked.
impl From<SignatureError> for VerifyError {
    fn from(e: SignatureError) -> Self {
        match e {
            SignatureError::Malformed(e) => e.into(),
            SignatureError::Weak { what } => Self::WeakAlgorithm { what },
            SignatureError::Unsupported { what } => Self::UnsupportedAlgorithm { what },
            SignatureError::KeyMismatch { what } => Self::SignatureKeyMismatch { what },
            SignatureError::Invalid => Self::CertificateVerifyFailed,
        }
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
                "certificate '{subject}' has an extended key usage without serverAuth (or with anyExtendedKeyUsage in a server certificate)"
            ),
            Self::PathLenExceeded { subject, path_len } => write!(
                f,
                "CA '{subject}' allows {path_len} intermediate(s) below it (pathLenConstraint), the path has more"
            ),
            Self::PathTooLong => write!(
                f,
                "no path to a pinned CA within {MAX_PATH_LEN} certificates"
            ),
            Self::LimitReached { what, limit } => {
                write!(f, "verification stopped at its limit of {limit} {what}")
            }
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
                MAX_LEAF_SPKI_LEN
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
            Self::NoValidityTime => write!(
                f,
                "no validity time was given for this handshake (give the clock's time, or skip the date checks explicitly)"
            ),
        }
    }
}

impl core::error::Error for VerifyError {}

/// The time certificates are checked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ValidityTime {
    /// Seconds since 1970-01-01 00:00:00 UTC, from the device's clock (RTC, SNTP, GNSS).
    UnixSeconds(u64),
    /// The device does not know the time yet. **Validity dates are not checked**: an expired
    /// or not-yet-valid certificate is accepted. Everything else still is. Use this only until
    /// the clock is set, and knowingly: a stolen key of an expired certificate then still works.
    UnknownSkipDateChecks,
}

/// Whether the server certificate's host name is checked (with a [`Pin::Ca`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum HostCheck {
    /// The certificate must be for the expected server name (the default).
    #[default]
    CheckHostName,
    /// Do not check the host name; the chain is still verified up to the pinned CA. This is
    /// `mosquitto_sub --insecure`: any certificate of the pinned CA is accepted for any server.
    SkipHostName,
}

/// How to verify, apart from the pins, the server name and the time (which each handshake
/// brings: [`TlsOptions::new`](super::TlsOptions::new)). The default checks everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct VerifyOptions {
    /// Whether to check the host name.
    pub host_check: HostCheck,
    /// Whether the subject commonName may stand for the host name when the certificate has no
    /// subjectAltName of the expected kind (off by default).
    pub allow_common_name: bool,
    /// Whether to accept certificates that break the rules RFC 5280 and the CA/Browser Forum
    /// set for issuing CAs (off by default); see [`VerifyOptions::allow_legacy_profile`].
    pub legacy_profile: bool,
    /// The most intermediate CAs a path may have between the server certificate and the pinned
    /// CA, self-issued ones (key rollover) not counted; see
    /// [`VerifyOptions::with_max_chain_depth`]. Paths are also bounded by [`MAX_PATH_LEN`].
    pub max_chain_depth: u8,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl VerifyOptions {
    /// Check everything.
    pub const fn new() -> Self {
        Self {
            host_check: HostCheck::CheckHostName,
            allow_common_name: false,
            legacy_profile: false,
            max_chain_depth: MAX_CHAIN_DEPTH,
        }
    }

    /// Allow at most `depth` intermediate CAs (not counting self-issued ones) between the
    /// server certificate and the pinned CA: 0 means the pinned CA must have issued the server
    /// certificate itself. The default, [`MAX_CHAIN_DEPTH`], is what [`MAX_PATH_LEN`] allows.
    #[must_use]
    pub const fn with_max_chain_depth(mut self, depth: u8) -> Self {
        self.max_chain_depth = depth;
        self
    }

    /// Accept certificates from CAs that do not follow the certificate profile: v3
    /// certificates without an authorityKeyIdentifier (OpenSSL 1.x `x509 -req -extfile`),
    /// v3 server certificates without an extendedKeyUsage (OpenSSL's defaults) or with
    /// anyExtendedKeyUsage, CA certificates without a subjectKeyIdentifier or with a
    /// non-critical basicConstraints (OpenSSL 1.0 `v3_ca` defaults), a commonName that
    /// contradicts the SANs, a critical subjectAltName next to a subject, and the other rules
    /// of the `tls` module's "What is verified". Signatures, dates, CA constraints, key
    /// strength and names are still checked. For existing private CAs that cannot be re-issued
    /// yet.
    #[must_use]
    pub const fn allow_legacy_profile(mut self) -> Self {
        self.legacy_profile = true;
        self
    }

    /// Let the subject commonName stand for the host name when there is no SAN of the
    /// expected kind (for X.509 v1 server certificates).
    #[must_use]
    pub const fn allow_common_name(mut self) -> Self {
        self.allow_common_name = true;
        self
    }

    /// Do not check the host name (the chain is still verified): see
    /// [`HostCheck::SkipHostName`].
    #[must_use]
    pub const fn skip_host_name_check(mut self) -> Self {
        self.host_check = HostCheck::SkipHostName;
        self
    }
}

/// A server certificate that passed a pin. Only this module can make one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedChain {
    leaf_spki: heapless::Vec<u8, MAX_LEAF_SPKI_LEN>,
    leaf_spki_sha256: [u8; 32],
    pin_index: usize,
}

impl VerifiedChain {
    /// The server certificate's SubjectPublicKeyInfo (DER), for the CertificateVerify check.
    pub fn leaf_spki(&self) -> &[u8] {
        &self.leaf_spki
    }

    /// SHA-256 of the server's SubjectPublicKeyInfo (what a [`Pin::SpkiSha256`] would hold).
    pub fn leaf_spki_sha256(&self) -> [u8; 32] {
        self.leaf_spki_sha256
    }

    /// Which of the pins accepted the server.
    pub fn pin_index(&self) -> usize {
        self.pin_index
    }

    /// Checks the server's TLS 1.3 CertificateVerify (see [`verify_certificate_verify`]) with
    /// this chain's key: the server proves it holds the key of the certificate that passed.
    ///
    /// # Errors
    /// As [`verify_certificate_verify`].
    pub(crate) fn prove_possession(
        &self,
        scheme: u16,
        signature: &[u8],
        transcript_hash: &[u8],
        server_name: Option<heapless::String<MAX_SERVER_NAME_LEN>>,
    ) -> Result<ServerVerified, VerifyError> {
        verify_certificate_verify(self.leaf_spki(), scheme, signature, transcript_hash)?;
        Ok(ServerVerified {
            leaf_spki_sha256: self.leaf_spki_sha256,
            pin_index: self.pin_index,
            server_name,
        })
    }
}

/// Proof that the server passed a pin and signed the handshake with its certificate's key.
/// Only this module can make one, from a [`VerifiedChain`] and a CertificateVerify that
/// verifies with its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerVerified {
    leaf_spki_sha256: [u8; 32],
    pin_index: usize,
    server_name: Option<heapless::String<MAX_SERVER_NAME_LEN>>,
}

impl ServerVerified {
    /// SHA-256 of the server's SubjectPublicKeyInfo.
    pub fn leaf_spki_sha256(&self) -> [u8; 32] {
        self.leaf_spki_sha256
    }

    /// Which pin accepted the server.
    pub fn pin_index(&self) -> usize {
        self.pin_index
    }

    /// The server name the verifier was given (checked against the certificate when the pin
    /// is a CA and the host check is on).
    pub fn server_name(&self) -> Option<&str> {
        self.server_name.as_deref()
    }
}

/// Verifies a server certificate (`leaf_der`) with the `intermediates` it sent against `pins`;
/// the first pin that accepts wins.
///
/// `server_name` is the name the client connected to; it is required unless the host check is
/// skipped or no pin is a [`Pin::Ca`]. `time` is when validity dates are checked at.
///
/// # Errors
/// When no pin accepts, the error of the first pin.
pub fn verify_server_certificate(
    pins: &[Pin<'_>],
    leaf_der: &[u8],
    intermediates: &[&[u8]],
    server_name: Option<&str>,
    time: ValidityTime,
    options: &VerifyOptions,
) -> Result<VerifiedChain, VerifyError> {
    let leaf = Certificate::parse(leaf_der)?;
    let leaf_spki = heapless::Vec::from_slice(leaf.spki).map_err(|_| VerifyError::KeyTooLarge {
        len: leaf.spki.len(),
    })?;
    let leaf_spki_sha256: [u8; 32] = Sha256::digest(leaf.spki).into();
    let mut first_error = None;
    for (pin_index, pin) in pins.iter().enumerate() {
        let result = match pin {
            Pin::Certificate(der) if *der == leaf_der => check_validity(&leaf, time),
            Pin::Certificate(der) => Err(VerifyError::CertificateMismatch {
                expected: Sha256::digest(der).into(),
                presented: Sha256::digest(leaf_der).into(),
            }),
            Pin::SpkiSha256(hash) if *hash == leaf_spki_sha256 => check_validity(&leaf, time),
            Pin::SpkiSha256(hash) => Err(VerifyError::PinMismatch {
                expected: *hash,
                presented: leaf_spki_sha256,
            }),
            Pin::Ca(cas) => verify_path(cas, &leaf, intermediates, server_name, time, options),
        };
        match result {
            Ok(()) => {
                return Ok(VerifiedChain {
                    leaf_spki,
                    leaf_spki_sha256,
                    pin_index,
                })
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.unwrap_or(VerifyError::UnknownIssuer {
        issuer: dn_text(leaf.issuer),
    }))
}

/// Checks a TLS 1.3 server CertificateVerify (RFC 8446 §4.4.3): a signature by the server
/// certificate's key over 64 bytes of 0x20, the context string
/// `TLS 1.3, server CertificateVerify`, a zero byte and the transcript hash.
///
/// `leaf_spki_der` is the SubjectPublicKeyInfo of the server's certificate, `scheme` the
/// SignatureScheme code point (e.g. 0x0804 for `rsa_pss_rsae_sha256`), `signature` the
/// signature field, and `transcript_hash` the handshake hash up to and including the server's
/// Certificate message.
///
/// # Errors
/// [`VerifyError::CertificateVerifyFailed`] when the signature is wrong;
/// [`VerifyError::UnsupportedAlgorithm`] / [`VerifyError::WeakAlgorithm`] for a scheme that is
/// not accepted (including RSASSA-PKCS1-v1_5, which TLS 1.3 forbids here);
/// [`VerifyError::SignatureKeyMismatch`] when the scheme does not fit the key.
pub fn verify_certificate_verify(
    leaf_spki_der: &[u8],
    scheme: u16,
    signature: &[u8],
    transcript_hash: &[u8],
) -> Result<(), VerifyError> {
    Ok(certificate_verify(
        leaf_spki_der,
        scheme,
        signature,
        transcript_hash,
    )?)
}

/// Checks notBefore <= now <= notAfter (both inclusive, RFC 5280 §4.1.2.5).
fn check_validity(cert: &Certificate<'_>, time: ValidityTime) -> Result<(), VerifyError> {
    let ValidityTime::UnixSeconds(now) = time else {
        return Ok(());
    };
    if now < cert.not_before {
        return Err(VerifyError::NotYetValid {
            subject: cert.subject_text(),
            not_before: cert.not_before,
        });
    }
    if now > cert.not_after {
        return Err(VerifyError::Expired {
            subject: cert.subject_text(),
            not_after: cert.not_after,
        });
    }
    Ok(())
}

/// Refuses a certificate with a critical extension that is not processed.
fn check_critical_extensions(cert: &Certificate<'_>) -> Result<(), VerifyError> {
    match cert.ext.unknown_critical {
        None => Ok(()),
        Some(oid) => {
            use core::fmt::Write;
            let mut text = heapless::String::<64>::new();
            let _ = write!(text.as_mut_view(), "{}", super::oid::Dotted(oid));
            Err(VerifyError::UnknownCriticalExtension {
                subject: cert.subject_text(),
                oid: text,
            })
        }
    }
}

/// extendedKeyUsage, where present, must contain serverAuth or anyExtendedKeyUsage. With
/// `strict_leaf` (a server certificate under the certificate profile) it must contain
/// serverAuth and not anyExtendedKeyUsage, which the CA/Browser Forum forbids there
/// (7.1.2.7.10).
fn check_extended_key_usage(cert: &Certificate<'_>, strict_leaf: bool) -> Result<(), VerifyError> {
    let Some(list) = cert.ext.extended_key_usage else {
        return Ok(());
    };
    let (mut server_auth, mut any) = (false, false);
    let mut r = DerReader::within(list);
    while !r.is_empty() {
        let oid = r.oid("extKeyUsage")?;
        server_auth |= oid == super::oid::SERVER_AUTH;
        any |= oid == super::oid::ANY_EXTENDED_KEY_USAGE;
    }
    let allowed = if strict_leaf {
        server_auth && !any
    } else {
        server_auth || any
    };
    if allowed {
        return Ok(());
    }
    Err(VerifyError::ExtendedKeyUsage {
        subject: cert.subject_text(),
    })
}

/// Where a certificate sits in a path, for the profile checks.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    /// The server certificate.
    Leaf,
    /// An intermediate CA the server sent.
    Intermediate,
    /// A pinned CA.
    Pinned,
}

/// The refusal of `cert` for a keyUsage that forbids its use (`what`). Out of line, as
/// [`profile_violation`].
#[inline(never)]
fn key_usage_refusal(cert: &Certificate<'_>, what: &'static str) -> VerifyError {
    VerifyError::KeyUsage {
        subject: cert.subject_text(),
        what,
    }
}

/// The refusal of `cert` for breaking the profile rule `what`. Out of line: a dozen rules
/// share one copy of the subject's text into the error.
#[inline(never)]
fn profile_violation(cert: &Certificate<'_>, what: &'static str) -> VerifyError {
    VerifyError::ProfileViolation {
        subject: cert.subject_text(),
        what,
    }
}

/// The rules RFC 5280 (§4.1.2.2, §4.2.1.1, §4.2.1.2, §4.2.1.9, §4.2.1.10, §4.2.1.11) and the
/// CA/Browser Forum set for the CA that issued `cert` and, for a CA, for `cert` itself. X.509
/// v1 certificates have no extensions and are exempt from the extension rules.
fn check_profile(cert: &Certificate<'_>, role: Role) -> Result<(), VerifyError> {
    profile_fault(cert, role).map_or(Ok(()), |what| Err(profile_violation(cert, what)))
}

/// The rule of [`check_profile`] that `cert` breaks, if any.
fn profile_fault(cert: &Certificate<'_>, role: Role) -> Option<&'static str> {
    // A positive INTEGER of at most 20 octets (a leading zero octet keeps it positive). Not
    // asked of a pinned CA: roots in use break it (Starfield Root G2's serial is 0).
    let magnitude = cert.serial.strip_prefix(&[0]).unwrap_or(cert.serial);
    let negative = cert.serial.first().is_some_and(|b| b & 0x80 != 0);
    if role != Role::Pinned && (negative || magnitude.is_empty() || magnitude.len() > 20) {
        return Some("serial number is not a positive number of at most 20 octets");
    }
    if cert.version != 3 {
        return None;
    }
    let root = role == Role::Pinned && cert.is_self_issued();
    if root && cert.ext.extended_key_usage.is_some() {
        return Some("extendedKeyUsage in a root CA certificate");
    }
    match cert.ext.authority_key_id {
        // A root names no authority; a pinned cross-signed CA must name its issuer's key too.
        None if !cert.is_self_issued() => return Some("no authorityKeyIdentifier"),
        None => {}
        Some(aki) if aki.key_id.is_none() => {
            return Some("authorityKeyIdentifier without keyIdentifier")
        }
        // A root names no authority other than itself.
        Some(aki) if role == Role::Pinned && cert.is_self_issued() => {
            if aki.names_issuer {
                return Some("authorityCertIssuer in a self-signed CA certificate");
            }
            if cert
                .ext
                .subject_key_id
                .is_some_and(|ski| Some(ski) != aki.key_id)
            {
                return Some("authorityKeyIdentifier differs from subjectKeyIdentifier");
            }
        }
        Some(_) => {}
    }
    if role != Role::Leaf {
        if cert.ext.subject_key_id.is_none() {
            return Some("CA certificate without subjectKeyIdentifier");
        }
        if !cert.ext.basic_constraints_critical {
            return Some("CA certificate with a non-critical basicConstraints");
        }
        if let Some(nc) = cert.ext.name_constraints {
            if !cert.ext.name_constraints_critical {
                return Some("nameConstraints not marked critical");
            }
            // RFC 5280 §4.2.1.10 gives DNS constraints as host names; a leading period is the
            // URI and email form (OpenSSL reads it as "below the domain").
            for subtrees in [nc.permitted, nc.excluded] {
                let mut bases = subtree_bases(subtrees.unwrap_or_default());
                if bases.any(|b| matches!(b, GeneralName::Dns([b'.', ..]))) {
                    return Some("dNSName constraint with a leading period");
                }
            }
        }
        if cert.ext.policy_constraints == Some(false) {
            return Some("policyConstraints not marked critical");
        }
    }
    None
}

/// The checks on the server certificate itself under a CA pin.
fn check_leaf(
    leaf: &Certificate<'_>,
    time: ValidityTime,
    options: &VerifyOptions,
    comparisons: &mut Comparisons,
) -> Result<(), VerifyError> {
    if leaf.version == 2 {
        return Err(VerifyError::malformed("X.509 v2 server certificate"));
    }
    check_critical_extensions(leaf)?;
    if leaf.ext.basic_constraints.is_some_and(|bc| bc.ca) {
        return Err(VerifyError::LeafIsCa {
            subject: leaf.subject_text(),
        });
    }
    let profile = |what| profile_violation(leaf, what);
    if leaf.ext.name_constraints.is_some() {
        return Err(profile("nameConstraints in a server certificate"));
    }
    // The key the server will sign the handshake with: one this crate can check, of a
    // strength it accepts (RSA 2048 to 4096 bits in whole bytes, P-256, P-384 with the
    // feature); CertificateVerify would refuse others, the chain verdict does not wait for it.
    public_key(leaf.spki)?;
    if let Some(usage) = leaf.ext.key_usage {
        if usage & key_usage::KEY_CERT_SIGN != 0 {
            return Err(key_usage_refusal(
                leaf,
                "a server certificate must not have keyCertSign",
            ));
        }
        if usage & key_usage::DIGITAL_SIGNATURE == 0 {
            return Err(key_usage_refusal(
                leaf,
                "digitalSignature missing (a TLS 1.3 server signs the handshake)",
            ));
        }
    }
    check_extended_key_usage(leaf, !options.legacy_profile)?;
    if leaf.subject_is_empty() && !leaf.ext.subject_alt_name_critical {
        return Err(VerifyError::malformed(
            "empty subject without a critical subjectAltName",
        ));
    }
    if !options.legacy_profile {
        let fault = leaf_profile_fault(leaf, comparisons).map_err(|_| budget_spent())?;
        if let Some(what) = fault {
            return Err(profile(what));
        }
    }
    check_validity(leaf, time)
}

/// The rule of the certificate profile the server certificate breaks, if any: those of
/// [`check_profile`], then the server certificate's own.
fn leaf_profile_fault(
    leaf: &Certificate<'_>,
    comparisons: &mut Comparisons,
) -> Result<Option<&'static str>, BudgetSpent> {
    if let Some(what) = profile_fault(leaf, Role::Leaf) {
        return Ok(Some(what));
    }
    if !leaf.subject_is_empty() && leaf.ext.subject_alt_name_critical {
        return Ok(Some("critical subjectAltName next to a non-empty subject"));
    }
    // CA/Browser Forum 7.1.2.7.6 and 7.1.2.7.10, for v3 certificates: v1 ones cannot carry
    // the extension.
    if leaf.version == 3 {
        if leaf.ext.extended_key_usage.is_none() {
            return Ok(Some(
                "no extendedKeyUsage (serverAuth) in a v3 server certificate",
            ));
        }
        if leaf.ext.extended_key_usage_critical {
            return Ok(Some("critical extendedKeyUsage in a server certificate"));
        }
    }
    common_name_fault(leaf, comparisons)
}

/// Validates the path from `leaf` to one of `cas`.
fn verify_path(
    cas: &[&[u8]],
    leaf: &Certificate<'_>,
    intermediates: &[&[u8]],
    server_name: Option<&str>,
    time: ValidityTime,
    options: &VerifyOptions,
) -> Result<(), VerifyError> {
    let mut comparisons = Comparisons(NAME_CONSTRAINT_BUDGET);
    check_leaf(leaf, time, options, &mut comparisons)?;
    if options.host_check == HostCheck::CheckHostName {
        let name = server_name.ok_or(VerifyError::MissingServerName)?;
        let reference = Reference::parse(name).ok_or_else(|| VerifyError::InvalidServerName {
            name: bounded(name),
        })?;
        if !is_for_host(leaf, reference, options.allow_common_name) {
            return Err(VerifyError::NameMismatch {
                expected: bounded(name),
                presented: presented_name(leaf),
            });
        }
    }
    let mut search = PathSearch {
        anchors: cas,
        pool: intermediates,
        leaf,
        time,
        common_name_is_host: options.allow_common_name,
        strict_profile: !options.legacy_profile,
        max_chain_depth: options.max_chain_depth,
        signatures: SIGNATURE_BUDGET,
        comparisons,
        best: None,
    };
    let mut used = heapless::Vec::new();
    match search.extend(leaf, 1, &mut used, 0)? {
        Found::Path => Ok(()),
        Found::Nothing => Err(search.best.map_or(VerifyError::PathTooLong, |(_, e)| e)),
    }
}

/// How a branch of the path search ended when no limit stopped it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Found {
    /// A path to a pinned CA passed every check.
    Path,
    /// No path passed; the reason is the deepest error noted ([`PathSearch::best`]).
    Nothing,
}

/// State of one depth-first path search.
struct PathSearch<'p, 'c> {
    anchors: &'p [&'p [u8]],
    pool: &'p [&'p [u8]],
    leaf: &'p Certificate<'c>,
    time: ValidityTime,
    common_name_is_host: bool,
    strict_profile: bool,
    max_chain_depth: u8,
    /// Signature checks left.
    signatures: u32,
    /// Name comparisons left.
    comparisons: Comparisons,
    /// The error met deepest in the search, and its depth.
    best: Option<(usize, VerifyError)>,
}

/// The refusal for `ca`'s name constraints.
fn constraint_refusal(ca: &Certificate<'_>, failure: ConstraintFailure) -> VerifyError {
    match failure {
        ConstraintFailure::UnsupportedKind => VerifyError::UnsupportedNameConstraint {
            issuer: ca.subject_text(),
        },
        ConstraintFailure::Outside(name) => VerifyError::NameConstraintViolation {
            issuer: ca.subject_text(),
            name,
        },
        ConstraintFailure::BudgetSpent => budget_spent(),
    }
}

/// Whether an error ends the whole search rather than one branch of it.
fn ends_search(error: &VerifyError) -> bool {
    matches!(
        error,
        VerifyError::LimitReached {
            what: SIGNATURES | COMPARISONS,
            ..
        }
    )
}

/// [`VerifyError::LimitReached`]'s `what` for [`SIGNATURE_BUDGET`].
const SIGNATURES: &str = "signature checks";
/// [`VerifyError::LimitReached`]'s `what` for [`NAME_CONSTRAINT_BUDGET`].
const COMPARISONS: &str = "name comparisons";

/// The refusal when [`NAME_CONSTRAINT_BUDGET`] is spent.
const fn budget_spent() -> VerifyError {
    VerifyError::LimitReached {
        what: COMPARISONS,
        limit: NAME_CONSTRAINT_BUDGET,
    }
}

impl<'p> PathSearch<'p, '_> {
    /// Remembers `error` met at `depth` if it is the deepest so far.
    #[inline(never)]
    fn note(&mut self, depth: usize, error: VerifyError) {
        if self.best.as_ref().is_none_or(|(d, _)| depth > *d) {
            self.best = Some((depth, error));
        }
    }

    /// Finds an issuer for `child` (the `depth`-th certificate of the path), which has
    /// `below` non-self-issued intermediates under it, and continues up to a pinned CA. The
    /// intermediates of the path so far are `used` (indices into the pool, bottom up).
    ///
    /// # Errors
    /// Only a spent budget ([`ends_search`]), which ends the whole search; every other
    /// refusal is noted ([`note`](Self::note)) and the branch ends with [`Found::Nothing`].
    fn extend(
        &mut self,
        child: &Certificate<'_>,
        depth: usize,
        used: &mut heapless::Vec<usize, MAX_PATH_LEN>,
        below: usize,
    ) -> Result<Found, VerifyError> {
        let mut candidates = false;
        for der in self.anchors {
            let Ok(ca) = Certificate::parse(der) else {
                continue;
            };
            if ca.subject != child.issuer {
                continue;
            }
            candidates = true;
            // Every signature of the path is checked once the pinned CA signed: only then are
            // the name constraints of its CAs worth their (unbounded) work.
            let result = self
                .link(&ca, child, below, true)
                .and_then(|()| self.check_path_name_constraints(&ca, used));
            match result {
                Ok(()) => return Ok(Found::Path),
                Err(e) if ends_search(&e) => return Err(e),
                Err(e) => self.note(depth, e),
            }
        }
        for (index, der) in self.pool.iter().enumerate() {
            if used.contains(&index) {
                continue;
            }
            let Ok(ca) = Certificate::parse(der) else {
                continue;
            };
            if ca.subject != child.issuer || ca.der == child.der {
                continue;
            }
            candidates = true;
            let intermediates = below + usize::from(!ca.is_self_issued());
            if intermediates > usize::from(self.max_chain_depth) {
                // Noted as the shallowest error: a cycle reaches the limit on every path, and
                // any other reason a path failed says more.
                self.note(
                    0,
                    VerifyError::LimitReached {
                        what: "intermediate CAs (max_chain_depth)",
                        limit: u32::from(self.max_chain_depth),
                    },
                );
                continue;
            }
            // Room is needed for this intermediate and a pinned CA above it.
            if depth + 2 > MAX_PATH_LEN || used.push(index).is_err() {
                self.note(depth, VerifyError::PathTooLong);
                continue;
            }
            if let Err(e) = self.link(&ca, child, below, false) {
                used.pop();
                if ends_search(&e) {
                    return Err(e);
                }
                self.note(depth, e);
                continue;
            }
            let found = self.extend(&ca, depth + 1, used, intermediates)?;
            used.pop();
            if found == Found::Path {
                return Ok(Found::Path);
            }
        }
        if !candidates {
            self.note(
                depth,
                VerifyError::UnknownIssuer {
                    issuer: dn_text(child.issuer),
                },
            );
        }
        Ok(Found::Nothing)
    }

    /// Applies the name constraints of every CA of a complete path (the pinned `anchor`, then
    /// the intermediates `used`, bottom up in `used`) to the certificates below it.
    fn check_path_name_constraints(
        &mut self,
        anchor: &Certificate<'_>,
        used: &[usize],
    ) -> Result<(), VerifyError> {
        self.constrain_below(anchor, used)?;
        for (position, index) in used.iter().enumerate().rev() {
            let ca = self.pool_certificate(*index)?;
            self.constrain_below(&ca, used.get(..position).unwrap_or_default())?;
        }
        Ok(())
    }

    /// The intermediate at `index` of the pool.
    fn pool_certificate(&self, index: usize) -> Result<Certificate<'p>, VerifyError> {
        Ok(Certificate::parse(
            self.pool.get(index).copied().unwrap_or_default(),
        )?)
    }

    /// Applies `ca`'s name constraints (RFC 5280 §6.1.3 (b), (c)) to the certificates below it:
    /// the intermediates `below` that are not self-issued, and the server certificate.
    fn constrain_below(
        &mut self,
        ca: &Certificate<'_>,
        below: &[usize],
    ) -> Result<(), VerifyError> {
        if ca.ext.name_constraints.is_none() {
            return Ok(());
        }
        for index in below {
            let intermediate = self.pool_certificate(*index)?;
            if !intermediate.is_self_issued() {
                let result =
                    check_name_constraints(ca, &intermediate, false, &mut self.comparisons);
                result.map_err(|e| constraint_refusal(ca, e))?;
            }
        }
        let result = check_name_constraints(
            ca,
            self.leaf,
            self.common_name_is_host,
            &mut self.comparisons,
        );
        result.map_err(|e| constraint_refusal(ca, e))
    }

    /// Checks that `ca` may issue `child` and that it did.
    fn link(
        &mut self,
        ca: &Certificate<'_>,
        child: &Certificate<'_>,
        below: usize,
        pinned: bool,
    ) -> Result<(), VerifyError> {
        let is_ca = match ca.version {
            3 => ca.ext.basic_constraints.is_some_and(|bc| bc.ca),
            1 => pinned,
            _ => false,
        };
        if !is_ca {
            return Err(VerifyError::NotCa {
                subject: ca.subject_text(),
            });
        }
        if ca
            .ext
            .key_usage
            .is_some_and(|u| u & key_usage::KEY_CERT_SIGN == 0)
        {
            return Err(key_usage_refusal(ca, "an issuer needs keyCertSign"));
        }
        if let Some(path_len) = ca.ext.basic_constraints.and_then(|bc| bc.path_len) {
            if below > usize::from(path_len) {
                return Err(VerifyError::PathLenExceeded {
                    subject: ca.subject_text(),
                    path_len,
                });
            }
        }
        check_extended_key_usage(ca, false)?;
        check_critical_extensions(ca)?;
        if self.strict_profile {
            let role = if pinned {
                Role::Pinned
            } else {
                Role::Intermediate
            };
            check_profile(ca, role)?;
        }
        check_validity(ca, self.time)?;
        self.signatures = self
            .signatures
            .checked_sub(1)
            .ok_or(VerifyError::LimitReached {
                what: SIGNATURES,
                limit: SIGNATURE_BUDGET,
            })?;
        match verify_signed_data(
            ca.spki,
            child.signature_algorithm,
            child.tbs,
            child.signature,
        ) {
            Ok(()) => Ok(()),
            Err(SignatureError::Invalid) => Err(VerifyError::BadSignature {
                subject: child.subject_text(),
            }),
            Err(refused) => Err(refused.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
