//! The device's side of mutual TLS: its certificate, and the proof that it holds the key.
//!
//! User documentation: the `tls` module, section "Client certificates (mutual TLS)".

use core::fmt;

use p256::ecdsa::signature::hazmat::PrehashSigner;
use p256::ecdsa::signature::hazmat::PrehashVerifier;
use p256::ecdsa::Signature;
use p256::elliptic_curve::zeroize::Zeroize;
use p256::pkcs8::DecodePrivateKey;
use p256::SecretKey;

// ECDSA P-256 signing and verification: the Cortex-M4 assembly on thumbv7em (build.rs),
// RustCrypto's `p256` elsewhere; the same interface.
#[cfg(p256_cm4)]
use super::cortex_m4_p256::{SigningKey, VerifyingKey};
#[cfg(not(p256_cm4))]
use p256::ecdsa::{SigningKey, VerifyingKey};

use super::pem;
use super::sig::{public_key, PublicKey, SignatureError};
use super::x509::{Certificate, ParseError};

/// A signer that keeps the device's P-256 private key to itself: a secure element (ATECC608,
/// SE050, OPTIGA Trust M), an HSM, a TPM, or any code that must not hand the key out.
///
/// # Example
///
/// A software stand-in (a real one calls the chip's "sign digest" command):
///
/// ```
/// use embedded_mqtts::tls::{ClientSigner, SignerError};
/// use p256::ecdsa::{signature::hazmat::PrehashSigner, Signature, SigningKey};
///
/// struct SecureElement {
///     key: SigningKey, // inside the chip in real life
/// }
///
/// impl ClientSigner for SecureElement {
///     fn sign_p256_sha256(&mut self, digest: &[u8; 32]) -> Result<[u8; 64], SignerError> {
///         let signature: Signature = self
///             .key
///             .sign_prehash(digest)
///             .map_err(|_| SignerError::new("the secure element refused to sign"))?;
///         Ok(signature.to_bytes().into())
///     }
/// }
/// ```
pub trait ClientSigner {
    /// Sign a SHA-256 `digest` with the device's ECDSA P-256 key and return the signature as
    /// `r ‖ s`: two 32-byte big-endian integers (the raw form secure elements give).
    ///
    /// The digest is that of the TLS 1.3 CertificateVerify content
    /// (`64 × 0x20 ‖ "TLS 1.3, client CertificateVerify" ‖ 0x00 ‖ transcript hash`): sign it
    /// as a digest ("prehashed"), do not hash it again.
    ///
    /// # Errors
    /// When the key cannot sign (chip absent, locked, busy): the handshake is then reported as
    /// [`ConnectError::ClientSigner`](super::ConnectError::ClientSigner) with this error.
    fn sign_p256_sha256(&mut self, digest: &[u8; 32]) -> Result<[u8; 64], SignerError>;
}

/// Why the client could not prove that it holds its key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SignerError {
    /// What went wrong, in words.
    pub reason: &'static str,
}

impl SignerError {
    /// An error with this reason.
    pub const fn new(reason: &'static str) -> Self {
        SignerError { reason }
    }
}

impl fmt::Display for SignerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason)
    }
}

impl core::error::Error for SignerError {}

/// Why a [`ClientIdentity`] could not be made.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum IdentityError {
    /// The client certificate is not a DER X.509 certificate this crate can read.
    Certificate(ParseError),
    /// The client certificate's key is not an ECDSA P-256 key.
    NotP256Certificate,
    /// The private key is neither PKCS#8 nor SEC1 DER of a P-256 key.
    Key,
    /// The PEM text holds no `PRIVATE KEY` or `EC PRIVATE KEY` block, or the block is not
    /// valid (an `ENCRYPTED PRIVATE KEY` is not supported: decrypt it first).
    Pem,
    /// The private key does not belong to the certificate's public key.
    KeyDoesNotMatchCertificate,
}

impl fmt::Display for IdentityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdentityError::Certificate(e) => write!(f, "client certificate unreadable: {e}"),
            IdentityError::NotP256Certificate => {
                f.write_str("client certificate key is not ECDSA P-256")
            }
            IdentityError::Key => {
                f.write_str("private key is not a P-256 key in PKCS#8 or SEC1 DER")
            }
            IdentityError::Pem => f.write_str(
                "no valid PEM PRIVATE KEY or EC PRIVATE KEY block (encrypted keys are not supported)",
            ),
            IdentityError::KeyDoesNotMatchCertificate => {
                f.write_str("private key does not match the client certificate")
            }
        }
    }
}

