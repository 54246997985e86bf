//! embedded-tls's errors and alerts in words, without their `Debug`.
//!
//! The texts are the variant names (what `{:?}` printed, so logs and tests read the same),
//! cut from one string of names per enum (a `match` to `&'static str` loads a pointer and a
//! length per arm): formatting them with `Debug` linked the derived `Debug` of every enum
//! nested in `TlsError` and core's debug builders into the firmware (about 2 KiB of code and
//! name tables on the Cortex-M4, `scripts/footprint.sh`).

use core::fmt;

use embedded_tls::alert::{AlertDescription, AlertLevel};
use embedded_tls::TlsError;

use crate::error::io_kind_name;

/// One name per alert that embedded-tls knows, in the order of [`ALERT_CODES`], each ended by
/// a space: one string instead of a `(pointer, length)` load per `match` arm.
const ALERT_NAMES: &str = "CloseNotify UnexpectedMessage BadRecordMac RecordOverflow \
    HandshakeFailure BadCertificate UnsupportedCertificate CertificateRevoked \
    CertificateExpired CertificateUnknown IllegalParameter UnknownCa AccessDenied DecodeError \
    DecryptError ProtocolVersion InsufficientSecurity InternalError InappropriateFallback \
    UserCanceled MissingExtension UnsupportedExtension UnrecognizedName \
    BadCertificateStatusResponse UnknownPskIdentity CertificateRequired NoApplicationProtocol ";

/// The code point (RFC 8446 §6) of each name in [`ALERT_NAMES`].
const ALERT_CODES: [u8; 27] = [
    0, 10, 20, 22, 40, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 70, 71, 80, 86, 90, 109, 110, 112,
    113, 115, 116, 120,
];

/// The `index`th name of `names`, a list of names each ended by a space (`?` past its end).
fn nth_name(names: &'static str, index: usize) -> &'static str {
    names.split_terminator(' ').nth(index).unwrap_or("?")
}

/// The name of an alert (RFC 8446 §6) as embedded-tls spells it, e.g. `BadCertificate`.
pub(crate) fn alert_name(description: AlertDescription) -> &'static str {
    let code = description as u8;
    let index = ALERT_CODES.iter().position(|c| *c == code);
    index.map_or("?", |index| nth_name(ALERT_NAMES, index))
}

/// An alert by its name and code point (RFC 8446 §6), e.g. `CertificateRequired (116)`. Not
/// its level: TLS 1.3 ignores it (the description says how grave an alert is, §6); it stays in
/// the error for who wants it.
pub(crate) struct AlertText(pub(crate) AlertDescription);

impl fmt::Display for AlertText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", alert_name(self.0), self.0 as u8)
    }
}

/// `Warning` or `Fatal`.
pub(crate) fn level_name(level: AlertLevel) -> &'static str {
    match level {
        AlertLevel::Warning => "Warning",
        AlertLevel::Fatal => "Fatal",
    }
}

/// The names of [`TlsError`]'s variants without fields, in the order of the `match` in
/// [`TlsErrorText`]'s `Display`, each ended by a space.
const ERROR_NAMES: &str = "ConnectionClosed Unimplemented MissingHandshake IoError \
    InternalError InvalidRecord UnknownContentType InvalidNonceLength InvalidTicketLength \
    UnknownExtensionType InsufficientSpace InvalidHandshake InvalidCipherSuite \
    InvalidSignatureScheme InvalidSignature InvalidExtensionsLength InvalidSessionIdLength \
    InvalidSupportedVersions InvalidApplicationData InvalidKeyShare InvalidCertificate \
    InvalidCertificateEntry InvalidCertificateRequest InvalidPrivateKey \
    UnableToInitializeCryptoEngine OutOfMemory CryptoError EncodeError DecodeError \
    InvalidKeyUpdate ";

/// A [`TlsError`] as its `Debug` text: the variant's name, with its fields in parentheses
/// (`AbortHandshake(Fatal, BadCertificate)`, `ParseError(InvalidData)`, `Io(TimedOut)`).
pub(crate) struct TlsErrorText<'e>(pub(crate) &'e TlsError);

