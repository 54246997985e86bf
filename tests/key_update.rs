//! Post-handshake TLS messages from a real TLS 1.3 server (Python's `ssl` on OpenSSL 3,
//! `tests/support/key_update_server.py`), through the library's blocking [`TlsStream`] and
//! async [`AsyncTlsStream`]:
//! - KeyUpdate, with and without `update_requested`, twice, with application data before and
//!   after each: the stream reads all of it, and when the server requested an update, the
//!   client's KeyUpdate reaches the server before the client's next data, which the server
//!   reads under the client's new keys;
//! - a handshake message the server must not send after the handshake (a Finished) is an
//!   error that names it, not a panic, and the server receives the `unexpected_message` alert.
//!
//! Needs `python3` with the `ssl` module (Debian's python3 and libssl3; `scripts/setup.sh`).

// Only the parts of the shared test support this file needs.
#[path = "support/certs.rs"]
mod certs;
#[path = "support/executor.rs"]
#[allow(dead_code)]
mod executor;

use std::io::{BufRead, BufReader, Read as _};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use embedded_mqtts::host::TcpTransport;
use embedded_mqtts::tls::{
    AsyncTlsStream, Pin, PinnedProvider, StreamError, TlsOptions, TlsSocket, TlsStream,
    ValidityTime, READ_BUFFER,
};
use executor::block_on;

/// The script, started for one connection.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(mode: &[&str]) -> Server {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/support/key_update_server.py"
        );
        let mut child = Command::new("python3")
            .arg(script)
            .arg("--cert")
            .arg(certs::cert_path("p256-leaf.crt"))
            .arg("--key")
            .arg(certs::cert_path("p256-leaf.key"))
            .args(mode)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start python3 {script}: {e} (scripts/setup.sh)"));
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = match line.trim().strip_prefix("PORT ") {
            Some(port) => port.parse().unwrap(),
            None => {
                let mut stderr = String::new();
                child
                    .stderr
                    .take()
                    .unwrap()
                    .read_to_string(&mut stderr)
                    .ok();
                panic!("key_update_server.py did not start: {line:?} {stderr}");
            }
        };
        Server { child, port }
    }

    /// Waits for the script's verdict on what the client did.
    fn finish(mut self) {
        let status = self.child.wait().unwrap();
        let mut stderr = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        assert!(status.success(), "server: {status}: {stderr}");
        print!("{stderr}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Only if a test failed before `finish`: the script would otherwise wait for its timeout.
        if let Ok(None) = self.child.try_wait() {
            self.child.kill().ok();
            self.child.wait().ok();
        }
    }
}

/// What a stream borrows: the socket to the server, its buffers, and the options.
struct Parts {
    socket: TlsSocket<TcpTransport>,
    read_buffer: Vec<u8>,
    write_buffer: Vec<u8>,
    pins: [Pin<'static>; 1],
    options: TlsOptions<'static>,
}

impl Parts {
    /// Connects to `server` (TCP only).
    fn new(server: &Server) -> Parts {
        let mut transport = TcpTransport::connect(("127.0.0.1", server.port)).unwrap();
        transport.set_ready_wait(Duration::from_millis(5));
        Parts {
            socket: TlsSocket::new(transport),
            read_buffer: vec![0; READ_BUFFER],
            write_buffer: vec![0; 1024],
            pins: [Pin::Ca(Box::leak(Box::new([
                certs::read_cert("p256-root.der").leak() as &[u8],
            ])))],
            options: TlsOptions::new("localhost", now()),
        }
    }

    fn blocking(&mut self) -> TlsStream<'_, TcpTransport> {
        let mut provider = PinnedProvider::new(rand_core::OsRng, &self.pins);
        TlsStream::connect(
            &self.socket,
            &mut self.read_buffer,
            &mut self.write_buffer,
            &self.options,
            &mut provider,
        )
        .unwrap()
    }

    async fn asynch(&mut self) -> AsyncTlsStream<'_, TcpTransport> {
        let mut provider = PinnedProvider::new(rand_core::OsRng, &self.pins);
        AsyncTlsStream::connect(
            &self.socket,
            &mut self.read_buffer,
            &mut self.write_buffer,
            &self.options,
            &mut provider,
        )
        .await
        .unwrap()
    }
}

fn now() -> ValidityTime {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    ValidityTime::UnixSeconds(now.as_secs())
}

/// Lines out of a stream whose reads return what one record held.
#[derive(Default)]
struct Lines {
    pending: Vec<u8>,
}

impl Lines {
    /// The next complete line, if the bytes read so far hold one.
    fn take(&mut self) -> Option<String> {
        let end = self.pending.iter().position(|&b| b == b'\n')?;
        let line: Vec<u8> = self.pending.drain(..=end).collect();
        Some(String::from_utf8_lossy(&line[..end]).into_owned())
    }

