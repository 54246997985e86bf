//! Signature checks: certificate signatures by algorithm OID, and the TLS 1.3 CertificateVerify;
//! their refusals in this layer's terms ([`SignatureError`]).
//!
//! User documentation: the `tls` module, section "Signature algorithms".

use sha2::Digest as _;

use super::oid;
use super::x509::{context, DerReader, ParseError, Tag, Tlv};

// ECDSA P-256 verification: the Cortex-M4 assembly on thumbv7em (build.rs), RustCrypto's
// `p256` elsewhere; the same interface.
#[cfg(p256_cm4)]
use super::cortex_m4_p256::VerifyingKey as P256VerifyingKey;
#[cfg(not(p256_cm4))]
use p256::ecdsa::VerifyingKey as P256VerifyingKey;

/// A hash function usable in a signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HashAlg {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl HashAlg {
    /// Output length in bytes.
    pub(crate) const fn len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }
}

/// A hash value of up to 64 bytes.
pub(crate) struct HashValue {
    bytes: [u8; 64],
    len: usize,
}

impl HashValue {
    /// The hash of `message` with `alg`.
    pub(crate) fn of(alg: HashAlg, message: &[u8]) -> Self {
        let mut bytes = [0u8; 64];
        let mut copy = |digest: &[u8]| {
            for (o, d) in bytes.iter_mut().zip(digest) {
                *o = *d;
            }
        };
        match alg {
            HashAlg::Sha256 => copy(&sha2::Sha256::digest(message)),
            HashAlg::Sha384 => copy(&sha2::Sha384::digest(message)),
            HashAlg::Sha512 => copy(&sha2::Sha512::digest(message)),
        }
        Self {
            bytes,
            len: alg.len(),
        }
    }

    /// The hash value's bytes.
    pub(crate) fn as_slice(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or(&[])
    }
}

/// A signature algorithm this crate can check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SignatureAlgorithm {
    /// RSASSA-PKCS1-v1_5.
    RsaPkcs1(HashAlg),
    /// RSASSA-PSS with MGF1 over the same hash.
    RsaPss {
        /// Message and MGF1 hash.
        hash: HashAlg,
        /// Salt length in bytes.
        salt_len: usize,
    },
    /// ECDSA (DER-encoded signature).
    Ecdsa(HashAlg),
}

/// A public key this crate can use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PublicKey<'a> {
    /// RSA modulus and exponent, big-endian without leading zeros.
    Rsa {
        /// Modulus.
        n: &'a [u8],
        /// Public exponent.
        e: &'a [u8],
    },
    /// A SEC1-encoded P-256 point.
    P256(&'a [u8]),
    /// A SEC1-encoded P-384 point (feature `p384`).
    #[cfg(feature = "p384")]
    P384(&'a [u8]),
}

/// Why a signature was not accepted. The verifier turns it into a refusal with the certificate
/// it was about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SignatureError {
    /// The key, the algorithm identifier or the signature is not DER of the expected shape.
    Malformed(ParseError),
    /// A broken hash (SHA-1, MD5) or a key that is too short.
    Weak {
        /// Which one.
        what: &'static str,
    },
    /// A key type or algorithm this crate cannot check.
    Unsupported {
        /// Which one.
        what: &'static str,
    },
    /// The algorithm does not fit the type of the key.
    KeyMismatch {
        /// Which combination.
        what: &'static str,
    },
    /// The signature does not verify: wrong key, or altered message or signature.
    Invalid,
}

impl From<ParseError> for SignatureError {
    fn from(e: ParseError) -> Self {
        Self::Malformed(e)
    }
}

/// Shorthand for a malformed-input error.
const fn malformed(what: &'static str) -> SignatureError {
    SignatureError::Malformed(ParseError::new(what))
}

