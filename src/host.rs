//! Host transports (feature `std`): a `std::net::TcpStream` as an embedded-io stream.
//!
//! [`TcpTransport`] implements the blocking `embedded_io` traits and the async
//! `embedded_io_async` ones (the async ones simply block, which is what a test executor such as
//! `block_on` wants), plus [`ReadReady`], which waits up to a short, configurable time for data
//! before answering "nothing yet". That wait is what keeps an idle client's polling loop from
//! spinning the CPU.

use std::io::{ErrorKind as IoKind, Read as _, Write as _};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use embedded_io::{ErrorKind, ErrorType, ReadReady};

/// A TCP connection as an embedded-io transport.
#[derive(Debug)]
pub struct TcpTransport {
    stream: TcpStream,
    ready_wait: Duration,
}

/// An I/O error from the host's socket, reduced to its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostError(pub ErrorKind);

impl core::fmt::Display for HostError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "socket error: {}", crate::error::io_kind_name(self.0))
    }
}

impl core::error::Error for HostError {}

impl embedded_io::Error for HostError {
    fn kind(&self) -> ErrorKind {
        self.0
    }
}

fn host_error(e: std::io::Error) -> HostError {
    match e.kind() {
        // A blocking socket says "would block" when its read or write timeout has passed.
        IoKind::WouldBlock => HostError(ErrorKind::TimedOut),
        kind => HostError(kind.into()),
    }
}

impl TcpTransport {
    /// Connect to `addr` (TCP_NODELAY on: MQTT packets are small and latency matters).
    pub fn connect(addr: impl ToSocketAddrs) -> std::io::Result<Self> {
        let stream = TcpStream::connect(addr)?;
        Self::from_stream(stream)
    }

    /// Wrap a connected stream.
    pub fn from_stream(stream: TcpStream) -> std::io::Result<Self> {
        stream.set_nodelay(true)?;
        Ok(TcpTransport {
            stream,
            ready_wait: Duration::from_millis(20),
        })
    }

    /// How long [`ReadReady::read_ready`] waits for data before saying "not ready" (default
    /// 20 ms). Shorter reacts faster to keep-alive deadlines; longer costs less CPU when idle.
    pub fn set_ready_wait(&mut self, wait: Duration) {
        self.ready_wait = wait.max(Duration::from_millis(1));
    }

    /// The underlying stream.
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }
}

impl ErrorType for TcpTransport {
    type Error = HostError;
}

impl embedded_io::Read for TcpTransport {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, HostError> {
        loop {
            match self.stream.read(buf) {
                Err(e) if e.kind() == IoKind::Interrupted => continue,
                other => return other.map_err(host_error),
            }
        }
    }
}

impl embedded_io::Write for TcpTransport {
    fn write(&mut self, buf: &[u8]) -> Result<usize, HostError> {
        self.stream.write(buf).map_err(host_error)
    }

    fn flush(&mut self) -> Result<(), HostError> {
        self.stream.flush().map_err(host_error)
    }
}

impl ReadReady for TcpTransport {
    fn read_ready(&mut self) -> Result<bool, HostError> {
        let mut probe = [0u8; 1];
        self.stream
            .set_read_timeout(Some(self.ready_wait))
            .map_err(host_error)?;
        let peeked = self.stream.peek(&mut probe);
        self.stream.set_read_timeout(None).map_err(host_error)?;
        match peeked {
            // Ok(0) is end of stream: "ready", so that the read reports the close.
            Ok(_) => Ok(true),
            Err(e) if matches!(e.kind(), IoKind::WouldBlock | IoKind::TimedOut) => Ok(false),
            Err(e) if e.kind() == IoKind::Interrupted => Ok(false),
            Err(e) => Err(host_error(e)),
        }
    }
}

impl embedded_io_async::Read for TcpTransport {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, HostError> {
        embedded_io::Read::read(self, buf)
    }
}

impl embedded_io_async::Write for TcpTransport {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, HostError> {
        embedded_io::Write::write(self, buf)
    }

    async fn flush(&mut self) -> Result<(), HostError> {
        embedded_io::Write::flush(self)
    }
}
