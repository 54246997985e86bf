//! The `mqtt` example (the host CLI) against a real Mosquitto: what it prints, its exit
//! status, and that it interoperates with `mosquitto_sub` and `mosquitto_pub`.
//!
//! Run with `cargo test --features std --test cli`. The first test to need the binary builds
//! it with `cargo build --example mqtt --features std` (examples have no `CARGO_BIN_EXE_*`).

mod support;

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use support::{publish, Broker, BrokerConfig, Subscriber};

/// How long a CLI run may take before the test fails.
const RUN_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a subscriber may take to get its SUBACK.
const SUBACK_TIMEOUT: Duration = Duration::from_secs(10);

/// The built example, next to this test binary: `target/<profile>/examples/mqtt`.
fn mqtt_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| support::example_binary("mqtt"))
}

/// Bytes a child writes to one of its pipes, collected by a thread until the pipe closes.
struct Captured {
    bytes: Arc<Mutex<Vec<u8>>>,
    reader: Option<thread::JoinHandle<()>>,
}

impl Captured {
    fn collect(mut pipe: impl Read + Send + 'static) -> Self {
        let bytes = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&bytes);
        let reader = thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(n @ 1..) = pipe.read(&mut chunk) {
                sink.lock().unwrap().extend_from_slice(&chunk[..n]);
            }
        });
        Captured {
            bytes,
            reader: Some(reader),
        }
    }

    /// What was written so far.
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes.lock().unwrap()).into_owned()
    }

    /// Everything written, once the process has exited (its end of the pipe is closed).
    fn all(&mut self) -> String {
        if let Some(reader) = self.reader.take() {
            reader.join().expect("pipe reader thread");
        }
        self.text()
    }
}

/// A running `mqtt` process.
struct Mqtt {
    child: Child,
    /// Kept open by [`Mqtt::spawn_interactive`] for [`Mqtt::type_line`].
    stdin: Option<ChildStdin>,
    stdout: Captured,
    stderr: Captured,
}

/// How an `mqtt` process ended.
#[derive(Debug)]
struct Finished {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl Finished {
    fn assert_success(&self) -> &Self {
        assert!(self.status.success(), "mqtt failed: {self:#?}");
        self
    }
}

impl Mqtt {
    /// Starts `mqtt COMMAND OPTIONS` against 127.0.0.1:`port`, with `stdin` as its whole
    /// input. `line` is split at whitespace (no quoting).
    fn spawn(port: u16, line: &str, stdin: &[u8]) -> Mqtt {
        let mut mqtt = Mqtt::spawn_interactive(port, line);
        let mut input = mqtt.stdin.take().expect("piped stdin");
        let stdin = stdin.to_vec();
        // Written from a thread: a large input must not block the test on a full pipe.
        thread::spawn(move || {
            let _ = input.write_all(&stdin);
        });
        mqtt
    }

    /// Starts `mqtt COMMAND OPTIONS` with its stdin left open for [`Mqtt::type_line`].
    fn spawn_interactive(port: u16, line: &str) -> Mqtt {
        let port = port.to_string();
        let mut command = Command::new(mqtt_binary());
        let mut words = line.split_whitespace();
        let subcommand = words.next().expect("a subcommand");
        command
            .arg(subcommand)
            .args(["-h", "127.0.0.1", "-p", &port])
            .args(words)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("run mqtt");
        let stdin = child.stdin.take();
        let stdout = Captured::collect(child.stdout.take().expect("piped stdout"));
        let stderr = Captured::collect(child.stderr.take().expect("piped stderr"));
        Mqtt {
            child,
            stdin,
            stdout,
            stderr,
        }
    }

    /// Writes `line` and a newline to stdin; `None` closes stdin (end of input).
    fn type_line(&mut self, line: Option<&str>) {
        match line {
            Some(line) => {
                let stdin = self.stdin.as_mut().expect("stdin is open");
                writeln!(stdin, "{line}").expect("write to mqtt's stdin");
            }
            None => drop(self.stdin.take()),
        }
    }

    /// Runs `mqtt COMMAND OPTIONS` to the end.
    fn run(port: u16, line: &str, stdin: &[u8]) -> Finished {
        Mqtt::spawn(port, line, stdin).finish()
    }

