//! An independent MQTT client on the host: Debian's `mosquitto_sub` and `mosquitto_pub`.
//!
//! Tests use it to check that what our client publishes arrives at a client we did not
//! write, and to send our client messages. It connects to `127.0.0.1`; over TLS it checks the
//! broker's certificate against a CA file (and the IP address against the certificate's SANs).

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use super::certs::cert_path;
use super::find_program;

/// How long a subscriber may take to get its SUBACK, and a publish to finish.
const SETUP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long [`Subscriber::wait`] waits for all its messages.
const RECEIVE_TIMEOUT: Duration = Duration::from_secs(20);
/// Marks the lines of `mosquitto_sub -F` that are messages (the others are `-d` debug lines).
const MESSAGE_PREFIX: &str = "MSG\t";

/// A message as `mosquitto_sub` received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// The topic name it was published to.
    pub topic: String,
    /// The payload, byte for byte.
    pub payload: Vec<u8>,
    /// The QoS it was delivered with (`mosquitto_sub` subscribes with QoS 2).
    pub qos: u8,
    /// Whether it came with RETAIN set (a retained message sent on subscribe).
    pub retain: bool,
}

impl Message {
    /// The payload as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.payload).into_owned()
    }
}

/// What the reader thread of a subscriber reports.
enum Event {
    Subscribed,
    Received(Message),
    Debug(String),
}

/// A `mosquitto_sub` process, subscribed (SUBACK received) when [`spawn`](Self::spawn) returns.
pub struct Subscriber {
    child: Child,
    events: Receiver<Event>,
    count: usize,
    transcript: Vec<String>,
}

impl Subscriber {
    /// Subscribes with QoS 2 to `topic` (a filter) on 127.0.0.1:`port` and collects up to
    /// `count` messages. `ca`: `None` for plain MQTT, or the CA file (in `certs/`, e.g.
    /// `"rsa-root.crt"`, or absolute) that the broker's certificate must chain to.
    /// Returns once the broker acknowledged the subscription; panics after 10 seconds.
    pub fn spawn(port: u16, topic: &str, count: usize, ca: Option<&str>) -> Subscriber {
        Self::spawn_with(port, topic, count, ca, None, RECEIVE_TIMEOUT)
    }

    /// A subscriber that outlives a broker restart: a persistent session (`-c`, client id
    /// `id`), so what is published while it reconnects is kept for it; it runs for `lifetime`
    /// and collects up to `count` messages (plain MQTT).
    pub fn spawn_persistent(
        port: u16,
        topic: &str,
        id: &str,
        count: usize,
        lifetime: Duration,
    ) -> Subscriber {
        Self::spawn_with(port, topic, count, None, Some(id), lifetime)
    }

    fn spawn_with(
        port: u16,
        topic: &str,
        count: usize,
        ca: Option<&str>,
        persistent_id: Option<&str>,
        lifetime: Duration,
    ) -> Subscriber {
        assert!(count > 0, "a subscriber waits for at least one message");
        // mosquitto_sub buffers stdout when it is a pipe: stdbuf makes it flush every line,
        // so the SUBACK and each message are seen when they happen.
        let mut command = Command::new(find_program("stdbuf"));
        command.arg("-oL").arg(find_program("mosquitto_sub"));
        connection_args(&mut command, port, topic, ca);
        command.args(["-q", "2", "-C", &count.to_string(), "-d"]);
        command.args(["-W", &lifetime.as_secs().to_string()]);
        if let Some(id) = persistent_id {
            command.args(["-c", "-i", id]);
        }
        command.args(["-F", &format!("{MESSAGE_PREFIX}%t\t%q\t%r\t%x")]);
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run mosquitto_sub");
        let stdout = child.stdout.take().expect("piped stdout");
        let (sender, events) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let event = if line.contains("received SUBACK") {
                    Event::Subscribed
                } else if let Some(message) = line.strip_prefix(MESSAGE_PREFIX) {
                    Event::Received(parse_message(message))
                } else {
                    Event::Debug(line)
                };
                if sender.send(event).is_err() {
                    break;
                }
            }
        });
        let mut subscriber = Subscriber {
            child,
            events,
            count,
            transcript: Vec::new(),
        };
        subscriber.wait_for_suback();
        subscriber
    }

    /// Waits up to 20 seconds for the `count` messages; returns what arrived (fewer on
    /// timeout, so the test's assertion shows what is missing).
    pub fn wait(mut self) -> Vec<Message> {
        let count = self.count;
        self.next_messages(count, RECEIVE_TIMEOUT)
    }

    /// Collects what arrives during `period` (at most `count`): for asserting that nothing,
    /// or nothing more, arrives.
    pub fn collect_for(mut self, period: Duration) -> Vec<Message> {
        let count = self.count;
        self.next_messages(count, period)
    }

    /// Waits up to `period` for `count` more messages and returns what came; the subscriber
    /// goes on (e.g. to watch a test's progress before it restarts the broker).
    pub fn next_messages(&mut self, count: usize, period: Duration) -> Vec<Message> {
        let deadline = Instant::now() + period;
        let mut messages = Vec::new();
        while messages.len() < count {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(Event::Received(message)) => messages.push(message),
                Ok(Event::Debug(line)) => self.transcript.push(line),
                Ok(Event::Subscribed) => {}
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
            }
        }
        messages
    }

    fn wait_for_suback(&mut self) {
        let deadline = Instant::now() + SETUP_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(Event::Subscribed) => return,
                Ok(Event::Debug(line)) => self.transcript.push(line),
                Ok(Event::Received(message)) => {
                    panic!("mosquitto_sub got {message:?} before its SUBACK")
                }
                Err(_) => {
                    let _ = self.child.kill();
                    let mut stderr = String::new();
                    if let Some(mut pipe) = self.child.stderr.take() {
                        let _ = pipe.read_to_string(&mut stderr);
                    }
                    panic!(
                        "mosquitto_sub got no SUBACK within {SETUP_TIMEOUT:?}; output:\n{}\n{stderr}",
                        self.transcript.join("\n")
                    );
                }
            }
        }
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The arguments `mosquitto_sub` and `mosquitto_pub` share: broker 127.0.0.1:`port`, the
/// topic, and for TLS the CA file the broker's certificate must chain to.
fn connection_args(command: &mut Command, port: u16, topic: &str, ca: Option<&str>) {
    command.args(["-h", "127.0.0.1", "-p", &port.to_string(), "-t", topic]);
    if let Some(ca) = ca {
        command.arg("--cafile").arg(cert_path(ca));
    }
}