/// Reads an AlgorithmIdentifier: its OID and its parameters, if any.
fn algorithm_identifier<'a>(tlv: Tlv<'a>) -> Result<(&'a [u8], Option<Tlv<'a>>), SignatureError> {
    const WHAT: &str = "AlgorithmIdentifier";
    if tlv.tag != Tag::SEQUENCE {
        return Err(malformed(WHAT));
    }
    let mut r = DerReader::new(tlv.value, WHAT)?;
    let oid = r.oid(WHAT)?;
    let params = if r.is_empty() {
        None
    } else {
        Some(r.next(WHAT)?)
    };
    r.finish(WHAT)?;
    Ok((oid, params))
}

/// Reads an encoded AlgorithmIdentifier from its whole encoding.
fn algorithm_identifier_der(der: &[u8]) -> Result<(&[u8], Option<Tlv<'_>>), SignatureError> {
    let mut r = DerReader::new(der, "AlgorithmIdentifier")?;
    let tlv = r.next("AlgorithmIdentifier")?;
    r.finish("AlgorithmIdentifier")?;
    algorithm_identifier(tlv)
}

/// Whether parameters are absent or NULL.
fn absent_or_null(params: Option<Tlv<'_>>) -> bool {
    params.is_none_or(|p| p.tag == Tag::NULL && p.value.is_empty())
}

/// The hash of a hash AlgorithmIdentifier (parameters NULL or absent).
fn hash_algorithm(tlv: Tlv<'_>) -> Result<HashAlg, SignatureError> {
    let (oid, params) = algorithm_identifier(tlv)?;
    if !absent_or_null(params) {
        return Err(malformed("hash algorithm parameters"));
    }
    match oid {
        oid::SHA_256 => Ok(HashAlg::Sha256),
        oid::SHA_384 => Ok(HashAlg::Sha384),
        oid::SHA_512 => Ok(HashAlg::Sha512),
        oid::SHA_1 => Err(SignatureError::Weak { what: "SHA-1" }),
        _ => Err(SignatureError::Unsupported {
            what: "hash algorithm",
        }),
    }
}

/// The refusal of an RSA key or signature in a build without the `rsa` feature.
const RSA_LEFT_OUT: SignatureError = SignatureError::Unsupported {
    what: "RSA (built without the `rsa` feature)",
};

/// Parses a certificate's signatureAlgorithm (its whole encoding).
pub(crate) fn signature_algorithm(der: &[u8]) -> Result<SignatureAlgorithm, SignatureError> {
    use HashAlg::{Sha256, Sha384, Sha512};
    let (oid, params) = algorithm_identifier_der(der)?;
    let pkcs1 = |hash| {
        if absent_or_null(params) {
            Ok(SignatureAlgorithm::RsaPkcs1(hash))
        } else {
            Err(malformed("RSA signature algorithm parameters"))
        }
    };
    let ecdsa = |hash| {
        if params.is_none() {
            Ok(SignatureAlgorithm::Ecdsa(hash))
        } else {
            Err(malformed("ECDSA signature algorithm parameters"))
        }
    };
    let weak = |what| Err(SignatureError::Weak { what });
    match oid {
        // Without the `rsa` feature nothing could check these: refused before their
        // parameters are read (and the PSS parameter parser is left out of the image).
        oid::SHA256_WITH_RSA | oid::SHA384_WITH_RSA | oid::SHA512_WITH_RSA | oid::RSASSA_PSS
            if !cfg!(feature = "rsa") =>
        {
            Err(RSA_LEFT_OUT)
        }
        oid::SHA256_WITH_RSA => pkcs1(Sha256),
        oid::SHA384_WITH_RSA => pkcs1(Sha384),
        oid::SHA512_WITH_RSA => pkcs1(Sha512),
        oid::RSASSA_PSS => pss_parameters(params),
        oid::ECDSA_WITH_SHA256 => ecdsa(Sha256),
        oid::ECDSA_WITH_SHA384 => ecdsa(Sha384),
        oid::ECDSA_WITH_SHA512 => ecdsa(Sha512),
        oid::SHA1_WITH_RSA | oid::ECDSA_WITH_SHA1 => weak("SHA-1 signature"),
        oid::MD5_WITH_RSA => weak("MD5 signature"),
        oid::MD2_WITH_RSA => weak("MD2 signature"),
        oid::ED25519 => Err(SignatureError::Unsupported {
            what: "Ed25519 signature",
        }),
        _ => Err(SignatureError::Unsupported {
            what: "signature algorithm",
        }),
    }
}

