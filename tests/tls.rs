//! Every certificate in `certs/`, presented by a real Mosquitto over TLS 1.3, to the blocking
//! and the async client: good ones connect and exchange QoS 1 messages; bad ones are refused
//! with the right error, before any MQTT byte is sent, and the client's TLS alert for each
//! refusal is in the broker's log (`certificate_expired`, `unknown_ca`, `bad_certificate`).

// VerifyError carries its facts inline (no heap on the device side).
#![allow(clippy::result_large_err)]

#[macro_use]
mod support;

use support::unix_now;

use std::time::Duration;

use embedded_mqtts::host::TcpTransport;
use embedded_mqtts::tls::{
    spki_sha256, CertificateSummary, ConnectError, FlushPolicy, HostCheck, Pin, PinnedProvider,
    TlsOptions, TlsSocket, TlsStream, ValidityTime, VerifyError, VerifyOptions, READ_BUFFER,
};
use embedded_mqtts::{ConnectOptions, Connection, Event, QoS, Storage};
use support::{read_cert, Broker, BrokerConfig, TlsListener};

/// Every certificate the broker serves in these tests, one TLS listener each.
const SERVED: &[&str] = &[
    "rsa-leaf",
    "p256-leaf",
    "rsa-pss-leaf",
    "expired",
    "not-yet-valid",
    "wrong-host",
    "other-ca",
    "self-signed",
    "int-not-ca",
    "sha1-leaf",
    "cn-only",
];

fn broker() -> Broker {
    let mut config = BrokerConfig::new();
    for name in SERVED {
        let listener = TlsListener::serving(name);
        config = config.tls(if *name == "sha1-leaf" {
            listener.allow_sha1_certificates()
        } else {
            listener
        });
    }
    Broker::start(config)
}

fn ca_pin(name: &str) -> &'static [&'static [u8]] {
    let der: &'static [u8] = read_cert(name).leak();
    Box::leak(Box::new([der]))
}

/// What a handshake is verified with: the provider's policy and the handshake's time.
#[derive(Clone, Copy)]
struct Check {
    options: VerifyOptions,
    time: ValidityTime,
}

impl Check {
    fn allow_common_name(mut self) -> Self {
        self.options = self.options.allow_common_name();
        self
    }
}

/// Everything checked, at `time`.
fn at(time: ValidityTime) -> Check {
    Check {
        options: VerifyOptions::new(),
        time,
    }
}

fn at_now() -> Check {
    at(ValidityTime::UnixSeconds(unix_now()))
}

/// How Mosquitto (OpenSSL 3) logs the alert a client sent: `OpenSSL Error[0]: error:0A000415:SSL
/// routines::sslv3 alert certificate expired`.
const CERTIFICATE_EXPIRED: &str = "alert certificate expired";
const BAD_CERTIFICATE: &str = "alert bad certificate";
const UNKNOWN_CA: &str = "alert unknown ca";