impl core::error::Error for IdentityError {}

/// Where the signature comes from.
enum Key<'a> {
    /// The key itself (zeroized when dropped).
    P256(SigningKey),
    /// A signer that keeps it, and the certificate's public key to check its signatures.
    Signer {
        signer: &'a mut dyn ClientSigner,
        public: VerifyingKey,
    },
}

/// The device's certificate (DER) and the means to sign with its key: what a broker that
/// requires client certificates needs. See the
/// [`tls` module documentation](crate::tls#client-certificates-mutual-tls).
pub struct ClientIdentity<'a> {
    certificate: &'a [u8],
    key: Key<'a>,
}

impl fmt::Debug for ClientIdentity<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = match self.key {
            Key::P256(_) => "P-256 key (hidden)",
            Key::Signer { .. } => "external signer",
        };
        f.debug_struct("ClientIdentity")
            .field("certificate_len", &self.certificate.len())
            .field("key", &key)
            .finish()
    }
}

/// The ECDSA P-256 public key of a DER certificate.
fn certificate_key(certificate: &[u8]) -> Result<VerifyingKey, IdentityError> {
    let cert = Certificate::parse(certificate).map_err(IdentityError::Certificate)?;
    match public_key(cert.spki) {
        Ok(PublicKey::P256(point)) => {
            VerifyingKey::from_sec1_bytes(point).map_err(|_| IdentityError::NotP256Certificate)
        }
        Err(SignatureError::Malformed(e)) => Err(IdentityError::Certificate(e)),
        Ok(_) | Err(_) => Err(IdentityError::NotP256Certificate),
    }
}

/// The signing key of a parsed private key.
#[cfg(not(p256_cm4))]
fn signing_key(secret: &SecretKey) -> Result<SigningKey, IdentityError> {
    Ok(SigningKey::from(secret))
}

/// The signing key of a parsed private key.
#[cfg(p256_cm4)]
fn signing_key(secret: &SecretKey) -> Result<SigningKey, IdentityError> {
    SigningKey::from_secret_key(secret).map_err(|_| IdentityError::Key)
}

/// The longest private key PEM block decoded (a P-256 PKCS#8 key with its public key is 138
/// bytes of DER).
const MAX_KEY_DER: usize = 256;

/// The first `PRIVATE KEY` (PKCS#8) block of `pem`, else its first `EC PRIVATE KEY` (SEC1)
/// block; text around it, such as an `EC PARAMETERS` block, is skipped.
fn private_key_block(pem: &[u8]) -> Option<&[u8]> {
    [pem::PRIVATE_KEY, pem::EC_PRIVATE_KEY]
        .iter()
        .find_map(|label| pem::next_block(pem, label))
        .map(|(block, _rest)| block)
}

impl<'a> ClientIdentity<'a> {
    /// The certificate (DER) and its ECDSA P-256 private key in DER: PKCS#8
    /// (`openssl genpkey`, `-----BEGIN PRIVATE KEY-----` decoded) or SEC1 (`openssl ecparam
    /// -genkey`, `-----BEGIN EC PRIVATE KEY-----` decoded). The key is copied (and zeroized
    /// when the identity is dropped); the certificate is borrowed.
    ///
    /// # Errors
    /// [`IdentityError::Key`] for anything but a P-256 key in those forms;
    /// [`IdentityError::Certificate`] / [`IdentityError::NotP256Certificate`] for a certificate
    /// that cannot be read or is not for a P-256 key; [`IdentityError::KeyDoesNotMatchCertificate`]
    /// when the key is not the certificate's.
    pub fn from_p256_key_der(certificate: &'a [u8], key_der: &[u8]) -> Result<Self, IdentityError> {
        let secret = SecretKey::from_pkcs8_der(key_der)
            .or_else(|_| SecretKey::from_sec1_der(key_der))
            .map_err(|_| IdentityError::Key)?;
        let key = signing_key(&secret)?;
        if *key.verifying_key() != certificate_key(certificate)? {
            return Err(IdentityError::KeyDoesNotMatchCertificate);
        }
        Ok(ClientIdentity {
            certificate,
            key: Key::P256(key),
        })
    }

