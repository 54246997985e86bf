//! The server's encrypted handshake flight, fed to a client in its `ServerVerify` state: the
//! messages must come in the order RFC 8446 gives (`crate::server_flight`), a refusal is
//! answered with the alert that names it, and nothing else is written: in particular no
//! `Finished` after a flight without the server's `Certificate` or `CertificateVerify`.

use super::post_handshake_tests::{Socket, open, seal};
use super::*;
use crate::Aes128GcmSha256;
use crate::alert::{AlertDescription, AlertLevel};
use crate::connection::{Handshake, State};
use crate::content_types::ContentType;
use crate::handshake::HandshakeType;
use sha2::{Digest, Sha256};
use std::vec::Vec;

type Suite = Aes128GcmSha256;

const ENCRYPTED_EXTENSIONS: &[u8] = &[8, 0, 0, 2, 0, 0];
/// Empty request context, one 3-byte "certificate" (no verifier looks at it here).
const CERTIFICATE: &[u8] = &[11, 0, 0, 12, 0, 0, 0, 8, 0, 0, 3, 1, 2, 3, 0, 0];
/// `ecdsa_secp256r1_sha256`, a 4-byte "signature".
const CERTIFICATE_VERIFY: &[u8] = &[15, 0, 0, 8, 4, 3, 0, 4, 1, 2, 3, 4];

/// Handshake traffic keys, as after a `ServerHello` (the same for every call).
fn after_server_hello() -> KeySchedule<Suite> {
    let mut keys = KeySchedule::new();
    keys.initialize_early_secret(None).unwrap();
    keys.initialize_handshake_secret(&[7; 32]).unwrap();
    keys
}

/// What the client made of a flight: its result, and the server's view of what it wrote.
struct Outcome {
    result: Result<State, TlsError>,
    written: Vec<u8>,
    server: KeySchedule<Suite>,
}

impl Outcome {
    /// The alert the client wrote, decrypted with its handshake keys, and that it wrote
    /// nothing else.
    fn only_alert(&mut self) -> Vec<u8> {
        let mut written = self.written.as_slice();
        let (content_type, alert) = open(self.server.write_state(), &mut written);
        assert_eq!(content_type, ContentType::Alert as u8);
        assert!(written.is_empty(), "more records after the alert");
        alert
    }
}

/// The client, with handshake keys (`config` decides PSK or certificates), reads one record
/// from the server: `flight`, then the server's `Finished` over it (right, or `tampered`).
fn client_reads(flight: &[&[u8]], tampered: bool, config: &TlsConfig) -> Outcome {
    let mut server = after_server_hello();
    let mut verify_data = server
        .read_state()
        .server_finished_verify_data(&Sha256::digest(flight.concat()));
    if tampered {
        verify_data[0] ^= 1;
    }
    let finished = [&[20, 0, 0, 32][..], &verify_data].concat();
    let messages = [flight.concat(), finished].concat();
    let mut socket = Socket {
        input: seal(server.read_state(), ContentType::Handshake, &messages),
        read: 0,
        output: Vec::new(),
    };
    let (mut read_buffer, mut write_buffer) = ([0; 1024], [0; 1024]);
    let mut key_schedule = after_server_hello();
    let result = State::ServerVerify.process_blocking(
        &mut socket,
        &mut Handshake::new(),
        &mut RecordReader::new(&mut read_buffer),
        &mut WriteBuffer::new(&mut write_buffer),
        &mut key_schedule,
        config,
        &mut UnsecureProvider::new::<Suite>(rand::rngs::OsRng),
    );
    Outcome {
        result,
        written: socket.output,
        server,
    }
}

fn certificates() -> TlsConfig<'static> {
    TlsConfig::new()
}

fn unexpected(outcome: &mut Outcome, message: HandshakeType) {
    match outcome.result {
        Err(TlsError::UnexpectedHandshakeMessage(m)) => assert_eq!(m, message),
        other => panic!("expected UnexpectedHandshakeMessage({message:?}), got {other:?}"),
    }
    // A fatal unexpected_message alert, and no Finished.
    assert_eq!(outcome.only_alert(), [2, 10]);
}

#[test]
fn a_complete_flight_is_accepted() {
    let flight = [ENCRYPTED_EXTENSIONS, CERTIFICATE, CERTIFICATE_VERIFY];
    let outcome = client_reads(&flight, false, &certificates());
    assert!(
        matches!(outcome.result, Ok(State::ClientFinished)),
        "{:?}",
        outcome.result
    );
    assert!(outcome.written.is_empty());
}

#[test]
fn no_certificate_is_refused_before_the_clients_finished() {
    let mut outcome = client_reads(&[ENCRYPTED_EXTENSIONS], false, &certificates());
    unexpected(&mut outcome, HandshakeType::Finished);
}