/// How many times each alert is in the broker's log so far.
#[derive(Default)]
struct AlertsLogged(std::cell::RefCell<std::collections::HashMap<&'static str, usize>>);

impl AlertsLogged {
    /// The broker logs `alert` once more, for the refusal of `case`.
    fn expect(&self, broker: &Broker, alert: &'static str, case: &str) {
        let mut counts = self.0.borrow_mut();
        let count = counts.entry(alert).or_default();
        *count += 1;
        let log = broker.log_once(alert, *count);
        assert_eq!(
            log.matches(alert).count(),
            *count,
            "{case}: {alert:?} in:\n{log}"
        );
    }
}

fn refusal(result: Result<(), ConnectError>) -> VerifyError {
    match result {
        Err(ConnectError::Verify(e)) => e,
        other => panic!("expected a verification refusal, got {other:?}"),
    }
}

both_drivers! {
    /// Connect over TLS to the listener serving `served`, verifying with `pin` and `check`
    /// under `server_name`; on success, run MQTT over it: subscribe, publish QoS 1 to ourselves,
    /// receive it. Returns the handshake's refusal, if any.
    fn exchange(
        broker: &Broker,
        served: &str,
        pin: Pin<'_>,
        check: Check,
        server_name: &str,
    ) -> Result<(), ConnectError> {
        let pins = [pin];
        let mut provider = PinnedProvider::new(rand_core::OsRng, &pins).with_options(check.options);
        let mut transport = TcpTransport::connect(("127.0.0.1", broker.tls_port(served))).unwrap();
        transport.set_ready_wait(Duration::from_millis(5));
        let socket = TlsSocket::new(transport);
        let mut read_buffer = vec![0; READ_BUFFER];
        let mut write_buffer = vec![0; 2048];
        let tls_options = TlsOptions::new(server_name, check.time);
        let mut storage: Box<Storage<4, 1024, 1024, 1024>> = Box::default();
        let mut conn = Connection::new(storage.buffers());
        let topic = format!("tls/{served}");
        let payload = format!("over TLS from {served}");
        let stream = call!(Tls::connect(
            &socket,
            &mut read_buffer,
            &mut write_buffer,
            &tls_options,
            &mut provider,
        ))?;
        let mut client = client(stream, &mut conn);
        call!(client.connect(&ConnectOptions::new("tls-test"))).unwrap();
        call!(client.subscribe(&[(&topic, QoS::AtLeastOnce)])).unwrap();
        call!(client.publish(&topic, payload.as_bytes(), QoS::AtLeastOnce, false)).unwrap();
        let mut received = None;
        for _ in 0..200 {
            if let Some(Event::Message(m)) = call!(client.wait_event(50)).unwrap() {
                received = Some(m.payload.to_vec());
                break;
            }
        }
        call!(client.disconnect()).unwrap();
        call!(client.into_transport().close()).unwrap();
        assert_eq!(
            received,
            Some(payload.into_bytes()),
            "{served}: message lost"
        );
        Ok(())
    }

    #[test]
    fn good_certificates_connect_and_exchange_messages() {
        let broker = broker();
        let rsa = Pin::Ca(ca_pin("rsa-root.der"));
        let p256 = Pin::Ca(ca_pin("p256-root.der"));
        for (served, pin) in [
            ("rsa-leaf", rsa),
            ("p256-leaf", p256),
            ("rsa-pss-leaf", rsa),
        ] {
            exchange(&broker, served, pin, at_now(), "localhost")
                .unwrap_or_else(|e| panic!("{served}: {e}"));
        }
        // The IP address SAN, when the server is named by its address.
        exchange(&broker, "rsa-leaf", rsa, at_now(), "127.0.0.1").unwrap();
        // Several CAs pinned: any of them will do.
        let both: &'static [&'static [u8]] = Box::leak(Box::new([
            read_cert("p256-root.der").leak() as &[u8],
            read_cert("rsa-root.der").leak(),
        ]));
        exchange(&broker, "rsa-leaf", Pin::Ca(both), at_now(), "localhost").unwrap();
    }

    #[test]
    fn bad_certificates_are_refused_with_their_reason() {
        let broker = broker();
        let rsa = Pin::Ca(ca_pin("rsa-root.der"));
        let alerts = AlertsLogged::default();
        type Expect = fn(&VerifyError) -> bool;
        let cases: Vec<(&str, Expect, &str)> = vec![
            (
                "expired",
                |e| matches!(e, VerifyError::Expired { .. }),
                CERTIFICATE_EXPIRED,
            ),
            (
                "not-yet-valid",
                |e| matches!(e, VerifyError::NotYetValid { .. }),
                CERTIFICATE_EXPIRED,
            ),
            (
                "wrong-host",
                |e| matches!(e, VerifyError::NameMismatch { .. }),
                BAD_CERTIFICATE,
            ),
            (
                "other-ca",
                |e| matches!(e, VerifyError::UnknownIssuer { .. }),
                UNKNOWN_CA,
            ),
            (
                "self-signed",
                |e| matches!(e, VerifyError::UnknownIssuer { .. }),
                UNKNOWN_CA,
            ),
            (
                "int-not-ca",
                |e| matches!(e, VerifyError::NotCa { .. }),
                BAD_CERTIFICATE,
            ),
            (
                "sha1-leaf",
                |e| matches!(e, VerifyError::WeakAlgorithm { .. }),
                BAD_CERTIFICATE,
            ),
            (
                "cn-only",
                |e| matches!(e, VerifyError::NameMismatch { .. }),
                BAD_CERTIFICATE,
            ),
        ];
        for (served, expected, alert) in cases {
            let error = refusal(exchange(&broker, served, rsa, at_now(), "localhost"));
            assert!(expected(&error), "{served}: wrong refusal: {error:?}");
            let line = error.to_string();
            assert!(!line.contains('\n') && !line.is_empty(), "{served}: {line}");
            println!("{served:>14}: refused: {line}");
            alerts.expect(&broker, alert, served);
        }
        // The impostor names its issuer.
        let error = refusal(exchange(&broker, "other-ca", rsa, at_now(), "localhost"));
        assert!(error.to_string().contains("Other root"), "{error}");
        alerts.expect(&broker, UNKNOWN_CA, "other-ca again");
        // A name mismatch says what was expected.
        let error = refusal(exchange(
            &broker,
            "rsa-leaf",
            rsa,
            at_now(),
            "broker.example",
        ));
        assert!(error.to_string().contains("broker.example"), "{error}");
        alerts.expect(&broker, BAD_CERTIFICATE, "rsa-leaf as broker.example");
        // The P-256 CA did not issue the RSA chain.
        let p256 = Pin::Ca(ca_pin("p256-root.der"));
        let error = refusal(exchange(&broker, "rsa-leaf", p256, at_now(), "localhost"));
        assert!(
            matches!(error, VerifyError::UnknownIssuer { .. }),
            "{error:?}"
        );
        alerts.expect(&broker, UNKNOWN_CA, "rsa-leaf under the P-256 CA");
    }

    #[test]
    fn exact_certificate_and_spki_pins() {
        let broker = broker();
        let leaf: &'static [u8] = read_cert("rsa-leaf.der").leak();
        exchange(
            &broker,
            "rsa-leaf",
            Pin::Certificate(leaf),
            at_now(),
            "localhost",
        )
        .unwrap();
        let error = refusal(exchange(
            &broker,
            "p256-leaf",
            Pin::Certificate(leaf),
            at_now(),
            "localhost",
        ));
        assert!(
            matches!(error, VerifyError::CertificateMismatch { .. }),
            "{error:?}"
        );

        let spki = spki_sha256(leaf).unwrap();
        exchange(
            &broker,
            "rsa-leaf",
            Pin::SpkiSha256(spki),
            at_now(),
            "localhost",
        )
        .unwrap();
        let error = refusal(exchange(
            &broker,
            "p256-leaf",
            Pin::SpkiSha256(spki),
            at_now(),
            "localhost",
        ));
        let VerifyError::PinMismatch {
            expected,
            presented,
        } = error
        else {
            panic!("{error:?}")
        };
        assert_eq!(expected, spki);
        assert_eq!(presented, spki_sha256(&read_cert("p256-leaf.der")).unwrap());
        // An exact pin still checks dates.
        let expired: &'static [u8] = read_cert("expired.der").leak();
        let error = refusal(exchange(
            &broker,
            "expired",
            Pin::Certificate(expired),
            at_now(),
            "localhost",
        ));
        assert!(matches!(error, VerifyError::Expired { .. }), "{error:?}");
    }

    #[test]
    fn explicit_relaxations_do_only_what_they_say() {
        let broker = broker();
        let rsa = Pin::Ca(ca_pin("rsa-root.der"));
        // --insecure: the host name is not checked, the chain still is.
        let mut insecure = at_now();
        insecure.options.host_check = HostCheck::SkipHostName;
        exchange(&broker, "wrong-host", rsa, insecure, "localhost").unwrap();
        let error = refusal(exchange(&broker, "other-ca", rsa, insecure, "localhost"));
        assert!(
            matches!(error, VerifyError::UnknownIssuer { .. }),
            "{error:?}"
        );
        // No time known: dates are not checked, names and chain still are.
        let no_time = at(ValidityTime::UnknownSkipDateChecks);
        exchange(&broker, "expired", rsa, no_time, "localhost").unwrap();
        let error = refusal(exchange(&broker, "wrong-host", rsa, no_time, "localhost"));
        assert!(
            matches!(error, VerifyError::NameMismatch { .. }),
            "{error:?}"
        );
        // The subject CN only on request.
        exchange(
            &broker,
            "cn-only",
            rsa,
            at_now().allow_common_name(),
            "localhost",
        )
        .unwrap();
        // A clock that is wrong by years refuses a good certificate.
        let in_2050 = at(ValidityTime::UnixSeconds(2_524_608_000));
        let error = refusal(exchange(&broker, "rsa-leaf", rsa, in_2050, "localhost"));
        assert!(matches!(error, VerifyError::Expired { .. }), "{error:?}");
    }

    /// One TLS handshake with the broker's `rsa-leaf` listener, certificates checked at `time`,
    /// closed at once when it succeeds.
    fn handshake(
        broker: &Broker,
        provider: &mut PinnedProvider<'_, rand_core::OsRng>,
        time: ValidityTime,
    ) -> Result<(), ConnectError> {
        let transport = TcpTransport::connect(("127.0.0.1", broker.tls_port("rsa-leaf"))).unwrap();
        let socket = TlsSocket::new(transport);
        let mut read_buffer = vec![0; READ_BUFFER];
        let mut write_buffer = vec![0; 2048];
        let options = TlsOptions::new("localhost", time);
        let stream = call!(Tls::connect(
            &socket,
            &mut read_buffer,
            &mut write_buffer,
            &options,
            provider,
        ))?;
        call!(stream.close()).unwrap();
        Ok(())
    }

    /// A provider kept across reconnections checks each handshake's certificate at that
    /// handshake's time, not at the time of the first.
    #[test]
    fn one_provider_checks_each_handshake_at_its_own_time() {
        let broker = broker();
        let pins = [Pin::Ca(ca_pin("rsa-root.der"))];
        let mut provider = PinnedProvider::new(rand_core::OsRng, &pins);
        let now = ValidityTime::UnixSeconds(unix_now());
        handshake(&broker, &mut provider, now).unwrap();

        let leaf = read_cert("rsa-leaf.der");
        let not_after = CertificateSummary::parse(&leaf).unwrap().not_after().0;
        let later = ValidityTime::UnixSeconds(not_after + 1);
        let error = refusal(handshake(&broker, &mut provider, later));
        let VerifyError::Expired {
            subject,
            not_after: date,
        } = &error
        else {
            panic!("expected the leaf to have expired, got {error:?}")
        };
        assert_eq!(*date, not_after);
        assert!(subject.contains("CN=localhost"), "{error}");

        // The next handshake at the right time again passes: nothing of the refused one is kept.
        handshake(&broker, &mut provider, now).unwrap();
    }
}

