//! The order of the server's encrypted handshake messages (RFC 8446 §2, §4.3, §4.4).
//!
//! After its `ServerHello`, a TLS 1.3 server sends, in this order:
//!
//! - with certificates: `EncryptedExtensions`, `CertificateRequest` (optional), `Certificate`,
//!   `CertificateVerify`, `Finished`;
//! - with a pre-shared key (`psk_dhe_ke`): `EncryptedExtensions`, `Finished`. A server
//!   authenticating with a PSK must not send `CertificateRequest` (§4.3.2) nor `Certificate`.
//!
//! A message out of this order ends the handshake with `unexpected_message` (§6.2) before the
//! client sends anything more. This matters for the server's authentication: a `Finished` that
//! arrives with no `Certificate` or no `CertificateVerify` before it would otherwise complete the
//! handshake with a server that never proved who it is.

use crate::TlsError;
use crate::handshake::HandshakeType;

/// The message the client expects next in the server's encrypted flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub(crate) enum ServerFlight {
    /// `EncryptedExtensions`, the first message under the handshake keys.
    EncryptedExtensions,
    /// `CertificateRequest` or `Certificate`, after `EncryptedExtensions` without a PSK.
    CertificateRequestOrCertificate,
    /// `Certificate`, after a `CertificateRequest`.
    Certificate,
    /// `CertificateVerify`, after the `Certificate`.
    CertificateVerify,
    /// The server's `Finished`.
    Finished,
    /// Nothing: the server's flight ended with its `Finished`.
    Complete,
}

impl ServerFlight {
    /// Where the flight stands after `message`, or
    /// [`TlsError::UnexpectedHandshakeMessage`] when `message` may not come now. `psk`: the
    /// handshake is authenticated by a pre-shared key.
    pub(crate) fn next(self, message: HandshakeType, psk: bool) -> Result<Self, TlsError> {
        use HandshakeType as Message;
        use ServerFlight as Flight;
        match (self, message) {
            (Flight::EncryptedExtensions, Message::EncryptedExtensions) if psk => {
                Ok(Flight::Finished)
            }
            (Flight::EncryptedExtensions, Message::EncryptedExtensions) => {
                Ok(Flight::CertificateRequestOrCertificate)
            }
            (Flight::CertificateRequestOrCertificate, Message::CertificateRequest) => {
                Ok(Flight::Certificate)
            }
            (
                Flight::CertificateRequestOrCertificate | Flight::Certificate,
                Message::Certificate,
            ) => Ok(Flight::CertificateVerify),
            (Flight::CertificateVerify, Message::CertificateVerify) => Ok(Flight::Finished),
            (Flight::Finished, Message::Finished) => Ok(Flight::Complete),
            _ => Err(TlsError::UnexpectedHandshakeMessage(message)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use HandshakeType as M;

    /// Feeds `messages` from the start of the flight; the first refused one, if any.
    fn run(messages: &[HandshakeType], psk: bool) -> Result<ServerFlight, TlsError> {
        messages
            .iter()
            .try_fold(ServerFlight::EncryptedExtensions, |flight, m| {
                flight.next(*m, psk)
            })
    }

    fn refused_at(messages: &[HandshakeType], psk: bool) -> HandshakeType {
        match run(messages, psk) {
            Err(TlsError::UnexpectedHandshakeMessage(m)) => m,
            other => panic!("{messages:?} (psk {psk}): {other:?}"),
        }
    }

    #[test]
    fn the_orders_rfc_8446_allows() {
        let full = [
            M::EncryptedExtensions,
            M::Certificate,
            M::CertificateVerify,
            M::Finished,
        ];
        assert!(matches!(run(&full, false), Ok(ServerFlight::Complete)));
        let mutual = [
            M::EncryptedExtensions,
            M::CertificateRequest,
            M::Certificate,
            M::CertificateVerify,
            M::Finished,
        ];
        assert!(matches!(run(&mutual, false), Ok(ServerFlight::Complete)));
        let psk = [M::EncryptedExtensions, M::Finished];
        assert!(matches!(run(&psk, true), Ok(ServerFlight::Complete)));
    }

    #[test]
    fn a_certificate_handshake_without_the_servers_proof_is_refused_at_finished() {
        use M::*;
        // No Certificate, no CertificateVerify.
        assert_eq!(
            refused_at(&[EncryptedExtensions, Finished], false),
            Finished
        );
        // No CertificateVerify.
        let no_verify = [EncryptedExtensions, Certificate, Finished];
        assert_eq!(refused_at(&no_verify, false), Finished);
        // No Certificate.
        let no_certificate = [EncryptedExtensions, CertificateVerify, Finished];
        assert_eq!(refused_at(&no_certificate, false), CertificateVerify);
        // After a CertificateRequest, too.
        let requested = [EncryptedExtensions, CertificateRequest, Finished];
        assert_eq!(refused_at(&requested, false), Finished);
    }

    #[test]
    fn messages_out_of_place_are_refused() {
        use M::*;
        let cases: &[&[HandshakeType]] = &[
            &[Certificate],
            &[Finished],
            &[EncryptedExtensions, EncryptedExtensions],
            &[EncryptedExtensions, Certificate, Finished],
            &[EncryptedExtensions, Certificate, CertificateRequest],
            &[EncryptedExtensions, Certificate, Certificate],
            &[
                EncryptedExtensions,
                Certificate,
                CertificateVerify,
                CertificateVerify,
            ],
            &[EncryptedExtensions, CertificateRequest, CertificateRequest],
            &[EncryptedExtensions, NewSessionTicket],
            &[EncryptedExtensions, KeyUpdate],
            &[EncryptedExtensions, ServerHello],
            &[
                EncryptedExtensions,
                Certificate,
                CertificateVerify,
                Finished,
                NewSessionTicket,
            ],
        ];
        for messages in cases {
            let last = *messages.last().unwrap();
            assert_eq!(refused_at(messages, false), last, "{messages:?}");
        }
    }

    #[test]
    fn a_psk_handshake_has_no_certificate_messages() {
        use M::*;
        assert_eq!(
            refused_at(&[EncryptedExtensions, Certificate], true),
            Certificate
        );
        assert_eq!(
            refused_at(&[EncryptedExtensions, CertificateRequest], true),
            CertificateRequest
        );
        assert_eq!(
            refused_at(&[EncryptedExtensions, Finished, Finished], true),
            Finished
        );
    }
}
