//! P-256 on the Cortex-M4/M7 (`thumbv7em-*`): the assembly of the `p256-cm4` crate, wrapped
//! once, behind the few operations this crate needs: ECDSA verification (the chain and the
//! CertificateVerify), ECDSA signing (the client identity) and ECDHE (the key share).
//!
//! Compiled only where `cfg(p256_cm4)` is set (build.rs: a `thumbv7em-none-eabi[hf]` target
//! without the `portable-p256` feature); everywhere else RustCrypto's `p256` does the same
//! work, and stays the reference the differential tests compare this module against
//! (`examples/p256-diff`, run under QEMU by `tests/qemu_p256_diff.rs`).
//!
//! The rules enforced here, because `p256-cm4`'s API is fixed-size arrays in and `bool` out:
//! - **Every public point received is validated** ([`PublicKey::from_sec1`]): a SEC1
//!   encoding of P-256's size (uncompressed `04`, compressed `02`/`03`, compact `05`, as
//!   RustCrypto accepts; hybrid `06`/`07` refused as RustCrypto does), coordinates below p, on
//!   the curve. The identity (`00`) has no affine coordinates and is refused by name. Lengths
//!   are checked before `p256-cm4` reads the bytes (it indexes them unchecked).
//! - **Secret scalars stay on the constant-time paths** of the assembly: fixed-base
//!   multiplication (key generation, signing's `k·G`), variable-base multiplication (the
//!   shared secret), the constant-time inversion of `k`. The one branch on a secret is
//!   `p256-cm4`'s range check of a new scalar (a draw outside `1..n-1` is drawn again, with a
//!   probability of 2^-32, as RustCrypto does).
//! - **Secrets are zeroized**: [`SecretScalar`], the byte copies made of it, the signing
//!   nonce `k` and its precomputation (`k⁻¹`). `p256-cm4` itself leaves intermediate values
//!   (recoded scalar, point tables) on the stack, which the next calls overwrite; it offers no
//!   way to clear them.
//! - **Every `false` is a named error** ([`Cm4P256Error`]).
//!
//! Signatures use RFC 6979 nonces (HMAC-DRBG over SHA-256 of the key and the digest), as
//! RustCrypto's `SigningKey` does: the same key signs the same digest into the same bytes on
//! both backends.

use core::fmt;

use p256::ecdsa::signature::hazmat::{PrehashSigner, PrehashVerifier};
use p256::ecdsa::signature::Error as SignatureTraitError;
use p256::ecdsa::Signature;
use p256::elliptic_curve::bigint::U256;
use p256::elliptic_curve::zeroize::{Zeroize, Zeroizing};
use p256::elliptic_curve::{Curve, FieldBytesEncoding};
use p256::{FieldBytes, NistP256};
use rand_core::CryptoRngCore;

/// Why a P-256 operation of `p256-cm4` was refused: one variant per `false` it can return,
/// and per check made before calling it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cm4P256Error {
    /// The point is the identity (SEC1 `00`), which no key or key share may be.
    IdentityPoint,
    /// The point's encoding is not SEC1 of a P-256 point: wrong length for its tag, or a tag
    /// other than `02`, `03`, `04`, `05` (hybrid `06`/`07` included).
    PointEncoding,
    /// The point's coordinates are not below p, or the point is not on the curve.
    PointNotOnCurve,
    /// A secret scalar (key or nonce) outside `1..n-1`.
    ScalarOutOfRange,
    /// A digest shorter than 16 bytes (half the field size, as RustCrypto requires).
    DigestTooShort,
    /// The ECDSA signature does not verify with this key and digest (r or s outside `1..n-1`
    /// included).
    SignatureMismatch,
    /// The signing nonce gave r = 0 or s = 0 (probability about 2^-256).
    DegenerateSignature,
}

impl fmt::Display for Cm4P256Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::IdentityPoint => "P-256 point is the identity",
            Self::PointEncoding => "P-256 point is not a SEC1 encoding of P-256's size",
            Self::PointNotOnCurve => "P-256 point is not on the curve",
            Self::ScalarOutOfRange => "P-256 scalar is not in 1..n-1",
            Self::DigestTooShort => "digest shorter than 16 bytes",
            Self::SignatureMismatch => "ECDSA P-256 signature does not verify",
            Self::DegenerateSignature => "ECDSA P-256 signing produced r or s = 0",
        })
    }
}

