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
}
