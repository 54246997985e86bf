//! TLS 1.3 and the trust policy.

pub mod connection;
mod error;
mod name;
pub mod pin;
pub mod provider;
pub mod sig;
mod summary;
pub mod verify;
mod x509;

pub use connection::{
    AsyncTlsStream, ConnectError, MaxFragmentLength, TlsOptions, TlsSocket, TlsStream, READ_BUFFER,
};
pub use error::{DnText, NameText, VerifyError};
pub use pin::{pem_certificates_to_der, pem_to_der, spki_sha256, Pin, PinError};
pub use provider::{PinnedProvider, PinnedVerifier, ServerVerified};
pub use sig::verify_certificate_verify;
pub use summary::{AltName, CertificateSummary, Date};
pub use verify::{
    verify_server_certificate, HostCheck, ValidityTime, VerifiedChain, VerifyOptions,
};