/// A 256-bit big-endian integer as `p256-cm4`'s little-endian 32-bit words.
fn words_from_be(bytes: &[u8; 32]) -> [u32; 8] {
    let mut words = [0u32; 8];
    for (word, chunk) in words.iter_mut().rev().zip(bytes.chunks_exact(4)) {
        *word = u32::from_be_bytes(chunk.try_into().unwrap_or_default());
    }
    words
}

/// The inverse of [`words_from_be`].
fn be_from_words(words: &[u32; 8]) -> [u8; 32] {
    let mut bytes = [0u8; 32];
    for (chunk, word) in bytes.chunks_exact_mut(4).zip(words.iter().rev()) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    bytes
}

/// The field prime p as words.
const P: [u32; 8] = [
    0xffff_ffff,
    0xffff_ffff,
    0xffff_ffff,
    0,
    0,
    0,
    1,
    0xffff_ffff,
];

/// `a - b` for `b <= a` (public values only: variable time is fine).
fn sub_words(a: &[u32; 8], b: &[u32; 8]) -> [u32; 8] {
    let mut out = [0u32; 8];
    let mut borrow = false;
    for ((o, x), y) in out.iter_mut().zip(a).zip(b) {
        let (d1, b1) = x.overflowing_sub(*y);
        let (d2, b2) = d1.overflowing_sub(u32::from(borrow));
        *o = d2;
        borrow = b1 || b2;
    }
    out
}

/// Whether `a > b`.
fn greater(a: &[u32; 8], b: &[u32; 8]) -> bool {
    a.iter().rev().cmp(b.iter().rev()) == core::cmp::Ordering::Greater
}

/// A validated P-256 public key: the affine coordinates of a point on the curve, not the
/// identity. The only way to make one from received bytes is [`from_sec1`](Self::from_sec1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PublicKey {
    x: [u32; 8],
    y: [u32; 8],
}

impl PublicKey {
    /// Decodes and validates a SEC1 point (see the module documentation for what passes).
    ///
    /// # Errors
    /// [`Cm4P256Error::IdentityPoint`], [`Cm4P256Error::PointEncoding`] or
    /// [`Cm4P256Error::PointNotOnCurve`].
    pub(crate) fn from_sec1(bytes: &[u8]) -> Result<Self, Cm4P256Error> {
        let (tag, compact) = match (bytes.first(), bytes.len()) {
            (Some(0), 1) => return Err(Cm4P256Error::IdentityPoint),
            (Some(4), 65) | (Some(2 | 3), 33) => (None, false),
            // Compact (RFC draft-jivsov): x only; y is the smaller of the two roots.
            (Some(5), 33) => (Some(2u8), true),
            _ => return Err(Cm4P256Error::PointEncoding),
        };
        let mut x = [0u32; 8];
        let mut y = [0u32; 8];
        let decoded = match tag {
            Some(tag) => {
                let mut compressed = [tag; 33];
                for (to, from) in compressed.iter_mut().zip(bytes).skip(1) {
                    *to = *from;
                }
                p256_cm4::octet_string_to_point(&mut x, &mut y, &compressed)
            }
            None => p256_cm4::octet_string_to_point(&mut x, &mut y, bytes),
        };
        if !decoded {
            return Err(Cm4P256Error::PointNotOnCurve);
        }
        if compact {
            let other = sub_words(&P, &y);
            if greater(&y, &other) {
                y = other;
            }
        }
        Ok(Self { x, y })
    }

    /// SEC1 uncompressed (`04 ‖ x ‖ y`).
    pub(crate) fn to_uncompressed(self) -> [u8; 65] {
        let mut out = [0u8; 65];
        p256_cm4::point_to_octet_string_uncompressed(&mut out, &self.x, &self.y);
        out
    }

    /// Checks the ECDSA signature `(r, s)` (big-endian) of `prehash`, a digest of at least 16
    /// bytes whose leftmost 256 bits are used.
    ///
    /// # Errors
    /// [`Cm4P256Error::DigestTooShort`] or [`Cm4P256Error::SignatureMismatch`].
    // Not inlined: p256-cm4's verification keeps about 1.2 KB of tables on the stack, which
    // inlined into the verifier's dispatch (`sig::verify`) every RSA check would carry too.
    #[inline(never)]
    pub(crate) fn verify_prehash(
        &self,
        prehash: &[u8],
        r: &[u8; 32],
        s: &[u8; 32],
    ) -> Result<(), Cm4P256Error> {
        if prehash.len() < 16 {
            return Err(Cm4P256Error::DigestTooShort);
        }
        let (r, s) = (words_from_be(r), words_from_be(s));
        if p256_cm4::verify(&self.x, &self.y, prehash, &r, &s) {
            Ok(())
        } else {
            Err(Cm4P256Error::SignatureMismatch)
        }
    }
}

