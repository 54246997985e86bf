//! Proves the test harness in `tests/support`: a real Mosquitto with plain and TLS listeners
//! serving the certificates of `certs/`, reachable by an independent client (`mosquitto_sub`,
//! `mosquitto_pub`) and speaking TLS 1.3 with the one suite embedded-tls offers.

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use support::{
    cert_path, publish, publish_tls, try_publish, Broker, BrokerConfig, Subscriber, TlsListener,
};

/// Plain, RSA chain (leaf + intermediate) and P-256 listeners.
fn broker_with_tls() -> Broker {
    Broker::start(
        BrokerConfig::new()
            .tls(TlsListener::serving("rsa-leaf"))
            .tls(TlsListener::serving("p256-leaf")),
    )
}

#[test]
fn host_clients_exchange_messages_on_every_listener() {
    let broker = broker_with_tls();
    let listeners = [
        ("plain", broker.port(), None),
        ("rsa", broker.tls_port("rsa-leaf"), Some("rsa-root.crt")),
        ("p256", broker.tls_port("p256-leaf"), Some("p256-root.crt")),
    ];
    for (name, port, ca) in listeners {
        let topic = format!("smoke/{name}");
        let subscriber = Subscriber::spawn(port, "smoke/#", 2, ca);
        // Binary-safe: a NUL, a newline and non-UTF-8 bytes survive the round trip.
        let binary = b"a\0b\n\xff".to_vec();
        match ca {
            None => publish(port, &topic, &binary, 1, false),
            Some(ca) => publish_tls(port, ca, &topic, &binary, 1, false),
        }
        publish(broker.port(), &topic, "from plain", 2, false);
        let received = subscriber.wait();
        assert_eq!(received.len(), 2, "{name}: {received:?}");
        assert_eq!(received[0].topic, topic);
        assert_eq!(received[0].payload, binary);
        assert_eq!(received[0].qos, 1);
        assert!(!received[0].retain);
        assert_eq!(received[1].text(), "from plain");
        assert_eq!(received[1].qos, 2);
    }
}

#[test]
fn host_client_refuses_a_broker_outside_its_ca() {
    let broker = broker_with_tls();
    let port = broker.tls_port("rsa-leaf");
    let refused = try_publish(port, Some("other-root.crt"), "smoke/x", b"x", 0, false);
    assert!(
        refused.is_err(),
        "mosquitto_pub trusted an RSA chain it has no root for"
    );
    let refused = try_publish(port, Some("p256-root.crt"), "smoke/x", b"x", 0, false);
    assert!(refused.is_err(), "mosquitto_pub trusted the wrong root");
    try_publish(port, Some("rsa-root.crt"), "smoke/x", b"x", 0, false).unwrap();
}

/// `openssl s_client` output (stdout and stderr) of a TLS 1.3 handshake offering only
/// TLS_AES_128_GCM_SHA256 and checking the name `localhost` against `root`; `None` when
/// openssl is not installed.
fn s_client(port: u16, root: &str) -> Option<String> {
    if Command::new("openssl").arg("version").output().is_err() {
        eprintln!("openssl not installed: skipping the s_client check");
        return None;
    }
    let output = Command::new("openssl")
        .args(["s_client", "-brief", "-tls1_3"])
        .args(["-ciphersuites", "TLS_AES_128_GCM_SHA256"])
        .args(["-verify_hostname", "localhost"])
        .arg("-connect")
        .arg(format!("127.0.0.1:{port}"))
        .arg("-CAfile")
        .arg(cert_path(root))
        .stdin(Stdio::null())
        .output()
        .expect("run openssl s_client");
    Some(
        String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr),
    )
}

#[test]
fn tls_listeners_speak_tls13_with_aes128_gcm() {
    let broker = broker_with_tls();
    for (name, root) in [("rsa-leaf", "rsa-root.crt"), ("p256-leaf", "p256-root.crt")] {
        let Some(text) = s_client(broker.tls_port(name), root) else {
            return;
        };
        assert!(text.contains("Protocol version: TLSv1.3"), "{name}: {text}");
        assert!(
            text.contains("Ciphersuite: TLS_AES_128_GCM_SHA256"),
            "{name}: {text}"
        );
        assert!(text.contains("Verification: OK"), "{name}: {text}");
    }
}

#[test]
fn restart_keeps_ports_and_retained_messages() {
    let mut broker = Broker::start(BrokerConfig::new().persistence());
    let port = broker.port();
    publish(port, "smoke/retained", "kept", 1, true);
    broker.restart();
    assert_eq!(broker.port(), port);
    let received = Subscriber::spawn(port, "smoke/retained", 1, None).wait();
    assert_eq!(received.len(), 1, "retained message lost over restart");
    assert_eq!(received[0].text(), "kept");
    assert!(received[0].retain);
}

#[test]
fn without_persistence_restart_forgets_retained_messages() {
    let mut broker = Broker::start(BrokerConfig::new());
    publish(broker.port(), "smoke/retained", "lost", 0, true);
    broker.restart();
    let subscriber = Subscriber::spawn(broker.port(), "smoke/retained", 1, None);
    assert_eq!(subscriber.collect_for(Duration::from_millis(500)), vec![]);
}

#[test]
fn sha1_signed_chain_is_served_with_security_level_0() {
    let broker = Broker::start(
        BrokerConfig::new().tls(TlsListener::serving("sha1-leaf").allow_sha1_certificates()),
    );
    let port = broker.tls_port("sha1-leaf");
    // The host client, at OpenSSL's default security level, refuses the SHA-1 signature.
    let refused = try_publish(port, Some("rsa-root.crt"), "smoke/x", b"x", 0, false);
    assert!(
        refused.is_err(),
        "the host client accepted a SHA-1 signed chain"
    );
    // The handshake itself completes: the broker serves the SHA-1 signed chain.
    if let Some(text) = s_client(port, "rsa-root.crt") {
        assert!(text.contains("Protocol version: TLSv1.3"), "{text}");
        assert!(text.contains("digest algorithm too weak"), "{text}");
    }
}
