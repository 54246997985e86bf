//! TLS 1.3 conformance seen end to end, against a rustls server that misbehaves on purpose
//! (`tests/support/rustls_server.rs`), through the blocking and the async stream:
//!
//! - the ClientHello offers exactly the signature schemes the verifier checks, each once, and
//!   every scheme a server may sign its CertificateVerify with among them is accepted
//!   (`rsa_pkcs1_*`, offered for certificate signatures only, is refused there, as RFC 8446
//!   requires);
//! - every refusal is answered with the TLS alert RFC 8446 §6.2 names for it, which rustls
//!   (or the server's own decryption of the client's answer) reads: certificate refusals
//!   (`certificate_expired`, `unknown_ca`, `unsupported_certificate`, `bad_certificate`,
//!   `decode_error` for an empty Certificate), a forged CertificateVerify (`decrypt_error`), a
//!   scheme that does not fit the key or was not offered (`illegal_parameter`);
//! - a flight without the server's Certificate or CertificateVerify, its Finished right for
//!   what was sent, is refused with `unexpected_message` before the client's Finished;
//! - and in every refusal the client reports the verifier's reason and no stream exists, so no
//!   MQTT byte is sent.
//!
//! The same alerts as Mosquitto's log shows them: `tests/tls.rs`.

// VerifyError carries its facts inline (no heap on the device side).
#![allow(clippy::result_large_err)]

#[macro_use]
mod support;

use embedded_mqtts::host::TcpTransport;
use embedded_mqtts::tls::{
    spki_sha256, AsyncTlsStream, ConnectError, Pin, PinnedProvider, TlsOptions, TlsSocket,
    TlsStream, ValidityTime, VerifyError, READ_BUFFER,
};
use rustls::pki_types::PrivateKeyDer;
use rustls::{AlertDescription, SignatureScheme};
use support::rustls_server::key;
use support::{
    block_on, BadSignature, ClientAnswer, Misbehaviour, Omitted, RustlsServer, ServerReport,
};

/// 2030-01-01 00:00:00 UTC: inside every good certificate's validity in `tests/data/verify/`.
const AT_2030: ValidityTime = ValidityTime::UnixSeconds(1_893_456_000);

fn der(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/data/verify/{name}.der",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn leaked(name: &str) -> &'static [u8] {
    der(name).leak()
}

fn ca(name: &str) -> Pin<'static> {
    Pin::Ca(Box::leak(Box::new([leaked(name)])))
}

/// Which stream the client uses.
#[derive(Clone, Copy, Debug)]
enum Driver {
    Blocking,
    Async,
}

const DRIVERS: [Driver; 2] = [Driver::Blocking, Driver::Async];

/// One handshake with `server` as `server_name`, verified against `pin` in 2030, through
/// `driver`'s stream; what the server saw of it.
fn handshake(
    server: RustlsServer,
    pin: Pin<'static>,
    server_name: &str,
    driver: Driver,
) -> (Result<(), ConnectError>, ServerReport) {
    let pins = [pin];
    let mut provider = PinnedProvider::new(rand_core::OsRng, &pins);
    let transport = TcpTransport::connect(("127.0.0.1", server.port())).unwrap();
    let socket = TlsSocket::new(transport);
    let (mut read, mut write) = (vec![0; READ_BUFFER], vec![0; 2048]);
    let options = TlsOptions::new(server_name, AT_2030);
    let result = match driver {
        Driver::Blocking => {
            TlsStream::connect(&socket, &mut read, &mut write, &options, &mut provider).map(drop)
        }
        Driver::Async => block_on(AsyncTlsStream::connect(
            &socket,
            &mut read,
            &mut write,
            &options,
            &mut provider,
        ))
        .map(drop),
    };
    drop(socket);
    (result, server.report())
}

/// A P-256 server for `broker.example` (signed by `p256-root`), misbehaving as `how`.
fn p256_server(how: Misbehaviour) -> RustlsServer {
    RustlsServer::start(
        vec![der("p256-leaf")],
        key("p256-leaf.sec1.der"),
        Some(key("other-leaf.sec1.der")),
        how,
    )
}