/// A secret P-256 scalar in `1..n-1` (a private key or an ephemeral ECDHE secret), zeroized
/// when dropped.
pub(crate) struct SecretScalar([u32; 8]);

impl Drop for SecretScalar {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for SecretScalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretScalar(hidden)")
    }
}

impl SecretScalar {
    /// The scalar of a big-endian integer.
    ///
    /// # Errors
    /// [`Cm4P256Error::ScalarOutOfRange`] unless it is in `1..n-1`.
    pub(crate) fn from_be_bytes(bytes: &[u8; 32]) -> Result<Self, Cm4P256Error> {
        let scalar = Self(words_from_be(bytes));
        if p256_cm4::check_range_n(&scalar.0) {
            Ok(scalar)
        } else {
            Err(Cm4P256Error::ScalarOutOfRange)
        }
    }

    /// The scalar as a big-endian integer (zeroized when dropped).
    pub(crate) fn to_be_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(be_from_words(&self.0))
    }

    /// Its public key, `scalar · G` (constant time).
    ///
    /// # Errors
    /// [`Cm4P256Error::ScalarOutOfRange`] (not for a scalar made by this type's constructors).
    pub(crate) fn public_key(&self) -> Result<PublicKey, Cm4P256Error> {
        let mut key = PublicKey {
            x: [0; 8],
            y: [0; 8],
        };
        if p256_cm4::keygen(&mut key.x, &mut key.y, &self.0) {
            Ok(key)
        } else {
            Err(Cm4P256Error::ScalarOutOfRange)
        }
    }

    /// A new random key pair: a scalar drawn from `rng` (again until it is in `1..n-1`) and its
    /// public key.
    pub(crate) fn random(rng: &mut impl CryptoRngCore) -> (Self, PublicKey) {
        loop {
            let mut bytes = Zeroizing::new([0u8; 32]);
            rng.fill_bytes(bytes.as_mut());
            if let Ok(scalar) = Self::from_be_bytes(&bytes) {
                if let Ok(public) = scalar.public_key() {
                    return (scalar, public);
                }
            }
        }
    }

    /// The ECDH shared secret with `peer`: the big-endian x-coordinate of `scalar · peer`
    /// (constant time in the scalar), zeroized when dropped.
    ///
    /// # Errors
    /// [`Cm4P256Error::ScalarOutOfRange`] or [`Cm4P256Error::PointNotOnCurve`] (neither for
    /// values made by this module's constructors).
    pub(crate) fn diffie_hellman(
        &self,
        peer: &PublicKey,
    ) -> Result<Zeroizing<[u8; 32]>, Cm4P256Error> {
        if !p256_cm4::check_range_n(&self.0) {
            return Err(Cm4P256Error::ScalarOutOfRange);
        }
        let mut shared = Zeroizing::new([0u8; 32]);
        if p256_cm4::ecdh_calc_shared_secret(&mut shared, &self.0, &peer.x, &peer.y) {
            Ok(shared)
        } else {
            Err(Cm4P256Error::PointNotOnCurve)
        }
    }

    /// The ECDSA signature `(r, s)` (big-endian) of a SHA-256 `digest`, with the RFC 6979
    /// nonce RustCrypto's `SigningKey` uses (so both give the same signature).
    ///
    /// # Errors
    /// [`Cm4P256Error::ScalarOutOfRange`] or [`Cm4P256Error::DegenerateSignature`].
    pub(crate) fn sign_prehash(
        &self,
        digest: &[u8; 32],
    ) -> Result<([u8; 32], [u8; 32]), Cm4P256Error> {
        let order: FieldBytes =
            <U256 as FieldBytesEncoding<NistP256>>::encode_field_bytes(&NistP256::ORDER);
        let key = self.to_be_bytes();
        let k = Zeroizing::new(<[u8; 32]>::from(rfc6979::generate_k::<sha2::Sha256, _>(
            FieldBytes::from_slice(key.as_ref()),
            &order,
            FieldBytes::from_slice(digest),
            &[],
        )));
        let nonce = SecretScalar::from_be_bytes(&k)?;
        let mut precomputed = p256_cm4::SignPrecomp::default();
        let (mut r, mut s) = ([0u32; 8], [0u32; 8]);
        let signed = p256_cm4::sign_step1(&mut precomputed, &nonce.0)
            && p256_cm4::sign_step2(&mut r, &mut s, digest, &self.0, &mut precomputed);
        precomputed.r.zeroize();
        precomputed.k_inv.zeroize();
        if signed {
            Ok((be_from_words(&r), be_from_words(&s)))
        } else {
            Err(Cm4P256Error::DegenerateSignature)
        }
    }
}