    /// As [`from_p256_key_der`](Self::from_p256_key_der), with the key as PEM text: the first
    /// `PRIVATE KEY` (PKCS#8) or `EC PRIVATE KEY` (SEC1) block. The decoded copy is zeroized.
    ///
    /// # Errors
    /// [`IdentityError::Pem`] when there is no such block or it is not valid base64; otherwise
    /// as [`from_p256_key_der`](Self::from_p256_key_der).
    pub fn from_p256_key_pem(certificate: &'a [u8], key_pem: &[u8]) -> Result<Self, IdentityError> {
        let block = private_key_block(key_pem).ok_or(IdentityError::Pem)?;
        let mut buffer = [0u8; MAX_KEY_DER];
        let result = match pem::decode(block, &mut buffer) {
            Ok(der) => Self::from_p256_key_der(certificate, der),
            Err(_) => Err(IdentityError::Pem),
        };
        buffer.zeroize();
        result
    }

    /// The certificate (DER) and a [`ClientSigner`] that signs with its key. Each signature is
    /// checked against the certificate's public key before it is sent.
    ///
    /// # Errors
    /// [`IdentityError::Certificate`] / [`IdentityError::NotP256Certificate`] for a certificate
    /// that cannot be read or is not for a P-256 key.
    pub fn with_signer(
        certificate: &'a [u8],
        signer: &'a mut dyn ClientSigner,
    ) -> Result<Self, IdentityError> {
        let public = certificate_key(certificate)?;
        Ok(ClientIdentity {
            certificate,
            key: Key::Signer { signer, public },
        })
    }

    /// The client certificate (DER) sent to the broker.
    pub fn certificate(&self) -> &'a [u8] {
        self.certificate
    }

    /// Signs the CertificateVerify content (`message`, which this function hashes with
    /// SHA-256) and returns the DER-encoded ECDSA signature.
    fn sign(&mut self, message: &[u8]) -> Result<ClientSignature, SignerError> {
        use sha2::{Digest, Sha256};
        let digest: [u8; 32] = Sha256::digest(message).into();
        let signature: Signature = match &mut self.key {
            Key::P256(key) => key
                .sign_prehash(&digest)
                .map_err(|_| SignerError::new("ECDSA signing failed"))?,
            Key::Signer { signer, public } => {
                let raw = signer.sign_p256_sha256(&digest)?;
                let signature = Signature::from_slice(&raw).map_err(|_| {
                    SignerError::new(
                        "the signer returned a malformed ECDSA signature (r or s out of range)",
                    )
                })?;
                public.verify_prehash(&digest, &signature).map_err(|_| {
                    SignerError::new(
                        "the signer's signature does not verify with the client certificate's key \
                         (wrong key or key slot?)",
                    )
                })?;
                signature
            }
        };
        let der = signature.to_der();
        heapless::Vec::from_slice(der.as_bytes())
            .map(ClientSignature)
            .map_err(|_| SignerError::new("ECDSA signature longer than 72 bytes"))
    }
}

/// The signing half of [`MaybeClientIdentity`], crate-private: only the handshake signs with
/// the device's key, no code that merely holds an identity can.
pub(crate) trait Signing {
    /// Signs the CertificateVerify content.
    ///
    /// # Errors
    /// When there is no key or signing fails.
    fn sign(&mut self, message: &[u8]) -> Result<ClientSignature, SignerError>;
}

/// What [`PinnedProvider`](super::PinnedProvider) can hold as the client's identity:
/// [`NoClientIdentity`] (the default), a [`ClientIdentity`], or an `Option` of one. Sealed:
/// implemented by those three only, and signing with it is left to the handshake: code that
/// holds an identity can read its certificate, not sign with its key.
///
/// ```compile_fail,E0624
/// use embedded_mqtts::tls::MaybeClientIdentity;
///
/// fn sign_anything<I: MaybeClientIdentity>(identity: &mut I) {
///     let _ = identity.sign(b"not a handshake"); // error: `sign` is private
/// }
/// ```
// The crate-private supertrait is the seal, and keeps `sign` out of reach of users.
#[allow(private_bounds)]
pub trait MaybeClientIdentity: Signing {
    /// The client certificate (DER), if there is one.
    fn certificate(&self) -> Option<&[u8]>;
}

/// No client certificate: a broker that asks for one gets an empty Certificate message. The
/// default identity of [`PinnedProvider`](super::PinnedProvider), which links no signing code.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoClientIdentity;

