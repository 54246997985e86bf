use heapless::Vec;

use crate::{
    TlsError,
    buffer::CryptoBuffer,
    parse_buffer::{ParseBuffer, ParseError},
};

#[derive(Copy, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum NamedGroup {
    /* Elliptic Curve Groups (ECDHE) */
    Secp256r1,
    Secp384r1,
    Secp521r1,
    X25519,
    X448,

    /* Finite Field Groups (DHE) */
    Ffdhe2048,
    Ffdhe3072,
    Ffdhe4096,
    Ffdhe6144,
    Ffdhe8192,

    /* Post-quantum hybrid groups */
    X25519MLKEM768,
    SecP256r1MLKEM768,
    SecP384r1MLKEM1024,
}

impl NamedGroup {
    /// Every group, for [`NamedGroup::parse`] (the code points are in [`NamedGroup::as_u16`]).
    const ALL: [Self; 13] = [
        Self::Secp256r1,
        Self::Secp384r1,
        Self::Secp521r1,
        Self::X25519,
        Self::X448,
        Self::Ffdhe2048,
        Self::Ffdhe3072,
        Self::Ffdhe4096,
        Self::Ffdhe6144,
        Self::Ffdhe8192,
        Self::X25519MLKEM768,
        Self::SecP256r1MLKEM768,
        Self::SecP384r1MLKEM1024,
    ];

    pub fn parse(buf: &mut ParseBuffer) -> Result<Self, ParseError> {
        let code_point = buf.read_u16()?;
        Self::ALL
            .into_iter()
            .find(|group| group.as_u16() == code_point)
            .ok_or(ParseError::InvalidData)
    }

    pub fn as_u16(self) -> u16 {
        match self {
            Self::Secp256r1 => 0x0017,
            Self::Secp384r1 => 0x0018,
            Self::Secp521r1 => 0x0019,
            Self::X25519 => 0x001D,
            Self::X448 => 0x001E,

            Self::Ffdhe2048 => 0x0100,
            Self::Ffdhe3072 => 0x0101,
            Self::Ffdhe4096 => 0x0102,
            Self::Ffdhe6144 => 0x0103,
            Self::Ffdhe8192 => 0x0104,

            Self::SecP256r1MLKEM768 => 0x11EB,
            Self::X25519MLKEM768 => 0x11EC,
            Self::SecP384r1MLKEM1024 => 0x11ED,
        }
    }

    pub fn encode(self, buf: &mut CryptoBuffer) -> Result<(), TlsError> {
        buf.push_u16(self.as_u16())
            .map_err(|_| TlsError::EncodeError)
    }

    /// The extension data of `supported_groups` (RFC 8446 §4.2.7): the groups' code points
    /// after their length in two bytes. From a slice, so that the `ClientHello` encodes the
    /// config's groups without copying them into a [`SupportedGroups`].
    pub(crate) fn encode_list(groups: &[Self], buf: &mut CryptoBuffer) -> Result<(), TlsError> {
        buf.with_u16_length(|buf| {
            for g in groups {
                g.encode(buf)?;
            }
            Ok(())
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SupportedGroups<const N: usize> {
    pub supported_groups: Vec<NamedGroup, N>,
}

impl<const N: usize> SupportedGroups<N> {
    pub fn parse(buf: &mut ParseBuffer) -> Result<Self, ParseError> {
        let data_length = buf.read_u16()? as usize;

        Ok(Self {
            supported_groups: buf.read_list::<_, N>(data_length, NamedGroup::parse)?,
        })
    }

    pub fn encode(&self, buf: &mut CryptoBuffer) -> Result<(), TlsError> {
        NamedGroup::encode_list(&self.supported_groups, buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_group_parses_from_its_code_point() {
        for (i, group) in NamedGroup::ALL.into_iter().enumerate() {
            assert_eq!(group as usize, i);
            let code = group.as_u16().to_be_bytes();
            assert_eq!(
                NamedGroup::parse(&mut ParseBuffer::new(&code)).ok(),
                Some(group)
            );
        }
        for unknown in [[0x00, 0x16], [0x01, 0x05], [0x11, 0xee]] {
            assert!(NamedGroup::parse(&mut ParseBuffer::new(&unknown)).is_err());
        }
    }
}
