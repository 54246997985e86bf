//! The OBJECT IDENTIFIERs the verifier compares with, as their DER contents.
//!
//! A parsed OID (checked by `DerReader::oid`) is compared by its bytes with these: two OIDs
//! are equal exactly when their DER contents are, and a byte string costs a few bytes of
//! flash where a `const_oid::ObjectIdentifier` constant costs 40. The unit test checks each
//! against `der`'s OID database.

/// Writes checked OID contents in dotted decimal (`1.2.3`), `?` if they are not an OID.
pub(crate) struct Dotted<'a>(pub(crate) &'a [u8]);

impl core::fmt::Display for Dotted<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let Some(arcs) = arcs(self.0) else {
            return f.write_str("?");
        };
        for (i, arc) in arcs.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "{arc}")?;
        }
        Ok(())
    }
}

/// The most arcs an OID of [`MAX_LEN`] bytes has: two in its first byte, one per other byte.
const MAX_ARCS: usize = MAX_LEN + 1;

/// The longest OID contents accepted (`const_oid`'s `ObjectIdentifier::MAX_SIZE`).
const MAX_LEN: usize = 39;

/// Whether `contents` is an OBJECT IDENTIFIER's DER contents as `const_oid` reads them
/// (`ObjectIdentifier::from_bytes`): see [`arcs`].
pub(crate) fn is_valid(contents: &[u8]) -> bool {
    arcs(contents).is_some()
}

/// The arcs of OID contents, read as `const_oid` 0.9 reads them: 3 to 39 bytes; a first byte
/// below 120 (arcs `byte / 40` and `byte % 40`); then base-128 arcs, the last byte of each
/// without the top bit, a fifth byte (and after) only below 0x10 (so an arc fits 32 bits), no
/// arc cut off at the end. Like `const_oid`, a leading 0x80 (a non-minimal arc) is read.
fn arcs(contents: &[u8]) -> Option<heapless::Vec<u32, MAX_ARCS>> {
    if !(3..=MAX_LEN).contains(&contents.len()) {
        return None;
    }
    let (&first, rest) = contents.split_first()?;
    if first >= 120 {
        return None;
    }
    let mut arcs = heapless::Vec::new();
    arcs.push(u32::from(first / 40)).ok()?;
    arcs.push(u32::from(first % 40)).ok()?;
    let (mut value, mut bytes) = (0u32, 0usize);
    for &byte in rest {
        bytes += 1;
        if bytes > 4 && byte & 0xF0 != 0 {
            return None;
        }
        value = value << 7 | u32::from(byte & 0x7F);
        if byte & 0x80 == 0 {
            arcs.push(value).ok()?;
            (value, bytes) = (0, 0);
        }
    }
    (bytes == 0).then_some(arcs)
}

// Extensions (RFC 5280 §4.2).

/// basicConstraints (2.5.29.19).
pub(crate) const BASIC_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x13];

/// keyUsage (2.5.29.15).
pub(crate) const KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x0f];

/// extKeyUsage (2.5.29.37).
pub(crate) const EXT_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x25];

/// subjectAltName (2.5.29.17).
pub(crate) const SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x11];

/// nameConstraints (2.5.29.30).
pub(crate) const NAME_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x1e];

/// authorityInfoAccess (1.3.6.1.5.5.7.1.1).
pub(crate) const AUTHORITY_INFO_ACCESS: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01, 0x01];

/// subjectKeyIdentifier (2.5.29.14).
pub(crate) const SUBJECT_KEY_IDENTIFIER: &[u8] = &[0x55, 0x1d, 0x0e];

/// authorityKeyIdentifier (2.5.29.35).
pub(crate) const AUTHORITY_KEY_IDENTIFIER: &[u8] = &[0x55, 0x1d, 0x23];

/// policyConstraints (2.5.29.36).
pub(crate) const POLICY_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x24];

/// id-kp-serverAuth (1.3.6.1.5.5.7.3.1).
pub(crate) const SERVER_AUTH: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01];

/// anyExtendedKeyUsage (2.5.29.37.0).
pub(crate) const ANY_EXTENDED_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x25, 0x00];

// Name attributes.

/// commonName (2.5.4.3).
pub(crate) const CN: &[u8] = &[0x55, 0x04, 0x03];

/// organizationName (2.5.4.10).
pub(crate) const O: &[u8] = &[0x55, 0x04, 0x0a];

/// organizationalUnitName (2.5.4.11).
pub(crate) const OU: &[u8] = &[0x55, 0x04, 0x0b];

/// countryName (2.5.4.6).
pub(crate) const C: &[u8] = &[0x55, 0x04, 0x06];

