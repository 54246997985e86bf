//! Mutual TLS against a real Mosquitto with `require_certificate true` and the client CA of
//! `certs/` (`client-ca`): the device's certificate from a PEM key or from a secure-element
//! stand-in connects and exchanges QoS 1 messages; no certificate, an expired one and one from
//! another CA are refused, each with its clear error on the client side, and nothing they send
//! reaches a subscriber. Also ALPN in the ClientHello (seen by `openssl s_server`), and the
//! CLI's `--cert`, `--key` and `--tls-alpn`.

// VerifyError carries its facts inline (no heap on the device side).
#![allow(clippy::result_large_err)]

#[macro_use]
mod support;

use support::unix_now;

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant as StdInstant};

use embedded_io::ErrorKind;
use embedded_mqtts::host::TcpTransport;
use embedded_mqtts::tls::{
    ClientAuth, ClientCertificateRefused, ClientError, ClientIdentity, ClientSigner, ConnectError,
    Pin, PinnedProvider, SignerError, StreamError, TlsOptions, TlsSocket, TlsStream, ValidityTime,
    READ_BUFFER,
};
use embedded_mqtts::{ConnectOptions, Connection, Event, QoS, Storage};
use p256::ecdsa::signature::hazmat::PrehashSigner;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::DecodePrivateKey;
use support::{
    cert_path, example_binary, read_cert, Broker, BrokerConfig, HeldWrites, Subscriber, TlsListener,
};

/// The TLS listener that requires a client certificate issued by `client-ca`.
const MTLS: &str = "mtls";

/// Mosquitto serving `p256-leaf` (the client pins `p256-root`) on a listener that requires a
/// client certificate from `client-ca`; its plain listener is for the checking subscriber.
fn broker() -> Broker {
    Broker::start(
        BrokerConfig::new().tls(
            TlsListener::new(MTLS, "p256-leaf.crt", "p256-leaf.key")
                .cafile("client-ca.crt")
                .require_certificate(),
        ),
    )
}

/// The server CA the client pins.
fn server_ca() -> &'static [&'static [u8]] {
    let der: &'static [u8] = read_cert("p256-root.der").leak();
    Box::leak(Box::new([der]))
}

fn leak(bytes: Vec<u8>) -> &'static [u8] {
    bytes.leak()
}

/// The identity of client certificate `name` (`client-good`, ...) with its PEM key file `key`.
fn identity(name: &str, key: &str) -> ClientIdentity<'static> {
    let cert = leak(read_cert(&format!("{name}.der")));
    ClientIdentity::from_p256_key_pem(cert, &read_cert(key))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// What one connection attempt came to.
#[derive(Debug)]
enum Outcome {
    /// CONNACK, then the QoS 1 message to ourselves came back.
    Exchanged { auth: ClientAuth },
    /// The TLS handshake or MQTT CONNECT failed.
    Failed(ClientError),
}

/// Expects the connection to be refused because of the client certificate (or its absence).
///
/// Where it shows depends on timing, and both places give the same refusal: OpenSSL checks the
/// client's Certificate as soon as it arrives, and closes the connection; if the client is
/// still writing its CertificateVerify or Finished then (signing takes a while), the handshake
/// fails; otherwise the client's handshake is complete and MQTT CONNECT fails on the alert.
/// `tls::connect` reports both as the TLS layer's refusal, never as an MQTT error.
fn expect_refused(outcome: Outcome, presented: bool, what: &str) -> ClientCertificateRefused {
    let refusal = match outcome {
        Outcome::Failed(ClientError::ClientCertificateRefused(refusal)) => {
            eprintln!("{what}: refused: {refusal}");
            refusal
        }
        other => panic!("{what}: expected a client certificate refusal, got {other:?}"),
    };
    // A certificate was presented (`ClientAuth::Presented`), or the broker's request was
    // answered without one (`ClientAuth::RequestedWithoutIdentity`).
    assert_eq!(refusal.presented, presented, "{what}");
    refusal
}