#[test]
fn no_certificate_verify_is_refused_before_the_clients_finished() {
    let flight = [ENCRYPTED_EXTENSIONS, CERTIFICATE];
    let mut outcome = client_reads(&flight, false, &certificates());
    unexpected(&mut outcome, HandshakeType::Finished);
}

#[test]
fn a_certificate_verify_without_certificate_is_refused() {
    let flight = [ENCRYPTED_EXTENSIONS, CERTIFICATE_VERIFY];
    let mut outcome = client_reads(&flight, false, &certificates());
    unexpected(&mut outcome, HandshakeType::CertificateVerify);
}

#[test]
fn a_finished_that_does_not_verify_is_a_decrypt_error() {
    let flight = [ENCRYPTED_EXTENSIONS, CERTIFICATE, CERTIFICATE_VERIFY];
    let mut outcome = client_reads(&flight, true, &certificates());
    assert!(
        matches!(outcome.result, Err(TlsError::InvalidSignature)),
        "{:?}",
        outcome.result
    );
    assert_eq!(outcome.only_alert(), [2, 51]);
}

#[test]
fn a_psk_flight_has_no_certificate() {
    let psk = TlsConfig::new().with_psk(&[1; 32], &[b"device"]);
    let outcome = client_reads(&[ENCRYPTED_EXTENSIONS], false, &psk);
    assert!(
        matches!(outcome.result, Ok(State::ClientFinished)),
        "{:?}",
        outcome.result
    );
    let flight = [ENCRYPTED_EXTENSIONS, CERTIFICATE, CERTIFICATE_VERIFY];
    let mut outcome = client_reads(&flight, false, &psk);
    unexpected(&mut outcome, HandshakeType::Certificate);
}

/// An alert in the server's encrypted flight (here `bad_certificate`, as a server sends when
/// it refuses the client's offer) ends the handshake as `HandshakeAborted` with that alert,
/// and the client answers nothing (RFC 8446 §6: an alert is not answered with one).
#[test]
fn an_alert_in_the_encrypted_flight_is_reported_not_answered() {
    let mut server = after_server_hello();
    let mut input = seal(
        server.read_state(),
        ContentType::Handshake,
        ENCRYPTED_EXTENSIONS,
    );
    input.extend(seal(server.read_state(), ContentType::Alert, &[2, 42]));
    let mut socket = Socket {
        input,
        read: 0,
        output: Vec::new(),
    };
    let (mut read_buffer, mut write_buffer) = ([0; 1024], [0; 1024]);
    let mut reader = RecordReader::new(&mut read_buffer);
    let (mut handshake, mut keys) = (Handshake::new(), after_server_hello());
    let mut provider = UnsecureProvider::new::<Suite>(rand::rngs::OsRng);
    // One record per step: EncryptedExtensions keeps it in ServerVerify, then the alert.
    let mut steps = 0;
    let result = loop {
        steps += 1;
        let step = State::ServerVerify.process_blocking(
            &mut socket,
            &mut handshake,
            &mut reader,
            &mut WriteBuffer::new(&mut write_buffer),
            &mut keys,
            &certificates(),
            &mut provider,
        );
        if !matches!(step, Ok(State::ServerVerify)) || steps == 2 {
            break step;
        }
    };
    assert_eq!(steps, 2);
    assert!(
        matches!(
            result,
            Err(TlsError::HandshakeAborted(
                AlertLevel::Fatal,
                AlertDescription::BadCertificate
            ))
        ),
        "{result:?}"
    );
    assert!(socket.output.is_empty(), "the client answered the alert");
}

#[test]
fn a_refused_server_hello_gets_a_plaintext_alert() {
    // A plaintext handshake record with EncryptedExtensions where the ServerHello belongs.
    let record = [&[22, 3, 3, 0, 6][..], ENCRYPTED_EXTENSIONS].concat();
    let mut socket = Socket {
        input: record,
        read: 0,
        output: Vec::new(),
    };
    let (mut read_buffer, mut write_buffer) = ([0; 1024], [0; 1024]);
    let mut key_schedule = KeySchedule::<Suite>::new();
    key_schedule.initialize_early_secret(None).unwrap();
    let result = State::ServerHello.process_blocking(
        &mut socket,
        &mut Handshake::new(),
        &mut RecordReader::new(&mut read_buffer),
        &mut WriteBuffer::new(&mut write_buffer),
        &mut key_schedule,
        &certificates(),
        &mut UnsecureProvider::new::<Suite>(rand::rngs::OsRng),
    );
    assert!(
        matches!(result, Err(TlsError::InvalidHandshake)),
        "{result:?}"
    );
    // An alert record (type 21, TLS 1.2 record version) with a fatal unexpected_message.
    assert_eq!(socket.output, [21, 3, 3, 0, 2, 2, 10]);
}
