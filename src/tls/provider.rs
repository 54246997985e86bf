//! The glue to embedded-tls: a `CryptoProvider` whose `TlsVerifier` checks the pins and whose
//! signer answers a broker's CertificateRequest.
//!
//! User documentation: the `tls` module, section "The handshake: both checks, or no stream".

use embedded_tls::alert::{AlertDescription, AlertLevel};
use embedded_tls::{
    Aes128GcmSha256, Certificate, CertificateEntryRef, CertificateRef, CertificateVerifyRef,
    CryptoProvider, SignatureScheme, TlsError, TlsVerifier,
};
use p256::ecdsa::signature;
use rand_core::CryptoRngCore;
use sha2::{Digest, Sha256};

use super::identity::{ClientSignature, MaybeClientIdentity, NoClientIdentity, SignerError};
use super::pin::Pin;
use super::text::bounded;
use super::verify::{
    verify_server_certificate, ServerVerified, ValidityTime, VerifiedChain, VerifyError,
    VerifyOptions, MAX_SERVER_NAME_LEN,
};

/// The most certificates taken from one Certificate message (embedded-tls's own limit).
const MAX_CHAIN: usize = 16;

/// The signature schemes the ClientHello offers (`signature_algorithms`, RFC 8446 §4.2.3),
/// each once, ECDSA first: exactly those the verifier checks (`sig.rs`), so that a broker that
/// picks an offered scheme is never refused for it. In the server's CertificateVerify:
/// `ecdsa_secp256r1_sha256`, `ecdsa_secp384r1_sha384` (feature `p384`),
/// `rsa_pss_rsae_sha256/384/512` (feature `rsa`). `rsa_pkcs1_sha256/384/512` (feature `rsa`)
/// name certificate signatures only (RFC 8446 forbids them in CertificateVerify, and the
/// verifier refuses them there): the RSA CAs' `sha*WithRSAEncryption`.
pub(crate) const OFFERED_SIGNATURE_SCHEMES: &[SignatureScheme] = &[
    SignatureScheme::EcdsaSecp256r1Sha256,
    #[cfg(feature = "p384")]
    SignatureScheme::EcdsaSecp384r1Sha384,
    #[cfg(feature = "rsa")]
    SignatureScheme::RsaPssRsaeSha256,
    #[cfg(feature = "rsa")]
    SignatureScheme::RsaPssRsaeSha384,
    #[cfg(feature = "rsa")]
    SignatureScheme::RsaPssRsaeSha512,
    #[cfg(feature = "rsa")]
    SignatureScheme::RsaPkcs1Sha256,
    #[cfg(feature = "rsa")]
    SignatureScheme::RsaPkcs1Sha384,
    #[cfg(feature = "rsa")]
    SignatureScheme::RsaPkcs1Sha512,
];

/// Which of the server's messages a refusal is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Checked {
    /// The Certificate message: the chain, its dates, names and pins.
    Certificate,
    /// The CertificateVerify: the server's signature over the handshake.
    CertificateVerify,
}

