//! The TCP socket as the TLS stream's transport, shared with the MQTT client's idle wait.
//!
//! Two things about embassy-net's `TcpSocket` that this module works around (README.md,
//! "Friction"):
//! - The library's `TlsSocket` owns the socket and gives nobody else access, yet the idle wait
//!   must call `wait_read_ready()` on it. So the socket sits in a `RefCell` that the firmware
//!   owns; the TLS stream gets a [`TcpLink`] that borrows it for each read or write, and the
//!   idle wait ([`readable_or_closed`]) borrows it in between. The client never reads while it
//!   idles, so the borrows never meet (if they did, [`LinkError::Busy`], not a panic).
//! - `wait_read_ready()` stays pending after the broker's FIN or RST (it waits for bytes, and
//!   none will come), so [`readable_or_closed`] also watches `may_recv()`.
//!
//! And one about speed: `TcpSocket::flush` waits until the broker's TCP stack acknowledged
//! every byte, a round trip per flush; the MQTT client flushes after every packet and
//! embedded-tls's default (strict) flush passes that on. Here a flush returns once the bytes are in the socket's send buffer, which
//! TCP sends at once and re-sends if lost; the cargo feature `strict-flush` restores the
//! round trip per flush, to measure it (README.md).

use core::cell::RefCell;
use core::fmt;
use core::future::{Future, poll_fn};
use core::pin::pin;
use core::sync::atomic::{AtomicU32, Ordering};
use core::task::Poll;

use embassy_futures::select::select;
use embassy_net::tcp::{self, TcpSocket};
use embassy_time::{Duration, Instant as EmbassyInstant, Timer};
use embedded_io::ReadReady;
use embedded_io_async::{ErrorKind, ErrorType, Read, Write};
use embedded_mqtts::Instant;
use embedded_mqtts::asynch::Idle;

use crate::clock::EmbassyClock;

/// Whether a flush waits for the broker's TCP acknowledgement (feature `strict-flush`).
const STRICT_FLUSH: bool = cfg!(feature = "strict-flush");

/// The socket, shared between the TLS stream and the idle wait.
pub type SharedSocket<'d> = RefCell<TcpSocket<'d>>;

/// The TLS stream's transport: the shared socket, borrowed per operation.
pub struct TcpLink<'s, 'd> {
    socket: &'s SharedSocket<'d>,
}

impl<'s, 'd> TcpLink<'s, 'd> {
    /// The transport over `socket`.
    pub fn new(socket: &'s SharedSocket<'d>) -> Self {
        TcpLink { socket }
    }
}

/// A socket error, or the socket found borrowed by the other user.
#[derive(Clone, Copy, Debug)]
pub enum LinkError {
    /// The socket's own error (the connection was reset or closed).
    Tcp(tcp::Error),
    /// The other user holds the socket (ruled out by the client's order).
    Busy,
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkError::Tcp(e) => write!(f, "TCP: {e:?}"),
            LinkError::Busy => f.write_str("TCP socket borrowed twice"),
        }
    }
}

impl core::error::Error for LinkError {}

impl embedded_io::Error for LinkError {
    fn kind(&self) -> ErrorKind {
        match self {
            LinkError::Tcp(e) => embedded_io::Error::kind(e),
            LinkError::Busy => ErrorKind::Other,
        }
    }
}

impl ErrorType for TcpLink<'_, '_> {
    type Error = LinkError;
}

// The borrow is held across the socket's await on purpose: the TLS stream is `&mut` for the
// whole read or write, and the idle wait never runs meanwhile (the client is sequential).
#[allow(clippy::await_holding_refcell_ref)]
impl Read for TcpLink<'_, '_> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, LinkError> {
        let mut socket = self.socket.try_borrow_mut().map_err(|_| LinkError::Busy)?;
        socket.read(buf).await.map_err(LinkError::Tcp)
    }
}