    /// Waits until stderr contains `text` (started with `-d`, the packet log says
    /// `received SUBACK` once the subscription is in place).
    fn wait_for_stderr(&mut self, text: &str) {
        self.wait_for(text, |this| this.stderr.text());
    }

    fn wait_for_stdout(&mut self, text: &str) {
        self.wait_for(text, |this| this.stdout.text());
    }

    fn wait_for(&mut self, text: &str, output: impl Fn(&Self) -> String) {
        let waiting_for = format!("{text:?} in its output");
        self.poll(&waiting_for, SUBACK_TIMEOUT, |this| {
            output(this).contains(text).then_some(())
        });
    }

    /// Calls `done` every 10 ms until it gives a value; after `timeout`, kills the process
    /// and fails the test with its output.
    fn poll<T>(
        &mut self,
        waiting_for: &str,
        timeout: Duration,
        mut done: impl FnMut(&mut Self) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(value) = done(self) {
                return value;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "no {waiting_for} after {timeout:?}\nstdout:\n{}\nstderr:\n{}",
                    self.stdout.text(),
                    self.stderr.text()
                );
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits for the process to exit (killing it after 30 s) and returns its output.
    fn finish(mut self) -> Finished {
        let status = self.poll("exit of mqtt", RUN_TIMEOUT, |this| {
            this.child.try_wait().expect("poll mqtt")
        });
        Finished {
            status,
            stdout: self.stdout.all(),
            stderr: self.stderr.all(),
        }
    }
}

impl Drop for Mqtt {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A directory for files a broker config refers to, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("embedded-mqtts-cli-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create a temporary directory");
        TempDir(dir)
    }