/// Asserts the client refused with `expected` and answered with `alert`.
fn refused(
    (result, report): (Result<(), ConnectError>, ServerReport),
    expected: fn(&VerifyError) -> bool,
    alert: AlertDescription,
    case: &str,
) {
    match &result {
        Err(ConnectError::Verify(e)) if expected(e) => println!("{case}: refused: {e}"),
        other => panic!("{case}: wrong outcome {other:?}"),
    }
    assert_eq!(report.answer, ClientAnswer::Alert(alert), "{case}");
}

/// The schemes the verifier checks, in the order offered: ECDSA first; RSA-PSS for RSA keys
/// and RSASSA-PKCS1-v1_5 for certificate signatures only (feature `rsa`).
fn verified_schemes() -> Vec<u16> {
    let mut schemes = vec![0x0403];
    if cfg!(feature = "p384") {
        schemes.push(0x0503);
    }
    if cfg!(feature = "rsa") {
        schemes.extend([0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601]);
    }
    schemes
}

#[test]
fn the_client_hello_offers_exactly_the_verified_schemes_and_servers_pick_one() {
    for driver in DRIVERS {
        let (result, report) = handshake(
            p256_server(Misbehaviour::None),
            ca("p256-root"),
            "broker.example",
            driver,
        );
        result.unwrap();
        assert_eq!(report.answer, ClientAnswer::Finished);
        let offered: Vec<u16> = report.offered.iter().map(|s| u16::from(*s)).collect();
        assert_eq!(offered, verified_schemes(), "{:?}", report.offered);
        for scheme in [SignatureScheme::ED25519, SignatureScheme::ED448] {
            assert!(!report.offered.contains(&scheme), "{scheme:?} offered");
        }
        // An RSA server picks RSA-PSS from the offer.
        let rsa = RustlsServer::start(
            vec![der("rsa-leaf"), der("rsa-int")],
            key("rsa-leaf.pkcs1.der"),
            None,
            Misbehaviour::None,
        );
        let (result, report) = handshake(rsa, ca("rsa-root"), "broker.example", driver);
        result.unwrap();
        assert_eq!(report.answer, ClientAnswer::Finished);
    }
}

#[test]
fn every_offered_certificate_verify_scheme_picked_by_the_server_is_accepted() {
    type Server = (Vec<Vec<u8>>, PrivateKeyDer<'static>, Pin<'static>);
    let rsa: fn() -> Server = || {
        let chain = vec![der("rsa-leaf"), der("rsa-int")];
        (chain, key("rsa-leaf.pkcs1.der"), ca("rsa-root"))
    };
    let p256: fn() -> Server = || {
        (
            vec![der("p256-leaf")],
            key("p256-leaf.sec1.der"),
            ca("p256-root"),
        )
    };
    let mut cases = vec![(SignatureScheme::ECDSA_NISTP256_SHA256, p256)];
    if cfg!(feature = "rsa") {
        for scheme in [
            SignatureScheme::RSA_PSS_SHA256,
            SignatureScheme::RSA_PSS_SHA384,
            SignatureScheme::RSA_PSS_SHA512,
        ] {
            cases.push((scheme, rsa));
        }
    }
    for driver in DRIVERS {
        for &(scheme, server) in &cases {
            let (chain, key, pin) = server();
            let server = RustlsServer::start(chain, key, None, Misbehaviour::Picks(scheme));
            let (result, report) = handshake(server, pin, "broker.example", driver);
            result.unwrap_or_else(|e| panic!("{scheme:?} ({driver:?}): {e}"));
            assert_eq!(report.answer, ClientAnswer::Finished, "{scheme:?}");
        }
    }
    // RSASSA-PKCS1-v1_5 is offered for certificate signatures only: RFC 8446 §4.4.3 forbids it
    // in a CertificateVerify, and a server that labels one so is refused (rustls itself will
    // not sign one in TLS 1.3: the signature is RSA-PSS, only its label says PKCS#1).
    if cfg!(feature = "rsa") {
        let (chain, key, pin) = rsa();
        let label = BadSignature::Scheme(SignatureScheme::RSA_PKCS1_SHA256);
        let server = RustlsServer::start(chain, key, None, Misbehaviour::Signer(label));
        refused(
            handshake(server, pin, "broker.example", Driver::Blocking),
            |e| matches!(e, VerifyError::UnsupportedAlgorithm { .. }),
            AlertDescription::IllegalParameter,
            "rsa_pkcs1_sha256 in a CertificateVerify",
        );
    }
}