/// Expects `refusal` to name `alert` (`"UnknownCa (48)"`), or, when the connection broke while
/// the client still wrote its last handshake records (timing decides: see [`expect_refused`]),
/// to say that the broker closed it.
fn expect_alert_or_close(refusal: &ClientCertificateRefused, alert: &str) {
    let shown = refusal.to_string();
    assert!(
        shown.ends_with(&format!(": it sent alert {alert}"))
            || shown.contains(": it closed the connection ("),
        "expected alert {alert} or a closed connection: {shown}"
    );
}

/// Sends CONNECT and PUBLISH in one go right after the handshake (not waiting for CONNACK),
/// with each refused certificate: the broker must drop them unread.
#[test]
fn nothing_pipelined_after_a_refused_handshake_gets_through() {
    let broker = broker();
    let subscriber = Subscriber::spawn(broker.port(), "mtls/#", 1, None);
    let cases: [(Option<ClientIdentity<'static>>, &str); 3] = [
        (None, "mtls/none"),
        (
            Some(identity("client-expired", "client-expired.key")),
            "mtls/expired",
        ),
        (
            Some(identity("client-other-ca", "client-other-ca.key")),
            "mtls/other-ca",
        ),
    ];
    let mut pipelined = 0;
    for (identity, topic) in cases {
        let pins = [Pin::Ca(server_ca())];
        let mut provider =
            PinnedProvider::new(rand_core::OsRng, &pins).with_client_identity(identity);
        let transport = TcpTransport::connect(("127.0.0.1", broker.tls_port(MTLS))).unwrap();
        let socket = TlsSocket::new(transport);
        let mut read_buffer = vec![0; READ_BUFFER];
        let mut write_buffer = vec![0; 2048];
        let mut stream = match TlsStream::connect(
            &socket,
            &mut read_buffer,
            &mut write_buffer,
            &TlsOptions::new("localhost", ValidityTime::UnixSeconds(unix_now())),
            &mut provider,
        ) {
            Ok(stream) => stream,
            // Refused while the handshake was still being written: nothing else was sent.
            Err(ConnectError::ClientCertificateRefused(_)) => continue,
            Err(e) => panic!("{topic}: {e:?}"),
        };
        pipelined += 1;
        let mut bytes = connect_packet("pipelined");
        bytes.extend(publish_qos0(topic, b"should never arrive"));
        let error = embedded_io::Write::write_all(&mut stream, &bytes)
            .and_then(|()| embedded_io::Write::flush(&mut stream))
            .and_then(|()| {
                let mut buf = [0u8; 64];
                embedded_io::Read::read(&mut stream, &mut buf)
                    .map(|n| panic!("{topic}: read {n} bytes"))
            })
            .unwrap_err();
        assert!(
            matches!(error, StreamError::ClientCertificateRefused(_)),
            "{topic}: {error:?}"
        );
        assert_eq!(
            embedded_io::Error::kind(&error),
            ErrorKind::PermissionDenied
        );
    }
    eprintln!("{pipelined} of 3 refused clients completed their handshake and pipelined");
    assert!(
        subscriber.collect_for(Duration::from_secs(1)).is_empty(),
        "a message pipelined after a refused handshake got through"
    );
    assert!(
        !broker.log().contains("Received PUBLISH from pipelined"),
        "{}",
        broker.log()
    );
}

/// MQTT 3.1.1 CONNECT, clean session, keep-alive 60 s.
fn connect_packet(client_id: &str) -> Vec<u8> {
    let mut body = vec![0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 60];
    body.extend((client_id.len() as u16).to_be_bytes());
    body.extend(client_id.as_bytes());
    let mut packet = vec![0x10, body.len() as u8];
    packet.extend(body);
    packet
}

/// MQTT PUBLISH with QoS 0.
fn publish_qos0(topic: &str, payload: &[u8]) -> Vec<u8> {
    let mut body = (topic.len() as u16).to_be_bytes().to_vec();
    body.extend(topic.as_bytes());
    body.extend(payload);
    let mut packet = vec![0x30, body.len() as u8];
    packet.extend(body);
    packet
}

/// A software stand-in for a secure element: the key never leaves it (the field is private
/// and nothing reads it but `sign_p256_sha256`); it counts its signatures.
struct SoftSecureElement {
    key: SigningKey,
    signatures: usize,
}

impl SoftSecureElement {
    /// "Provisioning": the key is loaded into the element, and only the element keeps it.
    fn provision(pem: &[u8]) -> Self {
        let mut der = [0u8; 256];
        let (_label, der) = pem_rfc7468::decode(pem, &mut der).expect("a PEM key");
        SoftSecureElement {
            key: SigningKey::from_pkcs8_der(der).expect("a PKCS#8 P-256 key"),
            signatures: 0,
        }
    }
}

impl ClientSigner for SoftSecureElement {
    fn sign_p256_sha256(&mut self, digest: &[u8; 32]) -> Result<[u8; 64], SignerError> {
        self.signatures += 1;
        let signature: Signature = self
            .key
            .sign_prehash(digest)
            .map_err(|_| SignerError::new("secure element: signing failed"))?;
        Ok(signature.to_bytes().into())
    }
}

both_drivers! {
    /// TLS to the `mtls` listener with `identity` (or none), then CONNECT; when accepted,
    /// subscribe, publish `payload` with QoS 1 to `topic`, and receive it back.
    fn attempt(
        broker: &Broker,
        identity: Option<ClientIdentity<'_>>,
        alpn: Option<&[&[u8]]>,
        topic: &str,
        payload: &str,
    ) -> Outcome {
        let pins = [Pin::Ca(server_ca())];
        let mut provider = PinnedProvider::new(rand_core::OsRng, &pins)
        .with_client_identity(identity);
        let mut transport = TcpTransport::connect(("127.0.0.1", broker.tls_port(MTLS))).unwrap();
        transport.set_ready_wait(Duration::from_millis(5));
        let socket = TlsSocket::new(transport);
        let mut read_buffer = vec![0; READ_BUFFER];
        let mut write_buffer = vec![0; 2048];
        let mut tls_options = TlsOptions::new("localhost", ValidityTime::UnixSeconds(unix_now()));
        if let Some(protocols) = alpn {
            tls_options = tls_options.alpn(protocols);
        }
        let mut storage: Box<Storage<4, 1024, 1024, 1024>> = Box::default();
        let mut conn = Connection::new(storage.buffers());
        let options = ConnectOptions::new("mtls-test");
        let connected = call!(tls_connect(
            &socket,
            &mut read_buffer,
            &mut write_buffer,
            &tls_options,
            &mut provider,
            &mut conn,
            &options,
        ));
        let mut client = match connected {
            Ok((client, _)) => client,
            Err(e) => return Outcome::Failed(e),
        };
        let auth = client.transport().client_auth();
        call!(client.subscribe(&[(topic, QoS::AtLeastOnce)])).unwrap();
        call!(client.publish(topic, payload.as_bytes(), QoS::AtLeastOnce, false)).unwrap();
        let mut received = None;
        for _ in 0..200 {
            if let Some(Event::Message(m)) = call!(client.wait_event(50)).unwrap() {
                received = Some(m.payload.to_vec());
                break;
            }
        }
        assert_eq!(
            received.as_deref(),
            Some(payload.as_bytes()),
            "message lost"
        );
        call!(client.disconnect()).unwrap();
        call!(client.into_transport().close()).unwrap();
        Outcome::Exchanged { auth }
    }

    #[test]
    fn good_certificate_connects_and_exchanges_qos1() {
        let broker = broker();
        // An independent subscriber on the plain listener sees what the device publishes.
        let subscriber = Subscriber::spawn(broker.port(), "mtls/#", 2, None);
        // The PKCS#8 key, and the SEC1 ("EC PRIVATE KEY") form of the same key.
        for key in ["client-good.key", "client-good.sec1.key"] {
            let topic = format!("mtls/{key}");
            let outcome = attempt(
                &broker,
                Some(identity("client-good", key)),
                None,
                &topic,
                "from the device",
            );
            assert!(
                matches!(
                    outcome,
                    Outcome::Exchanged {
                        auth: ClientAuth::Presented
                    }
                ),
                "{key}: {outcome:?}"
            );
        }
        let messages = subscriber.wait();
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert!(messages.iter().all(|m| m.text() == "from the device"));
        // Mosquitto names the device by its certificate's CN only with use_identity_as_username;
        // here it simply accepted the handshake.
        assert!(
            broker.log().contains("New client connected"),
            "{}",
            broker.log()
        );
    }

    #[test]
    fn missing_expired_and_foreign_certificates_are_refused() {
        let broker = broker();
        let subscriber = Subscriber::spawn(broker.port(), "mtls/#", 1, None);

        let none = expect_refused(
            attempt(&broker, None, None, "mtls/none", "x"),
            false,
            "no certificate",
        );
        assert!(
            none.to_string()
                .starts_with("broker requires a client certificate and none is configured"),
            "{none}"
        );
        expect_alert_or_close(&none, "CertificateRequired (116)");
        let expired = expect_refused(
            attempt(
                &broker,
                Some(identity("client-expired", "client-expired.key")),
                None,
                "mtls/expired",
                "x",
            ),
            true,
            "expired",
        );
        assert!(
            expired
                .to_string()
                .starts_with("broker refused the client certificate"),
            "{expired}"
        );
        expect_alert_or_close(&expired, "CertificateExpired (45)");
        let other_ca = expect_refused(
            attempt(
                &broker,
                Some(identity("client-other-ca", "client-other-ca.key")),
                None,
                "mtls/other-ca",
                "x",
            ),
            true,
            "another CA",
        );
        expect_alert_or_close(&other_ca, "UnknownCa (48)");
        // The broker's side, in its log: OpenSSL's verdicts (Mosquitto 2.0.11 does not log the
        // verification error's detail), one per refused client, once it has written them.
        let log = broker.log_once("certificate verify failed", 2);
        for (reason, times) in [
            ("peer did not return a certificate", 1),
            ("certificate verify failed", 2),
        ] {
            assert_eq!(log.matches(reason).count(), times, "{reason:?} in:\n{log}");
        }
        assert!(
            subscriber.collect_for(Duration::from_secs(1)).is_empty(),
            "a refused client's message got through"
        );
    }

    /// Connects to the `mtls` listener with client certificate `name` (or none), sends CONNECT,
    /// and returns the refusal the stream saw then. The socket holds its writes until the
    /// client reads (`support::HeldWrites`): the client's last handshake flight and its CONNECT
    /// reach the broker at once, so the handshake completes on the client's side whatever the
    /// machine's speed, and the broker's alert is what the client reads. (Written record by
    /// record, the flight of a client that signs a CertificateVerify loses the race with the
    /// broker's close on a loaded machine; `missing_expired_and_foreign_certificates_are_refused`
    /// covers that timing, where either the alert or the closed connection is reported.)
    ///
    /// With `reset_at_connect`, the CONNECT's flush fails as on a socket the broker has already
    /// reset (`support::ResetSwitch`), with the alert waiting in it: the stream must read it
    /// there (the `std` build does; see `TlsStream`'s flush).
    fn refused_after_the_handshake(
        broker: &Broker,
        name: Option<&str>,
        reset_at_connect: bool,
    ) -> ClientCertificateRefused {
        let identity = name.map(|name| identity(name, &format!("{name}.key")));
        let pins = [Pin::Ca(server_ca())];
        let mut provider =
            PinnedProvider::new(rand_core::OsRng, &pins).with_client_identity(identity);
        let mut transport = TcpTransport::connect(("127.0.0.1", broker.tls_port(MTLS))).unwrap();
        transport.set_ready_wait(Duration::from_millis(5));
        let held = HeldWrites::new(transport);
        let switch = held.reset_switch();
        let socket = TlsSocket::new(held);
        let (mut read_buffer, mut write_buffer) = (vec![0; READ_BUFFER], vec![0; 2048]);
        let options = TlsOptions::new("localhost", ValidityTime::UnixSeconds(unix_now()));
        let stream = call!(Tls::<HeldWrites<TcpTransport>>::connect(
            &socket,
            &mut read_buffer,
            &mut write_buffer,
            &options,
            &mut provider,
        ))
        .unwrap_or_else(|e| panic!("{name:?}: the handshake failed with its writes held: {e}"));
        if reset_at_connect {
            switch.reset_at_next_flush();
        }
        let mut storage: Box<Storage<4, 1024, 1024, 1024>> = Box::default();
        let mut conn = Connection::new(storage.buffers());
        let mut client = client(stream, &mut conn);
        let error = call!(client.connect(&ConnectOptions::new("mtls-alert"))).unwrap_err();
        eprintln!("{name:?} (reset at CONNECT: {reset_at_connect}): CONNECT: {error:?}");
        client
            .transport()
            .client_auth_refusal()
            .unwrap_or_else(|| panic!("{name:?}: {error:?} and no refusal"))
    }

    /// After a completed handshake, the refusal names the alert Mosquitto 2.0.11 sent with
    /// OpenSSL 3.0 (as `openssl s_client -msg` shows it), read when CONNECT waits for its
    /// CONNACK, and read after the CONNECT's flush failed on a reset socket (see
    /// [`refused_after_the_handshake`] for why the writes are held).
    #[test]
    fn a_refusal_names_the_alert_the_broker_sent() {
        let broker = broker();
        for (name, expected) in [
            (
                None,
                "broker requires a client certificate and none is configured: \
                 it sent alert CertificateRequired (116)",
            ),
            (
                Some("client-other-ca"),
                "broker refused the client certificate: it sent alert UnknownCa (48)",
            ),
            (
                Some("client-expired"),
                "broker refused the client certificate: it sent alert CertificateExpired (45)",
            ),
        ] {
            for reset_at_connect in [false, true] {
                let refusal = refused_after_the_handshake(&broker, name, reset_at_connect);
                let case = format!("{name:?}, reset at CONNECT: {reset_at_connect}");
                assert_eq!(refusal.to_string(), expected, "{case}");
                assert_eq!(refusal.presented, name.is_some(), "{case}");
            }
        }
    }

    #[test]
    fn secure_element_signer_completes_the_handshake() {
        let broker = broker();
        let mut element = SoftSecureElement::provision(&read_cert("client-good.key"));
        let cert = leak(read_cert("client-good.der"));
        let identity = ClientIdentity::with_signer(cert, &mut element).unwrap();
        let outcome = attempt(&broker, Some(identity), None, "mtls/se", "signed by the SE");
        assert!(
            matches!(
                outcome,
                Outcome::Exchanged {
                    auth: ClientAuth::Presented
                }
            ),
            "{outcome:?}"
        );
        assert_eq!(element.signatures, 1);
    }

    #[test]
    fn a_signer_with_the_wrong_key_fails_before_any_mqtt_byte() {
        let broker = broker();
        // The element holds client-expired's key, the certificate is client-good's.
        let mut element = SoftSecureElement::provision(&read_cert("client-expired.key"));
        let cert = leak(read_cert("client-good.der"));
        let identity = ClientIdentity::with_signer(cert, &mut element).unwrap();
        let outcome = attempt(&broker, Some(identity), None, "mtls/wrong", "x");
        match outcome {
            Outcome::Failed(ClientError::Tls(ConnectError::ClientSigner(e))) => {
                assert!(e.reason.contains("wrong key"), "{e}");
                let shown = ConnectError::ClientSigner(e).to_string();
                assert!(
                    shown.starts_with("cannot prove possession of the client key"),
                    "{shown}"
                );
            }
            other => panic!("expected a signer error, got {other:?}"),
        }
    }

    #[test]
    fn alpn_is_offered_and_mosquitto_ignores_it() {
        // Mosquitto 2.0 has no ALPN setting on listeners (only bridge_alpn): the handshake goes on.
        let broker = broker();
        let outcome = attempt(
            &broker,
            Some(identity("client-good", "client-good.key")),
            Some(&[b"mqtt"]),
            "mtls/alpn",
            "with ALPN",
        );
        assert!(matches!(outcome, Outcome::Exchanged { .. }), "{outcome:?}");
    }
}

/// `openssl s_server` on a free port: TLS 1.3, serving `p256-leaf`, requiring a client
/// certificate from `client-ca` (`-Verify`), selecting `mqtt` by ALPN; it prints what the
/// ClientHello offered ("ALPN protocols advertised by the client: ...") and the application
/// data it receives.
struct OpensslServer {
    child: Child,
    port: u16,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl OpensslServer {
    fn start() -> OpensslServer {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let mut child = Command::new("openssl")
            .args(["s_server", "-accept", &format!("127.0.0.1:{port}")])
            .arg("-cert")
            .arg(cert_path("p256-leaf.crt"))
            .arg("-key")
            .arg(cert_path("p256-leaf.key"))
            .args(["-Verify", "1", "-CAfile"])
            .arg(cert_path("client-ca.crt"))
            .args(["-alpn", "mqtt", "-tls1_3", "-naccept", "1"])
            // s_server stops when its stdin ends: the pipe stays open until the drop.
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("run openssl s_server (scripts/setup.sh installs openssl)");
        let stdout = child.stdout.take().unwrap();
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = OpensslServer {
            child,
            port,
            lines,
            seen: Vec::new(),
        };
        server.wait_for("ACCEPT");
        server
    }

    /// Waits up to 10 s for a line containing `text`; returns everything seen so far.
    fn wait_for(&mut self, text: &str) -> String {
        let deadline = StdInstant::now() + Duration::from_secs(10);
        while !self.seen.iter().any(|l| l.contains(text)) {
            let left = deadline.saturating_duration_since(StdInstant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => panic!(
                    "openssl s_server did not print {text:?}; it printed:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
        self.seen.join("\n")
    }
}

impl Drop for OpensslServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// TLS with the good client identity to an `openssl s_server`, offering `alpn`; sends one
/// line of application data and returns what the server printed up to it.
fn handshake_with_openssl(alpn: Option<&[&[u8]]>, line: &str) -> String {
    let mut server = OpensslServer::start();
    let pins = [Pin::Ca(server_ca())];
    let mut provider = PinnedProvider::new(rand_core::OsRng, &pins)
        .with_client_identity(identity("client-good", "client-good.key"));
    let transport = TcpTransport::connect(("127.0.0.1", server.port)).unwrap();
    let socket = TlsSocket::new(transport);
    let mut read_buffer = vec![0; READ_BUFFER];
    let mut write_buffer = vec![0; 2048];
    let mut options = TlsOptions::new("localhost", ValidityTime::UnixSeconds(unix_now()));
    if let Some(protocols) = alpn {
        options = options.alpn(protocols);
    }
    let mut stream = TlsStream::connect(
        &socket,
        &mut read_buffer,
        &mut write_buffer,
        &options,
        &mut provider,
    )
    .unwrap_or_else(|e| panic!("handshake with openssl s_server: {e}"));
    assert_eq!(stream.client_auth(), ClientAuth::Presented);
    embedded_io::Write::write_all(&mut stream, format!("{line}\n").as_bytes()).unwrap();
    embedded_io::Write::flush(&mut stream).unwrap();
    server.wait_for(line)
}

#[test]
fn alpn_protocols_are_in_the_client_hello() {
    let seen = handshake_with_openssl(Some(&[b"x-not-this", b"mqtt"]), "data after ALPN");
    assert!(
        seen.contains("ALPN protocols advertised by the client: x-not-this, mqtt"),
        "{seen}"
    );
    assert!(seen.contains("ALPN protocols selected: mqtt"), "{seen}");
}

#[test]
fn without_alpn_the_client_hello_has_none() {
    let seen = handshake_with_openssl(None, "data without ALPN");
    assert!(!seen.contains("ALPN protocols advertised"), "{seen}");
}

/// Run `mqtt ARGS`; returns (success, stdout, stderr).
fn mqtt(args: &[&str]) -> (bool, String, String) {
    support::run_example("mqtt", args)
}

/// `mqtt pub` over the `mtls` listener, pinning `p256-root`, with `extra` options
/// (`--cert`, `--key`, `--tls-alpn`).
fn cli_publish(broker: &Broker, topic: &str, extra: &[&str]) -> (bool, String, String) {
    let port = broker.tls_port(MTLS).to_string();
    let ca = cert_path("p256-root.crt");
    let mut args = vec![
        "pub",
        "-h",
        "localhost",
        "-p",
        &port,
        "--cafile",
        ca.to_str().unwrap(),
        "-t",
        topic,
        "-m",
        "from the CLI",
        "-q",
        "1",
    ];
    args.extend_from_slice(extra);
    mqtt(&args)
}

fn path(name: &str) -> String {
    cert_path(name).to_str().unwrap().to_owned()
}

#[test]
fn cli_cert_and_key_connect_to_a_broker_that_requires_them() {
    // Built before the subscriber starts its 20-second watch.
    example_binary("mqtt");
    let broker = broker();
    let subscriber = Subscriber::spawn(broker.port(), "cli/#", 2, None);
    let cert = path("client-good.crt");
    for (topic, key, alpn) in [
        ("cli/pkcs8", path("client-good.key"), None),
        ("cli/sec1-alpn", path("client-good.sec1.key"), Some("mqtt")),
    ] {
        let mut extra = vec!["--cert", &cert, "--key", &key, "-d"];
        if let Some(alpn) = alpn {
            extra.extend(["--tls-alpn", alpn]);
        }
        let (ok, _, err) = cli_publish(&broker, topic, &extra);
        assert!(ok, "{topic}: {err}");
        assert!(
            err.contains("broker asked for a client certificate; sent"),
            "{topic}: {err}"
        );
    }
    let messages = subscriber.wait();
    let topics: Vec<&str> = messages.iter().map(|m| m.topic.as_str()).collect();
    assert_eq!(topics, ["cli/pkcs8", "cli/sec1-alpn"]);
    assert!(messages.iter().all(|m| m.text() == "from the CLI"));
}

#[test]
fn cli_refusals_say_what_was_refused() {
    example_binary("mqtt");
    let broker = broker();
    let subscriber = Subscriber::spawn(broker.port(), "cli/#", 1, None);

    // The line names the alert Mosquitto sent, or says how it closed the connection when it
    // did so before the client read the alert (see `expect_alert_or_close`).
    let said = |err: &str, refusal: &str, alert: &str, hint: &str| {
        let line = err.trim();
        let sent = format!("mqtt: TLS: {refusal}: it sent alert {alert} ({hint})");
        let closed = format!("mqtt: TLS: {refusal}: it closed the connection (");
        assert!(
            line == sent || (line.starts_with(&closed) && line.ends_with(&format!(") ({hint})"))),
            "expected `{sent}` or a closed connection: {line}"
        );
    };
    let (ok, _, err) = cli_publish(&broker, "cli/none", &[]);
    assert!(!ok);
    said(
        &err,
        "broker requires a client certificate and none is configured",
        "CertificateRequired (116)",
        "give one with --cert and --key",
    );
    for (name, alert) in [
        ("client-expired", "CertificateExpired (45)"),
        ("client-other-ca", "UnknownCa (48)"),
    ] {
        let cert = path(&format!("{name}.crt"));
        let key = path(&format!("{name}.key"));
        let (ok, _, err) = cli_publish(&broker, "cli/refused", &["--cert", &cert, "--key", &key]);
        assert!(!ok);
        let hint = format!("--cert {cert}");
        said(&err, "broker refused the client certificate", alert, &hint);
    }
    // A key that is not the certificate's: refused locally, before connecting.
    let cert = path("client-good.crt");
    let key = path("client-expired.key");
    let (ok, _, err) = cli_publish(&broker, "cli/mismatch", &["--cert", &cert, "--key", &key]);
    assert!(!ok);
    assert!(
        err.contains("private key does not match the client certificate"),
        "{err}"
    );
    assert!(
        subscriber.collect_for(Duration::from_secs(1)).is_empty(),
        "a refused CLI's message got through"
    );
}
