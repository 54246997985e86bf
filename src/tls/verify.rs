//! Server certificate verification against [`Pin`]s: path building and the checks of RFC 5280
//! §6 that matter for a TLS server, with no heap (except inside RSA, see [`super::sig`]).
//!
//! # With a CA pin
//! The path is built from the server's certificate upwards through the intermediates the
//! server sent — in any order, unrelated extras ignored, each used at most once — to one of the
//! pinned CA certificates. The search backtracks (a name can be shared by several CAs, as with
//! cross-signing), stops at [`MAX_PATH_LEN`] certificates and after [`SIGNATURE_BUDGET`]
//! signature checks, and cannot loop. Pinned CAs are tried before intermediates at every step.
//! Along the path:
//!
//! - every signature is checked ([`super::sig`] lists the algorithms; SHA-1 and MD5 are
//!   refused);
//! - every certificate, *the pinned CA included*, must be within its validity dates at the
//!   caller's time. webpki treats a trust anchor as a bare key and name and ignores its dates;
//!   this crate follows OpenSSL, and so Mosquitto, instead: the pinned CA is a certificate the
//!   firmware author chose, its expiry is a fact the device should report, and the broker's own
//!   OpenSSL refuses an expired CA too;
//! - every issuer must be a CA: X.509 v3 with basicConstraints cA set. A pinned CA that is an
//!   X.509 v1 certificate (no extensions at all, as old `openssl x509 -req` set-ups made) is
//!   accepted as a CA because the pin itself is the out-of-band assurance RFC 5280 §6.1.4(k)
//!   asks for; a v1 intermediate is refused;
//! - an issuer's keyUsage, where present, must include keyCertSign; its pathLenConstraint
//!   limits the non-self-issued intermediates below it; its extendedKeyUsage, where present,
//!   must allow serverAuth; its nameConstraints apply to the server certificate's names
//!   (RFC 5280 §4.2.1.10);
//! - a critical extension other than basicConstraints, keyUsage, extendedKeyUsage,
//!   subjectAltName and nameConstraints refuses the certificate;
//! - the server certificate must be an end-entity certificate: not a CA, no keyCertSign,
//!   digitalSignature where keyUsage is present (TLS 1.3 servers sign), serverAuth (or
//!   anyExtendedKeyUsage) where extendedKeyUsage is present, X.509 v1 or v3 (not v2);
//! - and, unless the caller chose [`HostCheck::SkipHostName`], it must be for the expected
//!   host name or IP address.
//!
//! Rules that RFC 5280 and the CA/Browser Forum put on the *issuing CAs* are enforced too, as
//! [`VerifyError::ProfileViolation`], because the x509-limbo suite expects a validator to
//! refuse such certificates: an authorityKeyIdentifier (with keyIdentifier) on every v3
//! certificate that is not self-issued, except the pinned CA; a subjectKeyIdentifier and a
//! critical basicConstraints on every CA; no authorityCertIssuer, and a keyIdentifier equal to
//! the subjectKeyIdentifier, in a self-issued pinned CA; a commonName that looks like a host
//! name only if it is one of the SANs; no critical subjectAltName next to a subject. X.509 v1
//! certificates, which cannot carry extensions, are exempt. Private CAs made with OpenSSL 1.x
//! defaults break some of these rules: [`VerifyOptions::allow_legacy_profile`] accepts them
//! (everything else is still checked).
//!
//! # With a certificate or SPKI pin
//! Only the server certificate matters: it must equal the pinned DER, or its SPKI must hash to
//! the pinned SHA-256, and be within its validity dates. Its host name is not checked, nor are
//! intermediates.
//!
//! In every case the result, [`VerifiedChain`], keeps a copy of the server's
//! SubjectPublicKeyInfo for the CertificateVerify check that must follow.

use sha2::{Digest, Sha256};
use x509_cert::der::oid::db::rfc5280;