/// The alert (RFC 8446 §6.2) the client sends the broker when it refuses `error` in the
/// `checked` message, so that the broker's log says why the device left. The one place where
/// refusals become alerts; the refusal itself, with its facts, is what the client reports.
///
/// - `certificate_expired` ("expired or not currently valid"): outside the validity dates;
/// - `unknown_ca`: no path to a pinned CA, or a certificate or key that is not the pinned
///   one (the pin is the trust anchor);
/// - `unsupported_certificate`: a key, algorithm, critical extension or name constraint the
///   verifier does not handle, or no serverAuth in extendedKeyUsage (as OpenSSL says);
/// - `bad_certificate`: anything else wrong with a certificate (signature, CA flags, usages,
///   path length, names, profile rules, DER);
/// - in the CertificateVerify: `decrypt_error` for a signature that does not verify,
///   `illegal_parameter` for a scheme that does not fit the key or was not offered;
/// - `unexpected_message`: a message missing, repeated or out of place; `decode_error`: an
///   empty Certificate message (RFC 8446 §4.4.2.4);
/// - `internal_error`: the client's own configuration (no time, a server name it cannot use).
pub(crate) fn refusal_alert(error: &VerifyError, checked: Checked) -> AlertDescription {
    use AlertDescription as Alert;
    match (checked, error) {
        (
            Checked::CertificateVerify,
            VerifyError::CertificateVerifyFailed | VerifyError::Malformed { .. },
        ) => Alert::DecryptError,
        (
            Checked::CertificateVerify,
            VerifyError::SignatureKeyMismatch { .. }
            | VerifyError::UnsupportedAlgorithm { .. }
            | VerifyError::WeakAlgorithm { .. },
        ) => Alert::IllegalParameter,
        (_, VerifyError::Expired { .. } | VerifyError::NotYetValid { .. }) => {
            Alert::CertificateExpired
        }
        (
            _,
            VerifyError::UnknownIssuer { .. }
            | VerifyError::PathTooLong
            | VerifyError::LimitReached { .. }
            | VerifyError::PinMismatch { .. }
            | VerifyError::CertificateMismatch { .. },
        ) => Alert::UnknownCa,
        (
            _,
            VerifyError::UnsupportedAlgorithm { .. }
            | VerifyError::UnsupportedNameConstraint { .. }
            | VerifyError::UnknownCriticalExtension { .. }
            | VerifyError::ExtendedKeyUsage { .. }
            | VerifyError::KeyTooLarge { .. },
        ) => Alert::UnsupportedCertificate,
        (
            _,
            VerifyError::NameMismatch { .. }
            | VerifyError::BadSignature { .. }
            | VerifyError::SignatureKeyMismatch { .. }
            | VerifyError::WeakAlgorithm { .. }
            | VerifyError::Malformed { .. }
            | VerifyError::NotCa { .. }
            | VerifyError::LeafIsCa { .. }
            | VerifyError::KeyUsage { .. }
            | VerifyError::PathLenExceeded { .. }
            | VerifyError::NameConstraintViolation { .. }
            | VerifyError::ProfileViolation { .. },
        ) => Alert::BadCertificate,
        (_, VerifyError::CertificateVerifyFailed) => Alert::DecryptError,
        (Checked::Certificate, VerifyError::MissingCertificate) => Alert::DecodeError,
        (
            _,
            VerifyError::MissingCertificate
            | VerifyError::MissingCertificateVerify
            | VerifyError::UnexpectedMessage { .. },
        ) => Alert::UnexpectedMessage,
        (
            _,
            VerifyError::NoValidityTime
            | VerifyError::MissingServerName
            | VerifyError::InvalidServerName { .. },
        ) => Alert::InternalError,
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

/// A [`TlsVerifier`] that checks the server against [`Pin`]s. See [`PinnedProvider`].
pub struct PinnedVerifier<'a> {
    pins: &'a [Pin<'a>],
    options: VerifyOptions,
    /// The time the next server certificate is checked at; its check takes it.
    time: Option<ValidityTime>,
    server_name: Option<heapless::String<MAX_SERVER_NAME_LEN>>,
    stage: Stage,
}