impl Signing for NoClientIdentity {
    fn sign(&mut self, _message: &[u8]) -> Result<ClientSignature, SignerError> {
        Err(SignerError::new("no client identity to sign with"))
    }
}

impl MaybeClientIdentity for NoClientIdentity {
    fn certificate(&self) -> Option<&[u8]> {
        None
    }
}

impl Signing for ClientIdentity<'_> {
    fn sign(&mut self, message: &[u8]) -> Result<ClientSignature, SignerError> {
        ClientIdentity::sign(self, message)
    }
}

impl MaybeClientIdentity for ClientIdentity<'_> {
    fn certificate(&self) -> Option<&[u8]> {
        Some(self.certificate)
    }
}

impl Signing for Option<ClientIdentity<'_>> {
    fn sign(&mut self, message: &[u8]) -> Result<ClientSignature, SignerError> {
        match self {
            Some(identity) => identity.sign(message),
            None => Err(SignerError::new("no client identity to sign with")),
        }
    }
}

impl MaybeClientIdentity for Option<ClientIdentity<'_>> {
    fn certificate(&self) -> Option<&[u8]> {
        self.as_ref().map(|identity| identity.certificate)
    }
}

/// The signature in a client CertificateVerify (DER ECDSA, at most 72 bytes), as embedded-tls
/// takes it from [`PinnedProvider`](super::PinnedProvider). Empty when signing failed: the
/// broker then refuses the handshake, and the stream reports the [`SignerError`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientSignature(heapless::Vec<u8, 72>);

impl AsRef<[u8]> for ClientSignature {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CERT: &[u8] = include_bytes!("../../certs/client-good.der");
    const KEY_PEM: &[u8] = include_bytes!("../../certs/client-good.key");
    const SEC1_PEM: &[u8] = include_bytes!("../../certs/client-good.sec1.key");
    const OTHER_KEY_PEM: &[u8] = include_bytes!("../../certs/client-expired.key");
    const RSA_CERT: &[u8] = include_bytes!("../../certs/rsa-leaf.der");

    #[test]
    fn both_pem_forms_make_the_same_identity() {
        let mut a = ClientIdentity::from_p256_key_pem(CERT, KEY_PEM).unwrap();
        let mut b = ClientIdentity::from_p256_key_pem(CERT, SEC1_PEM).unwrap();
        // RFC 6979 signatures are deterministic: the same key signs the same message alike.
        assert_eq!(a.sign(b"m").unwrap(), b.sign(b"m").unwrap());
        assert_eq!(a.certificate(), CERT);
        assert!(!std::format!("{a:?}").contains("SigningKey"));
    }

    #[test]
    fn mismatches_and_garbage_are_named() {
        assert_eq!(
            ClientIdentity::from_p256_key_pem(CERT, OTHER_KEY_PEM).unwrap_err(),
            IdentityError::KeyDoesNotMatchCertificate
        );
        assert_eq!(
            ClientIdentity::from_p256_key_pem(CERT, b"no key here").unwrap_err(),
            IdentityError::Pem
        );
        assert_eq!(
            ClientIdentity::from_p256_key_der(CERT, &[0x30, 0x03, 0x02, 0x01, 0x00]).unwrap_err(),
            IdentityError::Key
        );
        assert_eq!(
            ClientIdentity::from_p256_key_pem(RSA_CERT, KEY_PEM).unwrap_err(),
            IdentityError::NotP256Certificate
        );
        assert!(matches!(
            ClientIdentity::from_p256_key_pem(&CERT[..100], KEY_PEM).unwrap_err(),
            IdentityError::Certificate(_)
        ));
    }

    struct Fixed([u8; 64]);
    impl ClientSigner for Fixed {
        fn sign_p256_sha256(&mut self, _digest: &[u8; 32]) -> Result<[u8; 64], SignerError> {
            Ok(self.0)
        }
    }

    #[test]
    fn a_signer_with_the_wrong_key_is_caught_before_sending() {
        let mut zeros = Fixed([0; 64]);
        let mut identity = ClientIdentity::with_signer(CERT, &mut zeros).unwrap();
        assert!(identity
            .sign(b"m")
            .unwrap_err()
            .reason
            .contains("malformed"));
        let mut ones = Fixed([1; 64]);
        let mut identity = ClientIdentity::with_signer(CERT, &mut ones).unwrap();
        assert!(identity
            .sign(b"m")
            .unwrap_err()
            .reason
            .contains("wrong key"));
    }
}