/// stateOrProvinceName (2.5.4.8).
pub(crate) const ST: &[u8] = &[0x55, 0x04, 0x08];

/// localityName (2.5.4.7).
pub(crate) const L: &[u8] = &[0x55, 0x04, 0x07];

/// domainComponent (0.9.2342.19200300.100.1.25).
pub(crate) const DC: &[u8] = &[0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19];

/// serialNumber (2.5.4.5).
pub(crate) const SERIAL_NUMBER: &[u8] = &[0x55, 0x04, 0x05];

/// emailAddress (PKCS #9) (1.2.840.113549.1.9.1).
pub(crate) const EMAIL_ADDRESS: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01];

// Algorithms (RFC 5912, RFC 8410).

/// id-sha1 (1.3.14.3.2.26).
pub(crate) const SHA_1: &[u8] = &[0x2b, 0x0e, 0x03, 0x02, 0x1a];

/// id-sha256 (2.16.840.1.101.3.4.2.1).
pub(crate) const SHA_256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];

/// id-sha384 (2.16.840.1.101.3.4.2.2).
pub(crate) const SHA_384: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02];

/// id-sha512 (2.16.840.1.101.3.4.2.3).
pub(crate) const SHA_512: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03];

/// rsaEncryption (1.2.840.113549.1.1.1).
pub(crate) const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

/// md2WithRSAEncryption (1.2.840.113549.1.1.2).
pub(crate) const MD2_WITH_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x02];

/// md5WithRSAEncryption (1.2.840.113549.1.1.4).
pub(crate) const MD5_WITH_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x04];

/// sha1WithRSAEncryption (1.2.840.113549.1.1.5).
pub(crate) const SHA1_WITH_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05];

/// id-mgf1 (1.2.840.113549.1.1.8).
pub(crate) const MGF1: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08];

/// id-RSASSA-PSS (1.2.840.113549.1.1.10).
pub(crate) const RSASSA_PSS: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a];

/// sha256WithRSAEncryption (1.2.840.113549.1.1.11).
pub(crate) const SHA256_WITH_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b];

/// sha384WithRSAEncryption (1.2.840.113549.1.1.12).
pub(crate) const SHA384_WITH_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c];

/// sha512WithRSAEncryption (1.2.840.113549.1.1.13).
pub(crate) const SHA512_WITH_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d];

/// id-ecPublicKey (1.2.840.10045.2.1).
pub(crate) const EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];

/// ecdsa-with-SHA1 (1.2.840.10045.4.1).
pub(crate) const ECDSA_WITH_SHA1: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x01];

/// ecdsa-with-SHA256 (1.2.840.10045.4.3.2).
pub(crate) const ECDSA_WITH_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];

/// ecdsa-with-SHA384 (1.2.840.10045.4.3.3).
pub(crate) const ECDSA_WITH_SHA384: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03];

/// ecdsa-with-SHA512 (1.2.840.10045.4.3.4).
pub(crate) const ECDSA_WITH_SHA512: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04];

/// secp256r1 (P-256) (1.2.840.10045.3.1.7).
pub(crate) const SECP256R1: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

/// secp384r1 (P-384) (1.3.132.0.34).
pub(crate) const SECP384R1: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];

/// id-Ed25519 (1.3.101.112).
pub(crate) const ED25519: &[u8] = &[0x2b, 0x65, 0x70];

#[cfg(test)]
mod tests {
    use std::string::ToString;

    use der::asn1::ObjectIdentifier;
    use x509_cert::der::oid::db::{rfc3280, rfc4519, rfc5280, rfc5912, rfc8410};