/// Parses RSASSA-PSS-params (RFC 4055 §3.1); absent fields take their (SHA-1) defaults.
fn pss_parameters(params: Option<Tlv<'_>>) -> Result<SignatureAlgorithm, SignatureError> {
    const WHAT: &str = "RSASSA-PSS parameters";
    let params = params
        .filter(|p| p.tag == Tag::SEQUENCE)
        .ok_or(malformed(WHAT))?;
    let mut r = DerReader::new(params.value, WHAT)?;
    let mut explicit = |n: u8| -> Result<Option<Tlv<'_>>, SignatureError> {
        if r.peek_tag() != Some(context(n, true)) {
            return Ok(None);
        }
        let outer = r.next(WHAT)?;
        let mut inner = DerReader::new(outer.value, WHAT)?;
        let tlv = inner.next(WHAT)?;
        inner.finish(WHAT)?;
        Ok(Some(tlv))
    };
    let sha1 = SignatureError::Weak {
        what: "SHA-1 in RSASSA-PSS",
    };
    let hash = hash_algorithm(explicit(0)?.ok_or(sha1)?)?;
    let (mgf, mgf_params) = algorithm_identifier(explicit(1)?.ok_or(sha1)?)?;
    if mgf != oid::MGF1 {
        return Err(SignatureError::Unsupported {
            what: "RSASSA-PSS mask generation function",
        });
    }
    let mgf_hash = hash_algorithm(mgf_params.ok_or(malformed(WHAT))?)?;
    if mgf_hash != hash {
        return Err(SignatureError::Unsupported {
            what: "RSASSA-PSS with an MGF1 hash unlike the message hash",
        });
    }
    let salt_len = match explicit(2)? {
        Some(t) if t.tag == Tag::INTEGER => small_uint(t.value).ok_or(malformed(WHAT))?,
        Some(_) => return Err(malformed(WHAT)),
        None => 20,
    };
    if let Some(t) = explicit(3)? {
        if t.tag != Tag::INTEGER || t.value != [1] {
            return Err(malformed("RSASSA-PSS trailer field"));
        }
    }
    r.finish(WHAT)?;
    Ok(SignatureAlgorithm::RsaPss { hash, salt_len })
}

/// A non-negative INTEGER's contents as a small number (at most 0xFFFF); leading zero bytes
/// are skipped (as `der::asn1::UintRef::new` does).
fn small_uint(contents: &[u8]) -> Option<usize> {
    let start = contents
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(contents.len().saturating_sub(1));
    match contents.get(start..)? {
        [] => Some(0),
        [b] => Some(usize::from(*b)),
        [a, b] => Some(usize::from(*a) << 8 | usize::from(*b)),
        _ => None,
    }
}

