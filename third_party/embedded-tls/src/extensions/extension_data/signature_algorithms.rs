use crate::{
    TlsError,
    buffer::CryptoBuffer,
    parse_buffer::{ParseBuffer, ParseError},
};

use heapless::Vec;

#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SignatureScheme {
    /* RSASSA-PKCS1-v1_5 algorithms */
    RsaPkcs1Sha256,
    RsaPkcs1Sha384,
    RsaPkcs1Sha512,

    /* ECDSA algorithms */
    EcdsaSecp256r1Sha256,
    EcdsaSecp384r1Sha384,
    EcdsaSecp521r1Sha512,

    /* RSASSA-PSS algorithms with public key OID rsaEncryption */
    RsaPssRsaeSha256,
    RsaPssRsaeSha384,
    RsaPssRsaeSha512,

    /* EdDSA algorithms */
    Ed25519,
    Ed448,

    /* RSASSA-PSS algorithms with public key OID RSASSA-PSS */
    RsaPssPssSha256,
    RsaPssPssSha384,
    RsaPssPssSha512,

    Sha224Ecdsa,
    Sha224Rsa,
    Sha224Dsa,

    /* Legacy algorithms */
    RsaPkcs1Sha1,
    EcdsaSha1,

    /* Brainpool */
    Sha256BrainpoolP256r1,
    Sha384BrainpoolP384r1,
    Sha512BrainpoolP512r1,

    /* ML-DSA */
    MlDsa44,
    MlDsa65,
    MlDsa87,
    /* Reserved Code Points */
    //private_use(0xFE00..0xFFFF),
    //(0xFFFF)
}

impl SignatureScheme {
    /// Every scheme, for [`SignatureScheme::parse`]: the code points are written once, in
    /// [`SignatureScheme::as_u16`], and a search of this table is smaller than a `match` on
    /// the code point.
    const ALL: [Self; 25] = [
        Self::RsaPkcs1Sha256,
        Self::RsaPkcs1Sha384,
        Self::RsaPkcs1Sha512,
        Self::EcdsaSecp256r1Sha256,
        Self::EcdsaSecp384r1Sha384,
        Self::EcdsaSecp521r1Sha512,
        Self::RsaPssRsaeSha256,
        Self::RsaPssRsaeSha384,
        Self::RsaPssRsaeSha512,
        Self::Ed25519,
        Self::Ed448,
        Self::RsaPssPssSha256,
        Self::RsaPssPssSha384,
        Self::RsaPssPssSha512,
        Self::Sha224Ecdsa,
        Self::Sha224Rsa,
        Self::Sha224Dsa,
        Self::RsaPkcs1Sha1,
        Self::EcdsaSha1,
        Self::Sha256BrainpoolP256r1,
        Self::Sha384BrainpoolP384r1,
        Self::Sha512BrainpoolP512r1,
        Self::MlDsa44,
        Self::MlDsa65,
        Self::MlDsa87,
    ];

    pub fn parse(buf: &mut ParseBuffer) -> Result<Self, ParseError> {
        let code_point = buf.read_u16()?;
        Self::ALL
            .into_iter()
            .find(|scheme| scheme.as_u16() == code_point)
            .ok_or(ParseError::InvalidData)
    }

    /// The extension data of `signature_algorithms` (RFC 8446 §4.2.3): the schemes' code
    /// points after their length in two bytes. From a slice, so that the `ClientHello` encodes
    /// the config's schemes without copying them into a [`SignatureAlgorithms`].
    pub(crate) fn encode_list(schemes: &[Self], buf: &mut CryptoBuffer) -> Result<(), TlsError> {
        buf.with_u16_length(|buf| {
            for &a in schemes {
                buf.push_u16(a.as_u16())
                    .map_err(|_| TlsError::EncodeError)?;
            }
            Ok(())
        })
    }

    #[must_use]
    pub fn as_u16(self) -> u16 {
        match self {
            Self::RsaPkcs1Sha256 => 0x0401,
            Self::RsaPkcs1Sha384 => 0x0501,
            Self::RsaPkcs1Sha512 => 0x0601,

            Self::EcdsaSecp256r1Sha256 => 0x0403,
            Self::EcdsaSecp384r1Sha384 => 0x0503,
            Self::EcdsaSecp521r1Sha512 => 0x0603,

            Self::RsaPssRsaeSha256 => 0x0804,
            Self::RsaPssRsaeSha384 => 0x0805,
            Self::RsaPssRsaeSha512 => 0x0806,

            Self::Ed25519 => 0x0807,
            Self::Ed448 => 0x0808,

            Self::RsaPssPssSha256 => 0x0809,
            Self::RsaPssPssSha384 => 0x080a,
            Self::RsaPssPssSha512 => 0x080b,

            Self::Sha224Ecdsa => 0x0303,
            Self::Sha224Rsa => 0x0301,
            Self::Sha224Dsa => 0x0302,

            Self::RsaPkcs1Sha1 => 0x0201,
            Self::EcdsaSha1 => 0x0203,

            Self::Sha256BrainpoolP256r1 => 0x081A,
            Self::Sha384BrainpoolP384r1 => 0x081B,
            Self::Sha512BrainpoolP512r1 => 0x081C,

            Self::MlDsa44 => 0x0904,
            Self::MlDsa65 => 0x0905,
            Self::MlDsa87 => 0x0906,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SignatureAlgorithms<const N: usize> {
    pub supported_signature_algorithms: Vec<SignatureScheme, N>,
}

impl<const N: usize> SignatureAlgorithms<N> {
    pub fn parse(buf: &mut ParseBuffer) -> Result<Self, ParseError> {
        let data_length = buf.read_u16()? as usize;

        Ok(Self {
            supported_signature_algorithms: buf
                .read_list::<_, N>(data_length, SignatureScheme::parse)?,
        })
    }

    pub fn encode(&self, buf: &mut CryptoBuffer) -> Result<(), TlsError> {
        SignatureScheme::encode_list(&self.supported_signature_algorithms, buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scheme_parses_from_its_code_point() {
        for (i, scheme) in SignatureScheme::ALL.into_iter().enumerate() {
            // Each variant once, in declaration order: no scheme is missing from the table.
            assert_eq!(scheme as usize, i);
            let code = scheme.as_u16().to_be_bytes();
            assert_eq!(
                SignatureScheme::parse(&mut ParseBuffer::new(&code)).ok(),
                Some(scheme)
            );
        }
        for unknown in [[0x04, 0x02], [0x00, 0x00], [0xfe, 0x00]] {
            assert!(SignatureScheme::parse(&mut ParseBuffer::new(&unknown)).is_err());
        }
    }
}
