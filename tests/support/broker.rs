//! A real Mosquitto broker for one test, on its own free ports on 127.0.0.1.
//!
//! `Broker::start` writes a config file into a fresh temporary directory, runs
//! `mosquitto -c FILE` and returns once the broker says it is running and every port accepts a
//! TCP connection. The broker logs everything (`log_type all`) into that directory: `log()`
//! returns the text, and a test that panics while a `Broker` is alive gets the log printed
//! (to stderr, which the test harness shows with the failure).
//! Dropping the `Broker` kills the process and removes the directory.
//!
//! Mosquitto facts this relies on (2.0.11 with OpenSSL 3.0):
//! - Started as root it drops to the `mosquitto` user unless the config says `user root`;
//!   the config says so, which is harmless when not root.
//! - TLS 1.3 with `TLS_AES_128_GCM_SHA256` (the one suite embedded-tls offers) is allowed by
//!   default: no `tls_version` or `ciphers_tls1.3` is needed.
//! - OpenSSL's default security level refuses to load a certificate chain signed with SHA-1
//!   ("ca md too weak") and the broker exits: such a listener needs
//!   [`TlsListener::allow_sha1_certificates`].

use std::fmt::Write as _;
use std::fs::{self, OpenOptions};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::certs::cert_path;
use super::find_program;

/// How long the broker may take to start before the test fails.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a graceful stop (SIGTERM, which saves persistence) may take before SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);
/// How many sets of fresh ports `start` tries when one was taken meanwhile.
const START_ATTEMPTS: usize = 5;

/// Ports handed out in this test process. Tests run in parallel threads; a port is never
/// handed out twice, so two brokers of one process never race for the same port.
static HANDED_OUT: Mutex<Vec<u16>> = Mutex::new(Vec::new());
/// Numbers the temporary directories of this process.
static DIR_COUNTER: AtomicU32 = AtomicU32::new(0);

/// One TLS listener of a [`Broker`]: certificate, key and options.
#[derive(Clone, Debug)]
pub struct TlsListener {
    name: String,
    certfile: PathBuf,
    keyfile: PathBuf,
    cafile: Option<PathBuf>,
    require_certificate: bool,
    ciphers: Option<String>,
    ciphers_tls13: Option<String>,
    tls_version: Option<String>,
}

impl TlsListener {
    /// A listener called `name` (for [`Broker::tls_port`]) serving `certfile` with `keyfile`:
    /// file names in `certs/`, or absolute paths.
    pub fn new(name: &str, certfile: &str, keyfile: &str) -> Self {
        TlsListener {
            name: name.to_owned(),
            certfile: cert_path(certfile),
            keyfile: cert_path(keyfile),
            cafile: None,
            require_certificate: false,
            ciphers: None,
            ciphers_tls13: None,
            tls_version: None,
        }
    }

    /// A listener named `cert` serving that certificate of `certs/`: `cert-chain.crt` (leaf and
    /// intermediate) where it exists, otherwise `cert.crt`, with the key `cert.key`.
    /// Example: `TlsListener::serving("rsa-leaf")`, then `broker.tls_port("rsa-leaf")`.
    pub fn serving(cert: &str) -> Self {
        let chain = format!("{cert}-chain.crt");
        let certfile = if cert_path(&chain).exists() {
            chain
        } else {
            format!("{cert}.crt")
        };
        Self::new(cert, &certfile, &format!("{cert}.key"))
    }

    /// Client certificates are checked against this CA (file in `certs/` or absolute path).
    pub fn cafile(mut self, ca: &str) -> Self {
        self.cafile = Some(cert_path(ca));
        self
    }

    /// Clients must present a certificate signed by the [`cafile`](Self::cafile) CA.
    pub fn require_certificate(mut self) -> Self {
        self.require_certificate = true;
        self
    }

