//! A socket whose `write` stops taking bytes (`Ok(0)`) is `TlsError::Io(ErrorKind::WriteZero)`,
//! not a panic (FORK.md, change 29): embedded-io's `write_all`, which embedded-tls called,
//! panics on `Ok(0)`. Against the rustls server of `tlsserver.rs` over real TCP, with the socket
//! stopping at the first byte, inside the ClientHello, inside the client's Finished, and inside
//! an application record after the handshake (blocking, split and async).
#![macro_use]
use std::cell::RefCell;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::rc::Rc;
use std::sync::OnceLock;

use embedded_io::ErrorKind;
use embedded_tls::{Aes128GcmSha256, TlsConfig, TlsContext, TlsError, UnsecureProvider};
use rand::rngs::OsRng;

mod tlsserver;

/// The address of this file's server, started once.
fn server() -> SocketAddr {
    static ADDR: OnceLock<SocketAddr> = OnceLock::new();
    *ADDR.get_or_init(|| {
        let listener = mio::net::TcpListener::bind("127.0.0.1:0".parse().unwrap())
            .expect("cannot listen on port");
        let addr = listener.local_addr().expect("the listener's address");
        std::thread::spawn(move || tlsserver::run(listener));
        addr
    })
}

/// What the socket may still take and what it took.
#[derive(Debug, Default)]
struct Budget {
    /// Bytes the socket takes before every `write` returns `Ok(0)`; `None`: no limit.
    left: Option<usize>,
    /// The length each `write` took, in order.
    writes: Vec<usize>,
}

/// A TCP connection whose writes stop at a budget: the write that crosses it takes what is
/// left, every later one returns `Ok(0)`. Reads are the stream's. Clones share the stream and
/// the budget (for `split`). The async methods block: the server runs on its own thread.
#[derive(Clone)]
struct StopsWriting {
    stream: Rc<TcpStream>,
    budget: Rc<RefCell<Budget>>,
}

impl StopsWriting {
    /// A connection to this file's server, taking at most `left` bytes (`None`: no limit).
    fn connect(left: Option<usize>) -> Self {
        let stream = TcpStream::connect(server()).expect("error connecting to server");
        let budget = Budget {
            left,
            writes: Vec::new(),
        };
        StopsWriting {
            stream: Rc::new(stream),
            budget: Rc::new(RefCell::new(budget)),
        }
    }

    /// From now on, take `more` bytes, then nothing.
    fn stop_after(&self, more: usize) {
        self.budget.borrow_mut().left = Some(more);
    }

    /// The length of each write so far.
    fn writes(&self) -> Vec<usize> {
        self.budget.borrow().writes.clone()
    }
}

impl embedded_io::ErrorType for StopsWriting {
    type Error = std::io::Error;
}

impl embedded_io::Read for StopsWriting {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        (&*self.stream).read(buf)
    }
}

impl embedded_io::Write for StopsWriting {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        let mut budget = self.budget.borrow_mut();
        let allowed = budget.left.map_or(buf.len(), |left| left.min(buf.len()));
        let n = if allowed == 0 {
            0
        } else {
            (&*self.stream).write(&buf[..allowed])?
        };
        if let Some(left) = budget.left.as_mut() {
            *left -= n;
        }
        budget.writes.push(n);
        Ok(n)
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        (&*self.stream).flush()
    }
}

impl embedded_io_async::Read for StopsWriting {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        embedded_io::Read::read(self, buf)
    }
}

impl embedded_io_async::Write for StopsWriting {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        embedded_io::Write::write(self, buf)
    }
    async fn flush(&mut self) -> Result<(), Self::Error> {
        embedded_io::Write::flush(self)
    }
}

/// `result` is the error of a socket that took nothing.
fn assert_write_zero<T: std::fmt::Debug>(result: Result<T, TlsError>) {
    match result {
        Err(TlsError::Io(ErrorKind::WriteZero)) => {}
        other => panic!("expected Err(Io(WriteZero)), got {other:?}"),
    }
}

type Blocking<'a> = embedded_tls::blocking::TlsConnection<'a, StopsWriting, Aes128GcmSha256>;
type Async<'a> = embedded_tls::TlsConnection<'a, StopsWriting, Aes128GcmSha256>;

/// A blocking connection over `socket`, and its handshake's result.
fn open_blocking<'a>(
    socket: StopsWriting,
    read: &'a mut [u8],
    write: &'a mut [u8],
) -> (Blocking<'a>, Result<(), TlsError>) {
    let config = TlsConfig::new().with_server_name("localhost");
    let mut tls: Blocking = Blocking::new(socket, read, write);
    let opened = tls.open(TlsContext::new(
        &config,
        UnsecureProvider::new::<Aes128GcmSha256>(OsRng),
    ));
    (tls, opened)
}