use super::error::VerifyError;
use super::name::{check_common_name_in_san, check_host_name, check_name_constraints, Reference};
use super::pin::Pin;
use super::sig::{verify_signed_data, SigFailure};
use super::x509::{dn_text, key_usage, Certificate, DerReader};

/// The largest server SubjectPublicKeyInfo kept for CertificateVerify (an RSA-4096 key takes
/// 550 bytes).
pub const MAX_LEAF_SPKI_LEN: usize = 600;

/// The most certificates in a path, server certificate and pinned CA included.
pub const MAX_PATH_LEN: usize = 8;

/// The most signature checks one path search makes before giving up.
pub const SIGNATURE_BUDGET: u32 = 48;

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

/// How to verify, apart from the pins and the server name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct VerifyOptions {
    /// When to check validity dates at.
    pub time: ValidityTime,
    /// Whether to check the host name.
    pub host_check: HostCheck,
    /// Whether the subject commonName may stand for the host name when the certificate has no
    /// subjectAltName of the expected kind (off by default).
    pub allow_common_name: bool,
    /// Whether to accept certificates that break the rules RFC 5280 and the CA/Browser Forum
    /// set for issuing CAs (off by default); see [`VerifyOptions::allow_legacy_profile`].
    pub legacy_profile: bool,
}

impl VerifyOptions {
    /// Check everything, at `time`.
    pub const fn new(time: ValidityTime) -> Self {
        Self {
            time,
            host_check: HostCheck::CheckHostName,
            allow_common_name: false,
            legacy_profile: false,
        }
    }

    /// Accept certificates from CAs that do not follow the certificate profile: v3
    /// certificates without an authorityKeyIdentifier (OpenSSL 1.x `x509 -req -extfile`),
    /// CA certificates without a subjectKeyIdentifier or with a non-critical
    /// basicConstraints (OpenSSL 1.0 `v3_ca` defaults), a commonName that is not one of the
    /// dNSName SANs, a critical subjectAltName next to a subject. Signatures, dates, CA
    /// constraints and names are still checked. For existing private CAs that cannot be
    /// re-issued yet.
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
}

/// Verifies a server certificate (`leaf_der`) with the `intermediates` it sent against `pins`;
/// the first pin that accepts wins.
///
/// `server_name` is the name the client connected to; it is required unless the host check is
/// skipped or no pin is a [`Pin::Ca`].
///
/// # Errors
/// When no pin accepts, the error of the first pin.
pub fn verify_server_certificate(
    pins: &[Pin<'_>],
    leaf_der: &[u8],
    intermediates: &[&[u8]],
    server_name: Option<&str>,
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
            Pin::Certificate(der) if *der == leaf_der => check_validity(&leaf, options.time),
            Pin::Certificate(der) => Err(VerifyError::CertificateMismatch {
                expected: Sha256::digest(der).into(),
                presented: Sha256::digest(leaf_der).into(),
            }),
            Pin::SpkiSha256(hash) if *hash == leaf_spki_sha256 => {
                check_validity(&leaf, options.time)
            }
            Pin::SpkiSha256(hash) => Err(VerifyError::PinMismatch {
                expected: *hash,
                presented: leaf_spki_sha256,
            }),
            Pin::Ca(cas) => verify_path(cas, &leaf, intermediates, server_name, options),
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
            let _ = write!(text, "{oid}");
            Err(VerifyError::UnknownCriticalExtension {
                subject: cert.subject_text(),
                oid: text,
            })
        }
    }
}

