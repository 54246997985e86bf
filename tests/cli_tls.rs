//! `mqtt pub` / `mqtt sub` over TLS 1.3 against a real Mosquitto: `--cafile`, `--pin-cert`,
//! `--pin-spki`, `--insecure`, `--time`, and refusals with their reason on stderr.

mod support;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use embedded_mqtts::tls::spki_sha256;
use support::{cert_path, example_binary, read_cert, Broker, BrokerConfig, TlsListener};

fn broker() -> Broker {
    Broker::start(
        BrokerConfig::new()
            .tls(TlsListener::serving("rsa-leaf"))
            .tls(TlsListener::serving("other-ca"))
            .tls(TlsListener::serving("wrong-host")),
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Run `mqtt ARGS`; returns (success, stdout, stderr).
fn mqtt(args: &[&str]) -> (bool, String, String) {
    support::run_example("mqtt", args)
}

fn publish(port: u16, trust: &[&str]) -> (bool, String, String) {
    let port = port.to_string();
    let mut args = vec![
        "pub",
        "-h",
        "localhost",
        "-p",
        &port,
        "-t",
        "tls/cli",
        "-m",
        "hi",
    ];
    args.extend_from_slice(trust);
    mqtt(&args)
}

#[test]
fn qos2_over_tls_with_the_ca_pinned_both_ways() {
    let broker = broker();
    let port = broker.tls_port("rsa-leaf").to_string();
    let ca = cert_path("rsa-root.crt");
    let ca = ca.to_str().unwrap();
    let mut sub = Command::new(example_binary("mqtt"))
        .args([
            "sub", "-p", &port, "--cafile", ca, "-t", "tls/#", "-q", "2", "-C", "1", "-v",
        ])
        .args(["-W", "20", "-d"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the subscriber's SUBACK in its -d log before publishing.
    let mut err = sub.stderr.take().unwrap();
    let mut log = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut byte = [0u8; 1];
    while !String::from_utf8_lossy(&log).contains("received SUBACK") {
        assert!(
            Instant::now() < deadline,
            "{}",
            String::from_utf8_lossy(&log)
        );
        if err.read(&mut byte).unwrap() == 0 {
            break;
        }
        log.push(byte[0]);
    }
    let log = String::from_utf8_lossy(&log).into_owned();
    assert!(log.contains("broker certificate verified"), "{log}");
    assert!(log.contains("host name 'localhost' matched"), "{log}");

    let (ok, _, err) = mqtt(&[
        "pub",
        "-p",
        &port,
        "--cafile",
        ca,
        "-t",
        "tls/cli",
        "-m",
        "exactly once",
        "-q",
        "2",
    ]);
    assert!(ok, "{err}");
    let output = sub.wait_with_output().unwrap();
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "tls/cli exactly once\n"
    );
}

#[test]
fn the_impostor_and_wrong_names_are_refused_with_the_reason() {
    let broker = broker();
    let ca = cert_path("rsa-root.crt");
    let ca = ca.to_str().unwrap();
    let (ok, _, err) = publish(broker.tls_port("other-ca"), &["--cafile", ca]);
    assert!(!ok);
    assert!(
        err.contains("mqtt: TLS: broker certificate refused: issuer 'CN=Other root (impostor)"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");

    let (ok, _, err) = publish(broker.tls_port("wrong-host"), &["--cafile", ca]);
    assert!(!ok);
    assert!(
        err.contains("is not for 'localhost' (it names 'wrong.example.com')"),
        "{err}"
    );
    // --insecure skips only the name: the chain is still checked.
    let (ok, _, err) = publish(
        broker.tls_port("wrong-host"),
        &["--cafile", ca, "--insecure"],
    );
    assert!(ok, "{err}");
    let (ok, _, err) = publish(broker.tls_port("other-ca"), &["--cafile", ca, "--insecure"]);
    assert!(!ok && err.contains("is not a pinned CA"), "{err}");
    // A clock in 2060: the good certificate has expired by then.
    let (ok, _, err) = publish(
        broker.tls_port("rsa-leaf"),
        &["--cafile", ca, "--time", "2840000000"],
    );
    assert!(!ok && err.contains("expired on 2045-01-01"), "{err}");
}

#[test]
fn exact_certificate_and_key_pins() {
    let broker = broker();
    let port = broker.tls_port("rsa-leaf");
    let leaf = cert_path("rsa-leaf.crt");
    let (ok, _, err) = publish(port, &["--pin-cert", leaf.to_str().unwrap()]);
    assert!(ok, "{err}");
    let other = cert_path("p256-leaf.der");
    let (ok, _, err) = publish(port, &["--pin-cert", other.to_str().unwrap()]);
    assert!(
        !ok && err.contains("is not the pinned certificate"),
        "{err}"
    );

    let key = hex(&spki_sha256(&read_cert("rsa-leaf.der")).unwrap());
    let (ok, _, err) = publish(port, &["--pin-spki", &key]);
    assert!(ok, "{err}");
    let wrong = hex(&spki_sha256(&read_cert("p256-leaf.der")).unwrap());
    let (ok, _, err) = publish(port, &["--pin-spki", &wrong]);
    assert!(!ok, "{err}");
    assert!(
        err.contains(&key) && err.contains(&wrong),
        "both hashes named: {err}"
    );

    let (ok, _, err) = publish(port, &["--pin-spki", "12ab"]);
    assert!(!ok && err.contains("is not 64 hex digits"), "{err}");
    let (ok, _, err) = publish(port, &["--pin-spki", &key, "--insecure"]);
    assert!(
        !ok && err.contains("--insecure goes with --cafile"),
        "{err}"
    );
}
