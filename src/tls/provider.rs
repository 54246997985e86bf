//! The glue to embedded-tls: a [`CryptoProvider`] whose [`TlsVerifier`] checks the pins.
//!
//! embedded-tls calls its verifier only for the messages that arrive: a server (or a man in the
//! middle) that sends no Certificate, or no CertificateVerify, still completes `open()`. So the
//! [`PinnedVerifier`] records what ran and what passed, and [`PinnedVerifier::outcome`] gives a
//! [`ServerVerified`] only when *both* the certificate check and the CertificateVerify check ran
//! and passed. The client must ask after `open()` and refuse the connection otherwise:
//!
//! ```ignore
//! let mut provider = PinnedProvider::new(rng, &PINS, VerifyOptions::new(now));
//! tls.open(TlsContext::new(&config, &mut provider))?;
//! let verified = provider.verifier_outcome()?; // MissingCertificateVerify, Expired, ...
//! ```
//!
//! embedded-tls reports a refusal as a bare `TlsError`; the verifier keeps the first
//! [`VerifyError`] (they are sticky: nothing after a failure can turn it into a success), which
//! `outcome` returns so the client can say why.
//!
//! The CertificateRef given to `verify_certificate` borrows embedded-tls's read buffer, so the
//! server's SubjectPublicKeyInfo is copied (into [`VerifiedChain`]) together with a clone of the
//! transcript hash, which at that point covers the Certificate message; `verify_signature`
//! finalises that clone for the CertificateVerify content.

use embedded_tls::{
    Aes128GcmSha256, CertificateEntryRef, CertificateRef, CertificateVerifyRef, CryptoProvider,
    TlsError, TlsVerifier,
};
use rand_core::CryptoRngCore;
use sha2::{Digest, Sha256};

use super::error::{bounded, VerifyError};
use super::pin::Pin;
use super::sig::verify_certificate_verify;
use super::verify::{verify_server_certificate, VerifiedChain, VerifyOptions};

/// The longest server name kept (the DNS limit).
pub const MAX_SERVER_NAME_LEN: usize = 253;

/// The most certificates taken from one Certificate message (embedded-tls's own limit).
const MAX_CHAIN: usize = 16;

/// Proof that the server passed a pin and signed the handshake with its certificate's key.
/// Only this module can make one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerVerified {
    leaf_spki_sha256: [u8; 32],
    pin_index: usize,
    server_name: Option<heapless::String<MAX_SERVER_NAME_LEN>>,
}

impl ServerVerified {
    /// SHA-256 of the server's SubjectPublicKeyInfo.
    pub fn leaf_spki_sha256(&self) -> [u8; 32] {
        self.leaf_spki_sha256
    }

    /// Which pin accepted the server.
    pub fn pin_index(&self) -> usize {
        self.pin_index
    }

    /// The server name the verifier was given (checked against the certificate when the pin
    /// is a CA and the host check is on).
    pub fn server_name(&self) -> Option<&str> {
        self.server_name.as_deref()
    }
}

/// Where one handshake's verification stands.
// The chain state (a copy of the server key) is the large one; without a heap there is nowhere
// to box it, and one verifier exists per connection.
#[allow(clippy::large_enum_variant)]
enum Stage {
    /// Nothing received yet.
    Start,
    /// The chain passed; the CertificateVerify is awaited.
    ChainVerified {
        chain: VerifiedChain,
        transcript: Sha256,
    },
    /// Both checks passed.
    Verified(ServerVerified),
    /// A check failed (sticky).
    Failed(VerifyError),
}

/// A [`TlsVerifier`] that checks the server against [`Pin`]s. See the module documentation.
pub struct PinnedVerifier<'a> {
    pins: &'a [Pin<'a>],
    options: VerifyOptions,
    server_name: Option<heapless::String<MAX_SERVER_NAME_LEN>>,
    stage: Stage,
}

impl<'a> PinnedVerifier<'a> {
    /// A verifier for `pins`. The server name comes from embedded-tls's
    /// `TlsConfig::with_server_name`.
    pub fn new(pins: &'a [Pin<'a>], options: VerifyOptions) -> Self {
        Self {
            pins,
            options,
            server_name: None,
            stage: Stage::Start,
        }
    }

    /// The verification result of the last handshake: [`ServerVerified`] only when the
    /// certificate check and the CertificateVerify check both ran and passed.
    ///
    /// # Errors
    /// The first refusal; [`VerifyError::MissingCertificate`] when no Certificate was
    /// checked; [`VerifyError::MissingCertificateVerify`] when the chain passed but no
    /// CertificateVerify was checked.
    pub fn outcome(&self) -> Result<ServerVerified, VerifyError> {
        match &self.stage {
            Stage::Verified(v) => Ok(v.clone()),
            Stage::Failed(e) => Err(e.clone()),
            Stage::Start => Err(VerifyError::MissingCertificate),
            Stage::ChainVerified { .. } => Err(VerifyError::MissingCertificateVerify),
        }
    }

    /// Forgets the previous handshake (the server name is kept).
    pub fn start_handshake(&mut self) {
        self.stage = Stage::Start;
    }

    /// Records a refusal (the first one stays) and returns embedded-tls's error for it.
    fn fail(&mut self, error: VerifyError, tls: TlsError) -> Result<(), TlsError> {
        if !matches!(self.stage, Stage::Failed(_)) {
            self.stage = Stage::Failed(error);
        }
        Err(tls)
    }

    /// Checks the server's Certificate message.
    fn check_certificate(&self, cert: &CertificateRef<'_>) -> Result<VerifiedChain, VerifyError> {
        let mut ders: heapless::Vec<&[u8], MAX_CHAIN> = heapless::Vec::new();
        for entry in &cert.entries {
            match entry {
                CertificateEntryRef::X509(der) => ders
                    .push(der)
                    .map_err(|_| VerifyError::malformed("more than 16 certificates"))?,
                CertificateEntryRef::RawPublicKey(_) => {
                    return Err(VerifyError::UnsupportedAlgorithm {
                        what: "raw public key instead of a certificate",
                    })
                }
            }
        }
        let (leaf, intermediates) = ders.split_first().ok_or(VerifyError::MissingCertificate)?;
        verify_server_certificate(
            self.pins,
            leaf,
            intermediates,
            self.server_name.as_deref(),
            &self.options,
        )
    }
}