/// extendedKeyUsage, where present, must contain serverAuth or anyExtendedKeyUsage.
fn check_extended_key_usage(cert: &Certificate<'_>) -> Result<(), VerifyError> {
    let Some(list) = cert.ext.extended_key_usage else {
        return Ok(());
    };
    let mut r = DerReader::new(list, "extKeyUsage")?;
    while !r.is_empty() {
        let oid = r.decode::<der::asn1::ObjectIdentifier>("extKeyUsage")?;
        if oid == rfc5280::ID_KP_SERVER_AUTH || oid == rfc5280::ANY_EXTENDED_KEY_USAGE {
            return Ok(());
        }
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

/// The rules RFC 5280 (§4.2.1.1, §4.2.1.2, §4.2.1.9) and the CA/Browser Forum set for the CA
/// that issued `cert` and, for a CA, for `cert` itself. X.509 v1 certificates have no
/// extensions and are exempt.
fn check_profile(cert: &Certificate<'_>, role: Role) -> Result<(), VerifyError> {
    let violation = |what| {
        Err(VerifyError::ProfileViolation {
            subject: cert.subject_text(),
            what,
        })
    };
    if cert.version != 3 {
        return Ok(());
    }
    match cert.ext.authority_key_id {
        // A pinned CA is trusted whoever issued it.
        None if !cert.is_self_issued() && role != Role::Pinned => {
            return violation("no authorityKeyIdentifier")
        }
        None => {}
        Some(aki) if aki.key_id.is_none() => {
            return violation("authorityKeyIdentifier without keyIdentifier")
        }
        // A root names no authority other than itself.
        Some(aki) if role == Role::Pinned && cert.is_self_issued() => {
            if aki.names_issuer {
                return violation("authorityCertIssuer in a self-signed CA certificate");
            }
            if cert
                .ext
                .subject_key_id
                .is_some_and(|ski| Some(ski) != aki.key_id)
            {
                return violation("authorityKeyIdentifier differs from subjectKeyIdentifier");
            }
        }
        Some(_) => {}
    }
    if role != Role::Leaf {
        if cert.ext.subject_key_id.is_none() {
            return violation("CA certificate without subjectKeyIdentifier");
        }
        if !cert.ext.basic_constraints_critical {
            return violation("CA certificate with a non-critical basicConstraints");
        }
    }
    Ok(())
}

/// The checks on the server certificate itself under a CA pin.
fn check_leaf(leaf: &Certificate<'_>, options: &VerifyOptions) -> Result<(), VerifyError> {
    if leaf.version == 2 {
        return Err(VerifyError::malformed("X.509 v2 server certificate"));
    }
    check_critical_extensions(leaf)?;
    if leaf.ext.basic_constraints.is_some_and(|bc| bc.ca) {
        return Err(VerifyError::LeafIsCa {
            subject: leaf.subject_text(),
        });
    }
    if let Some(usage) = leaf.ext.key_usage {
        if usage & key_usage::KEY_CERT_SIGN != 0 {
            return Err(VerifyError::KeyUsage {
                subject: leaf.subject_text(),
                what: "a server certificate must not have keyCertSign",
            });
        }
        if usage & key_usage::DIGITAL_SIGNATURE == 0 {
            return Err(VerifyError::KeyUsage {
                subject: leaf.subject_text(),
                what: "digitalSignature missing (a TLS 1.3 server signs the handshake)",
            });
        }
    }
    check_extended_key_usage(leaf)?;
    if leaf.subject_is_empty() && !leaf.ext.subject_alt_name_critical {
        return Err(VerifyError::malformed(
            "empty subject without a critical subjectAltName",
        ));
    }
    if !options.legacy_profile {
        check_profile(leaf, Role::Leaf)?;
        if !leaf.subject_is_empty() && leaf.ext.subject_alt_name_critical {
            return Err(VerifyError::ProfileViolation {
                subject: leaf.subject_text(),
                what: "critical subjectAltName next to a non-empty subject",
            });
        }
        check_common_name_in_san(leaf)?;
    }
    check_validity(leaf, options.time)
}

/// Validates the path from `leaf` to one of `cas`.
fn verify_path(
    cas: &[&[u8]],
    leaf: &Certificate<'_>,
    intermediates: &[&[u8]],
    server_name: Option<&str>,
    options: &VerifyOptions,
) -> Result<(), VerifyError> {
    check_leaf(leaf, options)?;
    if options.host_check == HostCheck::CheckHostName {
        let name = server_name.ok_or(VerifyError::MissingServerName)?;
        let reference = Reference::parse(name)?;
        check_host_name(leaf, name, reference, options.allow_common_name)?;
    }
    let mut search = PathSearch {
        anchors: cas,
        pool: intermediates,
        leaf,
        time: options.time,
        common_name_is_host: options.allow_common_name,
        strict_profile: !options.legacy_profile,
        budget: SIGNATURE_BUDGET,
        best: None,
    };
    let mut used = heapless::Vec::new();
    search.extend(leaf, 1, &mut used, 0)
}

/// State of one depth-first path search.
struct PathSearch<'p, 'c> {
    anchors: &'p [&'p [u8]],
    pool: &'p [&'p [u8]],
    leaf: &'p Certificate<'c>,
    time: ValidityTime,
    common_name_is_host: bool,
    strict_profile: bool,
    budget: u32,
    /// The error met deepest in the search, and its depth.
    best: Option<(usize, VerifyError)>,
}