/// A transport that counts the calls of its `flush`.
struct CountingFlushes {
    inner: TcpTransport,
    flushes: usize,
}

impl embedded_io::ErrorType for CountingFlushes {
    type Error = <TcpTransport as embedded_io::ErrorType>::Error;
}

impl embedded_io::Read for CountingFlushes {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        self.inner.read(buf)
    }
}

impl embedded_io::Write for CountingFlushes {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.inner.write(buf)
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        self.flushes += 1;
        self.inner.flush()
    }
}

impl embedded_io::ReadReady for CountingFlushes {
    fn read_ready(&mut self) -> Result<bool, Self::Error> {
        self.inner.read_ready()
    }
}

/// How often the socket's `flush` is called while one MQTT CONNECT goes out over a TLS stream
/// with `policy` (and its CONNACK comes back).
fn socket_flushes_for_one_packet(broker: &Broker, policy: FlushPolicy) -> usize {
    use embedded_io::{Read, Write};
    let pins = [Pin::Ca(ca_pin("rsa-root.der"))];
    let mut provider = PinnedProvider::new(rand_core::OsRng, &pins);
    let inner = TcpTransport::connect(("127.0.0.1", broker.tls_port("rsa-leaf"))).unwrap();
    let socket = TlsSocket::new(CountingFlushes { inner, flushes: 0 });
    let mut read_buffer = vec![0; READ_BUFFER];
    let mut write_buffer = vec![0; 2048];
    let options =
        TlsOptions::new("localhost", ValidityTime::UnixSeconds(unix_now())).flush_policy(policy);
    let mut stream = TlsStream::connect(
        &socket,
        &mut read_buffer,
        &mut write_buffer,
        &options,
        &mut provider,
    )
    .unwrap();
    let before = socket.get().unwrap().flushes;
    // CONNECT, MQTT 3.1.1, clean session, keep-alive 60 s, client id "f".
    let connect = [
        0x10, 13, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 60, 0, 1, b'f',
    ];
    stream.write_all(&connect).unwrap();
    stream.flush().unwrap();
    let mut connack = [0u8; 4];
    stream.read_exact(&mut connack).unwrap();
    assert_eq!(connack, [0x20, 2, 0, 0], "CONNACK");
    let flushes = socket.get().unwrap().flushes - before;
    stream.close().unwrap();
    flushes
}

#[test]
fn relaxed_flush_policy_never_flushes_the_socket() {
    let broker = broker();
    assert!(socket_flushes_for_one_packet(&broker, FlushPolicy::Strict) >= 1);
    assert_eq!(
        socket_flushes_for_one_packet(&broker, FlushPolicy::Relaxed),
        0
    );
}
