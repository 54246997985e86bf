//! The blocking client on an emulated Cortex-M4: the firmware in `examples/qemu-mps2`, run by
//! QEMU's `mps2-an386` machine, talks to a real Mosquitto through UART0.
//!
//! QEMU connects UART0 straight to the broker's port (`-serial tcp:127.0.0.1:PORT`: QEMU is the
//! TCP client, the broker the server; loopback only, no emulated network). The firmware says
//! which run it is from QEMU's `-append` (`plain` or `tls`), prints its progress and figures
//! over semihosting, and ends QEMU with exit code 0 (it got its own QoS 1 message back) or 1
//! (with the reason on its last line). A host-side `mosquitto_sub` checks that the message
//! really went through the broker.
//!
//! Needs `qemu-system-arm` (`scripts/setup.sh` installs it) and the Rust target
//! `thumbv7em-none-eabihf` (`rustup target add thumbv7em-none-eabihf`); the firmware is built
//! here with `cargo build --release` in its own folder and target directory.

mod support;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use support::{Broker, BrokerConfig, Subscriber, TlsListener};

/// The firmware's binary name (its Cargo.toml `[[bin]]`).
const FIRMWARE_NAME: &str = "qemu-mps2-mqtts";
/// How long one emulator run may take before it is killed and the test fails.
const RUN_TIMEOUT: Duration = Duration::from_secs(60);
/// What the firmware prints last when it succeeded.
const PASS_LINE: &str = "qemu-mps2: PASS";
/// The start of the firmware's last line when it failed (the reason follows).
const FAIL_PREFIX: &str = "qemu-mps2: FAIL: ";

/// The firmware ELF, built once per test process (the tests of this file share it).
fn firmware() -> &'static Path {
    static FIRMWARE: OnceLock<PathBuf> = OnceLock::new();
    FIRMWARE.get_or_init(|| {
        let elf = support::build_firmware("qemu-mps2", FIRMWARE_NAME);
        print_size(&elf);
        elf
    })
}

/// Prints the ELF's section sizes if a `size` for Arm is installed (binutils-arm-none-eabi or
/// LLVM's); informational only.
fn print_size(elf: &Path) {
    for tool in ["arm-none-eabi-size", "llvm-size"] {
        if let Ok(out) = Command::new(tool).arg(elf).output() {
            if out.status.success() {
                eprintln!("{tool}:\n{}", String::from_utf8_lossy(&out.stdout));
                return;
            }
        }
    }
}

/// How one emulator run ended.
struct Run {
    /// QEMU's exit status; `None` if it was killed after [`RUN_TIMEOUT`].
    status: Option<ExitStatus>,
    /// What QEMU printed: the firmware's semihosting output, then QEMU's own messages.
    output: String,
    /// Wall time of the run.
    wall: Duration,
}

impl Run {
    fn exit_code(&self) -> Option<i32> {
        self.status.and_then(|status| status.code())
    }

    /// The reason the firmware gave for failing, if it failed.
    fn failure(&self) -> Option<&str> {
        support::console::failure(&self.output, FAIL_PREFIX)
    }

    /// The reason of a run that had to fail, after checking that it did (exit status 1).
    fn refusal(&self) -> &str {
        assert_eq!(
            self.exit_code(),
            Some(1),
            "the firmware must fail: {}",
            self.output
        );
        self.failure().unwrap_or_default()
    }

    /// The firmware's measurements line (`elapsed_ms=... stack_peak=...`).
    fn figures(&self) -> &str {
        support::console::figures(&self.output)
    }
}

/// Runs the firmware `elf` with UART0 connected to 127.0.0.1:`port`, in `mode` (`plain` or
/// `tls`), for at most [`RUN_TIMEOUT`].
fn run_firmware(elf: &Path, port: u16, mode: &str) -> Run {
    let started = Instant::now();
    let mut child = Command::new("qemu-system-arm")
        .args(["-M", "mps2-an386", "-nographic", "-monitor", "none"])
        .args(["-semihosting-config", "enable=on,target=native"])
        // QEMU connects to the broker; nodelay: the UART sends one byte per write.
        .arg("-serial")
        .arg(format!("tcp:127.0.0.1:{port},nodelay=on"))
        .arg("-kernel")
        .arg(elf)
        .args(["-append", mode])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run qemu-system-arm");
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let status = support::wait_or_kill(&mut child, started, RUN_TIMEOUT);
    let wall = started.elapsed();
    let output = format!(
        "{}{}",
        stdout.join().unwrap_or_default(),
        stderr.join().unwrap_or_default()
    );
    eprintln!(
        "--- qemu ({mode}, port {port}): {status:?} after {:.2} s ---\n{output}",
        wall.as_secs_f64()
    );
    Run {
        status,
        output,
        wall,
    }
}

/// Reads a child's pipe to the end on a thread.
fn drain(pipe: Option<impl Read + Send + 'static>) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_string(&mut text);
        }
        text
    })
}

/// Runs the firmware against `port` in `mode` and checks that it succeeded and that its
/// message reached a host client subscribed on the broker's plain port.
fn assert_round_trip(broker: &Broker, port: u16, mode: &str, payload: &str) {
    // Built first: the subscriber gives up 20 s after it starts, and a clean build is longer.
    let elf = firmware();
    let subscriber = Subscriber::spawn(broker.port(), "qemu/#", 1, None);
    let run = run_firmware(elf, port, mode);
    assert_eq!(
        run.exit_code(),
        Some(0),
        "the firmware failed ({mode}): {:?}\n{}",
        run.failure(),
        run.output
    );
    assert!(run.output.contains(PASS_LINE), "{}", run.output);
    let received = subscriber.wait();
    assert_eq!(received.len(), 1, "mosquitto_sub got {received:?}");
    assert_eq!(received[0].topic, "qemu/test");
    assert_eq!(received[0].text(), payload);
    assert_eq!(received[0].qos, 1);
    eprintln!(
        "{mode}: wall {:.2} s; {}",
        run.wall.as_secs_f64(),
        run.figures()
    );
}

