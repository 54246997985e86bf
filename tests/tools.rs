//! The pin tool and the demo, run as a user would run them.

mod support;

use std::process::Command;

use support::{cert_path, example_binary, read_cert, Broker, BrokerConfig, TlsListener};

fn run(name: &str, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(example_binary(name))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run example");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn pin_prints_the_facts_and_the_spki_pin_of_a_file() {
    let (ok, out, err) = run("pin", &["certs/seed/m2mqtt_srv.crt"]);
    assert!(ok, "{err}");
    assert!(out.contains("X.509 v1"), "{out}");
    assert!(out.contains("CN=ErichStyger-PC"), "{out}");
    assert!(
        out.contains("2017-04-23 08:03:47 UTC to 2027-04-21 08:03:47 UTC"),
        "{out}"
    );
    // The seed key's SPKI SHA-256 (of the DER SubjectPublicKeyInfo, as an SPKI pin compares).
    let pin = "11019cc10973f22aad90f274fe480ffb1394a90865388309ca87914108cbfad1";
    assert!(
        out.contains(&format!("spki_sha256_hex(\"{pin}\")")),
        "{out}"
    );

    let (ok, out, _) = run("pin", &["certs/rsa-root.der"]);
    assert!(ok);
    assert!(out.contains("Pin::Ca(&[BROKER_CA])"), "{out}");
    assert!(
        out.contains("include_bytes!(\"certs/rsa-root.der\")"),
        "{out}"
    );

    let (ok, _, err) = run("pin", &["certs/no-such-file.crt"]);
    assert!(!ok);
    assert!(err.starts_with("pin: certs/no-such-file.crt:"), "{err}");
}

#[test]
fn pin_shows_what_a_live_broker_presents_and_writes_der() {
    let broker = Broker::start(BrokerConfig::new().tls(TlsListener::serving("rsa-leaf")));
    let address = format!("127.0.0.1:{}", broker.tls_port("rsa-leaf"));
    let out_der = std::env::temp_dir().join(format!("pin-test-{}.der", std::process::id()));
    let out_path = out_der.to_string_lossy().into_owned();
    let (ok, out, err) = run(
        "pin",
        &[
            "--connect",
            &address,
            "--servername",
            "localhost",
            "--write-der",
            &out_path,
        ],
    );
    assert!(ok, "{err}");
    assert!(out.contains("nothing below is verified"), "{out}");
    assert!(
        out.contains("names      DNS:localhost, IP:127.0.0.1"),
        "{out}"
    );
    assert!(out.contains("CN=RSA intermediate"), "{out}");
    assert_eq!(std::fs::read(&out_der).unwrap(), read_cert("rsa-leaf.der"));
    std::fs::remove_file(out_der).unwrap();
}

#[test]
fn demo_talks_to_the_pinned_broker_and_refuses_the_impostor() {
    let broker = Broker::start(
        BrokerConfig::new()
            .tls(TlsListener::serving("rsa-leaf"))
            .tls(TlsListener::serving("other-ca")),
    );
    let cafile = cert_path("rsa-root.crt");
    let (ok, out, err) = run(
        "demo",
        &[
            "--port",
            &broker.tls_port("rsa-leaf").to_string(),
            "--impostor-port",
            &broker.tls_port("other-ca").to_string(),
            "--cafile",
            &cafile.to_string_lossy(),
        ],
    );
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("received on 'demo/hello'"), "{out}");
    assert!(
        out.contains("refused before any MQTT byte was sent: issuer 'CN=Other root (impostor)"),
        "{out}"
    );
}