    fn file(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.0.join(name);
        fs::write(&path, contents).expect("write a temporary file");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[test]
fn qos2_lines_are_delivered_once_each_in_order() {
    let broker = Broker::start(BrokerConfig::new());
    let port = broker.port();
    let mut sub = Mqtt::spawn(port, "sub -t cli/qos2 -q 2 -C 3 -d", b"");
    sub.wait_for_stderr("received SUBACK");
    Mqtt::run(port, "pub -t cli/qos2 -q 2 -l", b"one\ntwo\nthree\n").assert_success();
    let sub = sub.finish();
    sub.assert_success();
    assert_eq!(sub.stdout, "one\ntwo\nthree\n");
    // Exactly once: three PUBLISH packets reached the subscriber, none of them a re-send,
    // and each QoS 2 flow ran (PUBREC sent for each).
    let log = &sub.stderr;
    assert_eq!(log.matches("received PUBLISH (d0, q2").count(), 3, "{log}");
    assert_eq!(log.matches("sending PUBREC").count(), 3, "{log}");
}

#[test]
fn many_lines_pass_the_in_flight_window_in_order() {
    let broker = Broker::start(BrokerConfig::new());
    let lines: Vec<String> = (1..=200).map(|i| format!("line {i}")).collect();
    let watcher = Subscriber::spawn(broker.port(), "cli/window", lines.len(), None);
    let input = lines.join("\n") + "\n";
    let publisher = Mqtt::run(
        broker.port(),
        "pub -t cli/window -q 1 -l -d",
        input.as_bytes(),
    );
    publisher.assert_success();
    // More messages than the 16-message window: the publisher waited for PUBACKs.
    assert_eq!(publisher.stderr.matches("received PUBACK").count(), 200);
    let received: Vec<String> = watcher.wait().iter().map(|m| m.text()).collect();
    assert_eq!(received, lines);
}

#[test]
fn interoperates_with_mosquitto_clients_at_qos1() {
    let broker = Broker::start(BrokerConfig::new());
    let port = broker.port();
    // mqtt pub -> mosquitto_sub
    let watcher = Subscriber::spawn(port, "cli/to-mosquitto", 1, None);
    Mqtt::run(port, "pub -t cli/to-mosquitto -q 1 -m from-mqtt", b"").assert_success();
    let received = watcher.wait();
    assert_eq!(received.len(), 1);
    assert_eq!(
        (received[0].text().as_str(), received[0].qos),
        ("from-mqtt", 1)
    );

    // mosquitto_pub -> mqtt sub
    let mut sub = Mqtt::spawn(port, "sub -t cli/from-mosquitto -q 1 -C 1 -v -d", b"");
    sub.wait_for_stderr("received SUBACK");
    publish(port, "cli/from-mosquitto", "from mosquitto_pub", 1, false);
    let sub = sub.finish();
    sub.assert_success();
    assert_eq!(sub.stdout, "cli/from-mosquitto from mosquitto_pub\n");
    assert!(sub.stderr.contains("sending PUBACK (m1)"), "{}", sub.stderr);
}

#[test]
fn stdin_is_published_byte_for_byte_with_s() {
    let broker = Broker::start(BrokerConfig::new());
    let watcher = Subscriber::spawn(broker.port(), "cli/binary", 1, None);
    let binary = b"a\0b\n\xffend";
    Mqtt::run(broker.port(), "pub -t cli/binary -s -q 1", binary).assert_success();
    assert_eq!(watcher.wait()[0].payload, binary);
}

#[test]
fn retained_message_reaches_a_later_subscriber() {
    let broker = Broker::start(BrokerConfig::new());
    let port = broker.port();
    Mqtt::run(port, "pub -t cli/retained -r -q 1 -m kept", b"").assert_success();
    let later = Mqtt::run(port, "sub -t cli/retained -C 1 -v", b"");
    later.assert_success();
    assert_eq!(later.stdout, "cli/retained kept\n");
    // -R skips it: nothing printed, and -W ends the wait.
    let skipping = Mqtt::run(port, "sub -t cli/retained -R -W 1", b"");
    assert_eq!(skipping.status.code(), Some(27), "{skipping:#?}");
    assert_eq!(skipping.stdout, "");
}

/// A message twelve times the CLI's 256 KiB receive buffer is printed whole, as
/// mosquitto_sub prints it (it used to be skipped: "exceeds the receive buffer").
#[test]
fn a_message_larger_than_the_receive_buffer_is_printed_whole() {
    let broker = Broker::start(BrokerConfig::new());
    let port = broker.port();
    let payload: String = (0..3 * 1024 * 1024 / 64)
        .map(|i| format!("{i:063}\n"))
        .collect();
    publish(port, "cli/big", payload.as_bytes(), 1, true);
    let run = Mqtt::run(port, "sub -t cli/big -C 1 -v", b"");
    run.assert_success();
    assert_eq!(run.stdout.len(), "cli/big ".len() + payload.len() + 1);
    assert!(
        run.stdout == format!("cli/big {payload}\n"),
        "the payload differs"
    );
}

/// A broker that stops answering (SIGSTOP) is found within two keep-alive periods: with
/// `-k 2`, the subscriber exits with the reason about 4 s after the broker's last packet.
#[test]
fn a_silent_broker_is_found_within_two_keep_alive_periods() {
    let broker = Broker::start(BrokerConfig::new());
    let mut sub = Mqtt::spawn(
        broker.port(),
        "sub -d -i cli-silent -k 2 -t cli/silent",
        b"",
    );
    sub.wait_for_stderr("received PINGRESP");
    broker.freeze();
    let frozen = Instant::now();
    let run = sub.finish();
    let took = frozen.elapsed();
    broker.thaw();
    assert_eq!(run.status.code(), Some(1), "{run:#?}");
    assert!(
        run.stderr
            .ends_with("mqtt: timeout: no PINGRESP within 2000 ms: broker or link presumed dead\n"),
        "{run:#?}"
    );
    // The last PINGRESP came at most a moment before the freeze: 2 x 2 s, and half a second
    // for a loaded test machine.
    assert!(took <= Duration::from_millis(4_500), "{took:?}");
}

#[test]
fn timeout_without_messages_fails_with_timed_out() {
    let broker = Broker::start(BrokerConfig::new());
    let started = Instant::now();
    let run = Mqtt::run(broker.port(), "sub -t cli/silence -W 1", b"");
    let took = started.elapsed();
    assert_eq!(run.status.code(), Some(27), "{run:#?}");
    assert_eq!(run.stderr, "mqtt: Timed out after 1 s\n");
    assert!(run.stdout.is_empty());
    let expected = Duration::from_secs(1)..Duration::from_secs(10);
    assert!(expected.contains(&took), "{took:?}");
}

#[test]
fn refused_connection_exits_with_the_reason() {
    let files = TempDir::new();
    let passwords = files.file("passwords", "");
    let status = Command::new("mosquitto_passwd")
        .arg("-b")
        .arg(&passwords)
        .args(["alice", "secret"])
        .status()
        .expect("run mosquitto_passwd");
    assert!(status.success());
    let broker = Broker::start(
        BrokerConfig::new()
            .line("allow_anonymous false")
            .line(&format!("password_file {}", passwords.display())),
    );
    let publish = "pub -t cli/auth -m x -q 1";
    let anonymous = Mqtt::run(broker.port(), publish, b"");
    assert_eq!(anonymous.status.code(), Some(1), "{anonymous:#?}");
    assert_eq!(
        anonymous.stderr,
        "mqtt: connection refused: not authorized\n"
    );

    let wrong = Mqtt::run(broker.port(), &format!("{publish} -u alice -P guess"), b"");
    assert_eq!(wrong.status.code(), Some(1), "{wrong:#?}");
    assert!(
        wrong.stderr.starts_with("mqtt: connection refused:"),
        "{}",
        wrong.stderr
    );

    Mqtt::run(broker.port(), &format!("{publish} -u alice -P secret"), b"").assert_success();
}

#[test]
fn unreachable_broker_is_named() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let run = Mqtt::run(port, "pub -t x -m y", b"");
    assert_eq!(run.status.code(), Some(1));
    let expected = format!("mqtt: cannot connect to 127.0.0.1:{port}: ");
    assert!(run.stderr.starts_with(&expected), "{}", run.stderr);
}

/// Where Debian puts Mosquitto's dynamic security plugin (package `mosquitto`).
fn dynamic_security_plugin() -> PathBuf {
    let name = "mosquitto_dynamic_security.so";
    let lib = Path::new("/usr/lib");
    fs::read_dir(lib)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join(name))
        .chain([lib.join(name)])
        .find(|path| path.is_file())
        .unwrap_or_else(|| panic!("{name} not found under /usr/lib (install mosquitto)"))
}

#[test]
fn refused_subscription_exits_with_the_filter() {
    // Mosquitto's acl_file does not check subscriptions; its dynamic security plugin does.
    let files = TempDir::new();
    let config = files.file(
        "dynsec.json",
        r#"{
  "defaultACLAccess": {"publishClientSend": true, "publishClientReceive": true,
                       "subscribe": false, "unsubscribe": true},
  "clients": [],
  "groups": [{"groupname": "anonymous", "roles": [{"rolename": "reader"}]}],
  "roles": [{"rolename": "reader",
             "acls": [{"acltype": "subscribePattern", "topic": "cli/allowed/#", "allow": true}]}],
  "anonymousGroup": "anonymous"
}"#,
    );
    let broker = Broker::start(
        BrokerConfig::new()
            .line(&format!("plugin {}", dynamic_security_plugin().display()))
            .line(&format!("plugin_opt_config_file {}", config.display())),
    );
    let line = "sub -t cli/allowed/x -t cli/forbidden -W 5";
    let run = Mqtt::run(broker.port(), line, b"");
    assert_eq!(run.status.code(), Some(1), "{run:#?}");
    assert_eq!(
        run.stderr,
        "mqtt: broker refused the subscription to cli/forbidden\n"
    );
}