impl fmt::Display for TlsErrorText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use TlsError as E;
        let index = match self.0 {
            E::HandshakeAborted(level, description)
            | E::AbortHandshake(level, description)
            | E::AlertReceived(level, description) => {
                let name = match self.0 {
                    E::HandshakeAborted(..) => "HandshakeAborted",
                    E::AbortHandshake(..) => "AbortHandshake",
                    _ => "AlertReceived",
                };
                return write!(
                    f,
                    "{name}({}, {})",
                    level_name(*level),
                    alert_name(*description)
                );
            }
            // A unit enum of three variants, not exported by embedded-tls: its `Debug` is
            // one name table.
            E::ParseError(e) => return write!(f, "ParseError({e:?})"),
            E::Io(kind) => return write!(f, "Io({})", io_kind_name(*kind)),
            E::UnexpectedHandshakeMessage(message) => {
                return write!(f, "UnexpectedHandshakeMessage({message:?})")
            }
            E::ConnectionClosed => 0,
            E::Unimplemented => 1,
            E::MissingHandshake => 2,
            E::IoError => 3,
            E::InternalError => 4,
            E::InvalidRecord => 5,
            E::UnknownContentType => 6,
            E::InvalidNonceLength => 7,
            E::InvalidTicketLength => 8,
            E::UnknownExtensionType => 9,
            E::InsufficientSpace => 10,
            E::InvalidHandshake => 11,
            E::InvalidCipherSuite => 12,
            E::InvalidSignatureScheme => 13,
            E::InvalidSignature => 14,
            E::InvalidExtensionsLength => 15,
            E::InvalidSessionIdLength => 16,
            E::InvalidSupportedVersions => 17,
            E::InvalidApplicationData => 18,
            E::InvalidKeyShare => 19,
            E::InvalidCertificate => 20,
            E::InvalidCertificateEntry => 21,
            E::InvalidCertificateRequest => 22,
            E::InvalidPrivateKey => 23,
            E::UnableToInitializeCryptoEngine => 24,
            E::OutOfMemory => 25,
            E::CryptoError => 26,
            E::EncodeError => 27,
            E::DecodeError => 28,
            E::InvalidKeyUpdate => 29,
        };
        f.write_str(nth_name(ERROR_NAMES, index))
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::format;

    use embedded_io::ErrorKind;
    use embedded_tls::alert::{AlertDescription, AlertLevel};
    use embedded_tls::TlsError;

    use super::{alert_name, level_name, AlertText, TlsErrorText};
    use crate::error::io_kind_name;

    /// The texts are the `Debug` texts they replace, so logs and tests read the same.
    #[test]
    fn names_are_the_debug_texts() {
        let mut alerts = 0;
        for code in 0..=u8::MAX {
            if let Some(description) = AlertDescription::of(code) {
                assert_eq!(alert_name(description), format!("{description:?}"));
                alerts += 1;
            }
        }
        assert_eq!(alerts, 27, "every alert embedded-tls knows");
        for level in [AlertLevel::Warning, AlertLevel::Fatal] {
            assert_eq!(level_name(level), format!("{level:?}"));
        }
        let kinds = [
            ErrorKind::Other,
            ErrorKind::NotFound,
            ErrorKind::PermissionDenied,
            ErrorKind::ConnectionRefused,
            ErrorKind::ConnectionReset,
            ErrorKind::ConnectionAborted,
            ErrorKind::NotConnected,
            ErrorKind::AddrInUse,
            ErrorKind::AddrNotAvailable,
            ErrorKind::BrokenPipe,
            ErrorKind::AlreadyExists,
            ErrorKind::InvalidInput,
            ErrorKind::InvalidData,
            ErrorKind::TimedOut,
            ErrorKind::Interrupted,
            ErrorKind::Unsupported,
            ErrorKind::OutOfMemory,
            ErrorKind::WriteZero,
        ];
        for kind in kinds {
            assert_eq!(io_kind_name(kind), format!("{kind:?}"));
        }
        let errors = [
            TlsError::ConnectionClosed,
            TlsError::Unimplemented,
            TlsError::MissingHandshake,
            TlsError::IoError,
            TlsError::InternalError,
            TlsError::InvalidRecord,
            TlsError::UnknownContentType,
            TlsError::InvalidNonceLength,
            TlsError::InvalidTicketLength,
            TlsError::UnknownExtensionType,
            TlsError::InsufficientSpace,
            TlsError::InvalidHandshake,
            TlsError::InvalidCipherSuite,
            TlsError::InvalidSignatureScheme,
            TlsError::InvalidSignature,
            TlsError::InvalidExtensionsLength,
            TlsError::InvalidSessionIdLength,
            TlsError::InvalidSupportedVersions,
            TlsError::InvalidApplicationData,
            TlsError::InvalidKeyShare,
            TlsError::InvalidCertificate,
            TlsError::InvalidCertificateEntry,
            TlsError::InvalidCertificateRequest,
            TlsError::InvalidPrivateKey,
            TlsError::UnableToInitializeCryptoEngine,
            TlsError::OutOfMemory,
            TlsError::CryptoError,
            TlsError::EncodeError,
            TlsError::DecodeError,
            TlsError::InvalidKeyUpdate,
            TlsError::Io(ErrorKind::TimedOut),
            TlsError::AbortHandshake(AlertLevel::Fatal, AlertDescription::BadCertificate),
            TlsError::HandshakeAborted(AlertLevel::Warning, AlertDescription::CloseNotify),
            TlsError::AlertReceived(AlertLevel::Fatal, AlertDescription::CertificateRequired),
        ];
        for error in errors {
            assert_eq!(format!("{}", TlsErrorText(&error)), format!("{error:?}"));
        }
    }

    /// An alert is shown by its name and code point, from the one name table.
    #[test]
    fn alerts_read_with_their_code_points() {
        for code in 0..=u8::MAX {
            if let Some(description) = AlertDescription::of(code) {
                let expected = format!("{description:?} ({code})");
                assert_eq!(format!("{}", AlertText(description)), expected);
            }
        }
        let required = AlertText(AlertDescription::CertificateRequired);
        assert_eq!(format!("{required}"), "CertificateRequired (116)");
    }
}
