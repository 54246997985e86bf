//! The Ethernet firmwares on an emulated Cortex-M4: QEMU's `mps2-an386` with its LAN9118 and
//! user-mode networking (`-nic user,model=lan9118`), against a real Mosquitto started here.
//!
//! The firmware gets an address by DHCP from QEMU (10.0.2.15), reaches the host's loopback at
//! 10.0.2.2, and runs TLS 1.3 with the test CA pinned, then MQTT. What it does is set by
//! `key=value` words of QEMU's `-append` (the run contract of `examples/mps2-eth/README.md`);
//! it ends QEMU with exit code 0 when every message was acknowledged, or 1 after a line
//! `FAIL: <reason>`. The tests read its console (semihosting) as it runs, and check the
//! broker's side with `mosquitto_sub`, `mosquitto_pub` and the broker's log.
//!
//! Every firmware folder gets the same five tests from [`firmware_tests!`]; both firmwares
//! also have a receive mode (`sub=TOPIC`), tested by [`large_message`]. To add a
//! firmware, add one line at the bottom: `firmware_tests!(module_name, "folder", "binary");`
//! (folder under `examples/`, binary as in its Cargo.toml). It must keep the run contract and
//! print the console lines the tests read (README.md of `examples/mps2-eth`):
//! `subscribed <filter>`, `received <topic> <payload>`, a line with `reconnecting` when it
//! reconnects, `connected (connection N, session present true|false, ...)` after each
//! CONNACK, `FAIL: <reason>`, and its figures with `stack_peak=`.
//!
//! Needs `qemu-system-arm` and the Rust target `thumbv7em-none-eabihf` (`scripts/setup.sh`);
//! each firmware is built once per test process with `cargo build --release` in its folder.

mod support;

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use support::{publish, Broker, BrokerConfig, Subscriber, TlsListener};

/// How long one emulator run may take before it is killed and the test fails.
const RUN_TIMEOUT: Duration = Duration::from_secs(60);
/// The start of the firmware's line that says why it failed.
const FAIL_PREFIX: &str = "FAIL: ";
/// The certificate the brokers serve: `certs/rsa-leaf` (name `localhost`), below the CA the
/// firmwares pin by default (`certs/rsa-root`).
const BROKER_CERT: &str = "rsa-leaf";

/// A firmware running under QEMU, its console read line by line as it comes.
struct Emulator {
    child: Child,
    lines: Receiver<String>,
    output: Vec<String>,
    started: Instant,
    args: String,
}

/// How a run ended.
struct Run {
    /// QEMU's exit code; `None` if it was killed after its time.
    code: Option<i32>,
    /// Everything QEMU printed (the firmware's console, then QEMU's own messages).
    output: String,
}

impl Run {
    /// The reason the firmware gave for failing, if it did.
    fn failure(&self) -> Option<&str> {
        support::console::failure(&self.output, FAIL_PREFIX)
    }

    /// The firmware's figures line (`... stack_peak=...`).
    fn figures(&self) -> &str {
        support::console::figures(&self.output)
    }

    /// Panics with the output unless the firmware exited with 0.
    fn assert_passed(&self, what: &str) {
        assert_eq!(
            self.code,
            Some(0),
            "{what}: the firmware did not pass (exit code {:?}, reason {:?}); its output:\n{}",
            self.code,
            self.failure(),
            self.output
        );
        eprintln!("{what}: {}", self.figures());
    }
}

