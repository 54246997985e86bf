//! embedded-tls's errors and alerts in words, without their `Debug`.
//!
//! The texts are the variant names (what `{:?}` printed, so logs and tests read the same), but
//! written from one `&'static str` per variant: formatting them with `Debug` linked the
//! derived `Debug` of every enum nested in `TlsError` and core's debug builders into the
//! firmware (about 2 KiB of code and name tables on the Cortex-M4, `scripts/footprint.sh`).

use core::fmt;

use embedded_tls::alert::{AlertDescription, AlertLevel};
use embedded_tls::TlsError;

use crate::error::io_kind_name;

/// The name of an alert (RFC 8446 §6) as embedded-tls spells it, e.g. `BadCertificate`.
pub(crate) fn alert_name(description: AlertDescription) -> &'static str {
    use AlertDescription as A;
    match description {
        A::CloseNotify => "CloseNotify",
        A::UnexpectedMessage => "UnexpectedMessage",
        A::BadRecordMac => "BadRecordMac",
        A::RecordOverflow => "RecordOverflow",
        A::HandshakeFailure => "HandshakeFailure",
        A::BadCertificate => "BadCertificate",
        A::UnsupportedCertificate => "UnsupportedCertificate",
        A::CertificateRevoked => "CertificateRevoked",
        A::CertificateExpired => "CertificateExpired",
        A::CertificateUnknown => "CertificateUnknown",
        A::IllegalParameter => "IllegalParameter",
        A::UnknownCa => "UnknownCa",
        A::AccessDenied => "AccessDenied",
        A::DecodeError => "DecodeError",
        A::DecryptError => "DecryptError",
        A::ProtocolVersion => "ProtocolVersion",
        A::InsufficientSecurity => "InsufficientSecurity",
        A::InternalError => "InternalError",
        A::InappropriateFallback => "InappropriateFallback",
        A::UserCanceled => "UserCanceled",
        A::MissingExtension => "MissingExtension",
        A::UnsupportedExtension => "UnsupportedExtension",
        A::UnrecognizedName => "UnrecognizedName",
        A::BadCertificateStatusResponse => "BadCertificateStatusResponse",
        A::UnknownPskIdentity => "UnknownPskIdentity",
        A::CertificateRequired => "CertificateRequired",
        A::NoApplicationProtocol => "NoApplicationProtocol",
    }
}

/// `Warning` or `Fatal`.
pub(crate) fn level_name(level: AlertLevel) -> &'static str {
    match level {
        AlertLevel::Warning => "Warning",
        AlertLevel::Fatal => "Fatal",
    }
}

/// A [`TlsError`] as its `Debug` text: the variant's name, with its fields in parentheses
/// (`AbortHandshake(Fatal, BadCertificate)`, `ParseError(InvalidData)`, `Io(TimedOut)`).
pub(crate) struct TlsErrorText<'e>(pub(crate) &'e TlsError);

impl fmt::Display for TlsErrorText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use TlsError as E;
        let name = match self.0 {
            E::HandshakeAborted(level, description) | E::AbortHandshake(level, description) => {
                let name = if matches!(self.0, E::HandshakeAborted(..)) {
                    "HandshakeAborted"
                } else {
                    "AbortHandshake"
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
            E::ConnectionClosed => "ConnectionClosed",
            E::Unimplemented => "Unimplemented",
            E::MissingHandshake => "MissingHandshake",
            E::IoError => "IoError",
            E::InternalError => "InternalError",
            E::InvalidRecord => "InvalidRecord",
            E::UnknownContentType => "UnknownContentType",
            E::InvalidNonceLength => "InvalidNonceLength",
            E::InvalidTicketLength => "InvalidTicketLength",
            E::UnknownExtensionType => "UnknownExtensionType",
            E::InsufficientSpace => "InsufficientSpace",
            E::InvalidHandshake => "InvalidHandshake",
            E::InvalidCipherSuite => "InvalidCipherSuite",
            E::InvalidSignatureScheme => "InvalidSignatureScheme",
            E::InvalidSignature => "InvalidSignature",
            E::InvalidExtensionsLength => "InvalidExtensionsLength",
            E::InvalidSessionIdLength => "InvalidSessionIdLength",
            E::InvalidSupportedVersions => "InvalidSupportedVersions",
            E::InvalidApplicationData => "InvalidApplicationData",
            E::InvalidKeyShare => "InvalidKeyShare",
            E::InvalidCertificate => "InvalidCertificate",
            E::InvalidCertificateEntry => "InvalidCertificateEntry",
            E::InvalidCertificateRequest => "InvalidCertificateRequest",
            E::InvalidPrivateKey => "InvalidPrivateKey",
            E::UnableToInitializeCryptoEngine => "UnableToInitializeCryptoEngine",
            E::OutOfMemory => "OutOfMemory",
            E::CryptoError => "CryptoError",
            E::EncodeError => "EncodeError",
            E::DecodeError => "DecodeError",
            E::InvalidKeyUpdate => "InvalidKeyUpdate",
        };
        f.write_str(name)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::format;

    use embedded_io::ErrorKind;
    use embedded_tls::alert::{AlertDescription, AlertLevel};
    use embedded_tls::TlsError;

    use super::{alert_name, level_name, TlsErrorText};
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
            TlsError::InternalError,
            TlsError::InvalidSignature,
            TlsError::UnableToInitializeCryptoEngine,
            TlsError::InvalidKeyUpdate,
            TlsError::Io(ErrorKind::TimedOut),
            TlsError::AbortHandshake(AlertLevel::Fatal, AlertDescription::BadCertificate),
            TlsError::HandshakeAborted(AlertLevel::Warning, AlertDescription::CloseNotify),
        ];
        for error in errors {
            assert_eq!(format!("{}", TlsErrorText(&error)), format!("{error:?}"));
        }
    }
}