/// The ECDSA verifying key of the fast path, with the interface of RustCrypto's
/// `p256::ecdsa::VerifyingKey` that this crate uses: the verifier and the client identity
/// pick one or the other by `cfg` alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct VerifyingKey(PublicKey);

impl VerifyingKey {
    /// As `p256::ecdsa::VerifyingKey::from_sec1_bytes`: see [`PublicKey::from_sec1`].
    ///
    /// # Errors
    /// As [`PublicKey::from_sec1`].
    pub(crate) fn from_sec1_bytes(bytes: &[u8]) -> Result<Self, Cm4P256Error> {
        PublicKey::from_sec1(bytes).map(Self)
    }
}

impl PrehashVerifier<Signature> for VerifyingKey {
    fn verify_prehash(
        &self,
        prehash: &[u8],
        signature: &Signature,
    ) -> Result<(), SignatureTraitError> {
        let (r, s) = signature.split_bytes();
        self.0
            .verify_prehash(prehash, &r.into(), &s.into())
            .map_err(|_| SignatureTraitError::new())
    }
}

/// The ECDSA signing key of the fast path (the client identity's key), with the interface of
/// RustCrypto's `p256::ecdsa::SigningKey` that this crate uses.
pub(crate) struct SigningKey {
    secret: SecretScalar,
    public: VerifyingKey,
}

impl SigningKey {
    /// The signing key of a parsed private key.
    ///
    /// # Errors
    /// [`Cm4P256Error::ScalarOutOfRange`] (not for a valid `SecretKey`).
    pub(crate) fn from_secret_key(key: &p256::SecretKey) -> Result<Self, Cm4P256Error> {
        let bytes = Zeroizing::new(<[u8; 32]>::from(key.to_bytes()));
        let secret = SecretScalar::from_be_bytes(&bytes)?;
        let public = VerifyingKey(secret.public_key()?);
        Ok(Self { secret, public })
    }

    /// Its public key.
    pub(crate) fn verifying_key(&self) -> &VerifyingKey {
        &self.public
    }
}

impl PrehashSigner<Signature> for SigningKey {
    fn sign_prehash(&self, prehash: &[u8]) -> Result<Signature, SignatureTraitError> {
        let digest: &[u8; 32] = prehash.try_into().map_err(|_| SignatureTraitError::new())?;
        let (r, s) = self
            .secret
            .sign_prehash(digest)
            .map_err(|_| SignatureTraitError::new())?;
        Signature::from_scalars(r, s)
    }
}

/// P-256 ECDHE on the fast path, for the seam of the embedded-tls fork
/// (`CryptoProvider::ecdhe_key_pair`, which [`PinnedProvider`](super::PinnedProvider)
/// overrides with it): the ClientHello's key share and the shared secret.
pub(crate) struct Cm4Ecdhe;

impl embedded_tls::EcdheP256 for Cm4Ecdhe {
    fn generate(rng: &mut impl CryptoRngCore) -> (embedded_tls::EphemeralScalar, [u8; 65]) {
        let (secret, public) = SecretScalar::random(rng);
        let mut bytes = secret.to_be_bytes();
        (
            embedded_tls::EphemeralScalar::new(&mut bytes),
            public.to_uncompressed(),
        )
    }

    fn diffie_hellman(
        secret: &embedded_tls::EphemeralScalar,
        server_share: &[u8],
    ) -> Result<embedded_tls::SharedSecret, embedded_tls::TlsError> {
        let invalid = |_| embedded_tls::TlsError::InvalidKeyShare;
        let server = PublicKey::from_sec1(server_share).map_err(invalid)?;
        let secret = SecretScalar::from_be_bytes(secret.as_bytes()).map_err(invalid)?;
        let mut shared = secret.diffie_hellman(&server).map_err(invalid)?;
        Ok(embedded_tls::SharedSecret::new(&mut shared))
    }
}
