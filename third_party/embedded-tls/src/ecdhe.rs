//! The P-256 arithmetic of the ECDHE key exchange (the ClientHello's key share and the shared
//! secret with the server's), behind a seam: [`EcdheP256`], implemented by RustCrypto's
//! `p256` ([`RustCryptoP256`], the default of [`CryptoProvider::ecdhe_key_pair`]), which a
//! provider may replace (e.g. with assembly for its CPU). The key schedule is not part of it.
//!
//! [`CryptoProvider::ecdhe_key_pair`]: crate::CryptoProvider::ecdhe_key_pair

use p256::elliptic_curve::zeroize::{Zeroize, Zeroizing};
use rand_core::CryptoRngCore;

use crate::TlsError;

/// An implementation of P-256 ECDHE (RFC 8446 §4.2.8.2, §7.4.2).
pub trait EcdheP256 {
    /// A new ephemeral secret scalar, drawn from `rng`, in `1..n-1`, and its public key
    /// `scalar · G` as SEC1 uncompressed (`04 ‖ x ‖ y`).
    fn generate(rng: &mut impl CryptoRngCore) -> (EphemeralScalar, [u8; 65]);

    /// The shared secret: the big-endian x-coordinate of `secret · server_share`, after
    /// checking that `server_share` (SEC1) is a point of the curve other than the identity.
    ///
    /// # Errors
    /// [`TlsError::InvalidKeyShare`] for a point that does not pass.
    fn diffie_hellman(
        secret: &EphemeralScalar,
        server_share: &[u8],
    ) -> Result<SharedSecret, TlsError>;
}

/// The secret scalar of an ECDHE key pair (big-endian), zeroized when dropped.
pub struct EphemeralScalar(Zeroizing<[u8; 32]>);

impl EphemeralScalar {
    /// Takes `bytes` (and leaves zeros in their place).
    pub fn new(bytes: &mut [u8; 32]) -> Self {
        let scalar = Self(Zeroizing::new(*bytes));
        bytes.zeroize();
        scalar
    }

    /// The scalar, big-endian.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// An ECDHE shared secret (the x-coordinate, big-endian), zeroized when dropped.
pub struct SharedSecret(Zeroizing<[u8; 32]>);

impl SharedSecret {
    /// Takes `bytes` (and leaves zeros in their place).
    pub fn new(bytes: &mut [u8; 32]) -> Self {
        let secret = Self(Zeroizing::new(*bytes));
        bytes.zeroize();
        secret
    }

    /// The secret, as the key schedule takes it.
    pub fn raw_secret_bytes(&self) -> &[u8] {
        self.0.as_slice()
    }
}

/// One handshake's ECDHE key pair: the secret, the public key sent in the ClientHello, and the
/// implementation that made them, which computes the shared secret once the ServerHello came.
pub struct EphemeralKeyPair {
    secret: EphemeralScalar,
    public: [u8; 65],
    diffie_hellman: fn(&EphemeralScalar, &[u8]) -> Result<SharedSecret, TlsError>,
}

impl EphemeralKeyPair {
    /// A new key pair made by `E` from `rng`.
    pub fn generate<E: EcdheP256>(rng: &mut impl CryptoRngCore) -> Self {
        let (secret, public) = E::generate(rng);
        Self {
            secret,
            public,
            diffie_hellman: E::diffie_hellman,
        }
    }

    /// The public key, SEC1 uncompressed.
    pub fn public_key(&self) -> &[u8] {
        &self.public
    }

    /// The shared secret with the server's key share (SEC1).
    ///
    /// # Errors
    /// [`TlsError::InvalidKeyShare`] for a share that is not a valid point.
    pub fn shared_secret(&self, server_share: &[u8]) -> Result<SharedSecret, TlsError> {
        (self.diffie_hellman)(&self.secret, server_share)
    }
}

/// P-256 ECDHE by RustCrypto's `p256` (what 0.19.0 did inline with `p256::ecdh`).
pub struct RustCryptoP256;

impl EcdheP256 for RustCryptoP256 {
    fn generate(rng: &mut impl CryptoRngCore) -> (EphemeralScalar, [u8; 65]) {
        use p256::elliptic_curve::sec1::ToEncodedPoint;
        let scalar = p256::NonZeroScalar::random(rng);
        let public = p256::PublicKey::from_secret_scalar(&scalar).to_encoded_point(false);
        let mut encoded = [0u8; 65];
        for (to, from) in encoded.iter_mut().zip(public.as_bytes()) {
            *to = *from;
        }
        let mut bytes: [u8; 32] = scalar.to_bytes().into();
        (EphemeralScalar::new(&mut bytes), encoded)
    }

    fn diffie_hellman(
        secret: &EphemeralScalar,
        server_share: &[u8],
    ) -> Result<SharedSecret, TlsError> {
        let server = p256::PublicKey::from_sec1_bytes(server_share)
            .map_err(|_| TlsError::InvalidKeyShare)?;
        let scalar: Option<p256::NonZeroScalar> =
            p256::NonZeroScalar::from_repr((*secret.as_bytes()).into()).into();
        let scalar = scalar.ok_or(TlsError::InvalidKeyShare)?;
        let shared = p256::ecdh::diffie_hellman(scalar, server.as_affine());
        let mut bytes: [u8; 32] = (*shared.raw_secret_bytes()).into();
        Ok(SharedSecret::new(&mut bytes))
    }
}