#[test]
fn a_socket_that_takes_no_byte_of_the_client_hello() {
    let (mut read, mut write) = ([0; 16384], [0; 16384]);
    let socket = StopsWriting::connect(Some(0));
    assert_write_zero(open_blocking(socket.clone(), &mut read, &mut write).1);
    assert_eq!(socket.writes(), [0]);
}

#[test]
fn a_socket_that_stops_inside_the_client_hello() {
    let (mut read, mut write) = ([0; 16384], [0; 16384]);
    let socket = StopsWriting::connect(Some(10));
    assert_write_zero(open_blocking(socket.clone(), &mut read, &mut write).1);
    // The part it took, then nothing: the loop went on after a short write.
    assert_eq!(socket.writes(), [10, 0]);
}

#[test]
fn a_socket_that_stops_inside_the_client_finished() {
    let (mut read, mut write) = ([0; 16384], [0; 16384]);
    let whole = StopsWriting::connect(None);
    open_blocking(whole.clone(), &mut read, &mut write)
        .1
        .expect("a whole handshake");
    let client_hello = whole.writes()[0];
    let finished: usize = whole.writes()[1..].iter().sum();
    assert!(
        finished > 5,
        "the client's last flight: {:?}",
        whole.writes()
    );

    let socket = StopsWriting::connect(Some(client_hello + 5));
    assert_write_zero(open_blocking(socket.clone(), &mut read, &mut write).1);
    assert_eq!(socket.writes(), [client_hello, 5, 0]);
}

#[test]
fn a_socket_that_stops_inside_an_application_record() {
    let (mut read, mut write) = ([0; 16384], [0; 16384]);
    let socket = StopsWriting::connect(None);
    let (mut tls, opened) = open_blocking(socket.clone(), &mut read, &mut write);
    opened.expect("error establishing TLS connection");
    // A first record goes through and is echoed.
    tls.write(b"ping").expect("error writing data");
    tls.flush().expect("error flushing data");
    let mut rx = [0; 4];
    embedded_io::Read::read_exact(&mut tls, &mut rx).expect("the echo");
    assert_eq!(&rx, b"ping");

    socket.stop_after(3);
    let before = socket.writes().len();
    tls.write(b"pong").expect("buffered, not written yet");
    assert_write_zero(tls.flush());
    assert_eq!(socket.writes()[before..], [3, 0]);
}

#[test]
fn a_split_writer_whose_socket_stops() {
    let (mut read, mut write) = ([0; 16384], [0; 16384]);
    let socket = StopsWriting::connect(None);
    let (mut tls, opened) = open_blocking(socket.clone(), &mut read, &mut write);
    opened.expect("error establishing TLS connection");
    let (_reader, mut writer) = tls.split();
    socket.stop_after(0);
    embedded_io::Write::write(&mut writer, b"ping").expect("buffered, not written yet");
    assert_write_zero(embedded_io::Write::flush(&mut writer));
}

#[tokio::test]
async fn async_a_socket_that_takes_no_byte_of_the_client_hello() {
    let (mut read, mut write) = ([0; 16384], [0; 16384]);
    let socket = StopsWriting::connect(Some(0));
    let config = TlsConfig::new().with_server_name("localhost");
    let mut tls: Async = Async::new(socket.clone(), &mut read, &mut write);
    let opened = tls
        .open(TlsContext::new(
            &config,
            UnsecureProvider::new::<Aes128GcmSha256>(OsRng),
        ))
        .await;
    assert_write_zero(opened);
    assert_eq!(socket.writes(), [0]);
}

#[tokio::test]
async fn async_a_socket_that_stops_inside_an_application_record() {
    let (mut read, mut write) = ([0; 16384], [0; 16384]);
    let socket = StopsWriting::connect(None);
    let config = TlsConfig::new().with_server_name("localhost");
    let mut tls: Async = Async::new(socket.clone(), &mut read, &mut write);
    tls.open(TlsContext::new(
        &config,
        UnsecureProvider::new::<Aes128GcmSha256>(OsRng),
    ))
    .await
    .expect("error establishing TLS connection");
    tls.write(b"ping").await.expect("error writing data");
    tls.flush().await.expect("error flushing data");
    let mut rx = [0; 4];
    embedded_io_async::Read::read_exact(&mut tls, &mut rx)
        .await
        .expect("the echo");
    assert_eq!(&rx, b"ping");

    socket.stop_after(3);
    let before = socket.writes().len();
    tls.write(b"pong").await.expect("buffered, not written yet");
    assert_write_zero(tls.flush().await);
    assert_eq!(socket.writes()[before..], [3, 0]);
}