    /// Mosquitto's `ciphers` (the TLS 1.2 list; `@SECLEVEL=n` in it also sets OpenSSL's
    /// security level for the listener, certificate loading included).
    pub fn ciphers(mut self, list: &str) -> Self {
        self.ciphers = Some(list.to_owned());
        self
    }

    /// Mosquitto's `ciphers_tls1.3`, e.g. `TLS_AES_256_GCM_SHA384` to refuse embedded-tls.
    pub fn ciphers_tls13(mut self, list: &str) -> Self {
        self.ciphers_tls13 = Some(list.to_owned());
        self
    }

    /// Mosquitto's `tls_version` (`tlsv1.3` or `tlsv1.2`); by default both are allowed.
    pub fn tls_version(mut self, version: &str) -> Self {
        self.tls_version = Some(version.to_owned());
        self
    }

    /// Lowers OpenSSL's security level to 0 so that Mosquitto loads a chain signed with SHA-1
    /// (`sha1-leaf`); without it the broker refuses to start ("ca md too weak").
    pub fn allow_sha1_certificates(self) -> Self {
        self.ciphers("DEFAULT:@SECLEVEL=0")
    }
}

/// What a [`Broker`] runs: always a plain listener, plus TLS listeners and options.
#[derive(Clone, Debug, Default)]
pub struct BrokerConfig {
    persistence: bool,
    tls: Vec<TlsListener>,
    lines: Vec<String>,
}

impl BrokerConfig {
    /// A plain MQTT listener only, anonymous clients allowed, no persistence.
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps sessions and retained messages across [`Broker::restart`] (saved on the graceful
    /// stop, in the broker's temporary directory).
    pub fn persistence(mut self) -> Self {
        self.persistence = true;
        self
    }

    /// Adds a TLS listener; its name must be unique in this broker.
    pub fn tls(mut self, listener: TlsListener) -> Self {
        self.tls.push(listener);
        self
    }

    /// Adds a global config line, e.g. `"max_inflight_messages 1"` or `"max_keepalive 5"`.
    pub fn line(mut self, line: &str) -> Self {
        self.lines.push(line.to_owned());
        self
    }
}

/// Why one launch of the broker did not come up.
enum LaunchFailure {
    /// Some port was taken between choosing it and the broker binding it.
    PortTaken,
}

/// A running Mosquitto, killed and cleaned up on drop.
pub struct Broker {
    config: BrokerConfig,
    dir: PathBuf,
    port: u16,
    /// One port per `config.tls` listener, in the same order.
    tls_ports: Vec<u16>,
    child: Option<Child>,
}

impl Broker {
    /// Starts a broker with `config` on fresh ports and waits until it serves every port.
    /// Panics (with the broker's log) if it does not come up within 10 seconds.
    pub fn start(config: BrokerConfig) -> Broker {
        for (i, listener) in config.tls.iter().enumerate() {
            assert!(
                config.tls[..i].iter().all(|l| l.name != listener.name),
                "two TLS listeners are called {:?}",
                listener.name
            );
            for file in [&listener.certfile, &listener.keyfile] {
                assert!(
                    file.exists(),
                    "{} does not exist (run certs/make.sh?)",
                    file.display()
                );
            }
        }
        let mut broker = Broker {
            dir: fresh_temp_dir("broker"),
            tls_ports: Vec::new(),
            port: 0,
            child: None,
            config,
        };
        for _ in 0..START_ATTEMPTS {
            broker.port = free_port();
            broker.tls_ports = broker.config.tls.iter().map(|_| free_port()).collect();
            broker.write_config();
            match broker.launch() {
                Ok(()) => return broker,
                Err(LaunchFailure::PortTaken) => continue,
            }
        }
        panic!("mosquitto found a port taken {START_ATTEMPTS} times (its log follows)");
    }

