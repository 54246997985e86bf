use crate::{
    TlsError,
    buffer::CryptoBuffer,
    parse_buffer::{ParseBuffer, ParseError},
};

mod extension_group_macro;

pub mod extension_data;
pub mod messages;

#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ExtensionType {
    ServerName = 0,
    MaxFragmentLength = 1,
    StatusRequest = 5,
    SupportedGroups = 10,
    SignatureAlgorithms = 13,
    UseSrtp = 14,
    Heartbeat = 15,
    ApplicationLayerProtocolNegotiation = 16,
    SignedCertificateTimestamp = 18,
    ClientCertificateType = 19,
    ServerCertificateType = 20,
    Padding = 21,
    CompressCertificate = 27,
    PreSharedKey = 41,
    EarlyData = 42,
    SupportedVersions = 43,
    Cookie = 44,
    PskKeyExchangeModes = 45,
    CertificateAuthorities = 47,
    OidFilters = 48,
    PostHandshakeAuth = 49,
    SignatureAlgorithmsCert = 50,
    KeyShare = 51,
}

impl ExtensionType {
    /// Every extension type, for [`ExtensionType::parse`] (the discriminant is the code point).
    const ALL: [Self; 23] = [
        Self::ServerName,
        Self::MaxFragmentLength,
        Self::StatusRequest,
        Self::SupportedGroups,
        Self::SignatureAlgorithms,
        Self::UseSrtp,
        Self::Heartbeat,
        Self::ApplicationLayerProtocolNegotiation,
        Self::SignedCertificateTimestamp,
        Self::ClientCertificateType,
        Self::ServerCertificateType,
        Self::Padding,
        Self::CompressCertificate,
        Self::PreSharedKey,
        Self::EarlyData,
        Self::SupportedVersions,
        Self::Cookie,
        Self::PskKeyExchangeModes,
        Self::CertificateAuthorities,
        Self::OidFilters,
        Self::PostHandshakeAuth,
        Self::SignatureAlgorithmsCert,
        Self::KeyShare,
    ];

    pub fn parse(buf: &mut ParseBuffer) -> Result<Self, ParseError> {
        let code_point = buf.read_u16()?;
        Self::ALL
            .into_iter()
            .find(|extension_type| *extension_type as u16 == code_point)
            .ok_or_else(|| {
                warn!("Read unknown ExtensionType: {}", code_point);
                ParseError::InvalidData
            })
    }

    pub fn encode(self, buf: &mut CryptoBuffer) -> Result<(), TlsError> {
        buf.push_u16(self as u16).map_err(|_| TlsError::EncodeError)
    }

    /// An extension of this type: the type, then `data` preceded by its length in two bytes
    /// (RFC 8446 §4.2). A message encodes each extension it sends with this, rather than
    /// through the `enum` of every extension the message may carry (whose `encode` is a copy
    /// of every extension's encoder).
    #[inline(never)]
    pub(crate) fn encode_with(
        self,
        buf: &mut CryptoBuffer,
        data: &dyn Fn(&mut CryptoBuffer) -> Result<(), TlsError>,
    ) -> Result<(), TlsError> {
        self.encode(buf)?;
        buf.with_u16_length(data)
    }
}

/// Reads one extension (RFC 8446 §4.2): its type, `None` when this crate does not know it
/// (the caller ignores it), and its data, after a two-byte length. A truncated type, length
/// or data is `DecodeError`.
#[inline(never)]
pub(crate) fn read_extension<'a>(
    buf: &mut ParseBuffer<'a>,
) -> Result<(Option<ExtensionType>, ParseBuffer<'a>), TlsError> {
    let extension_type = ExtensionType::parse(buf);
    let data_len = buf.read_u16().map_err(|_| TlsError::DecodeError)? as usize;
    let data = buf.slice(data_len).map_err(|_| TlsError::DecodeError)?;

    match extension_type {
        Ok(extension_type) => Ok((Some(extension_type), data)),
        Err(ParseError::InvalidData) => Ok((None, data)),
        Err(err) => {
            warn!("Failed to read extension type: {:?}", err);
            Err(TlsError::DecodeError)
        }
    }
}

