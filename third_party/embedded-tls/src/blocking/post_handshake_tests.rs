//! Records a server sends after the handshake, fed to an open connection: `KeyUpdate`,
//! handshake messages that are not allowed there, alerts and ChangeCipherSpec.

use super::*;
use crate::Aes128GcmSha256;
use crate::alert::{AlertDescription, AlertLevel};
use crate::content_types::ContentType;
use crate::handshake::HandshakeType;
use aes_gcm::aead::{AeadInPlace, KeyInit};
use std::vec::Vec;

type Suite = Aes128GcmSha256;
type Cipher = <Suite as TlsCipherSuite>::Cipher;
const TAG: usize = 16;

/// The server's side of the connection: bytes it sent, and bytes the client wrote.
#[derive(Default)]
pub(super) struct Socket {
    pub(super) input: Vec<u8>,
    pub(super) read: usize,
    pub(super) output: Vec<u8>,
}

impl embedded_io::ErrorType for Socket {
    type Error = embedded_io::ErrorKind;
}

impl Read for Socket {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let n = usize::min(buf.len(), self.input.len() - self.read);
        buf[..n].copy_from_slice(&self.input[self.read..self.read + n]);
        self.read += n;
        Ok(n)
    }
}

impl Write for Socket {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.output.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// Application traffic keys, as after a handshake (the same for every call).
fn established() -> KeySchedule<Suite> {
    let mut keys = KeySchedule::new();
    keys.initialize_early_secret(None).unwrap();
    keys.initialize_handshake_secret(&[7; 32]).unwrap();
    keys.initialize_master_secret().unwrap();
    keys
}

/// Encrypts a record as the server: with the client's read keys, from `server`'s copy.
pub(super) fn seal(
    server: &mut ReadKeySchedule<Suite>,
    content_type: ContentType,
    data: &[u8],
) -> Vec<u8> {
    seal_inner(server, &[data, &[content_type as u8]].concat())
}

/// Encrypts `inner` (`TLSInnerPlaintext`: the data, then its content type) as the server.
fn seal_inner(server: &mut ReadKeySchedule<Suite>, inner: &[u8]) -> Vec<u8> {
    let mut inner = inner.to_vec();
    let len = (inner.len() + TAG) as u16;
    let [hi, lo] = len.to_be_bytes();
    let header = [ContentType::ApplicationData as u8, 3, 3, hi, lo];
    let cipher = Cipher::new(server.get_key().unwrap());
    let tag = cipher
        .encrypt_in_place_detached(&server.get_nonce().unwrap(), &header, &mut inner)
        .unwrap();
    server.increment_counter();
    [&header[..], &inner, &tag].concat()
}

/// Decrypts the next record the client wrote, as the server: (inner content type, data).
pub(super) fn open(client: &mut WriteKeySchedule<Suite>, records: &mut &[u8]) -> (u8, Vec<u8>) {
    let len = u16::from_be_bytes([records[3], records[4]]) as usize;
    let (header, rest) = records.split_at(5);
    let (body, rest) = rest.split_at(len);
    let (ciphertext, tag) = body.split_at(len - TAG);
    let mut plaintext = ciphertext.to_vec();
    let cipher = Cipher::new(client.get_key().unwrap());
    cipher
        .decrypt_in_place_detached(
            &client.get_nonce().unwrap(),
            header,
            &mut plaintext,
            tag.into(),
        )
        .expect("a record under the client's current keys");
    client.increment_counter();
    *records = rest;
    let content_type = plaintext.pop().unwrap();
    (content_type, plaintext)
}

fn key_update(requested: bool) -> [u8; 5] {
    [HandshakeType::KeyUpdate as u8, 0, 0, 1, u8::from(requested)]
}

/// An open connection that will read `input`, and the server's copy of the keys.
fn connection<'a>(
    input: impl FnOnce(&mut KeySchedule<Suite>) -> Vec<u8>,
    read_buffer: &'a mut [u8],
    write_buffer: &'a mut [u8],
) -> (TlsConnection<'a, Socket, Suite>, KeySchedule<Suite>) {
    let mut server = established();
    let socket = Socket {
        input: input(&mut server),
        ..Socket::default()
    };
    let mut connection = TlsConnection::new(socket, read_buffer, write_buffer);
    connection.key_schedule = established();
    *connection.opened.get_mut() = true;
    (connection, server)
}