impl<'a> PinnedVerifier<'a> {
    /// A verifier for `pins` that checks everything ([`VerifyOptions::new`]). The server name
    /// comes from embedded-tls's `TlsConfig::with_server_name`; the time from
    /// [`set_validity_time`](Self::set_validity_time), before each handshake.
    pub fn new(pins: &'a [Pin<'a>]) -> Self {
        Self {
            pins,
            options: VerifyOptions::new(),
            time: None,
            server_name: None,
            stage: Stage::Start,
        }
    }

    /// The same verifier with another policy (host-name check, commonName, legacy profile).
    #[must_use]
    pub fn with_options(mut self, options: VerifyOptions) -> Self {
        self.options = options;
        self
    }

    /// The time the next server certificate is checked at. The check takes it: each handshake
    /// needs its own, and a handshake without one is refused with
    /// [`VerifyError::NoValidityTime`] (never checked against an old time).
    pub fn set_validity_time(&mut self, time: ValidityTime) {
        self.time = Some(time);
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

    /// [`outcome`](Self::outcome) by value, without a copy (a `VerifyError` and a
    /// `ServerVerified` hold up to ~350 bytes of text, and their `Clone` cost 650 B of flash):
    /// the verifier forgets it, as at the start of a handshake. Out of line: the connect
    /// functions share one copy.
    #[inline(never)]
    pub(crate) fn take_outcome(&mut self) -> Result<ServerVerified, VerifyError> {
        match core::mem::replace(&mut self.stage, Stage::Start) {
            Stage::Verified(v) => Ok(v),
            Stage::Failed(e) => Err(e),
            Stage::Start => Err(VerifyError::MissingCertificate),
            Stage::ChainVerified { .. } => Err(VerifyError::MissingCertificateVerify),
        }
    }

    /// Forgets the previous handshake's result. The server name is kept, and so is a time set
    /// for the coming handshake.
    pub fn start_handshake(&mut self) {
        self.stage = Stage::Start;
    }

    /// Records a refusal (the first one stays) and returns embedded-tls's error for it: the
    /// fatal alert for it ([`refusal_alert`]), which embedded-tls sends before it closes.
    fn fail(&mut self, error: VerifyError, checked: Checked) -> Result<(), TlsError> {
        let alert = refusal_alert(&error, checked);
        if !matches!(self.stage, Stage::Failed(_)) {
            self.stage = Stage::Failed(error);
        }
        Err(TlsError::AbortHandshake(AlertLevel::Fatal, alert))
    }

    /// Checks the server's Certificate message at `time`.
    fn check_certificate(
        &self,
        cert: &CertificateRef<'_>,
        time: ValidityTime,
    ) -> Result<VerifiedChain, VerifyError> {
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
            time,
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
                Checked::Certificate,
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
            return self.fail(error, Checked::Certificate);
        }
        let Some(time) = self.time.take() else {
            return self.fail(VerifyError::NoValidityTime, Checked::Certificate);
        };
        match self.check_certificate(&cert, time) {
            Ok(chain) => {
                self.stage = Stage::ChainVerified {
                    chain,
                    transcript: transcript.clone(),
                };
                Ok(())
            }
            Err(e) => self.fail(e, Checked::Certificate),
        }
    }

    fn verify_signature(&mut self, verify: CertificateVerifyRef<'_>) -> Result<(), TlsError> {
        let (chain, transcript) = match core::mem::replace(&mut self.stage, Stage::Start) {
            Stage::ChainVerified { chain, transcript } => (chain, transcript),
            Stage::Start => {
                return self.fail(VerifyError::MissingCertificate, Checked::CertificateVerify)
            }
            Stage::Verified(_) => {
                let error = VerifyError::UnexpectedMessage {
                    what: "a second CertificateVerify",
                };
                return self.fail(error, Checked::CertificateVerify);
            }
            Stage::Failed(e) => {
                let alert = refusal_alert(&e, Checked::CertificateVerify);
                self.stage = Stage::Failed(e);
                return Err(TlsError::AbortHandshake(AlertLevel::Fatal, alert));
            }
        };
        let hash = transcript.finalize();
        match chain.prove_possession(
            verify.signature_scheme.as_u16(),
            verify.signature,
            &hash,
            self.server_name.clone(),
        ) {
            Ok(verified) => {
                self.stage = Stage::Verified(verified);
                Ok(())
            }
            Err(e) => self.fail(e, Checked::CertificateVerify),
        }
    }
}

/// What became of client authentication in the last handshake.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ClientAuth {
    /// The broker did not ask for a client certificate.
    NotRequested,
    /// The broker asked and no [`ClientIdentity`](super::ClientIdentity) is configured: an empty Certificate was sent.
    /// A broker that requires a certificate refuses the connection.
    RequestedWithoutIdentity,
    /// The broker asked; the certificate was sent (and, once the handshake completed, the
    /// CertificateVerify signed). Whether the broker accepted it shows on the first read
    /// (TLS 1.3 sends no answer to the client's last handshake flight).
    Presented,
    /// The broker asked; the certificate was sent but signing failed.
    SignerFailed(SignerError),
}

impl ClientAuth {
    /// Whether the broker asked for a client certificate.
    pub fn requested(&self) -> bool {
        !matches!(self, ClientAuth::NotRequested)
    }
}

