//! The clients: a blocking and an async driver around one sans-IO [`Connection`].
//!
//! Both are the same short loop, written once with blocking calls ([`blocking::Client`]) and
//! once with `.await` ([`asynch::Client`]), with the same methods and meanings: write what
//! [`Connection::poll_transmit`] gives, read when the transport has bytes, hand them in, return
//! the next [`Event`](crate::Event). Every protocol rule (what to send, in which order, when a
//! broker is late) is the [`Connection`]'s; the drivers decide only when to read.
//!
//! # Transport contract
//!
//! A transport is a byte stream: `Read + Write` (blocking or async) plus
//! [`embedded_io::ReadReady`]. The clients call `read` only after `read_ready` said `true`,
//! so a read never waits for data that may not come, and a TLS record is never abandoned
//! half-read; in between, the connection's keep-alive keeps running. Over TLS, "ready" means a
//! record has begun to arrive, and the read then waits for the rest of that record: a broker
//! that stops in the middle of a record is bounded by the socket's own timeout. `read`
//! returning 0 means the peer closed the connection. `write` of a non-empty buffer returning 0
//! (which embedded-io forbids, and some stacks do once a socket is closed) ends the connection
//! as [`crate::Error::Transport`] with [`ErrorKind::WriteZero`]: the transport wrote nothing.
//! Every packet written is followed by
//! `flush`, which must hand the bytes to the network (it need not wait for the peer's
//! acknowledgement). An error of the transport ends the connection as
//! [`crate::Error::Transport`] with its [`embedded_io::ErrorKind`]; the
//! client does not interpret it further (a TLS layer that knows more says so in its own
//! error: see [`tls::connect`](crate::tls::connect)).
//!
//! # Reconnecting
//!
//! A client borrows its [`Connection`], so the session outlives the transport: after a
//! fatal error, make a new transport and a new client over the same connection, `connect`
//! with `clean_session = false`, and the in-flight messages are sent again.

pub mod asynch;
pub mod blocking;

pub use crate::connection::{Connected, Connection};
use crate::error::Error;
use crate::time::{Clock, Instant};
use embedded_io::{ErrorKind, ReadReady};

/// An MQTT client: its transport, the [`Connection`] it borrows, the clock, and how it waits
/// while nothing is readable (`W`). Use it as [`blocking::Client`] (`W` = [`blocking::Blocking`]:
/// it waits in the transport's `read_ready`) or [`asynch::Client`] (`W`: an
/// [`asynch::Idle`] future, `W` = [`asynch::IdleWith`]); each has the same methods.
#[derive(Debug)]
pub struct Client<'c, 'b, T, C, W> {
    transport: T,
    conn: &'c mut Connection<'b>,
    clock: C,
    wait: W,
}

impl<'c, 'b, T, C, W> Client<'c, 'b, T, C, W> {
    /// The connection: session state, in-flight counts.
    pub fn connection(&self) -> &Connection<'b> {
        self.conn
    }

    /// The transport, e.g. to ask a TLS stream what it verified.
    pub fn transport(&mut self) -> &mut T {
        &mut self.transport
    }

    /// Give back the transport, e.g. to close it.
    pub fn into_transport(self) -> T {
        self.transport
    }
}

impl<T: ReadReady, C: Clock, W> Client<'_, '_, T, C, W> {
    /// Whether to read now: the transport has bytes. If it has none, everything that arrived
    /// has been handed in, so this is when the connection's deadlines are enforced.
    fn ready_to_read(&mut self, now: Instant) -> Result<bool, Error> {
        match self.transport.read_ready() {
            Ok(true) => Ok(true),
            Ok(false) => self.conn.handle_timeout(now).map(|()| false),
            Err(e) => Err(transport_failed(self.conn, e)),
        }
    }

    /// `read` read into the connection's input buffer: hand the bytes in.
    fn received<E: embedded_io::Error>(
        &mut self,
        now: Instant,
        read: Result<usize, E>,
    ) -> Result<(), Error> {
        let n = read.map_err(|e| transport_failed(self.conn, e))?;
        self.conn.input_received(now, n)
    }
}

/// The transport failed with `error`: the connection is broken, by the error's kind alone.
fn transport_failed(conn: &mut Connection<'_>, error: impl embedded_io::Error) -> Error {
    conn.fail(Error::Transport(embedded_io::Error::kind(&error)))
}

/// What is left to write of the non-empty `rest` of a packet after the transport's `write` of
/// it returned `written`. The rule both drivers' write loops follow instead of embedded-io's
/// `write_all`, which panics on `Ok(0)`: `Ok(0)` is the error [`ErrorKind::WriteZero`] (the
/// transport wrote nothing, and would again), and a count beyond `rest` (the transport broke
/// its contract) counts as all of it.
fn unwritten<E: embedded_io::Error>(
    rest: &[u8],
    written: Result<usize, E>,
) -> Result<&[u8], ErrorKind> {
    match written {
        Ok(0) => Err(ErrorKind::WriteZero),
        Ok(n) => Ok(rest.get(n..).unwrap_or_default()),
        Err(e) => Err(e.kind()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What no real transport shows: the rule for each answer of `write` (a real transport
    /// that writes nothing is in `tests/faults.rs`).
    #[test]
    fn what_is_left_after_each_answer_of_write() {
        let rest = b"packet";
        assert_eq!(unwritten::<ErrorKind>(rest, Ok(2)), Ok(&b"cket"[..]));
        assert_eq!(unwritten::<ErrorKind>(rest, Ok(6)), Ok(&b""[..]));
        assert_eq!(
            unwritten::<ErrorKind>(rest, Ok(0)),
            Err(ErrorKind::WriteZero)
        );
        // More than it was given: all of it, not a panic.
        assert_eq!(unwritten::<ErrorKind>(rest, Ok(7)), Ok(&b""[..]));
        let reset = Err(ErrorKind::ConnectionReset);
        assert_eq!(unwritten(rest, reset), Err(ErrorKind::ConnectionReset));
    }
}
