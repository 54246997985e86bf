//! TLS 1.3 and the trust policy.

pub mod connection;
mod error;
pub mod identity;
mod name;
mod pem;
pub mod pin;
pub mod provider;
pub mod sig;
mod summary;
mod text;
pub mod verify;
mod x509;

pub use connection::{
    AsyncTlsStream, ClientCertificateRefused, ConnectError, MaxFragmentLength, StreamError,
    TlsOptions, TlsSocket, TlsStream, READ_BUFFER,
};
pub use error::VerifyError;
pub use identity::{
    ClientIdentity, ClientSignature, ClientSigner, IdentityError, MaybeClientIdentity,
    NoClientIdentity, SignerError,
};
pub use pin::{pem_certificates_to_der, pem_to_der, spki_sha256, Pin, PinError};
pub use provider::{ClientAuth, PinnedProvider, PinnedVerifier, ServerVerified};
pub use sig::verify_certificate_verify;
pub use summary::{AltName, CertificateSummary, Date};
pub use text::{DnText, NameText};
pub use verify::{
    verify_server_certificate, HostCheck, ValidityTime, VerifiedChain, VerifyOptions,
};