fn refused(handshake: &[u8], expected: HandshakeType) {
    let (mut read_buffer, mut write_buffer) = ([0; 1024], [0; 1024]);
    let (mut connection, mut server) = connection(
        |server| {
            let mut input = seal(server.read_state(), ContentType::ApplicationData, b"before");
            input.extend(seal(server.read_state(), ContentType::Handshake, handshake));
            input
        },
        &mut read_buffer,
        &mut write_buffer,
    );
    let mut buf = [0; 16];
    assert_eq!(connection.read(&mut buf).unwrap(), 6);
    match connection.read(&mut buf) {
        Err(TlsError::UnexpectedHandshakeMessage(t)) => assert_eq!(t, expected),
        other => panic!("expected UnexpectedHandshakeMessage({expected:?}), got {other:?}"),
    }
    // The server gets a fatal unexpected_message alert.
    let mut written = connection.delegate.output.as_slice();
    let alert = open(server.write_state(), &mut written);
    assert_eq!(alert, (ContentType::Alert as u8, vec![2, 10]));
    assert!(written.is_empty());
}

#[test]
fn finished_after_the_handshake_is_refused() {
    refused(
        &[[20, 0, 0, 32].as_slice(), &[0; 32]].concat(),
        HandshakeType::Finished,
    );
}

#[test]
fn certificate_after_the_handshake_is_refused() {
    // Empty request context, empty certificate list.
    refused(&[11, 0, 0, 4, 0, 0, 0, 0], HandshakeType::Certificate);
}

#[test]
fn certificate_request_after_the_handshake_is_refused() {
    // Context "x", extensions: signature_algorithms [ecdsa_secp256r1_sha256].
    let request = [13, 0, 0, 12, 1, b'x', 0, 8, 0, 13, 0, 4, 0, 2, 4, 3];
    refused(&request, HandshakeType::CertificateRequest);
}

#[test]
fn plaintext_handshake_record_after_the_handshake_is_refused() {
    let (mut read_buffer, mut write_buffer) = ([0; 1024], [0; 1024]);
    // A plaintext handshake record: never valid after the handshake.
    let (mut connection, _) = connection(
        |_| vec![22, 3, 3, 0, 8, 11, 0, 0, 4, 0, 0, 0, 0],
        &mut read_buffer,
        &mut write_buffer,
    );
    let error = connection.read(&mut [0; 16]).unwrap_err();
    assert!(
        matches!(
            error,
            TlsError::UnexpectedHandshakeMessage(HandshakeType::Certificate)
        ),
        "{error:?}"
    );
}

#[test]
fn key_update_not_at_the_end_of_its_record_is_refused() {
    let (mut read_buffer, mut write_buffer) = ([0; 1024], [0; 1024]);
    let (mut connection, _) = connection(
        |server| {
            let two = [key_update(false), key_update(false)].concat();
            seal(server.read_state(), ContentType::Handshake, &two)
        },
        &mut read_buffer,
        &mut write_buffer,
    );
    let error = connection.read(&mut [0; 16]).unwrap_err();
    assert!(
        matches!(
            error,
            TlsError::UnexpectedHandshakeMessage(HandshakeType::KeyUpdate)
        ),
        "{error:?}"
    );
}

#[test]
fn malformed_key_update_is_refused() {
    let (mut read_buffer, mut write_buffer) = ([0; 1024], [0; 1024]);
    let (mut connection, _) = connection(
        |server| {
            seal(
                server.read_state(),
                ContentType::Handshake,
                &[24, 0, 0, 1, 2],
            )
        },
        &mut read_buffer,
        &mut write_buffer,
    );
    let error = connection.read(&mut [0; 16]).unwrap_err();
    assert!(matches!(error, TlsError::InvalidKeyUpdate), "{error:?}");
}

#[test]
fn empty_record_is_an_error() {
    let (mut read_buffer, mut write_buffer) = ([0; 1024], [0; 1024]);
    // Encrypted and authenticated, with nothing inside, not even a content type.
    let (mut connection, _) = connection(
        |server| seal_inner(server.read_state(), &[]),
        &mut read_buffer,
        &mut write_buffer,
    );
    let error = connection.read(&mut [0; 16]).unwrap_err();
    assert!(matches!(error, TlsError::InvalidRecord), "{error:?}");
}

fn key_updates(requested: bool) {
    let (mut read_buffer, mut write_buffer) = ([0; 1024], [0; 1024]);
    let (mut connection, mut server) = connection(
        |server| {
            let keys = server.read_state();
            let mut input = seal(keys, ContentType::ApplicationData, b"before");
            for round in 0..2 {
                input.extend(seal(keys, ContentType::Handshake, &key_update(requested)));
                keys.update_traffic_secret().unwrap();
                input.extend(seal(keys, ContentType::ApplicationData, b"after"));
                input.extend(seal(keys, ContentType::ApplicationData, &[round]));
            }
            input
        },
        &mut read_buffer,
        &mut write_buffer,
    );
    let mut buf = [0; 16];
    assert_eq!(connection.read(&mut buf).unwrap(), 6);
    assert_eq!(&buf[..6], b"before");
    for round in 0..2 {
        assert_eq!(connection.read(&mut buf).unwrap(), 5);
        assert_eq!(&buf[..5], b"after");
        assert_eq!(connection.read(&mut buf).unwrap(), 1);
        assert_eq!(buf[0], round);
        connection.write(b"echo").unwrap();
        connection.flush().unwrap();
    }
    let mut written = connection.delegate.output.as_slice();
    let client = server.write_state();
    for _ in 0..2 {
        if requested {
            // Our KeyUpdate (update_not_requested) under the old keys, then the new keys.
            let answer = open(client, &mut written);
            let expected = key_update(false).to_vec();
            assert_eq!(answer, (ContentType::Handshake as u8, expected));
            client.update_traffic_secret().unwrap();
        }
        let echo = open(client, &mut written);
        assert_eq!(echo, (ContentType::ApplicationData as u8, b"echo".to_vec()));
    }
    assert!(written.is_empty());
}

