//! A second, independently written broker for one test: amqtt (an MQTT 3.1.1 broker written in
//! Python, from PyPI), on its own free ports on 127.0.0.1, plain and over TLS.
//!
//! `SecondBroker::start` writes a YAML config into a fresh temporary directory, runs
//! `amqtt -c FILE -d` and returns once the broker logged that every listener is bound. The
//! broker logs every MQTT packet it receives and sends (its `PacketLoggerPlugin`, at debug
//! level) into that directory: `log()` returns the text, and a test that panics while a
//! `SecondBroker` is alive gets the log printed (to stderr, shown with the failure).
//! Dropping the `SecondBroker` kills the process and removes the directory.
//!
//! Where amqtt comes from: `scripts/setup.sh` installs version [`AMQTT_VERSION`] into a venv
//! under `${XDG_CACHE_HOME:-$HOME/.cache}/embedded-mqtts/`; `$EMBEDDED_MQTTS_AMQTT` may name
//! another `amqtt` program. A missing broker is a test failure (not a skip), with the command
//! that installs it.
//!
//! amqtt facts this relies on (0.12.1, on CPython 3.11 with OpenSSL 3.0):
//! - A listener with `ssl: true` is Python's `ssl.create_default_context(Purpose.CLIENT_AUTH)`:
//!   TLS 1.2 and 1.3, `TLS_AES_128_GCM_SHA256` (the suite embedded-tls offers) included. It
//!   sets `CERT_OPTIONAL`, so the server sends a TLS 1.3 CertificateRequest; a client without a
//!   certificate answers with an empty Certificate and is accepted.
//! - The listener named `default` is required, and the others inherit its unset fields.
//! - A listener that cannot bind (port taken) makes the start fail ("Broker startup failed")
//!   but the process keeps running with no listener: the runner kills it and tries new ports.
//! - Sessions and retained messages live in memory only: there is no restart with state.

use std::fmt::Write as _;
use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::broker::{free_port, fresh_temp_dir};
use super::certs::cert_path;

/// The amqtt release `scripts/setup.sh` installs and these tests were written against.
pub const AMQTT_VERSION: &str = "0.12.1";

/// How long the broker (a Python start-up) may take before the test fails.
const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// How many sets of fresh ports `start` tries when one was taken meanwhile.
const START_ATTEMPTS: usize = 5;

/// Where `scripts/setup.sh` puts amqtt: `${XDG_CACHE_HOME:-$HOME/.cache}/embedded-mqtts/amqtt-V`.
fn venv_dir() -> PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache")
        });
    cache
        .join("embedded-mqtts")
        .join(format!("amqtt-{AMQTT_VERSION}"))
}

/// The `amqtt` program: `$EMBEDDED_MQTTS_AMQTT`, the venv of `scripts/setup.sh`, or PATH.
/// Panics with the install command if it is nowhere.
pub fn amqtt_program() -> PathBuf {
    if let Some(program) = std::env::var_os("EMBEDDED_MQTTS_AMQTT") {
        let program = PathBuf::from(program);
        assert!(
            program.is_file(),
            "EMBEDDED_MQTTS_AMQTT={} is not a file",
            program.display()
        );
        return program;
    }
    let venv = venv_dir();
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::iter::once(venv.join("bin"))
        .chain(std::env::split_paths(&path))
        .map(|dir| dir.join("amqtt"))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "amqtt (the second broker of these tests) is not installed: run \
                 `bash scripts/setup.sh`, or `python3 -m venv {venv} && {venv}/bin/python -m pip \
                 install amqtt=={AMQTT_VERSION}`",
                venv = venv.display()
            )
        })
}

/// Why one launch of the broker did not come up.
enum LaunchFailure {
    /// Some port was taken between choosing it and the broker binding it.
    PortTaken,
}

/// A running amqtt, killed and cleaned up on drop.
pub struct SecondBroker {
    dir: PathBuf,
    port: u16,
    /// The certificates served, one TLS listener each, with its port.
    tls: Vec<(String, u16)>,
    /// Whether clients without a user name are accepted.
    allow_anonymous: bool,
    child: Option<Child>,
}

