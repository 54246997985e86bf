//! TLS 1.3 and the trust policy.

pub mod pin;
pub mod sig;
pub mod verify;
