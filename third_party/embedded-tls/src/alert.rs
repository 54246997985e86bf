use crate::TlsError;
use crate::buffer::CryptoBuffer;
use crate::parse_buffer::ParseBuffer;

#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum AlertLevel {
    Warning = 1,
    Fatal = 2,
}

impl AlertLevel {
    #[must_use]
    pub fn of(num: u8) -> Option<Self> {
        match num {
            1 => Some(AlertLevel::Warning),
            2 => Some(AlertLevel::Fatal),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum AlertDescription {
    CloseNotify = 0,
    UnexpectedMessage = 10,
    BadRecordMac = 20,
    RecordOverflow = 22,
    HandshakeFailure = 40,
    BadCertificate = 42,
    UnsupportedCertificate = 43,
    CertificateRevoked = 44,
    CertificateExpired = 45,
    CertificateUnknown = 46,
    IllegalParameter = 47,
    UnknownCa = 48,
    AccessDenied = 49,
    DecodeError = 50,
    DecryptError = 51,
    ProtocolVersion = 70,
    InsufficientSecurity = 71,
    InternalError = 80,
    InappropriateFallback = 86,
    UserCanceled = 90,
    MissingExtension = 109,
    UnsupportedExtension = 110,
    UnrecognizedName = 112,
    BadCertificateStatusResponse = 113,
    UnknownPskIdentity = 115,
    CertificateRequired = 116,
    NoApplicationProtocol = 120,
}

impl AlertDescription {
    #[must_use]
    pub fn of(num: u8) -> Option<Self> {
        match num {
            0 => Some(AlertDescription::CloseNotify),
            10 => Some(AlertDescription::UnexpectedMessage),
            20 => Some(AlertDescription::BadRecordMac),
            22 => Some(AlertDescription::RecordOverflow),
            40 => Some(AlertDescription::HandshakeFailure),
            42 => Some(AlertDescription::BadCertificate),
            43 => Some(AlertDescription::UnsupportedCertificate),
            44 => Some(AlertDescription::CertificateRevoked),
            45 => Some(AlertDescription::CertificateExpired),
            46 => Some(AlertDescription::CertificateUnknown),
            47 => Some(AlertDescription::IllegalParameter),
            48 => Some(AlertDescription::UnknownCa),
            49 => Some(AlertDescription::AccessDenied),
            50 => Some(AlertDescription::DecodeError),
            51 => Some(AlertDescription::DecryptError),
            70 => Some(AlertDescription::ProtocolVersion),
            71 => Some(AlertDescription::InsufficientSecurity),
            80 => Some(AlertDescription::InternalError),
            86 => Some(AlertDescription::InappropriateFallback),
            90 => Some(AlertDescription::UserCanceled),
            109 => Some(AlertDescription::MissingExtension),
            110 => Some(AlertDescription::UnsupportedExtension),
            112 => Some(AlertDescription::UnrecognizedName),
            113 => Some(AlertDescription::BadCertificateStatusResponse),
            115 => Some(AlertDescription::UnknownPskIdentity),
            116 => Some(AlertDescription::CertificateRequired),
            120 => Some(AlertDescription::NoApplicationProtocol),
            _ => None,
        }
    }
}

#[derive(Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Alert {
    pub(crate) level: AlertLevel,
    pub(crate) description: AlertDescription,
}

impl Alert {
    #[must_use]
    pub fn new(level: AlertLevel, description: AlertDescription) -> Self {
        Self { level, description }
    }

    pub fn parse(buf: &mut ParseBuffer<'_>) -> Result<Alert, TlsError> {
        let level = buf.read_u8()?;
        let desc = buf.read_u8()?;

        Ok(Self {
            level: AlertLevel::of(level).ok_or(TlsError::DecodeError)?,
            description: AlertDescription::of(desc).ok_or(TlsError::DecodeError)?,
        })
    }

    pub fn encode(&self, buf: &mut CryptoBuffer<'_>) -> Result<(), TlsError> {
        buf.push(self.level as u8)
            .map_err(|_| TlsError::EncodeError)?;
        buf.push(self.description as u8)
            .map_err(|_| TlsError::EncodeError)?;
        Ok(())
    }
}

/// The alert the client sends when `error` ends the connection, where RFC 8446 §6.2 names one
/// (`None`: the error is the transport's, or the server's own alert, which is not answered).
///
/// A [`TlsError::AbortHandshake`] (a verifier's refusal) carries its own alert; every other
/// alert is fatal. Errors of the client itself (buffers too small, encoding) are
/// `internal_error`. An alert received (`close_notify` included) is never answered with one.
pub(crate) fn alert_for(error: TlsError) -> Option<Alert> {
    use AlertDescription as D;
    let description = match error {
        TlsError::AbortHandshake(level, description) => {
            return Some(Alert::new(level, description));
        }
        TlsError::ConnectionClosed
        | TlsError::HandshakeAborted(..)
        | TlsError::AlertReceived(..)
        | TlsError::IoError
        | TlsError::Io(_) => return None,
        // A message where the handshake order does not allow it, a record of a type that
        // cannot come now.
        TlsError::UnexpectedHandshakeMessage(_)
        | TlsError::InvalidHandshake
        | TlsError::InvalidRecord
        | TlsError::UnknownContentType => D::UnexpectedMessage,
        // A field of the server's messages inconsistent with what the client offered.
        TlsError::InvalidKeyUpdate
        | TlsError::InvalidCipherSuite
        | TlsError::InvalidSupportedVersions
        | TlsError::InvalidKeyShare
        | TlsError::InvalidSignatureScheme => D::IllegalParameter,
        TlsError::UnknownExtensionType => D::UnsupportedExtension,
        // The server's Finished (or, from a verifier, its CertificateVerify) does not verify.
        TlsError::InvalidSignature => D::DecryptError,
        TlsError::CryptoError => D::BadRecordMac,
        TlsError::InvalidCertificate | TlsError::InvalidCertificateEntry => D::BadCertificate,
        TlsError::ParseError(_)
        | TlsError::DecodeError
        | TlsError::InvalidExtensionsLength
        | TlsError::InvalidSessionIdLength
        | TlsError::InvalidNonceLength
        | TlsError::InvalidTicketLength
        | TlsError::InvalidCertificateRequest => D::DecodeError,
        TlsError::Unimplemented
        | TlsError::InternalError
        | TlsError::MissingHandshake
        | TlsError::InsufficientSpace
        | TlsError::InvalidPrivateKey
        | TlsError::UnableToInitializeCryptoEngine
        | TlsError::OutOfMemory
        | TlsError::InvalidApplicationData
        | TlsError::EncodeError => D::InternalError,
    };
    Some(Alert::new(AlertLevel::Fatal, description))
}