#[test]
fn will_is_published_when_the_client_vanishes_and_not_when_it_leaves() {
    let broker = Broker::start(BrokerConfig::new());
    let port = broker.port();
    let will = "--will-topic cli/will --will-payload gone --will-qos 1";
    // Leaving cleanly (DISCONNECT after -C 1): no will.
    let watcher = Subscriber::spawn(port, "cli/will", 1, None);
    let mut polite = Mqtt::spawn(port, &format!("sub -t cli/will/ping -C 1 -d {will}"), b"");
    polite.wait_for_stderr("received SUBACK");
    publish(port, "cli/will/ping", "bye", 0, false);
    polite.finish().assert_success();
    assert!(watcher.collect_for(Duration::from_secs(1)).is_empty());

    // Killed (SIGKILL, no DISCONNECT): the broker publishes the will.
    let watcher = Subscriber::spawn(port, "cli/will", 1, None);
    let mut doomed = Mqtt::spawn(port, &format!("sub -t cli/will/ping -d {will}"), b"");
    doomed.wait_for_stderr("received SUBACK");
    doomed.child.kill().expect("SIGKILL mqtt");
    let received = watcher.wait();
    assert_eq!(received.len(), 1);
    assert_eq!((received[0].text().as_str(), received[0].qos), ("gone", 1));
}