/// Goes through a list of extensions (a two-byte length, then the extensions): `check` parses
/// the data of each extension this crate knows (and refuses a type not allowed in the
/// message, and may keep what it needs), unknown ones are skipped, and more than `max` known
/// ones are `DecodeError`, as when they are stored in a vector of `max`.
#[inline(never)]
pub(crate) fn check_extensions<'a>(
    buf: &mut ParseBuffer<'a>,
    max: usize,
    check: &mut dyn FnMut(ExtensionType, &mut ParseBuffer<'a>) -> Result<(), TlsError>,
) -> Result<(), TlsError> {
    let extensions_len = buf
        .read_u16()
        .map_err(|_| TlsError::InvalidExtensionsLength)?;
    let mut ext_buf = buf.slice(extensions_len as usize)?;

    let mut known = 0;
    while !ext_buf.is_empty() {
        if let (Some(extension_type), mut data) = read_extension(&mut ext_buf)? {
            check(extension_type, &mut data)?;
            known += 1;
            if known > max {
                return Err(TlsError::DecodeError);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_extension_type_parses_from_its_code_point() {
        for (i, extension_type) in ExtensionType::ALL.into_iter().enumerate() {
            // No type twice (the table is in the order of the code points).
            assert!(
                ExtensionType::ALL[..i]
                    .iter()
                    .all(|t| *t as u16 != extension_type as u16)
            );
            let code = (extension_type as u16).to_be_bytes();
            assert_eq!(
                ExtensionType::parse(&mut ParseBuffer::new(&code)).ok(),
                Some(extension_type)
            );
        }
        for unknown in [[0x00, 0x02], [0x00, 0x34], [0xff, 0x01]] {
            assert!(ExtensionType::parse(&mut ParseBuffer::new(&unknown)).is_err());
        }
    }

    /// `check_vector` refuses and accepts exactly what `parse_vector` (which stores the
    /// extensions) does, with the same error.
    fn check_matches_parse(list: &[u8]) -> Result<(), TlsError> {
        use crate::extensions::messages::EncryptedExtensionsExtension;
        let checked = EncryptedExtensionsExtension::check_vector::<2>(&mut ParseBuffer::new(list));
        let parsed = EncryptedExtensionsExtension::parse_vector::<2>(&mut ParseBuffer::new(list));
        assert_eq!(
            format!("{:?}", checked),
            format!("{:?}", parsed.map(|_| ())),
            "{list:02x?}"
        );
        checked
    }

    #[test]
    fn extensions_checked_without_storing_them() {
        // max_fragment_length (4096) and an unknown type 0x1234, skipped.
        assert!(check_matches_parse(&[0, 11, 0, 1, 0, 1, 4, 0x12, 0x34, 0, 2, 9, 9]).is_ok());
        assert!(check_matches_parse(&[0, 0]).is_ok());
        // key_share is known but not allowed in EncryptedExtensions: illegal_parameter.
        assert!(matches!(
            check_matches_parse(&[0, 4, 0, 51, 0, 0]),
            Err(TlsError::AbortHandshake(_, _))
        ));
        // A bad max_fragment_length value.
        assert!(matches!(
            check_matches_parse(&[0, 5, 0, 1, 0, 1, 9]),
            Err(TlsError::DecodeError)
        ));
        // Three known extensions where two fit.
        assert!(matches!(
            check_matches_parse(&[0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            Err(TlsError::DecodeError)
        ));
        // Truncated: the type, the data, the list.
        for list in [&[0, 1, 0][..], &[0, 5, 0, 1, 0, 2, 4], &[0, 9, 0, 1]] {
            assert!(check_matches_parse(list).is_err());
        }
    }
}