impl Emulator {
    /// Boots `elf` with the LAN9118 on QEMU's user-mode network and `args` as its `-append`.
    fn start(elf: &Path, args: &str) -> Emulator {
        let mut child = Command::new("qemu-system-arm")
            .args(["-M", "mps2-an386", "-nographic", "-monitor", "none"])
            .args(["-semihosting-config", "enable=on,target=native"])
            .args(["-nic", "user,model=lan9118"])
            .arg("-kernel")
            .arg(elf)
            .args(["-append", args])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run qemu-system-arm");
        let (sender, lines) = mpsc::channel();
        for pipe in [
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let sender = sender.clone();
            thread::spawn(move || {
                for line in BufReader::new(pipe).lines() {
                    let Ok(line) = line else { break };
                    if sender.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        Emulator {
            child,
            lines,
            output: Vec::new(),
            started: Instant::now(),
            args: args.to_owned(),
        }
    }

    /// Waits until the firmware prints a line containing `text`; panics with its output if it
    /// does not within `timeout` (or exits first).
    fn wait_for_line(&mut self, text: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let found = line.contains(text);
                    self.output.push(line);
                    if found {
                        return;
                    }
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                    let _ = self.child.kill();
                    panic!(
                        "the firmware (args {:?}) printed no line with {text:?} within {timeout:?}; \
                         its output:\n{}",
                        self.args,
                        self.output.join("\n")
                    );
                }
            }
        }
    }

    /// Waits for QEMU to exit, at most [`RUN_TIMEOUT`] from the start (then kills it).
    fn finish(mut self) -> Run {
        let code = loop {
            if let Some(status) = self.child.try_wait().expect("wait for qemu-system-arm") {
                break ExitStatus::code(&status);
            }
            if self.started.elapsed() > RUN_TIMEOUT {
                let _ = self.child.kill();
                let _ = self.child.wait();
                self.output
                    .push(format!("(killed after {RUN_TIMEOUT:?}: no exit)"));
                break None;
            }
            thread::sleep(Duration::from_millis(10));
        };
        // The readers end with the pipes, which QEMU closed by exiting: every line is in
        // once both have ended (the channel disconnects), however far a loaded machine left
        // them behind the exit. Bounded, in case something else still holds a pipe.
        let deadline = Instant::now() + Duration::from_secs(10);
        while let Ok(line) = self
            .lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            self.output.push(line);
        }
        let output = self.output.join("\n");
        eprintln!(
            "--- qemu (args {:?}): exit {code:?} after {:.2} s ---\n{output}",
            self.args,
            self.started.elapsed().as_secs_f64()
        );
        Run { code, output }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A broker with a plain listener (for the host's clients) and a TLS one serving
/// [`BROKER_CERT`] (for the firmware); `persistence` keeps sessions across a restart.
fn broker(persistence: bool) -> Broker {
    let config = BrokerConfig::new().tls(TlsListener::serving(BROKER_CERT));
    Broker::start(if persistence {
        config.persistence()
    } else {
        config
    })
}

/// Boot, DHCP, TCP, TLS with the pinned CA, CONNECT, SUBSCRIBE; one message each with QoS 1
/// and QoS 2 to a host `mosquitto_sub`, and one each from a host `mosquitto_pub` back.
fn round_trip(elf: &Path, folder: &str) {
    let broker = broker(false);
    let topic = format!("eth/{folder}");
    let subscriber = Subscriber::spawn(broker.port(), &topic, 2, None);
    let args = format!(
        "port={} topic={topic} count=2 qos=1+2 recv=2",
        broker.tls_port(BROKER_CERT)
    );
    let mut emulator = Emulator::start(elf, &args);
    let inbox = format!("{topic}/in");
    emulator.wait_for_line(&format!("subscribed {inbox}"), RUN_TIMEOUT);
    publish(broker.port(), &inbox, "from the host with QoS 1", 1, false);
    publish(broker.port(), &inbox, "from the host with QoS 2", 2, false);
    let run = emulator.finish();
    run.assert_passed("round trip");
    for text in [
        format!("received {inbox} from the host with QoS 1"),
        format!("received {inbox} from the host with QoS 2"),
    ] {
        assert!(
            run.output.contains(&text),
            "the firmware did not print {text:?}:\n{}",
            run.output
        );
    }
    let mut received: Vec<(String, u8)> = subscriber
        .wait()
        .into_iter()
        .map(|message| (message.text(), message.qos))
        .collect();
    received.sort();
    assert_eq!(
        received,
        [("0 q1".to_owned(), 1), ("1 q2".to_owned(), 2)],
        "mosquitto_sub on {topic} must get the firmware's QoS 1 and QoS 2 messages"
    );
}

/// 50 QoS 1 and 50 QoS 2 messages, the broker restarted (persistence on) once the host
/// subscriber has seen 20 of them: every QoS 1 message arrives at least once, every QoS 2
/// message exactly once.
fn broker_restart(elf: &Path, folder: &str) {
    const COUNT: usize = 100;
    let mut broker = broker(true);
    let topic = format!("eth/{folder}/restart");
    let lifetime = RUN_TIMEOUT + Duration::from_secs(30);
    let id = format!("host-{folder}");
    let mut subscriber =
        Subscriber::spawn_persistent(broker.port(), &topic, &id, 10 * COUNT, lifetime);
    let args = format!(
        "port={} topic={topic} count={COUNT} qos=1+2 interval=40 timeout=50",
        broker.tls_port(BROKER_CERT)
    );
    let emulator = Emulator::start(elf, &args);
    let mut received = subscriber.next_messages(20, Duration::from_secs(30));
    assert_eq!(
        received.len(),
        20,
        "the host subscriber got {} of the first 20 messages within 30 s (broker log follows)",
        received.len()
    );
    let restarted_at = Instant::now();
    broker.restart();
    eprintln!(
        "broker restarted in {:.2} s after {} messages",
        restarted_at.elapsed().as_secs_f64(),
        received.len()
    );
    let run = emulator.finish();
    run.assert_passed("broker restart");
    assert!(
        run.output.contains("reconnecting"),
        "the firmware never reconnected, so the restart was not mid-stream:\n{}",
        run.output
    );
    assert!(
        run.output.contains("session present true"),
        "the broker did not resume the firmware's session after the restart:\n{}",
        run.output
    );
    received.extend(subscriber.next_messages(10 * COUNT, Duration::from_secs(3)));
    let mut copies = vec![0usize; COUNT];
    for message in &received {
        let text = message.text();
        let index = text
            .split_once(' ')
            .and_then(|(index, _)| index.parse::<usize>().ok())
            .filter(|&index| index < COUNT)
            .unwrap_or_else(|| panic!("unexpected message {text:?}"));
        copies[index] += 1;
    }
    let missing: Vec<usize> = (0..COUNT).filter(|&i| copies[i] == 0).collect();
    let repeated_qos2: Vec<usize> = (1..COUNT).step_by(2).filter(|&i| copies[i] > 1).collect();
    assert!(
        missing.is_empty() && repeated_qos2.is_empty(),
        "across the restart: messages never received {missing:?}; QoS 2 (odd) messages \
         received more than once {repeated_qos2:?}"
    );
    let duplicates = copies.iter().filter(|&&n| n > 1).count();
    eprintln!(
        "broker restart: {} messages received for {COUNT} published ({duplicates} QoS 1 duplicates)",
        received.len()
    );
}

/// A broker whose certificate chains to another CA, with the same name, is refused during
/// the handshake, with the reason on the console and an `unknown_ca` alert to the broker,
/// before any MQTT byte (the broker never sees a CONNECT).
fn impostor_refused(elf: &Path) {
    let broker = Broker::start(BrokerConfig::new().tls(TlsListener::serving("other-ca")));
    let args = format!("port={} count=1", broker.tls_port("other-ca"));
    let run = Emulator::start(elf, &args).finish();
    assert_eq!(
        run.code,
        Some(1),
        "the firmware must refuse the impostor and exit with 1:\n{}",
        run.output
    );
    let reason = run.failure().unwrap_or_default();
    assert!(
        reason.contains("is not a pinned CA"),
        "the FAIL line must name the unpinned issuer: {reason:?}\n{}",
        run.output
    );
    // The firmware told the broker why, with the unknown_ca alert, which it logs.
    let log = broker.log_once("alert unknown ca", 1);
    assert!(
        log.contains("alert unknown ca"),
        "the impostor broker got no unknown_ca alert:\n{log}"
    );
    assert!(
        !log.contains("New client connected"),
        "the impostor broker got a CONNECT:\n{log}"
    );
}

/// Idle for 4 s with a 1 s keep-alive: the broker logs PINGREQ and answers PINGRESP.
fn keep_alive(elf: &Path) {
    let broker = broker(false);
    let args = format!(
        "port={} count=1 keepalive=1 idle=4",
        broker.tls_port(BROKER_CERT)
    );
    let run = Emulator::start(elf, &args).finish();
    run.assert_passed("keep-alive");
    assert!(
        !run.output.contains("reconnecting"),
        "the connection must survive the idle time:\n{}",
        run.output
    );
    let log = broker.log();
    let pings = log.matches("Received PINGREQ from").count();
    let pongs = log.matches("Sending PINGRESP to").count();
    assert!(
        pings >= 2 && pongs >= 2,
        "the broker's log shows {pings} PINGREQ and {pongs} PINGRESP in 4 idle seconds with a \
         1 s keep-alive (2 or more expected):\n{log}"
    );
}

/// A broker that stops answering (SIGSTOP right after it sent a PINGRESP; the TCP
/// connection stays up) is declared dead within two keep-alive periods (2 s here): the
/// firmware says so, with the reason, and goes to reconnect.
fn silent_broker(elf: &Path) {
    let broker = broker(false);
    let args = format!(
        "port={} count=1 keepalive=2 idle=30 timeout=40",
        broker.tls_port(BROKER_CERT)
    );
    let mut emulator = Emulator::start(elf, &args);
    emulator.wait_for_line("connected (connection 1", Duration::from_secs(30));
    let deadline = Instant::now() + Duration::from_secs(10);
    while !broker.log().contains("Sending PINGRESP to") {
        assert!(
            Instant::now() < deadline,
            "no PINGRESP within 10 s of CONNACK with a 2 s keep-alive:\n{}",
            broker.log()
        );
        thread::sleep(Duration::from_millis(20));
    }
    broker.freeze();
    let frozen = Instant::now();
    emulator.wait_for_line("no PINGRESP within 2000 ms", Duration::from_secs(10));
    let took = frozen.elapsed();
    broker.thaw();
    eprintln!("silent broker: declared dead {took:?} after its last PINGRESP");
    // 2 x keep-alive from the last packet received, and half a second for a loaded machine.
    assert!(took <= Duration::from_millis(4_500), "{took:?}");
}

/// The message of the receive-mode test: 512 KiB, 512 times the firmware's MQTT receive
/// buffer (1 KiB) and ten times its whole RAM (about 52 KB of data and bss).
const LARGE_MESSAGE: usize = 512 * 1024;

/// Receive mode (`sub=TOPIC`): a host `mosquitto_pub -f FILE -q 1` publishes
/// [`LARGE_MESSAGE`] random bytes once the firmware has subscribed; the firmware takes the
/// message in pieces through its receive buffer and prints `received N bytes sha256 HEX`,
/// which must be the file's length and SHA-256.
fn large_message(elf: &Path, folder: &str) {
    use sha2::{Digest, Sha256};
    use std::io::Write as _;

    let broker = broker(false);
    let topic = format!("eth/{folder}/large");
    let mut payload = vec![0u8; LARGE_MESSAGE];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut random| random.read_exact(&mut payload))
        .expect("read random bytes from /dev/urandom");
    let file = broker.dir().join("large-message.bin");
    std::fs::File::create(&file)
        .and_then(|mut out| out.write_all(&payload))
        .expect("write the message file");
    let expected = format!(
        "received {LARGE_MESSAGE} bytes sha256 {}",
        Sha256::digest(&payload)
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect::<String>()
    );
    let args = format!("port={} sub={topic}", broker.tls_port(BROKER_CERT));
    let mut emulator = Emulator::start(elf, &args);
    emulator.wait_for_line(&format!("subscribed {topic}"), RUN_TIMEOUT);
    let published_at = Instant::now();
    let mut publisher = Command::new("mosquitto_pub")
        .args(["-h", "127.0.0.1", "-p", &broker.port().to_string()])
        .args(["-t", &topic, "-q", "1", "-f"])
        .arg(&file)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run mosquitto_pub (scripts/setup.sh installs mosquitto-clients)");
    let publish_timeout = Duration::from_secs(10);
    let status = loop {
        if let Some(status) = publisher.try_wait().expect("wait for mosquitto_pub") {
            break status;
        }
        if published_at.elapsed() > publish_timeout {
            let _ = publisher.kill();
            panic!(
                "mosquitto_pub -f {} -q 1 did not finish (the broker's PUBACK) within \
                 {publish_timeout:?}:\n{}",
                file.display(),
                broker.log()
            );
        }
        thread::sleep(Duration::from_millis(10));
    };
    assert!(
        status.success(),
        "mosquitto_pub -f {} -q 1 failed ({status}):\n{}",
        file.display(),
        broker.log()
    );
    let run = emulator.finish();
    run.assert_passed("large message");
    let printed = run
        .output
        .lines()
        .find(|line| line.starts_with("received ") && line.contains(" bytes sha256 "));
    assert_eq!(
        printed,
        Some(expected.as_str()),
        "the firmware must print the length and SHA-256 of the {LARGE_MESSAGE}-byte message \
         the host published (waited until QEMU exited, at most {RUN_TIMEOUT:?}); its output:\n{}",
        run.output
    );
    eprintln!(
        "large message: {LARGE_MESSAGE} bytes published and taken in {:.2} s",
        published_at.elapsed().as_secs_f64()
    );
}

/// The five tests for the firmware in `examples/$folder` with binary `$binary`, in a module
/// `$name`; its ELF is built once for them.
macro_rules! firmware_tests {
    ($name:ident, $folder:literal, $binary:literal) => {
        mod $name {
            use std::path::{Path, PathBuf};
            use std::sync::OnceLock;

            pub(super) fn elf() -> &'static Path {
                static ELF: OnceLock<PathBuf> = OnceLock::new();
                ELF.get_or_init(|| crate::support::build_firmware($folder, $binary))
            }

            #[test]
            fn publishes_and_receives_with_qos_1_and_2_over_tls() {
                super::round_trip(elf(), $folder);
            }

            #[test]
            fn survives_a_broker_restart_without_losing_or_repeating_messages() {
                super::broker_restart(elf(), $folder);
            }

            #[test]
            fn refuses_a_broker_of_another_ca_before_any_mqtt() {
                super::impostor_refused(elf());
            }

            #[test]
            fn keeps_the_connection_alive_while_idle() {
                super::keep_alive(elf());
            }

            #[test]
            fn finds_a_silent_broker_within_two_keep_alive_periods() {
                super::silent_broker(elf());
            }
        }
    };
}

firmware_tests!(mps2_eth, "mps2-eth", "mps2-eth");

/// The blocking firmware's receive mode.
#[test]
fn mps2_eth_takes_a_message_larger_than_its_ram() {
    large_message(mps2_eth::elf(), "mps2-eth");
}

firmware_tests!(mps2_embassy, "mps2-embassy", "mps2-embassy");

/// The async firmware's receive mode (the same streamed events, through `wait_event`).
#[test]
fn mps2_embassy_takes_a_message_larger_than_its_ram() {
    large_message(mps2_embassy::elf(), "mps2-embassy");
}