#[test]
fn debug_logs_every_packet_like_mosquitto_pub() {
    let broker = Broker::start(BrokerConfig::new());
    let line = "pub -d -i cli-debug -q 1 -t cli/debug -m hello";
    let run = Mqtt::run(broker.port(), line, b"");
    run.assert_success();
    let expected = [
        "Client cli-debug sending CONNECT (c1, k60)",
        "Client cli-debug received CONNACK (0)",
        "Client cli-debug sending PUBLISH (d0, q1, r0, m1, 'cli/debug', ... (5 bytes))",
        "Client cli-debug received PUBACK (Mid: 1)",
        "Client cli-debug sending DISCONNECT",
    ];
    assert_eq!(run.stderr.lines().collect::<Vec<_>>(), expected);
    assert!(run.stdout.is_empty());
}

#[test]
fn reconnect_resumes_the_session_after_a_broker_restart() {
    let mut broker = Broker::start(BrokerConfig::new().persistence());
    let port = broker.port();
    let topic = "cli/reconnect";
    let line = format!("sub --reconnect -i cli-reconnect -q 1 -t {topic} -C 2 -d");
    let mut sub = Mqtt::spawn(port, &line, b"");
    sub.wait_for_stderr("received SUBACK");
    publish(port, topic, "before", 1, false);
    sub.wait_for_stdout("before\n");
    broker.restart();
    // Queued by the broker for the persistent session if the client is not back yet.
    publish(port, topic, "after", 1, false);
    let sub = sub.finish();
    sub.assert_success();
    assert_eq!(sub.stdout, "before\nafter\n");
    let log = &sub.stderr;
    assert!(
        log.contains("reconnecting in 1 s (attempt 1 of 5)"),
        "{log}"
    );
    // The broker kept the session: no second SUBSCRIBE was needed.
    assert!(
        log.contains("received CONNACK (0, session present)"),
        "{log}"
    );
    assert_eq!(log.matches("sending SUBSCRIBE").count(), 1, "{log}");
}

#[test]
fn reconnecting_publisher_goes_on_with_the_next_line() {
    let mut broker = Broker::start(BrokerConfig::new().persistence());
    let port = broker.port();
    let topic = "cli/reconnect-pub";
    let line = format!("sub --reconnect -i cli-rsub -q 1 -t {topic} -C 2 -d");
    let mut sub = Mqtt::spawn(port, &line, b"");
    sub.wait_for_stderr("received SUBACK");
    let line = format!("pub --reconnect -i cli-rpub -q 1 -t {topic} -l -d");
    let mut publisher = Mqtt::spawn_interactive(port, &line);
    publisher.type_line(Some("one"));
    publisher.wait_for_stderr("received PUBACK (Mid: 1)");
    broker.restart();
    publisher.type_line(Some("two"));
    publisher.wait_for_stderr("received PUBACK (Mid: 2)");
    publisher.type_line(None);
    let publisher = publisher.finish();
    publisher.assert_success();
    assert!(
        publisher.stderr.contains("reconnecting in 1 s"),
        "{}",
        publisher.stderr
    );
    let sub = sub.finish();
    sub.assert_success();
    assert_eq!(sub.stdout, "one\ntwo\n");
}

#[test]
fn reconnect_retries_with_doubling_pauses_while_the_broker_is_down() {
    let mut broker = Broker::start(BrokerConfig::new());
    let mut sub = Mqtt::spawn(broker.port(), "sub --reconnect -t cli/gone -d", b"");
    sub.wait_for_stderr("received SUBACK");
    broker.stop();
    // Pauses of 1 + 2 + 4 + 8 + 16 s: too long for a test. Check the first attempts only.
    sub.wait_for_stderr("reconnecting in 2 s (attempt 2 of 5)");
    assert!(sub
        .stderr
        .text()
        .contains("mqtt: cannot connect to 127.0.0.1:"));
}