/// Parses `TOPIC\tQOS\tRETAIN\tHEX` (the `-F` format after the prefix).
fn parse_message(line: &str) -> Message {
    let mut fields = line.rsplitn(4, '\t');
    let (Some(hex), Some(retain), Some(qos), Some(topic)) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        panic!("unexpected mosquitto_sub line {line:?}")
    };
    let payload = (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|byte| u8::from_str_radix(byte, 16).ok())
                .unwrap_or_else(|| panic!("bad hex payload in {line:?}"))
        })
        .collect();
    Message {
        topic: topic.to_owned(),
        payload,
        qos: qos.parse().expect("QoS digit"),
        retain: retain == "1",
    }
}

/// Publishes `payload` to `topic` over plain MQTT on 127.0.0.1:`port` with `mosquitto_pub`
/// and waits until it is done (acknowledged, for QoS 1 and 2). An empty payload with `retain`
/// clears the retained message. Panics with its output if it fails.
pub fn publish(port: u16, topic: &str, payload: impl AsRef<[u8]>, qos: u8, retain: bool) {
    if let Err(e) = try_publish(port, None, topic, payload.as_ref(), qos, retain) {
        panic!("{e}");
    }
}

/// [`publish`] over TLS: the broker's certificate must chain to `ca` (a file in `certs/`).
pub fn publish_tls(
    port: u16,
    ca: &str,
    topic: &str,
    payload: impl AsRef<[u8]>,
    qos: u8,
    retain: bool,
) {
    if let Err(e) = try_publish(port, Some(ca), topic, payload.as_ref(), qos, retain) {
        panic!("{e}");
    }
}

/// [`publish`] or [`publish_tls`] that returns the failure (with `mosquitto_pub`'s output)
/// instead of panicking: for checking that a connection is refused.
pub fn try_publish(
    port: u16,
    ca: Option<&str>,
    topic: &str,
    payload: &[u8],
    qos: u8,
    retain: bool,
) -> Result<(), String> {
    let mut command = Command::new(find_program("mosquitto_pub"));
    connection_args(&mut command, port, topic, ca);
    command.args(["-q", &qos.to_string()]);
    // -s reads the payload from stdin, byte for byte; -n sends an empty one.
    command.arg(if payload.is_empty() { "-n" } else { "-s" });
    if retain {
        command.arg("-r");
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run mosquitto_pub");
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(payload)
            .expect("write the payload to mosquitto_pub");
    }
    let deadline = Instant::now() + SETUP_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for mosquitto_pub") {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut output = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        let _ = stdout.read_to_string(&mut output);
    }
    if let Some(mut stderr) = child.stderr.take() {
        let _ = stderr.read_to_string(&mut output);
    }
    match status {
        Some(status) if status.success() => Ok(()),
        Some(status) => Err(format!(
            "mosquitto_pub to 127.0.0.1:{port} topic {topic:?} failed ({status}): {output}"
        )),
        None => Err(format!(
            "mosquitto_pub to 127.0.0.1:{port} topic {topic:?} did not finish in {SETUP_TIMEOUT:?}: {output}"
        )),
    }
}
