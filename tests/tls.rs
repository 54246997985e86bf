//! Every certificate in `certs/`, presented by a real Mosquitto over TLS 1.3, to the blocking
//! and the async client: good ones connect and exchange QoS 1 messages; bad ones are refused
//! with the right error, before any MQTT byte is sent.

// VerifyError carries its facts inline (no heap on the device side).
#![allow(clippy::result_large_err)]

#[macro_use]
mod support;

use support::unix_now;

use std::time::Duration;

use embedded_mqtts::host::TcpTransport;
use embedded_mqtts::tls::{
    spki_sha256, ConnectError, HostCheck, Pin, PinnedProvider, TlsOptions, TlsSocket, ValidityTime,
    VerifyError, VerifyOptions, READ_BUFFER,
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

fn at_now() -> VerifyOptions {
    VerifyOptions::new(ValidityTime::UnixSeconds(unix_now()))
}

fn refusal(result: Result<(), ConnectError>) -> VerifyError {
    match result {
        Err(ConnectError::Verify(e)) => e,
        other => panic!("expected a verification refusal, got {other:?}"),
    }
}

both_drivers! {
    /// Connect over TLS to the listener serving `served`, verifying with `pin` and `options`
    /// under `server_name`; on success, run MQTT over it: subscribe, publish QoS 1 to ourselves,
    /// receive it. Returns the handshake's refusal, if any.
    fn exchange(
        broker: &Broker,
        served: &str,
        pin: Pin<'_>,
        options: VerifyOptions,
        server_name: &str,
    ) -> Result<(), ConnectError> {
        let pins = [pin];
        let mut provider = PinnedProvider::new(rand_core::OsRng, &pins, options);
        let mut transport = TcpTransport::connect(("127.0.0.1", broker.tls_port(served))).unwrap();
        transport.set_ready_wait(Duration::from_millis(5));
        let socket = TlsSocket::new(transport);
        let mut read_buffer = vec![0; READ_BUFFER];
        let mut write_buffer = vec![0; 2048];
        let tls_options = TlsOptions::new(server_name);
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
        type Expect = fn(&VerifyError) -> bool;
        let cases: Vec<(&str, Expect)> = vec![
            ("expired", |e| matches!(e, VerifyError::Expired { .. })),
            ("not-yet-valid", |e| {
                matches!(e, VerifyError::NotYetValid { .. })
            }),
            ("wrong-host", |e| {
                matches!(e, VerifyError::NameMismatch { .. })
            }),
            ("other-ca", |e| {
                matches!(e, VerifyError::UnknownIssuer { .. })
            }),
            ("self-signed", |e| {
                matches!(e, VerifyError::UnknownIssuer { .. })
            }),
            ("int-not-ca", |e| matches!(e, VerifyError::NotCa { .. })),
            ("sha1-leaf", |e| {
                matches!(e, VerifyError::WeakAlgorithm { .. })
            }),
            ("cn-only", |e| matches!(e, VerifyError::NameMismatch { .. })),
        ];
        for (served, expected) in cases {
            let error = refusal(exchange(&broker, served, rsa, at_now(), "localhost"));
            assert!(expected(&error), "{served}: wrong refusal: {error:?}");
            let line = error.to_string();
            assert!(!line.contains('\n') && !line.is_empty(), "{served}: {line}");
            println!("{served:>14}: refused: {line}");
        }
        // The impostor names its issuer.
        let error = refusal(exchange(&broker, "other-ca", rsa, at_now(), "localhost"));
        assert!(error.to_string().contains("Other root"), "{error}");
        // A name mismatch says what was expected.
        let error = refusal(exchange(
            &broker,
            "rsa-leaf",
            rsa,
            at_now(),
            "broker.example",
        ));
        assert!(error.to_string().contains("broker.example"), "{error}");
        // The P-256 CA did not issue the RSA chain.
        let p256 = Pin::Ca(ca_pin("p256-root.der"));
        let error = refusal(exchange(&broker, "rsa-leaf", p256, at_now(), "localhost"));
        assert!(
            matches!(error, VerifyError::UnknownIssuer { .. }),
            "{error:?}"
        );
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
        insecure.host_check = HostCheck::SkipHostName;
        exchange(&broker, "wrong-host", rsa, insecure, "localhost").unwrap();
        let error = refusal(exchange(&broker, "other-ca", rsa, insecure, "localhost"));
        assert!(
            matches!(error, VerifyError::UnknownIssuer { .. }),
            "{error:?}"
        );
        // No time known: dates are not checked, names and chain still are.
        let no_time = VerifyOptions::new(ValidityTime::UnknownSkipDateChecks);
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
        let in_2050 = VerifyOptions::new(ValidityTime::UnixSeconds(2_524_608_000));
        let error = refusal(exchange(&broker, "rsa-leaf", rsa, in_2050, "localhost"));
        assert!(matches!(error, VerifyError::Expired { .. }), "{error:?}");
    }
}