#[test]
fn a_forged_certificate_verify_gets_decrypt_error() {
    for driver in DRIVERS {
        for bad in [
            BadSignature::OtherKey,
            BadSignature::OtherTranscript,
            BadSignature::ClientContext,
        ] {
            refused(
                handshake(
                    p256_server(Misbehaviour::Signer(bad)),
                    ca("p256-root"),
                    "broker.example",
                    driver,
                ),
                |e| matches!(e, VerifyError::CertificateVerifyFailed),
                AlertDescription::DecryptError,
                &format!("{bad:?} ({driver:?})"),
            );
        }
    }
}

#[test]
fn a_scheme_that_does_not_fit_the_key_or_was_not_offered_gets_illegal_parameter() {
    type Expect = fn(&VerifyError) -> bool;
    let cases: [(&str, SignatureScheme, Expect); 2] = [
        (
            "RSA-PSS by a P-256 key",
            SignatureScheme::RSA_PSS_SHA256,
            |e| matches!(e, VerifyError::SignatureKeyMismatch { .. }),
        ),
        ("Ed25519, not offered", SignatureScheme::ED25519, |e| {
            matches!(e, VerifyError::UnsupportedAlgorithm { .. })
        }),
    ];
    for driver in DRIVERS {
        for (case, scheme, expected) in cases {
            let server = p256_server(Misbehaviour::Signer(BadSignature::Scheme(scheme)));
            refused(
                handshake(server, ca("p256-root"), "broker.example", driver),
                expected,
                AlertDescription::IllegalParameter,
                &format!("{case} ({driver:?})"),
            );
        }
    }
}

/// A certificate the client refuses, and the alert it answers with.
struct Case {
    case: &'static str,
    /// Names in `tests/data/verify/`, leaf first.
    chain: &'static [&'static str],
    pin: Pin<'static>,
    server_name: &'static str,
    expected: fn(&VerifyError) -> bool,
    alert: AlertDescription,
}