#[test]
fn firmware_round_trip_over_plain_mqtt() {
    let broker = Broker::start(BrokerConfig::new());
    assert_round_trip(
        &broker,
        broker.port(),
        "plain",
        "hello from mps2-an386 over plain MQTT",
    );
}

#[test]
fn firmware_round_trip_over_tls_with_the_pinned_ca() {
    let broker = Broker::start(BrokerConfig::new().tls(TlsListener::serving("rsa-leaf")));
    assert_round_trip(
        &broker,
        broker.tls_port("rsa-leaf"),
        "tls",
        "hello from mps2-an386 over TLS 1.3",
    );
}

#[test]
fn firmware_refuses_a_broker_of_another_ca() {
    let elf = firmware();
    let broker = Broker::start(BrokerConfig::new().tls(TlsListener::serving("other-ca")));
    let subscriber = Subscriber::spawn(broker.port(), "qemu/#", 1, None);
    let run = run_firmware(elf, broker.tls_port("other-ca"), "tls");
    let reason = run.refusal();
    assert!(
        reason.contains("broker certificate refused")
            && reason.contains("Other root (impostor)")
            && reason.contains("is not a pinned CA"),
        "the reason must name the untrusted issuer: {reason:?}\n{}",
        run.output
    );
    let leaked = subscriber.collect_for(Duration::from_secs(1));
    assert!(leaked.is_empty(), "a message got through: {leaked:?}");
    // The firmware told the broker why: the unknown_ca alert, in its log.
    let log = broker.log_once("alert unknown ca", 1);
    assert!(
        log.contains("alert unknown ca"),
        "the broker got no unknown_ca alert:\n{log}"
    );
}

/// The firmware built to pin `certs/p256-root` (the CA of `certs/p256-leaf`), once per test
/// process, in its own target directory.
fn p256_firmware() -> &'static Path {
    static FIRMWARE: OnceLock<PathBuf> = OnceLock::new();
    FIRMWARE.get_or_init(|| {
        support::build_firmware_variant(
            "qemu-mps2",
            FIRMWARE_NAME,
            Some("p256-ca"),
            &[("QEMU_MPS2_CA", "../../certs/p256-root.der")],
        )
    })
}

/// A TLS 1.3 server (rustls) on a free local port that serves the certificate chain
/// `certs/p256-leaf` and signs its CertificateVerify with `signing_key_pem` (PKCS#8), whether
/// or not it is the certificate's key. It takes one connection and reports whether its
/// handshake completed.
fn rustls_server(signing_key_pem: &[u8]) -> (u16, thread::JoinHandle<Result<(), String>>) {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use rustls::server::{ClientHello, ResolvesServerCert};
    use rustls::sign::CertifiedKey;
    use std::sync::Arc;

    /// Always the same chain and key, without rustls's check that they belong together.
    #[derive(Debug)]
    struct Fixed(Arc<CertifiedKey>);
    impl ResolvesServerCert for Fixed {
        fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
            Some(self.0.clone())
        }
    }

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let key = PrivateKeyDer::from_pem_slice(signing_key_pem).expect("a PEM private key");
    let key = provider
        .key_provider
        .load_private_key(key)
        .expect("a key rustls can sign with");
    let chain = vec![CertificateDer::from(support::read_cert("p256-leaf.der"))];
    let resolver = Fixed(Arc::new(CertifiedKey::new(chain, key)));
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("TLS 1.3")
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(resolver));
    config.send_tls13_tickets = 0;
    let config = Arc::new(config);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a local port");
    let port = listener.local_addr().expect("its address").port();
    let server = thread::spawn(move || {
        let (mut tcp, _) = listener.accept().map_err(|e| e.to_string())?;
        tcp.set_read_timeout(Some(RUN_TIMEOUT))
            .map_err(|e| e.to_string())?;
        let mut tls = rustls::ServerConnection::new(config).map_err(|e| e.to_string())?;
        while tls.is_handshaking() {
            tls.complete_io(&mut tcp).map_err(|e| e.to_string())?;
        }
        Ok(())
    });
    (port, server)
}

#[test]
fn firmware_refuses_a_certificate_verify_made_with_another_key() {
    let elf = p256_firmware();
    // The control: the certificate's own key. The handshake completes (the firmware then
    // fails at MQTT, which this server does not speak).
    let (port, server) = rustls_server(&support::read_cert("p256-leaf.key"));
    let run = run_firmware(elf, port, "tls");
    let handshake = server.join().expect("the server thread");
    assert_eq!(
        handshake,
        Ok(()),
        "with the right key the handshake must complete:\n{}",
        run.output
    );
    assert!(
        !run.failure()
            .unwrap_or_default()
            .contains("CertificateVerify"),
        "{}",
        run.output
    );

    // Another P-256 key (a client certificate's): the same chain, a CertificateVerify that
    // does not verify with the certificate's key.
    let (port, server) = rustls_server(&support::read_cert("client-expired.key"));
    let run = run_firmware(elf, port, "tls");
    let handshake = server.join().expect("the server thread");
    let reason = run.refusal();
    assert!(
        reason.contains("CertificateVerify signature over the handshake does not verify"),
        "the reason must name the CertificateVerify: {reason:?}\n{}",
        run.output
    );
    assert!(
        handshake.is_err(),
        "the handshake must not complete: {handshake:?}"
    );
}