#[allow(clippy::await_holding_refcell_ref)]
impl Write for TcpLink<'_, '_> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, LinkError> {
        let mut socket = self.socket.try_borrow_mut().map_err(|_| LinkError::Busy)?;
        socket.write(buf).await.map_err(LinkError::Tcp)
    }

    async fn flush(&mut self) -> Result<(), LinkError> {
        let mut socket = self.socket.try_borrow_mut().map_err(|_| LinkError::Busy)?;
        let unacknowledged = socket.send_queue() > 0;
        FLUSHES.count(unacknowledged);
        if !STRICT_FLUSH {
            // The bytes are in the socket's send buffer (write returned): TCP takes it from
            // here. A broken connection shows on the next read or write.
            return Ok(());
        }
        let started = EmbassyInstant::now();
        let flushed = socket.flush().await.map_err(LinkError::Tcp);
        FLUSHES.waited(started.elapsed());
        flushed
    }
}

/// How often the TLS stream flushed the socket, how often bytes were still unacknowledged
/// then (with `strict-flush`, a wait for the broker's ACK: one round trip each), and the time
/// spent waiting.
pub struct FlushCounts {
    flushes: AtomicU32,
    unacknowledged: AtomicU32,
    waited_us: AtomicU32,
}

/// The run's flush figures.
pub static FLUSHES: FlushCounts = FlushCounts {
    flushes: AtomicU32::new(0),
    unacknowledged: AtomicU32::new(0),
    waited_us: AtomicU32::new(0),
};

impl FlushCounts {
    fn count(&self, unacknowledged: bool) {
        self.flushes.fetch_add(1, Ordering::Relaxed);
        if unacknowledged {
            self.unacknowledged.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn waited(&self, time: Duration) {
        let micros = u32::try_from(time.as_micros()).unwrap_or(u32::MAX);
        self.waited_us.fetch_add(micros, Ordering::Relaxed);
    }
}

impl fmt::Display for FlushCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "flushes={} flushes_unacknowledged={} flush_wait_ms={} strict_flush={}",
            self.flushes.load(Ordering::Relaxed),
            self.unacknowledged.load(Ordering::Relaxed),
            self.waited_us.load(Ordering::Relaxed) / 1000,
            STRICT_FLUSH
        )
    }
}

impl ReadReady for TcpLink<'_, '_> {
    /// Bytes are waiting, or the receive half is closed (a read then says how).
    fn read_ready(&mut self) -> Result<bool, LinkError> {
        let mut socket = self.socket.try_borrow_mut().map_err(|_| LinkError::Busy)?;
        socket.read_ready().map_err(LinkError::Tcp)
    }
}

/// Finishes when bytes can be read or the broker closed or reset the connection.
///
/// `TcpSocket::wait_read_ready` alone would wait forever after FIN or RST. smoltcp wakes the
/// same waker on every state change, so checking `may_recv()` on each wake-up is enough. The
/// socket is borrowed only while the future is polled, never across a wait; found borrowed
/// (which the client's order rules out), it finishes at once.
pub fn readable_or_closed<'s>(socket: &'s SharedSocket<'_>) -> impl Future<Output = ()> + 's {
    poll_fn(move |cx| {
        let Ok(socket) = socket.try_borrow() else {
            return Poll::Ready(());
        };
        if !socket.may_recv() {
            return Poll::Ready(());
        }
        // `wait_read_ready` is a stateless poll of the socket: a fresh one per poll registers
        // the waker the same way.
        pin!(socket.wait_read_ready()).poll(cx)
    })
}

/// The MQTT client's idle wait: until the socket has bytes, the broker closed it, or the
/// deadline (the library's [`Instant`], converted by [`EmbassyClock::deadline`]).
#[derive(Clone, Copy)]
pub struct SocketIdle<'s, 'd>(pub &'s SharedSocket<'d>);

impl Idle for SocketIdle<'_, '_> {
    async fn idle(&mut self, deadline: Option<Instant>) {
        match deadline {
            Some(deadline) => {
                let at = EmbassyClock::deadline(deadline);
                select(readable_or_closed(self.0), Timer::at(at)).await;
            }
            None => readable_or_closed(self.0).await,
        }
    }
}