#[test]
fn certificate_refusals_get_their_alert() {
    let other_spki = Pin::SpkiSha256(spki_sha256(&der("other-leaf")).unwrap());
    let cases = [
        Case {
            case: "expired",
            chain: &["expired"],
            pin: ca("p256-root"),
            server_name: "broker.example",
            expected: |e| matches!(e, VerifyError::Expired { .. }),
            alert: AlertDescription::CertificateExpired,
        },
        Case {
            case: "not yet valid",
            chain: &["not-yet-valid"],
            pin: ca("p256-root"),
            server_name: "broker.example",
            expected: |e| matches!(e, VerifyError::NotYetValid { .. }),
            alert: AlertDescription::CertificateExpired,
        },
        Case {
            case: "another CA",
            chain: &["other-leaf"],
            pin: ca("p256-root"),
            server_name: "broker.example",
            expected: |e| matches!(e, VerifyError::UnknownIssuer { .. }),
            alert: AlertDescription::UnknownCA,
        },
        Case {
            case: "another key than the pinned one",
            chain: &["p256-leaf"],
            pin: other_spki,
            server_name: "broker.example",
            expected: |e| matches!(e, VerifyError::PinMismatch { .. }),
            alert: AlertDescription::UnknownCA,
        },
        Case {
            case: "unknown critical extension",
            chain: &["critical-ext"],
            pin: ca("p256-root"),
            server_name: "broker.example",
            expected: |e| matches!(e, VerifyError::UnknownCriticalExtension { .. }),
            alert: AlertDescription::UnsupportedCertificate,
        },
        Case {
            case: "clientAuth only",
            chain: &["client-eku"],
            pin: ca("p256-root"),
            server_name: "broker.example",
            expected: |e| matches!(e, VerifyError::ExtendedKeyUsage { .. }),
            alert: AlertDescription::UnsupportedCertificate,
        },
        Case {
            case: "another host",
            chain: &["p256-leaf"],
            pin: ca("p256-root"),
            server_name: "other.example",
            expected: |e| matches!(e, VerifyError::NameMismatch { .. }),
            alert: AlertDescription::BadCertificate,
        },
        Case {
            case: "leaf is a CA",
            chain: &["leaf-is-ca"],
            pin: ca("p256-root"),
            server_name: "broker.example",
            expected: |e| matches!(e, VerifyError::LeafIsCa { .. }),
            alert: AlertDescription::BadCertificate,
        },
        Case {
            case: "no digitalSignature",
            chain: &["no-sign-ku"],
            pin: ca("p256-root"),
            server_name: "broker.example",
            expected: |e| matches!(e, VerifyError::KeyUsage { .. }),
            alert: AlertDescription::BadCertificate,
        },
        Case {
            case: "name constraint",
            chain: &["nc-excluded", "nc-int"],
            pin: ca("p256-root"),
            server_name: "bad.allowed.example",
            expected: |e| matches!(e, VerifyError::NameConstraintViolation { .. }),
            alert: AlertDescription::BadCertificate,
        },
        Case {
            case: "empty Certificate message",
            chain: &[],
            pin: ca("p256-root"),
            server_name: "broker.example",
            expected: |e| matches!(e, VerifyError::MissingCertificate),
            alert: AlertDescription::DecodeError,
        },
    ];
    for driver in DRIVERS {
        for Case {
            case,
            chain,
            pin,
            server_name,
            expected,
            alert,
        } in &cases
        {
            // The key does not matter: the client refuses the Certificate before it reads the
            // CertificateVerify.
            let server = RustlsServer::start(
                chain.iter().map(|c| der(c)).collect(),
                key("p256-leaf.sec1.der"),
                None,
                Misbehaviour::None,
            );
            refused(
                handshake(server, *pin, server_name, driver),
                *expected,
                *alert,
                &format!("{case} ({driver:?})"),
            );
        }
    }
}

#[test]
fn no_certificate_or_certificate_verify_is_refused_before_the_clients_finished() {
    let omit = |certificate, certificate_verify| {
        Misbehaviour::Omit(Omitted {
            certificate,
            certificate_verify,
        })
    };
    for driver in DRIVERS {
        // The rewritten flight with nothing taken out: the client's Finished follows, so the
        // server's Finished computed again is right.
        let (result, report) = handshake(
            p256_server(omit(false, false)),
            ca("p256-root"),
            "broker.example",
            driver,
        );
        result.unwrap();
        assert_eq!(report.answer, ClientAnswer::SentFinished);

        type Expect = fn(&VerifyError) -> bool;
        let cases: [(&str, Misbehaviour, Expect); 3] = [
            (
                "no Certificate, no CertificateVerify",
                omit(true, true),
                |e| matches!(e, VerifyError::MissingCertificate),
            ),
            ("no CertificateVerify", omit(false, true), |e| {
                matches!(e, VerifyError::MissingCertificateVerify)
            }),
            (
                "a CertificateVerify without Certificate",
                omit(true, false),
                |e| matches!(e, VerifyError::MissingCertificate),
            ),
        ];
        for (case, how, expected) in cases {
            refused(
                handshake(p256_server(how), ca("p256-root"), "broker.example", driver),
                expected,
                AlertDescription::UnexpectedMessage,
                &format!("{case} ({driver:?})"),
            );
        }
    }
}