    #[test]
    fn each_is_the_der_of_its_identifier() {
        let all: &[(&[u8], ObjectIdentifier)] = &[
            (super::BASIC_CONSTRAINTS, rfc5280::ID_CE_BASIC_CONSTRAINTS),
            (super::KEY_USAGE, rfc5280::ID_CE_KEY_USAGE),
            (super::EXT_KEY_USAGE, rfc5280::ID_CE_EXT_KEY_USAGE),
            (super::SUBJECT_ALT_NAME, rfc5280::ID_CE_SUBJECT_ALT_NAME),
            (super::NAME_CONSTRAINTS, rfc5280::ID_CE_NAME_CONSTRAINTS),
            (
                super::AUTHORITY_INFO_ACCESS,
                rfc5280::ID_PE_AUTHORITY_INFO_ACCESS,
            ),
            (
                super::SUBJECT_KEY_IDENTIFIER,
                rfc5280::ID_CE_SUBJECT_KEY_IDENTIFIER,
            ),
            (
                super::AUTHORITY_KEY_IDENTIFIER,
                rfc5280::ID_CE_AUTHORITY_KEY_IDENTIFIER,
            ),
            (super::POLICY_CONSTRAINTS, rfc5280::ID_CE_POLICY_CONSTRAINTS),
            (super::SERVER_AUTH, rfc5280::ID_KP_SERVER_AUTH),
            (
                super::ANY_EXTENDED_KEY_USAGE,
                rfc5280::ANY_EXTENDED_KEY_USAGE,
            ),
            (super::CN, rfc4519::CN),
            (super::O, rfc4519::O),
            (super::OU, rfc4519::OU),
            (super::C, rfc4519::C),
            (super::ST, rfc4519::ST),
            (super::L, rfc4519::L),
            (super::DC, rfc4519::DC),
            (super::SERIAL_NUMBER, rfc4519::SERIAL_NUMBER),
            (super::EMAIL_ADDRESS, rfc3280::EMAIL_ADDRESS),
            (super::SHA_1, rfc5912::ID_SHA_1),
            (super::SHA_256, rfc5912::ID_SHA_256),
            (super::SHA_384, rfc5912::ID_SHA_384),
            (super::SHA_512, rfc5912::ID_SHA_512),
            (super::RSA_ENCRYPTION, rfc5912::RSA_ENCRYPTION),
            (super::MD2_WITH_RSA, rfc5912::MD_2_WITH_RSA_ENCRYPTION),
            (super::MD5_WITH_RSA, rfc5912::MD_5_WITH_RSA_ENCRYPTION),
            (super::SHA1_WITH_RSA, rfc5912::SHA_1_WITH_RSA_ENCRYPTION),
            (super::MGF1, rfc5912::ID_MGF_1),
            (super::RSASSA_PSS, rfc5912::ID_RSASSA_PSS),
            (super::SHA256_WITH_RSA, rfc5912::SHA_256_WITH_RSA_ENCRYPTION),
            (super::SHA384_WITH_RSA, rfc5912::SHA_384_WITH_RSA_ENCRYPTION),
            (super::SHA512_WITH_RSA, rfc5912::SHA_512_WITH_RSA_ENCRYPTION),
            (super::EC_PUBLIC_KEY, rfc5912::ID_EC_PUBLIC_KEY),
            (
                super::ECDSA_WITH_SHA1,
                ObjectIdentifier::new_unwrap("1.2.840.10045.4.1"),
            ),
            (super::ECDSA_WITH_SHA256, rfc5912::ECDSA_WITH_SHA_256),
            (super::ECDSA_WITH_SHA384, rfc5912::ECDSA_WITH_SHA_384),
            (super::ECDSA_WITH_SHA512, rfc5912::ECDSA_WITH_SHA_512),
            (super::SECP256R1, rfc5912::SECP_256_R_1),
            (super::SECP384R1, rfc5912::SECP_384_R_1),
            (super::ED25519, rfc8410::ID_ED_25519),
        ];
        for (bytes, oid) in all {
            assert_eq!(*bytes, oid.as_bytes(), "{oid}");
        }
    }

    /// Validity and dotted text are `const_oid`'s for generated contents: all lengths from 0
    /// to 45, bytes drawn mostly from the edges (0x00, 0x0F, 0x10, 0x7F, 0x80, 0x8F, 0xFF,
    /// 119, 120).
    #[test]
    fn reads_oids_as_const_oid_does() {
        const EDGES: [u8; 9] = [0x00, 0x0F, 0x10, 0x7F, 0x80, 0x8F, 0xFF, 119, 120];
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let (mut valid, mut invalid) = (0, 0);
        for i in 0..300_000u32 {
            let len = (i % 46) as usize;
            let bytes: std::vec::Vec<u8> = (0..len)
                .map(|_| {
                    let r = next();
                    match r % 4 {
                        0 => EDGES[(r >> 8) as usize % EDGES.len()],
                        1 => (r >> 8) as u8 & 0x7F,
                        _ => (r >> 8) as u8,
                    }
                })
                .collect();
            let theirs = ObjectIdentifier::from_bytes(&bytes);
            assert_eq!(super::is_valid(&bytes), theirs.is_ok(), "{bytes:02x?}");
            let text = super::Dotted(&bytes).to_string();
            match theirs {
                Ok(oid) => {
                    valid += 1;
                    assert_eq!(text, oid.to_string(), "{bytes:02x?}");
                }
                Err(_) => {
                    invalid += 1;
                    assert_eq!(text, "?");
                }
            }
        }
        assert!(
            valid > 10_000 && invalid > 10_000,
            "{valid} valid, {invalid} not"
        );
    }
}