impl SecondBroker {
    /// Starts amqtt with a plain listener and one TLS listener per name in `served` (a
    /// certificate of `certs/`: `NAME-chain.crt` where it exists, else `NAME.crt`, with
    /// `NAME.key`), anonymous clients allowed, on fresh ports. Panics (with the broker's log)
    /// if it does not come up within 20 seconds.
    ///
    /// amqtt treats every client of such a broker as anonymous, even one with a user name, and
    /// keeps no session for anonymous clients: see [`start_authenticated`](Self::start_authenticated).
    pub fn start(served: &[&str]) -> SecondBroker {
        Self::launch_with(served, true)
    }

    /// [`start`](Self::start), but anonymous clients are refused: any client that gives a user
    /// name is accepted (no password check). Only such clients get persistent sessions from
    /// amqtt 0.12: its `AnonymousAuthPlugin` marks every client of an anonymous broker as
    /// anonymous, and for those the broker queues nothing while they are away and deletes
    /// their session within a second of the disconnection (`Broker._session_monitor`).
    pub fn start_authenticated(served: &[&str]) -> SecondBroker {
        Self::launch_with(served, false)
    }

    fn launch_with(served: &[&str], allow_anonymous: bool) -> SecondBroker {
        let program = amqtt_program();
        for (i, name) in served.iter().enumerate() {
            assert!(!served[..i].contains(name), "{name} is served twice");
            let (certfile, keyfile) = cert_and_key(name);
            for file in [certfile, keyfile] {
                assert!(
                    file.exists(),
                    "{} does not exist (run certs/make.sh?)",
                    file.display()
                );
            }
        }
        let mut broker = SecondBroker {
            dir: fresh_temp_dir("amqtt"),
            port: 0,
            tls: Vec::new(),
            allow_anonymous,
            child: None,
        };
        for _ in 0..START_ATTEMPTS {
            broker.port = free_port();
            broker.tls = served
                .iter()
                .map(|name| ((*name).to_owned(), free_port()))
                .collect();
            broker.write_config();
            match broker.launch(&program) {
                Ok(()) => return broker,
                Err(LaunchFailure::PortTaken) => continue,
            }
        }
        panic!("amqtt found a port taken {START_ATTEMPTS} times (its log follows)");
    }

    /// The plain MQTT port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the TLS listener serving `name` (as given to [`start`](Self::start)).
    pub fn tls_port(&self, name: &str) -> u16 {
        self.tls
            .iter()
            .find(|(served, _)| served == name)
            .map(|&(_, port)| port)
            .unwrap_or_else(|| panic!("no TLS listener serves {name:?}"))
    }