impl PathSearch<'_, '_> {
    /// Remembers `error` met at `depth` if it is the deepest so far.
    fn note(&mut self, depth: usize, error: VerifyError) {
        if self.best.as_ref().is_none_or(|(d, _)| depth > *d) {
            self.best = Some((depth, error));
        }
    }

    /// Finds an issuer for `child` (the `depth`-th certificate of the path), which has
    /// `below` non-self-issued intermediates under it, and continues up to a pinned CA.
    fn extend(
        &mut self,
        child: &Certificate<'_>,
        depth: usize,
        used: &mut heapless::Vec<usize, MAX_PATH_LEN>,
        below: usize,
    ) -> Result<(), VerifyError> {
        let mut candidates = false;
        for der in self.anchors {
            let Ok(ca) = Certificate::parse(der) else {
                continue;
            };
            if ca.subject != child.issuer {
                continue;
            }
            candidates = true;
            match self.link(&ca, child, below, true) {
                Ok(()) => return Ok(()),
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
            // Room is needed for this intermediate and a pinned CA above it.
            if depth + 2 > MAX_PATH_LEN || used.push(index).is_err() {
                self.note(depth, VerifyError::PathTooLong);
                continue;
            }
            if let Err(e) = self.link(&ca, child, below, false) {
                used.pop();
                self.note(depth, e);
                continue;
            }
            let below = below + usize::from(!ca.is_self_issued());
            let result = self.extend(&ca, depth + 1, used, below);
            used.pop();
            if result.is_ok() {
                return Ok(());
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
        Err(self
            .best
            .as_ref()
            .map_or(VerifyError::PathTooLong, |(_, e)| e.clone()))
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
            return Err(VerifyError::KeyUsage {
                subject: ca.subject_text(),
                what: "an issuer needs keyCertSign",
            });
        }
        if let Some(path_len) = ca.ext.basic_constraints.and_then(|bc| bc.path_len) {
            if below > usize::from(path_len) {
                return Err(VerifyError::PathLenExceeded {
                    subject: ca.subject_text(),
                    path_len,
                });
            }
        }
        check_extended_key_usage(ca)?;
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
        check_name_constraints(ca, self.leaf, self.common_name_is_host)?;
        if self.budget == 0 {
            return Err(VerifyError::PathTooLong);
        }
        self.budget -= 1;
        match verify_signed_data(
            ca.spki,
            child.signature_algorithm,
            child.tbs,
            child.signature,
        ) {
            Ok(()) => Ok(()),
            Err(SigFailure::Invalid) => Err(VerifyError::BadSignature {
                subject: child.subject_text(),
            }),
            Err(SigFailure::Refused(e)) => Err(e),
        }
    }
}