/// Parses a SubjectPublicKeyInfo into a key this crate can use.
pub(crate) fn public_key(spki: &[u8]) -> Result<PublicKey<'_>, SignatureError> {
    const WHAT: &str = "SubjectPublicKeyInfo";
    let mut outer = DerReader::new(spki, WHAT)?;
    let seq = outer.next_tagged(Tag::SEQUENCE, WHAT)?;
    outer.finish(WHAT)?;
    let mut r = DerReader::new(seq.value, WHAT)?;
    let (oid, params) = algorithm_identifier(r.next(WHAT)?)?;
    let key = r.octet_bit_string(WHAT, WHAT)?;
    r.finish(WHAT)?;
    match oid {
        oid::RSA_ENCRYPTION if !cfg!(feature = "rsa") => Err(RSA_LEFT_OUT),
        oid::RSA_ENCRYPTION if absent_or_null(params) => rsa_public_key(key),
        oid::EC_PUBLIC_KEY => {
            let curve = params
                .filter(|p| p.tag == Tag::OBJECT_IDENTIFIER)
                .filter(|p| oid::is_valid(p.value))
                .map(|p| p.value)
                .ok_or(malformed("EC public key curve"))?;
            match curve {
                oid::SECP256R1 => Ok(PublicKey::P256(key)),
                oid::SECP384R1 => p384_key(key),
                _ => Err(SignatureError::Unsupported {
                    what: "elliptic curve",
                }),
            }
        }
        oid::RSASSA_PSS => Err(SignatureError::Unsupported {
            what: "RSASSA-PSS-only key (id-RSASSA-PSS)",
        }),
        oid::ED25519 => Err(SignatureError::Unsupported {
            what: "Ed25519 key",
        }),
        _ => Err(SignatureError::Unsupported {
            what: "public key algorithm",
        }),
    }
}

/// Reads RSAPublicKey (RFC 8017 §A.1.1) and checks the modulus size: 2048 to 4096 bits, a whole
/// number of bytes.
fn rsa_public_key(der: &[u8]) -> Result<PublicKey<'_>, SignatureError> {
    const WHAT: &str = "RSA public key";
    let mut outer = DerReader::new(der, WHAT)?;
    let seq = outer.next_tagged(Tag::SEQUENCE, WHAT)?;
    outer.finish(WHAT)?;
    let mut r = DerReader::new(seq.value, WHAT)?;
    let n = r.unsigned(WHAT)?;
    let e = r.unsigned(WHAT)?;
    r.finish(WHAT)?;
    let top_zeros = n.first().map_or(8, |b| b.leading_zeros() as usize);
    let bits = n.len().saturating_mul(8).saturating_sub(top_zeros);
    if bits < 2048 {
        return Err(SignatureError::Weak {
            what: "RSA key shorter than 2048 bits",
        });
    }
    if bits > 4096 {
        return Err(SignatureError::Unsupported {
            what: "RSA key longer than 4096 bits",
        });
    }
    if bits % 8 != 0 {
        return Err(SignatureError::Unsupported {
            what: "RSA modulus that is not a whole number of bytes",
        });
    }
    if e.last().is_none_or(|b| b % 2 == 0) || e == [1] {
        return Err(malformed("RSA public exponent"));
    }
    Ok(PublicKey::Rsa { n, e })
}

/// Checks `signature` over `message` with `key` under `alg`.
pub(crate) fn verify(
    key: PublicKey<'_>,
    alg: SignatureAlgorithm,
    message: &[u8],
    signature: &[u8],
) -> Result<(), SignatureError> {
    match (key, alg) {
        (PublicKey::Rsa { n, e }, SignatureAlgorithm::RsaPkcs1(hash))
        | (PublicKey::Rsa { n, e }, SignatureAlgorithm::RsaPss { hash, .. }) => {
            let hashed = HashValue::of(hash, message);
            rsa_verify(n, e, alg, hashed.as_slice(), signature)
        }
        (PublicKey::P256(point), SignatureAlgorithm::Ecdsa(hash)) => {
            use p256::ecdsa::signature::hazmat::PrehashVerifier;
            let key = P256VerifyingKey::from_sec1_bytes(point)
                .map_err(|_| malformed("P-256 public key"))?;
            let (r, s) = ecdsa_scalars::<32>(signature).ok_or(SignatureError::Invalid)?;
            let signature =
                p256::ecdsa::Signature::from_scalars(r, s).map_err(|_| SignatureError::Invalid)?;
            let hashed = HashValue::of(hash, message);
            key.verify_prehash(hashed.as_slice(), &signature)
                .map_err(|_| SignatureError::Invalid)
        }
        #[cfg(feature = "p384")]
        (PublicKey::P384(point), SignatureAlgorithm::Ecdsa(hash)) => {
            p384_verify(point, HashValue::of(hash, message).as_slice(), signature)
        }
        #[cfg(feature = "p384")]
        (PublicKey::P384(_), _) => Err(SignatureError::KeyMismatch {
            what: "RSA signature with an ECDSA P-384 key",
        }),
        (PublicKey::Rsa { .. }, SignatureAlgorithm::Ecdsa(_)) => Err(SignatureError::KeyMismatch {
            what: "ECDSA signature with an RSA key",
        }),
        (PublicKey::P256(_), _) => Err(SignatureError::KeyMismatch {
            what: "RSA signature with an ECDSA P-256 key",
        }),
    }
}

