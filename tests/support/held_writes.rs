//! A transport that holds what is written until the next read: everything written since the
//! last read leaves in one `write` of the inner transport (a real one: TCP to a real broker).
//!
//! What it is for: Mosquitto refuses a client certificate as soon as it has read the client's
//! Certificate record, then closes the connection. A client that writes its last handshake
//! records one by one (Certificate, CertificateVerify after signing, Finished) loses the race
//! on a slow or loaded machine: its later writes meet a reset connection, and whether it ever
//! reads the broker's alert depends on timing. Held until the read that waits for the broker's
//! answer, the whole flight (and the CONNECT after it) is on the wire at once, so the alert is
//! always what the client reads: a test of the alert's name does not depend on the machine.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use embedded_io::{ErrorKind, ErrorType, ReadReady};
use embedded_mqtts::host::HostError;

/// `inner` with its writes held until the next read (or readiness check).
#[derive(Debug)]
pub struct HeldWrites<T> {
    inner: T,
    held: Vec<u8>,
    reset: ResetSwitch,
}

/// The test's handle on a [`HeldWrites`]: arms the next flush to play a reset connection.
#[derive(Clone, Debug, Default)]
pub struct ResetSwitch(Rc<Cell<bool>>);

impl ResetSwitch {
    /// The next `flush` sends what is held, waits (up to 5 s) until the peer's answer is
    /// readable, then fails with [`ErrorKind::ConnectionReset`] as a socket does whose peer
    /// answered with an alert and closed: the answer stays readable, as in the kernel's queue.
    pub fn reset_at_next_flush(&self) {
        self.0.set(true);
    }
}

impl<T> HeldWrites<T> {
    pub fn new(inner: T) -> Self {
        HeldWrites {
            inner,
            held: Vec::new(),
            reset: ResetSwitch::default(),
        }
    }

    /// The switch of [`ResetSwitch::reset_at_next_flush`] (take it before the socket is moved).
    pub fn reset_switch(&self) -> ResetSwitch {
        self.reset.clone()
    }
}

impl<T: embedded_io::Write> HeldWrites<T> {
    /// Writes what is held, in one piece as far as the inner transport takes it.
    fn send_held(&mut self) -> Result<(), T::Error> {
        let held = std::mem::take(&mut self.held);
        if held.is_empty() {
            return Ok(());
        }
        self.inner.write_all(&held)?;
        self.inner.flush()
    }
}

impl<T: embedded_io::Write<Error = HostError> + ReadReady> HeldWrites<T> {
    /// `flush`: nothing to do, or, when the switch is armed, the reset described there.
    fn flush_held(&mut self) -> Result<(), HostError> {
        if !self.reset.0.replace(false) {
            return Ok(());
        }
        self.send_held()?;
        let waited = Instant::now();
        while !self.inner.read_ready()? {
            assert!(
                waited.elapsed() < Duration::from_secs(5),
                "no answer from the peer"
            );
        }
        Err(HostError(ErrorKind::ConnectionReset))
    }
}

impl<T: ErrorType> ErrorType for HeldWrites<T> {
    type Error = T::Error;
}

impl<T: ReadReady + embedded_io::Write> ReadReady for HeldWrites<T> {
    fn read_ready(&mut self) -> Result<bool, Self::Error> {
        self.send_held()?;
        self.inner.read_ready()
    }
}

impl<T: embedded_io::Read + embedded_io::Write> embedded_io::Read for HeldWrites<T> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        self.send_held()?;
        self.inner.read(buf)
    }
}

impl<T: embedded_io::Write<Error = HostError> + ReadReady> embedded_io::Write for HeldWrites<T> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.held.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        self.flush_held()
    }
}

// The async traits: the host transports' async methods block (see `src/host.rs`), so the held
// bytes are sent with the blocking ones.
impl<T: embedded_io::Read + embedded_io::Write> embedded_io_async::Read for HeldWrites<T> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        embedded_io::Read::read(self, buf)
    }
}

impl<T: embedded_io::Write<Error = HostError> + ReadReady> embedded_io_async::Write
    for HeldWrites<T>
{
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        embedded_io::Write::write(self, buf)
    }
    async fn flush(&mut self) -> Result<(), Self::Error> {
        self.flush_held()
    }
}