    /// Keeps what a read gave.
    fn add(&mut self, buf: &[u8], read: Result<usize, StreamError>) {
        let n = read.unwrap_or_else(|e| panic!("read: {e}"));
        assert!(n > 0, "the server closed the connection");
        self.pending.extend_from_slice(&buf[..n]);
    }

    fn read_line<S: embedded_io::Read<Error = StreamError>>(&mut self, stream: &mut S) -> String {
        let mut buf = [0; 256];
        loop {
            match self.take() {
                Some(line) => return line,
                None => {
                    let read = stream.read(&mut buf);
                    self.add(&buf, read);
                }
            }
        }
    }

    async fn read_line_async<S: embedded_io_async::Read<Error = StreamError>>(
        &mut self,
        stream: &mut S,
    ) -> String {
        let mut buf = [0; 256];
        loop {
            match self.take() {
                Some(line) => return line,
                None => {
                    let read = stream.read(&mut buf).await;
                    self.add(&buf, read);
                }
            }
        }
    }
}

/// What the client expects to hear back after its echo of `round`.
fn report(round: u32, requested: bool) -> String {
    let updates = if requested { round } else { 0 };
    format!("round {round}: client KeyUpdates {updates}")
}

fn request_arg(requested: bool) -> [&'static str; 2] {
    let request = if requested {
        "update_requested"
    } else {
        "update_not_requested"
    };
    ["--request", request]
}

fn blocking_key_updates(requested: bool) {
    use embedded_io::Write;
    let server = Server::start(&request_arg(requested));
    let mut parts = Parts::new(&server);
    let mut stream = parts.blocking();
    let mut lines = Lines::default();
    assert_eq!(lines.read_line(&mut stream), "before");
    for round in 1..=2 {
        assert_eq!(lines.read_line(&mut stream), format!("after {round}"));
        stream
            .write_all(format!("echo {round}\n").as_bytes())
            .unwrap();
        stream.flush().unwrap();
        assert_eq!(lines.read_line(&mut stream), report(round, requested));
    }
    stream.close().unwrap();
    server.finish();
}

fn async_key_updates(requested: bool) {
    use embedded_io_async::Write;
    let server = Server::start(&request_arg(requested));
    let mut parts = Parts::new(&server);
    block_on(async {
        let mut stream = parts.asynch().await;
        let mut lines = Lines::default();
        assert_eq!(lines.read_line_async(&mut stream).await, "before");
        for round in 1..=2 {
            let line = lines.read_line_async(&mut stream).await;
            assert_eq!(line, format!("after {round}"));
            stream
                .write_all(format!("echo {round}\n").as_bytes())
                .await
                .unwrap();
            stream.flush().await.unwrap();
            let line = lines.read_line_async(&mut stream).await;
            assert_eq!(line, report(round, requested));
        }
        stream.close().await.unwrap();
    });
    server.finish();
}

#[test]
fn blocking_stream_survives_key_update_not_requested() {
    blocking_key_updates(false);
}

#[test]
fn blocking_stream_answers_key_update_requested() {
    blocking_key_updates(true);
}

#[test]
fn async_stream_survives_key_update_not_requested() {
    async_key_updates(false);
}

#[test]
fn async_stream_answers_key_update_requested() {
    async_key_updates(true);
}

/// The error a Finished after the handshake gives: it names the message, and the stream's
/// `Display` says it in words.
fn assert_names_finished(error: StreamError) {
    let line = error.to_string();
    assert!(
        line.contains("unexpected TLS handshake message: Finished"),
        "{line}"
    );
    println!("refused: {line}");
}

#[test]
fn unexpected_post_handshake_message_is_an_error_and_an_alert() {
    let inject = ["--inject", "finished"];
    // Blocking.
    let server = Server::start(&inject);
    let mut parts = Parts::new(&server);
    let mut stream = parts.blocking();
    let mut lines = Lines::default();
    assert_eq!(lines.read_line(&mut stream), "before");
    let error = embedded_io::Read::read(&mut stream, &mut [0; 64]).unwrap_err();
    assert_names_finished(error);
    drop(stream);
    server.finish();
    // Async.
    let server = Server::start(&inject);
    let mut parts = Parts::new(&server);
    block_on(async {
        let mut stream = parts.asynch().await;
        let mut lines = Lines::default();
        assert_eq!(lines.read_line_async(&mut stream).await, "before");
        let read = embedded_io_async::Read::read(&mut stream, &mut [0; 64]).await;
        assert_names_finished(read.unwrap_err());
    });
    server.finish();
}