/// The r and s of a DER ECDSA-Sig-Value (RFC 3279 §2.2.3: SEQUENCE { r INTEGER, s INTEGER },
/// nothing after it), each non-negative in its shortest form and at most `N` bytes, as
/// big-endian `N`-byte numbers: what the `ecdsa` crate's `Signature::from_der` reads before
/// `from_scalars` (which refuses zero and values not below the group order).
fn ecdsa_scalars<const N: usize>(der: &[u8]) -> Option<([u8; N], [u8; N])> {
    const WHAT: &str = "ECDSA-Sig-Value";
    let mut outer = DerReader::new(der, WHAT).ok()?;
    let seq = outer.next_tagged(Tag::SEQUENCE, WHAT).ok()?;
    outer.finish(WHAT).ok()?;
    let mut r = DerReader::new(seq.value, WHAT).ok()?;
    let scalars = (r.unsigned(WHAT).ok()?, r.unsigned(WHAT).ok()?);
    r.finish(WHAT).ok()?;
    let padded = |bytes: &[u8]| {
        let mut out = [0u8; N];
        out.get_mut(N.checked_sub(bytes.len())?..)?
            .copy_from_slice(bytes);
        Some(out)
    };
    Some((padded(scalars.0)?, padded(scalars.1)?))
}

/// A P-384 public key (feature `p384`).
#[cfg(feature = "p384")]
fn p384_key(point: &[u8]) -> Result<PublicKey<'_>, SignatureError> {
    Ok(PublicKey::P384(point))
}

#[cfg(not(feature = "p384"))]
fn p384_key(_point: &[u8]) -> Result<PublicKey<'_>, SignatureError> {
    Err(SignatureError::Unsupported {
        what: "ECDSA P-384 key (built without the `p384` feature)",
    })
}

/// Checks an ECDSA P-384 signature (DER) over a message hash.
#[cfg(feature = "p384")]
fn p384_verify(point: &[u8], hashed: &[u8], signature: &[u8]) -> Result<(), SignatureError> {
    use p384::ecdsa::signature::hazmat::PrehashVerifier;
    let key = p384::ecdsa::VerifyingKey::from_sec1_bytes(point)
        .map_err(|_| malformed("P-384 public key"))?;
    let (r, s) = ecdsa_scalars::<48>(signature).ok_or(SignatureError::Invalid)?;
    let signature =
        p384::ecdsa::Signature::from_scalars(r, s).map_err(|_| SignatureError::Invalid)?;
    key.verify_prehash(hashed, &signature)
        .map_err(|_| SignatureError::Invalid)
}

/// Checks an RSA signature over a message hash (`rsassa`, on the stack).
#[cfg(feature = "rsa")]
fn rsa_verify(
    n: &[u8],
    e: &[u8],
    alg: SignatureAlgorithm,
    hashed: &[u8],
    signature: &[u8],
) -> Result<(), SignatureError> {
    use super::rsassa::{Padding, RsaRefusal};
    let (hash, padding) = match alg {
        SignatureAlgorithm::RsaPkcs1(hash) => (hash, Padding::Pkcs1v15),
        SignatureAlgorithm::RsaPss { hash, salt_len } => (hash, Padding::Pss { salt_len }),
        SignatureAlgorithm::Ecdsa(_) => return Err(SignatureError::Invalid),
    };
    super::rsassa::verify(n, e, hash, padding, hashed, signature).map_err(|refusal| match refusal {
        RsaRefusal::Key(what) => malformed(what),
        RsaRefusal::Invalid => SignatureError::Invalid,
    })
}