    /// The plain (unencrypted) MQTT port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the TLS listener called `name`. Panics if there is none.
    pub fn tls_port(&self, name: &str) -> u16 {
        let index = self.config.tls.iter().position(|l| l.name == name);
        match index.and_then(|i| self.tls_ports.get(i)) {
            Some(&port) => port,
            None => {
                let names: Vec<&str> = self.config.tls.iter().map(|l| l.name.as_str()).collect();
                panic!("no TLS listener called {name:?}; there are {names:?}")
            }
        }
    }

    /// Everything the broker logged so far (all starts), then what it wrote to stdout/stderr.
    pub fn log(&self) -> String {
        let log = fs::read_to_string(self.log_path()).unwrap_or_default();
        let output = fs::read_to_string(self.output_path()).unwrap_or_default();
        format!("{log}--- mosquitto stdout/stderr ---\n{output}")
    }

    /// The log, once `text` occurs in it at least `times` times: Mosquitto writes what
    /// became of a connection shortly after the client saw it end. After 5 seconds, the log as
    /// it is (the caller's assertion then shows it).
    pub fn log_once(&self, text: &str, times: usize) -> String {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let log = self.log();
            if log.matches(text).count() >= times || Instant::now() > deadline {
                return log;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the broker gracefully (SIGTERM: it closes connections and saves persistence),
    /// SIGKILL after 5 seconds. Nothing listens on its ports until [`start_again`](Self::start_again).
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let terminated = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        let deadline = Instant::now() + STOP_TIMEOUT;
        while terminated && Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Freezes the broker (SIGSTOP): its connections stay open, but it answers nothing, as
    /// a hung broker or a half-open link looks to a client. [`thaw`](Self::thaw) resumes it.
    pub fn freeze(&self) {
        self.signal("-STOP");
    }

    /// Resumes a [`freeze`](Self::freeze)d broker (SIGCONT).
    pub fn thaw(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("the broker is running").id();
        let sent = Command::new("kill")
            .args([signal, &pid.to_string()])
            .status();
        assert!(sent.is_ok_and(|s| s.success()), "kill {signal} {pid}");
    }

    /// Starts the stopped broker again with the same config, ports and persistence.
    /// Retries for up to 10 seconds while a port is still taken.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "start_again: the broker is running");
        let deadline = Instant::now() + READY_TIMEOUT;
        while let Err(LaunchFailure::PortTaken) = self.launch() {
            assert!(
                Instant::now() < deadline,
                "mosquitto could not get its ports back (its log follows)"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// [`stop`](Self::stop), then [`start_again`](Self::start_again).
    pub fn restart(&mut self) {
        self.stop();
        self.start_again();
    }

    /// The broker's temporary directory (config, log, persistence).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn config_path(&self) -> PathBuf {
        self.dir.join("mosquitto.conf")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join("mosquitto.log")
    }

    fn output_path(&self) -> PathBuf {
        self.dir.join("output.log")
    }

    fn all_ports(&self) -> impl Iterator<Item = u16> + '_ {
        std::iter::once(self.port).chain(self.tls_ports.iter().copied())
    }

    fn write_config(&self) {
        let dir = self.dir.display();
        let mut conf = String::new();
        let mut line = |text: &str| {
            conf.push_str(text);
            conf.push('\n');
        };
        line("# Written by tests/support/broker.rs for one test.");
        line("user root");
        line("allow_anonymous true");
        line("per_listener_settings false");
        line(&format!("log_dest file {dir}/mosquitto.log"));
        line("log_type all");
        line("log_timestamp_format %H:%M:%S");
        line("set_tcp_nodelay true");
        if self.config.persistence {
            let store = self.dir.join("persistence");
            fs::create_dir_all(&store).expect("create the persistence directory");
            line("persistence true");
            line(&format!("persistence_location {}/", store.display()));
        } else {
            line("persistence false");
        }
        for extra in &self.config.lines {
            line(extra);
        }
        line(&format!("listener {} 127.0.0.1", self.port));
        for (tls, port) in self.config.tls.iter().zip(&self.tls_ports) {
            line(&format!("\n# TLS listener {:?}", tls.name));
            line(&format!("listener {port} 127.0.0.1"));
            line(&format!("certfile {}", tls.certfile.display()));
            line(&format!("keyfile {}", tls.keyfile.display()));
            if let Some(ca) = &tls.cafile {
                line(&format!("cafile {}", ca.display()));
            }
            if tls.require_certificate {
                line("require_certificate true");
            }
            for (option, value) in [
                ("ciphers", &tls.ciphers),
                ("ciphers_tls1.3", &tls.ciphers_tls13),
                ("tls_version", &tls.tls_version),
            ] {
                if let Some(value) = value {
                    line(&format!("{option} {value}"));
                }
            }
        }
        fs::write(self.config_path(), conf).expect("write mosquitto.conf");
    }

    /// Runs mosquitto with the written config and waits until it is ready.
    fn launch(&mut self) -> Result<(), LaunchFailure> {
        let log_start = fs::metadata(self.log_path()).map_or(0, |m| m.len() as usize);
        let output = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.output_path())
            .expect("open the broker's output file");
        let child = Command::new(find_program("mosquitto"))
            .arg("-c")
            .arg(self.config_path())
            .stdin(Stdio::null())
            .stdout(output.try_clone().expect("duplicate a file handle"))
            .stderr(output)
            .spawn()
            .expect("run mosquitto");
        self.child = Some(child);
        self.wait_ready(log_start)
    }

    /// Waits until the log (from byte `log_start`, this launch) says "running" and every port
    /// accepts a TCP connection.
    fn wait_ready(&mut self, log_start: usize) -> Result<(), LaunchFailure> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let log = fs::read_to_string(self.log_path()).unwrap_or_default();
            let this_launch = log.get(log_start..).unwrap_or_default();
            let exited = match self.child.as_mut().map(Child::try_wait) {
                Some(Ok(None)) => None,
                Some(Ok(Some(status))) => Some(status.to_string()),
                Some(Err(e)) => Some(e.to_string()),
                None => Some("not started".to_owned()),
            };
            if let Some(status) = exited {
                self.child = None;
                if this_launch.contains("Address already in use") {
                    return Err(LaunchFailure::PortTaken);
                }
                panic!(
                    "mosquitto exited ({status}) before it was ready (its log follows); config:\n{}",
                    fs::read_to_string(self.config_path()).unwrap_or_default(),
                );
            }
            if this_launch.contains(" running") && self.all_ports().all(accepts_connection) {
                return Ok(());
            }
            if Instant::now() > deadline {
                let mut waiting = String::new();
                for port in self.all_ports().filter(|&p| !accepts_connection(p)) {
                    let _ = write!(waiting, " {port}");
                }
                panic!(
                    "mosquitto not ready after {READY_TIMEOUT:?}, ports not accepting:{waiting} (its log follows)"
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!(
                "--- log of the broker in {} ---\n{}",
                self.dir.display(),
                self.log()
            );
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn accepts_connection(port: u16) -> bool {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok()
}

/// A port on 127.0.0.1 that was free a moment ago and was not handed out before (to any
/// broker of this process: Mosquitto or the second broker).
pub(super) fn free_port() -> u16 {
    loop {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|listener| listener.local_addr())
            .expect("bind a free port on 127.0.0.1")
            .port();
        let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
        if !handed_out.contains(&port) {
            handed_out.push(port);
            return port;
        }
    }
}

/// A new empty directory `embedded-mqtts-{what}-{pid}-{n}` under the system's temporary
/// directory.
pub(super) fn fresh_temp_dir(what: &str) -> PathBuf {
    let n = DIR_COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir =
        std::env::temp_dir().join(format!("embedded-mqtts-{what}-{}-{n}", std::process::id()));
    // A leftover of an earlier process with the same id.
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("create a temporary directory");
    dir
}