/// A [`CryptoProvider`] for embedded-tls with the AES-128-GCM-SHA256 suite, a random
/// generator, a [`PinnedVerifier`], and, for brokers that require client certificates, the
/// device's [`ClientIdentity`](super::ClientIdentity) ([`with_client_identity`](Self::with_client_identity)). Pass it
/// by `&mut` to `TlsContext::new` and ask [`PinnedProvider::verifier_outcome`] after `open()`.
///
/// The identity is a type parameter, `I`: [`NoClientIdentity`] by default, so that firmware
/// without client certificates links none of their code (signing, key parsing).
///
/// Each handshake starts by asking the provider for randomness (ClientHello); the provider
/// then forgets the previous handshake's result, so a provider reused for a reconnection never
/// reports a stale success.
pub struct PinnedProvider<'a, R: CryptoRngCore, I = NoClientIdentity> {
    rng: R,
    verifier: PinnedVerifier<'a>,
    identity: I,
    client_auth: ClientAuth,
}

impl<'a, R: CryptoRngCore> PinnedProvider<'a, R> {
    /// A provider that verifies the server against `pins`, checking everything
    /// ([`VerifyOptions::new`]; another policy: [`with_options`](Self::with_options)), with no
    /// client certificate. The time certificates are checked at comes with each handshake
    /// ([`TlsOptions::new`](super::TlsOptions::new)), so one provider serves every
    /// reconnection.
    ///
    /// Pins compiled into the firmware are a constant:
    ///
    /// ```
    /// use embedded_mqtts::tls::{Pin, PinnedProvider, VerifyOptions};
    ///
    /// const CA_DER: &[u8] =
    ///     include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/certs/rsa-root.der"));
    /// const PINS: &[Pin<'static>] = &[Pin::Ca(&[CA_DER])];
    ///
    /// let provider = PinnedProvider::new(rand_core::OsRng, PINS);
    /// // A broker whose v1 certificate names it only in its commonName:
    /// let legacy = PinnedProvider::new(rand_core::OsRng, PINS)
    ///     .with_options(VerifyOptions::new().allow_common_name());
    /// ```
    pub fn new(rng: R, pins: &'a [Pin<'a>]) -> Self {
        Self {
            rng,
            verifier: PinnedVerifier::new(pins),
            identity: NoClientIdentity,
            client_auth: ClientAuth::NotRequested,
        }
    }
}

impl<'a, R: CryptoRngCore, I: MaybeClientIdentity> PinnedProvider<'a, R, I> {
    /// The same provider, presenting `identity` to a broker that asks for a client
    /// certificate (mutual TLS). `identity` is a [`ClientIdentity`](super::ClientIdentity), or an
    /// `Option<ClientIdentity>` when only some builds or configurations have one.
    pub fn with_client_identity<J: MaybeClientIdentity>(
        self,
        identity: J,
    ) -> PinnedProvider<'a, R, J> {
        PinnedProvider {
            rng: self.rng,
            verifier: self.verifier,
            identity,
            client_auth: ClientAuth::NotRequested,
        }
    }

    /// The same provider with another verification policy (host-name check, commonName,
    /// legacy CA profile): see [`VerifyOptions`].
    #[must_use]
    pub fn with_options(mut self, options: VerifyOptions) -> Self {
        self.verifier = self.verifier.with_options(options);
        self
    }

    /// The time the next handshake checks certificates at: see
    /// [`PinnedVerifier::set_validity_time`]. [`TlsStream::connect`](super::TlsStream::connect)
    /// and [`AsyncTlsStream::connect`](super::AsyncTlsStream::connect) call it with
    /// [`TlsOptions::validity`](super::TlsOptions::validity); call it yourself before
    /// embedded-tls's `open()` when you drive the connection yourself.
    pub fn set_validity_time(&mut self, time: ValidityTime) {
        self.verifier.set_validity_time(time);
    }

    /// The verification result of the last handshake: see [`PinnedVerifier::outcome`].
    /// [`TlsStream::connect`](super::TlsStream::connect) and
    /// [`AsyncTlsStream::connect`](super::AsyncTlsStream::connect) hand it over to their
    /// result ([`TlsStream::verified`](super::TlsStream::verified) or
    /// [`ConnectError::Verify`](super::ConnectError::Verify)) and leave the provider as at the
    /// start of a handshake, so after them this is [`VerifyError::MissingCertificate`]; ask it
    /// when you drive embedded-tls's `open()` yourself.
    ///
    /// # Errors
    /// As [`PinnedVerifier::outcome`].
    pub fn verifier_outcome(&self) -> Result<ServerVerified, VerifyError> {
        self.verifier.outcome()
    }

    /// The verification result of the last handshake, handed over to the caller: see
    /// [`PinnedVerifier::take_outcome`]. The connect functions put it in their result.
    pub(crate) fn take_verifier_outcome(&mut self) -> Result<ServerVerified, VerifyError> {
        self.verifier.take_outcome()
    }

    /// What became of client authentication in the last handshake.
    pub fn client_auth(&self) -> ClientAuth {
        self.client_auth
    }
}