#[test]
fn key_update_not_requested_updates_the_read_keys_only() {
    key_updates(false);
}

#[test]
fn key_update_requested_is_answered_before_the_next_record() {
    key_updates(true);
}

/// Reads `input`'s first record ("before"), then the record that ends the connection, whose
/// error is returned; then checks that the connection is closed: a read or write is refused
/// without touching the socket, so the record after it ("after") is never read.
fn ended_by(
    end: impl FnOnce(&mut ReadKeySchedule<Suite>) -> Vec<u8>,
) -> (TlsError, Vec<u8>, KeySchedule<Suite>) {
    let (mut read_buffer, mut write_buffer) = ([0; 1024], [0; 1024]);
    let (mut connection, server) = connection(
        |server| {
            let keys = server.read_state();
            let mut input = seal(keys, ContentType::ApplicationData, b"before");
            input.extend(end(keys));
            input.extend(seal(keys, ContentType::ApplicationData, b"after"));
            input
        },
        &mut read_buffer,
        &mut write_buffer,
    );
    let mut buf = [0; 16];
    assert_eq!(connection.read(&mut buf).unwrap(), 6);
    let error = connection.read(&mut buf).unwrap_err();
    let (read, written) = (connection.delegate.read, connection.delegate.output.len());
    let again = connection.read(&mut buf).unwrap_err();
    assert!(matches!(again, TlsError::MissingHandshake), "{again:?}");
    let write = connection.write(b"x").unwrap_err();
    assert!(matches!(write, TlsError::MissingHandshake), "{write:?}");
    assert!(matches!(connection.flush(), Ok(())));
    assert_eq!(connection.delegate.read, read, "read after the end");
    assert_eq!(
        connection.delegate.output.len(),
        written,
        "written after the end"
    );
    (error, connection.delegate.output, server)
}

#[test]
fn an_alert_after_the_handshake_is_reported_and_closes_the_connection() {
    // certificate_required, as a broker refuses a missing client certificate.
    let (error, written, _) = ended_by(|keys| seal(keys, ContentType::Alert, &[2, 116]));
    assert!(
        matches!(
            error,
            TlsError::AlertReceived(AlertLevel::Fatal, AlertDescription::CertificateRequired)
        ),
        "{error:?}"
    );
    // An alert is not answered with one.
    assert!(written.is_empty(), "{written:?}");
}

#[test]
fn a_warning_level_error_alert_also_ends_the_connection() {
    // RFC 8446 §6.2: an error alert whatever its level.
    let (error, written, _) = ended_by(|keys| seal(keys, ContentType::Alert, &[1, 42]));
    assert!(
        matches!(
            error,
            TlsError::AlertReceived(AlertLevel::Warning, AlertDescription::BadCertificate)
        ),
        "{error:?}"
    );
    assert!(written.is_empty(), "{written:?}");
}

#[test]
fn close_notify_ends_the_connection() {
    let (error, written, _) = ended_by(|keys| seal(keys, ContentType::Alert, &[1, 0]));
    assert!(matches!(error, TlsError::ConnectionClosed), "{error:?}");
    assert!(written.is_empty(), "{written:?}");
}

#[test]
fn user_canceled_is_skipped_for_the_close_notify_that_follows() {
    let (error, written, _) = ended_by(|keys| {
        let mut records = seal(keys, ContentType::Alert, &[1, 90]);
        records.extend(seal(keys, ContentType::Alert, &[1, 0]));
        records
    });
    assert!(matches!(error, TlsError::ConnectionClosed), "{error:?}");
    assert!(written.is_empty(), "{written:?}");
}

#[test]
fn change_cipher_spec_after_the_handshake_is_refused() {
    // A plaintext ChangeCipherSpec record: allowed only until the server's Finished.
    let (error, written, mut server) = ended_by(|_| vec![20, 3, 3, 0, 1, 1]);
    assert!(matches!(error, TlsError::InvalidRecord), "{error:?}");
    // The server gets a fatal unexpected_message alert, and nothing after it.
    let mut written = written.as_slice();
    let alert = open(server.write_state(), &mut written);
    assert_eq!(alert, (ContentType::Alert as u8, vec![2, 10]));
    assert!(written.is_empty());
}