    /// The broker's log so far: start-up, then every packet in and out (`<-in--` / `-out->`).
    pub fn log(&self) -> String {
        fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// The packets the broker logged, one line each, in order: `-out->` for what it sent,
    /// `<-in--` for what it received.
    pub fn packet_log(&self) -> Vec<String> {
        self.log()
            .lines()
            .filter(|line| line.contains("PacketLoggerPlugin") && line.contains("Packet("))
            .map(|line| {
                // Drop the time stamp and logger name: "[...] amqtt...:44 :: DEBUG - " prefix.
                line.split_once(" :: DEBUG - ")
                    .map_or(line, |(_, packet)| packet)
                    .to_owned()
            })
            .collect()
    }

    /// The [`packet_log`](Self::packet_log) once `done` says it is complete, or after 5
    /// seconds, whichever is first: amqtt logs a packet after sending it, so the client may
    /// have it (and the test go on) before the line is written.
    pub fn packet_log_when(&self, done: impl Fn(&[String]) -> bool) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let log = self.packet_log();
            if done(&log) || Instant::now() > deadline {
                return log;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the broker (as a crash would: no goodbye to the clients). Idempotent.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn config_path(&self) -> PathBuf {
        self.dir.join("amqtt.yaml")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join("amqtt.log")
    }

    fn write_config(&self) {
        let mut config = String::from("# written by tests/support/second_broker.rs\n");
        config.push_str("listeners:\n");
        let _ = write!(
            config,
            "  default:\n    type: tcp\n    bind: 127.0.0.1:{}\n",
            self.port
        );
        for (name, port) in &self.tls {
            let (certfile, keyfile) = cert_and_key(name);
            let _ = write!(
                config,
                "  {}:\n    type: tcp\n    bind: 127.0.0.1:{port}\n    ssl: true\n    certfile: {}\n    keyfile: {}\n",
                listener_name(name),
                yaml_string(&certfile),
                yaml_string(&keyfile),
            );
        }
        // No $SYS plugin: only the logging of packets, and the access rule.
        let _ = write!(
            config,
            "plugins:\n  amqtt.plugins.logging_amqtt.PacketLoggerPlugin:\n  \
             amqtt.plugins.authentication.AnonymousAuthPlugin:\n    allow_anonymous: {}\n",
            self.allow_anonymous
        );
        fs::write(self.config_path(), config).expect("write amqtt.yaml");
    }

    /// Runs amqtt once with the current config and waits until it is ready.
    fn launch(&mut self, program: &Path) -> Result<(), LaunchFailure> {
        let log_start = fs::metadata(self.log_path()).map_or(0, |m| m.len() as usize);
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("open the broker log");
        let child = Command::new(program)
            .arg("-c")
            .arg(self.config_path())
            .arg("-d")
            .current_dir(&self.dir)
            // Python must not buffer what it writes into the log.
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("duplicate a file handle"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("run {}: {e}", program.display()));
        self.child = Some(child);
        self.wait_ready(log_start)
    }

    /// Waits until the log (from byte `log_start`, this launch) says that every listener is
    /// bound and the broker started.
    fn wait_ready(&mut self, log_start: usize) -> Result<(), LaunchFailure> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let mut bound: Vec<String> = vec![format!(
            "Listener 'default' bind to 127.0.0.1:{}",
            self.port
        )];
        for (name, port) in &self.tls {
            bound.push(format!(
                "Listener '{}' bind to 127.0.0.1:{port}",
                listener_name(name)
            ));
        }
        loop {
            let log = fs::read_to_string(self.log_path()).unwrap_or_default();
            let this_launch = log.get(log_start..).unwrap_or_default();
            let exited = match self.child.as_mut().map(Child::try_wait) {
                Some(Ok(None)) => None,
                Some(Ok(Some(status))) => Some(status.to_string()),
                Some(Err(e)) => Some(e.to_string()),
                None => Some("not started".to_owned()),
            };
            let failed = this_launch.contains("Broker startup failed");
            if failed || exited.is_some() {
                self.stop();
                if this_launch
                    .to_lowercase()
                    .contains("address already in use")
                {
                    return Err(LaunchFailure::PortTaken);
                }
                panic!(
                    "amqtt {} before it was ready (its log follows); config:\n{}",
                    exited.map_or("failed to start".to_owned(), |s| format!("exited ({s})")),
                    fs::read_to_string(self.config_path()).unwrap_or_default(),
                );
            }
            if this_launch.contains("Broker started")
                && bound.iter().all(|line| this_launch.contains(line.as_str()))
            {
                return Ok(());
            }
            assert!(
                Instant::now() < deadline,
                "amqtt not ready after {READY_TIMEOUT:?} (its log follows)"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for SecondBroker {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() {
            eprintln!(
                "--- log of amqtt in {} ---\n{}",
                self.dir.display(),
                self.log()
            );
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// The certificate file (`NAME-chain.crt` where it exists, else `NAME.crt`) and key of `name`.
fn cert_and_key(name: &str) -> (PathBuf, PathBuf) {
    let chain = cert_path(&format!("{name}-chain.crt"));
    let certfile = if chain.exists() {
        chain
    } else {
        cert_path(&format!("{name}.crt"))
    };
    (certfile, cert_path(&format!("{name}.key")))
}

/// The YAML key of the listener serving `name` (`tls-rsa-leaf`).
fn listener_name(name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("tls-{safe}")
}

/// A path as a YAML single-quoted string.
fn yaml_string(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', "''"))
}