/// The signer embedded-tls uses for the client CertificateVerify; see the module documentation
/// for why it never fails.
struct IdentitySigner<'p, I> {
    identity: &'p mut I,
    outcome: &'p mut ClientAuth,
}

impl<I: MaybeClientIdentity> signature::SignerMut<ClientSignature> for IdentitySigner<'_, I> {
    fn try_sign(&mut self, message: &[u8]) -> Result<ClientSignature, signature::Error> {
        match self.identity.sign(message) {
            Ok(signature) => Ok(signature),
            Err(e) => {
                *self.outcome = ClientAuth::SignerFailed(e);
                Ok(ClientSignature::default())
            }
        }
    }
}

impl<R: CryptoRngCore, I: MaybeClientIdentity> CryptoProvider for PinnedProvider<'_, R, I> {
    type CipherSuite = Aes128GcmSha256;
    type Signature = ClientSignature;

    fn rng(&mut self) -> impl CryptoRngCore {
        self.verifier.start_handshake();
        self.client_auth = ClientAuth::NotRequested;
        &mut self.rng
    }

    fn verifier(&mut self) -> Result<&mut impl TlsVerifier<Self::CipherSuite>, TlsError> {
        Ok(&mut self.verifier)
    }

    /// The ECDHE key share on thumbv7em: the Cortex-M4 assembly (elsewhere embedded-tls's
    /// default, RustCrypto's `p256`).
    #[cfg(p256_cm4)]
    fn ecdhe_key_pair(&mut self) -> embedded_tls::EphemeralKeyPair {
        embedded_tls::EphemeralKeyPair::generate::<super::cortex_m4_p256::Cm4Ecdhe>(&mut self.rng)
    }

    /// Called when the broker sent a CertificateRequest.
    fn client_cert(&mut self) -> Option<Certificate<impl AsRef<[u8]>>> {
        let certificate = self.identity.certificate();
        self.client_auth = match certificate {
            Some(_) => ClientAuth::Presented,
            None => ClientAuth::RequestedWithoutIdentity,
        };
        certificate.map(Certificate::X509)
    }

    /// Called after [`client_cert`](Self::client_cert) returned a certificate.
    fn signer(
        &mut self,
    ) -> Result<(impl signature::SignerMut<Self::Signature>, SignatureScheme), TlsError> {
        let signer = IdentitySigner {
            identity: &mut self.identity,
            outcome: &mut self.client_auth,
        };
        Ok((signer, SignatureScheme::EcdsaSecp256r1Sha256))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_outcome_is_handed_over_once() {
        let mut verifier = PinnedVerifier::new(&[]);
        // No validity time was set: the Certificate is refused.
        let refused =
            verifier.verify_certificate(&Sha256::new(), CertificateRef::with_context(&[]));
        assert!(refused.is_err());
        assert_eq!(verifier.outcome(), Err(VerifyError::NoValidityTime));
        assert_eq!(verifier.take_outcome(), Err(VerifyError::NoValidityTime));
        assert_eq!(verifier.outcome(), Err(VerifyError::MissingCertificate));
    }
}