impl TlsVerifier<Aes128GcmSha256> for PinnedVerifier<'_> {
    fn set_hostname_verification(&mut self, hostname: &str) -> Result<(), TlsError> {
        let mut name = heapless::String::new();
        if name.push_str(hostname).is_err() {
            return self.fail(
                VerifyError::InvalidServerName {
                    name: bounded(hostname),
                },
                TlsError::InvalidCertificate,
            );
        }
        self.server_name = Some(name);
        Ok(())
    }

    fn verify_certificate(
        &mut self,
        transcript: &Sha256,
        cert: CertificateRef<'_>,
    ) -> Result<(), TlsError> {
        if !matches!(self.stage, Stage::Start) {
            let error = VerifyError::UnexpectedMessage {
                what: "Certificate after the server's certificate was already checked",
            };
            return self.fail(error, TlsError::InvalidCertificate);
        }
        match self.check_certificate(&cert) {
            Ok(chain) => {
                self.stage = Stage::ChainVerified {
                    chain,
                    transcript: transcript.clone(),
                };
                Ok(())
            }
            Err(e) => self.fail(e, TlsError::InvalidCertificate),
        }
    }

    fn verify_signature(&mut self, verify: CertificateVerifyRef<'_>) -> Result<(), TlsError> {
        let (chain, transcript) = match core::mem::replace(&mut self.stage, Stage::Start) {
            Stage::ChainVerified { chain, transcript } => (chain, transcript),
            Stage::Start => {
                return self.fail(VerifyError::MissingCertificate, TlsError::InvalidSignature)
            }
            Stage::Verified(_) => {
                let error = VerifyError::UnexpectedMessage {
                    what: "a second CertificateVerify",
                };
                return self.fail(error, TlsError::InvalidSignature);
            }
            Stage::Failed(e) => {
                self.stage = Stage::Failed(e);
                return Err(TlsError::InvalidSignature);
            }
        };
        let hash = transcript.finalize();
        match verify_certificate_verify(
            chain.leaf_spki(),
            verify.signature_scheme.as_u16(),
            verify.signature,
            &hash,
        ) {
            Ok(()) => {
                self.stage = Stage::Verified(ServerVerified {
                    leaf_spki_sha256: chain.leaf_spki_sha256(),
                    pin_index: chain.pin_index(),
                    server_name: self.server_name.clone(),
                });
                Ok(())
            }
            Err(e) => self.fail(e, TlsError::InvalidSignature),
        }
    }
}

/// A [`CryptoProvider`] for embedded-tls with the AES-128-GCM-SHA256 suite, a random
/// generator, and a [`PinnedVerifier`]. Pass it by `&mut` to `TlsContext::new` and ask
/// [`PinnedProvider::verifier_outcome`] after `open()`.
///
/// Each handshake starts by asking the provider for randomness (ClientHello); the provider
/// then forgets the previous handshake's result, so a provider reused for a reconnection never
/// reports a stale success.
pub struct PinnedProvider<'a, R: CryptoRngCore> {
    rng: R,
    verifier: PinnedVerifier<'a>,
}

impl<'a, R: CryptoRngCore> PinnedProvider<'a, R> {
    /// A provider that verifies the server against `pins`.
    pub fn new(rng: R, pins: &'a [Pin<'a>], options: VerifyOptions) -> Self {
        Self {
            rng,
            verifier: PinnedVerifier::new(pins, options),
        }
    }

    /// The verification result of the last handshake: see [`PinnedVerifier::outcome`].
    ///
    /// # Errors
    /// As [`PinnedVerifier::outcome`].
    pub fn verifier_outcome(&self) -> Result<ServerVerified, VerifyError> {
        self.verifier.outcome()
    }
}

impl<R: CryptoRngCore> CryptoProvider for PinnedProvider<'_, R> {
    type CipherSuite = Aes128GcmSha256;
    type Signature = p256::ecdsa::DerSignature;

    fn rng(&mut self) -> impl CryptoRngCore {
        self.verifier.start_handshake();
        &mut self.rng
    }

    fn verifier(&mut self) -> Result<&mut impl TlsVerifier<Self::CipherSuite>, TlsError> {
        Ok(&mut self.verifier)
    }
}