#[cfg(not(feature = "rsa"))]
fn rsa_verify(
    _n: &[u8],
    _e: &[u8],
    _alg: SignatureAlgorithm,
    _hashed: &[u8],
    _signature: &[u8],
) -> Result<(), SignatureError> {
    Err(RSA_LEFT_OUT)
}

/// Checks a signature made by the key in `spki_der` with the algorithm `algorithm_der`
/// (an encoded AlgorithmIdentifier), as on a certificate.
pub(crate) fn verify_signed_data(
    spki_der: &[u8],
    algorithm_der: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<(), SignatureError> {
    let alg = signature_algorithm(algorithm_der)?;
    let key = public_key(spki_der)?;
    verify(key, alg, message, signature)
}

/// The context string of a server CertificateVerify (RFC 8446 §4.4.3).
const SERVER_CONTEXT: &[u8] = b"TLS 1.3, server CertificateVerify";

/// Checks a TLS 1.3 server CertificateVerify.
///
/// `leaf_spki_der` is the SubjectPublicKeyInfo of the server's certificate, `scheme` the
/// SignatureScheme code point (e.g. 0x0804 for `rsa_pss_rsae_sha256`), `signature` the
/// signature field, and `transcript_hash` the handshake hash up to and including the server's
/// Certificate message.
///
/// # Errors
/// [`SignatureError::Invalid`] when the signature is wrong; [`SignatureError::Unsupported`] /
/// [`SignatureError::Weak`] for a scheme that is not accepted (including RSASSA-PKCS1-v1_5,
/// which TLS 1.3 forbids here); [`SignatureError::KeyMismatch`] when the scheme does not fit
/// the key.
pub(crate) fn certificate_verify(
    leaf_spki_der: &[u8],
    scheme: u16,
    signature: &[u8],
    transcript_hash: &[u8],
) -> Result<(), SignatureError> {
    let unsupported = |what| Err(SignatureError::Unsupported { what });
    let alg = match scheme {
        0x0804 => SignatureAlgorithm::RsaPss {
            hash: HashAlg::Sha256,
            salt_len: 32,
        },
        0x0805 => SignatureAlgorithm::RsaPss {
            hash: HashAlg::Sha384,
            salt_len: 48,
        },
        0x0806 => SignatureAlgorithm::RsaPss {
            hash: HashAlg::Sha512,
            salt_len: 64,
        },
        0x0403 => SignatureAlgorithm::Ecdsa(HashAlg::Sha256),
        0x0401 | 0x0501 | 0x0601 => {
            return unsupported("rsa_pkcs1 in a TLS 1.3 CertificateVerify (RFC 8446 forbids it)")
        }
        0x0201 | 0x0203 => {
            return Err(SignatureError::Weak {
                what: "SHA-1 CertificateVerify",
            })
        }
        #[cfg(feature = "p384")]
        0x0503 => SignatureAlgorithm::Ecdsa(HashAlg::Sha384),
        #[cfg(not(feature = "p384"))]
        0x0503 => return unsupported("ecdsa_secp384r1_sha384 (built without the `p384` feature)"),
        0x0603 => return unsupported("ecdsa_secp521r1_sha512"),
        0x0807 | 0x0808 => return unsupported("EdDSA CertificateVerify"),
        0x0809..=0x080b => return unsupported("rsa_pss_pss (RSASSA-PSS-only keys)"),
        _ => return unsupported("signature scheme"),
    };
    let key = public_key(leaf_spki_der)?;
    // TLS 1.3 ties each ECDSA scheme to its curve.
    let fits = match key {
        PublicKey::Rsa { .. } => matches!(alg, SignatureAlgorithm::RsaPss { .. }),
        PublicKey::P256(_) => scheme == 0x0403,
        #[cfg(feature = "p384")]
        PublicKey::P384(_) => scheme == 0x0503,
    };
    if !fits {
        return Err(SignatureError::KeyMismatch {
            what: "CertificateVerify scheme does not fit the certificate's key",
        });
    }
    let mut content = [0u8; 64 + SERVER_CONTEXT.len() + 1 + 64];
    let len = 64 + SERVER_CONTEXT.len() + 1 + transcript_hash.len();
    let (pad, rest) = content.split_at_mut(64);
    pad.fill(0x20);
    let (ctx, rest) = rest.split_at_mut(SERVER_CONTEXT.len());
    ctx.copy_from_slice(SERVER_CONTEXT);
    let (_zero, hash) = rest.split_at_mut(1);
    hash.get_mut(..transcript_hash.len())
        .ok_or(malformed("transcript hash longer than 64 bytes"))?
        .copy_from_slice(transcript_hash);
    let message = content.get(..len).unwrap_or(&[]);
    verify(key, alg, message, signature)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ecdsa_signatures_as_the_ecdsa_crate_does() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        let order = [
            0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0xff, 0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2,
            0xfc, 0x63, 0x25, 0x51,
        ];
        let mut accepted = 0;
        for _ in 0..100_000 {
            // Two INTEGERs around the edges: zero, leading 0x00/0xFF, 31 to 34 bytes, the
            // group order and one below it.
            let mut integer = || -> std::vec::Vec<u8> {
                let mut v: std::vec::Vec<u8> = match next(6) {
                    0 => order.to_vec(),
                    1 => {
                        let mut o = order.to_vec();
                        o[31] -= 1;
                        o
                    }
                    2 => std::vec![0],
                    _ => (0..29 + next(6)).map(|_| next(256) as u8).collect(),
                };
                match next(4) {
                    0 => v.insert(0, 0),
                    1 => v.insert(0, 0xff),
                    _ => {}
                }
                [std::vec![0x02, v.len() as u8], v].concat()
            };
            let body = [integer(), integer()].concat();
            let mut der = [std::vec![0x30, body.len() as u8], body].concat();
            match next(8) {
                0 => der.push(0),
                1 => der[1] += 1,
                2 => der[0] = 0x31,
                _ => {}
            }
            let theirs = p256::ecdsa::Signature::from_der(&der).ok();
            let ours = ecdsa_scalars::<32>(&der)
                .and_then(|(r, s)| p256::ecdsa::Signature::from_scalars(r, s).ok());
            assert_eq!(ours, theirs, "{der:02x?}");
            accepted += usize::from(ours.is_some());
        }
        assert!(accepted > 1_000, "{accepted}");
    }

    /// AlgorithmIdentifier { 1.2.840.113549.1.1.`last`, `params` }.
    fn pkcs1_family(last: u8, params: &[u8]) -> heapless::Vec<u8, 96> {
        let mut v = heapless::Vec::new();
        let oid = [
            0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, last,
        ];
        v.extend_from_slice(&[0x30, (oid.len() + params.len()) as u8])
            .unwrap();
        v.extend_from_slice(&oid).unwrap();
        v.extend_from_slice(params).unwrap();
        v
    }

    #[test]
    #[cfg(feature = "rsa")]
    fn pss_parameters_need_explicit_strong_hashes() {
        // RSASSA-PSS-params: SHA-256, MGF1-SHA-256, salt 32 (as openssl writes them).
        let params = [
            0x30, 0x34, 0xa0, 0x0f, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03,
            0x04, 0x02, 0x01, 0x05, 0x00, 0xa1, 0x1c, 0x30, 0x1a, 0x06, 0x09, 0x2a, 0x86, 0x48,
            0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
            0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0xa2, 0x03, 0x02, 0x01, 0x20,
        ];
        assert_eq!(
            signature_algorithm(&pkcs1_family(0x0a, &params)),
            Ok(SignatureAlgorithm::RsaPss {
                hash: HashAlg::Sha256,
                salt_len: 32
            })
        );
        // Empty parameters mean SHA-1 everywhere.
        assert!(matches!(
            signature_algorithm(&pkcs1_family(0x0a, &[0x30, 0x00])),
            Err(SignatureError::Weak { .. })
        ));
    }

    #[test]
    fn weak_and_unknown_algorithms_are_distinct() {
        // md2, md5 and sha1WithRSAEncryption.
        for last in [0x02, 0x04, 0x05] {
            assert!(matches!(
                signature_algorithm(&pkcs1_family(last, &[0x05, 0x00])),
                Err(SignatureError::Weak { .. })
            ));
        }
        let expected = if cfg!(feature = "rsa") {
            Ok(SignatureAlgorithm::RsaPkcs1(HashAlg::Sha256))
        } else {
            Err(RSA_LEFT_OUT)
        };
        assert_eq!(
            signature_algorithm(&pkcs1_family(0x0b, &[0x05, 0x00])),
            expected
        );
        // Ed25519.
        let ed = [0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70];
        assert!(matches!(
            signature_algorithm(&ed),
            Err(SignatureError::Unsupported { .. })
        ));
    }

    /// Without the `rsa` feature an RSA signature algorithm (PKCS#1 v1.5 with SHA-256/384/512,
    /// RSASSA-PSS, whatever its parameters) and an RSA key are refused with the reason that
    /// names the feature, not as weak or malformed (`scripts/test.sh`'s `no_std` stage runs it).
    #[test]
    #[cfg(not(feature = "rsa"))]
    fn without_the_rsa_feature_rsa_is_refused_by_name() {
        for last in [0x0a, 0x0b, 0x0c, 0x0d] {
            for params in [&[0x05, 0x00][..], &[0x30, 0x00], &[0x04, 0x01, 0xff]] {
                assert_eq!(
                    signature_algorithm(&pkcs1_family(last, params)),
                    Err(RSA_LEFT_OUT)
                );
            }
        }
        let rsa_ca = include_bytes!("../../tests/data/verify/rsa-int.der");
        let cert = super::super::x509::Certificate::parse(rsa_ca).unwrap();
        assert_eq!(public_key(cert.spki), Err(RSA_LEFT_OUT));
        assert_eq!(
            verify_signed_data(cert.spki, &pkcs1_family(0x0b, &[0x05, 0x00]), b"m", b"s"),
            Err(RSA_LEFT_OUT)
        );
    }

    #[test]
    fn certificate_verify_refuses_pkcs1_and_unknown_schemes_without_panic() {
        let spki = include_bytes!("../../tests/data/verify/unit-p256.spki.der");
        for scheme in [0x0401, 0x0501, 0x0601, 0x0807, 0x0809, 0xffff] {
            assert!(matches!(
                certificate_verify(spki, scheme, &[0; 72], &[0; 32]),
                Err(SignatureError::Unsupported { .. })
            ));
        }
        // ecdsa_secp384r1_sha384 needs the `p384` feature, and then a P-384 key.
        let p384 = certificate_verify(spki, 0x0503, &[0; 72], &[0; 48]);
        if cfg!(feature = "p384") {
            assert!(matches!(p384, Err(SignatureError::KeyMismatch { .. })));
        } else {
            assert!(matches!(p384, Err(SignatureError::Unsupported { .. })));
        }
        assert!(matches!(
            certificate_verify(spki, 0x0804, &[0; 256], &[0; 32]),
            Err(SignatureError::KeyMismatch { .. })
        ));
        assert_eq!(
            certificate_verify(spki, 0x0403, &[0x30, 0x00], &[0; 32]),
            Err(SignatureError::Invalid)
        );
        assert!(certificate_verify(spki, 0x0403, &[0; 8], &[0; 65]).is_err());
    }
}
