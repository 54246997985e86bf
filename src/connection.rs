//! One MQTT connection, sans-IO: the [`Session`] plus the receive framing and the send queue.
//!
//! [`Connection`] does no I/O and reads no clock, in the manner of quinn-proto's `Connection`
//! and smoltcp's sockets: the caller writes what [`Connection::poll_transmit`] gives to the
//! transport, puts what the transport read into [`Connection::input_buffer`] (or hands it to
//! [`Connection::handle_input`]), takes [`Event`]s from [`Connection::poll_event`], and calls
//! [`Connection::handle_timeout`] at [`Connection::poll_timeout`]. The blocking and async
//! clients ([`blocking`](crate::blocking), [`asynch`](crate::asynch)) are that loop; any runtime
//! (RTIC, a superloop, embassy, mio) can run it too.
//!
//! The ordering rules live here, not in a driver:
//! - Re-sends of a resumed session go out before any new packet [MQTT-4.6.0-1]:
//!   `poll_transmit` gives them first, whatever was queued since.
//! - The reply to a packet (PUBACK, PUBREC, PUBCOMP, PUBREL) is queued when its event is
//!   returned, and so goes out on the next `poll_transmit`: after the application has seen
//!   the message.
//! - A deadline is enforced only once every whole packet that arrived has been handled: an
//!   answer that came in time but was not handled yet is not late. (Bytes still in the
//!   transport are the driver's to read first: call `handle_timeout` when it has none.)
//! - After a fatal error every call returns that error until the next `connect`; the session
//!   (in-flight messages, inbound QoS 2 state) survives it, for a persistent session to resume.
//!
//! The buffers are the caller's: [`Buffers`] of slices sized at run time, or a [`Storage`] of
//! arrays sized by const generics (a `static`, a task's stack) that lends them.

use crate::error::Error;
use crate::inflight::Slot;
use crate::packet::{self, DecodeError, EncodeError, QoS};
use crate::session::{ConnectOptions, Event, Session, DEFAULT_INBOUND};
use crate::time::Instant;

/// What CONNACK said, returned by `connect`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Connected {
    /// The broker resumed the stored session (subscriptions and queued messages are there).
    /// `false` after asking for a persistent session means they are gone: subscribe again.
    pub session_present: bool,
    /// Unacknowledged messages that are being sent again on this connection.
    pub resending: usize,
}

/// The memory of a [`Connection`], owned by the caller (smoltcp's `SocketBuffer` style).
#[derive(Debug)]
pub struct Buffers<'b> {
    /// Receive buffer: the largest packet the broker may send us. A larger one is skipped
    /// with [`Error::PacketTooLarge`].
    pub rx: &'b mut [u8],
    /// Send buffer: the largest packet we send (CONNECT, PUBLISH, SUBSCRIBE, ...).
    pub tx: &'b mut [u8],
    /// The in-flight window: one slot per outbound QoS 1/2 message or SUBSCRIBE/UNSUBSCRIBE
    /// awaiting its answer.
    pub slots: &'b mut [Slot],
    /// Bytes that keep in-flight messages for re-sending after a reconnect.
    pub store: &'b mut [u8],
    /// Inbound QoS 2 messages delivered and awaiting the broker's PUBREL (see
    /// [`Event::Deferred`] for what happens beyond).
    pub inbound: &'b mut [u16],
}

/// Arrays for a [`Connection`], sized at compile time: `N` in-flight slots, `STORE` bytes to
/// keep their messages, `RX` and `TX` the largest packets received and sent, `INBOUND`
/// inbound QoS 2 messages awaiting PUBREL ([`DEFAULT_INBOUND`] unless given). A convenience
/// for `static`s; [`Buffers`] takes slices from anywhere.
#[derive(Debug)]
pub struct Storage<
    const N: usize,
    const STORE: usize,
    const RX: usize,
    const TX: usize,
    const INBOUND: usize = DEFAULT_INBOUND,
> {
    rx: [u8; RX],
    tx: [u8; TX],
    slots: [Slot; N],
    store: [u8; STORE],
    inbound: [u16; INBOUND],
}

impl<
        const N: usize,
        const STORE: usize,
        const RX: usize,
        const TX: usize,
        const INBOUND: usize,
    > Storage<N, STORE, RX, TX, INBOUND>
{
    /// Zeroed storage.
    pub const fn new() -> Self {
        Storage {
            rx: [0; RX],
            tx: [0; TX],
            slots: [Slot::EMPTY; N],
            store: [0; STORE],
            inbound: [0; INBOUND],
        }
    }

    /// Lend the arrays as [`Buffers`].
    pub fn buffers(&mut self) -> Buffers<'_> {
        Buffers {
            rx: &mut self.rx,
            tx: &mut self.tx,
            slots: &mut self.slots,
            store: &mut self.store,
            inbound: &mut self.inbound,
        }
    }
}

impl<
        const N: usize,
        const STORE: usize,
        const RX: usize,
        const TX: usize,
        const INBOUND: usize,
    > Default for Storage<N, STORE, RX, TX, INBOUND>
{
    fn default() -> Self {
        Self::new()
    }
}

/// The receive buffer: bytes as they arrive, cut into whole MQTT packets.
///
/// A packet larger than the buffer is reported once ([`Error::PacketTooLarge`]) and then
/// skipped byte by byte as it arrives, so the stream stays in step.
#[derive(Debug)]
struct Inbox<'b> {
    buf: &'b mut [u8],
    filled: usize,
    /// Length of the packet handed out last, dropped on the next call.
    handed_out: usize,
    /// Bytes of an oversize packet still to skip.
    skip: usize,
}

impl<'b> Inbox<'b> {
    fn new(buf: &'b mut [u8]) -> Self {
        Inbox {
            buf,
            filled: 0,
            handed_out: 0,
            skip: 0,
        }
    }

    fn reset(&mut self) {
        self.filled = 0;
        self.handed_out = 0;
        self.skip = 0;
    }

    /// Drop `n` bytes from the front.
    fn drop_front(&mut self, n: usize) {
        let n = n.min(self.filled);
        if let Some(kept) = self.buf.get_mut(..self.filled) {
            kept.copy_within(n.., 0);
        }
        self.filled -= n;
    }

    /// Forget the packet handed out last.
    fn release(&mut self) {
        let n = core::mem::take(&mut self.handed_out);
        self.drop_front(n);
    }

    /// Free space to read into (empty only while a whole packet waits to be handled).
    fn space(&mut self) -> &mut [u8] {
        self.release();
        let filled = self.filled;
        self.buf
            .split_at_mut_checked(filled)
            .map_or(&mut [], |(_, free)| free)
    }

    /// `n` bytes were written into [`Inbox::space`] (more than fit are counted as fitting).
    fn received(&mut self, n: usize) {
        self.filled = (self.filled + n).min(self.buf.len());
        let skipped = self.skip.min(self.filled);
        self.drop_front(skipped);
        self.skip -= skipped;
    }

    /// The length of the next whole packet, if one is here (after dropping the last one).
    fn next_frame(&mut self) -> Result<Option<usize>, Error> {
        self.release();
        // `received` keeps `filled` within the buffer.
        let (data, _) = self.buf.split_at_checked(self.filled).ok_or(Error::Decode(
            DecodeError::Truncated {
                needed: self.filled,
                available: self.buf.len(),
            },
        ))?;
        let Some(frame) = packet::scan(data).map_err(Error::Decode)? else {
            return Ok(None);
        };
        if frame.total_len > self.buf.len() {
            self.skip = frame.total_len;
            self.received(0);
            return Err(Error::PacketTooLarge {
                size: frame.total_len,
                capacity: self.buf.len(),
            });
        }
        if frame.total_len > self.filled {
            return Ok(None);
        }
        Ok(Some(frame.total_len))
    }

    /// Whether a whole packet is buffered and not handled yet.
    fn holds_packet(&self) -> bool {
        let data = self
            .buf
            .split_at_checked(self.filled)
            .map_or(&[][..], |(d, _)| d);
        let data = data.get(self.handed_out..).unwrap_or(&[]);
        matches!(packet::scan(data), Ok(Some(f)) if f.total_len <= data.len())
    }
}

/// One MQTT connection to a broker, sans-IO: see the [module documentation](self).
///
/// It outlives any one transport: after a failure, `connect` again over a new one with
/// `clean_session = false` and the in-flight messages are re-sent.
#[derive(Debug)]
pub struct Connection<'b> {
    session: Session<'b>,
    inbox: Inbox<'b>,
    tx: &'b mut [u8],
    /// Bytes at the front of `tx` waiting for `poll_transmit`.
    queued: usize,
}

impl<'b> Connection<'b> {
    /// A connection over `buffers`, never connected.
    pub fn new(buffers: Buffers<'b>) -> Self {
        Connection {
            session: Session::new(buffers.slots, buffers.store, buffers.inbound),
            inbox: Inbox::new(buffers.rx),
            tx: buffers.tx,
            queued: 0,
        }
    }

    /// The session: in-flight counts, connection status, the error that broke it.
    pub fn session(&self) -> &Session<'b> {
        &self.session
    }

    /// Outbound QoS 1/2 messages not yet fully acknowledged.
    pub fn in_flight(&self) -> usize {
        self.session.in_flight()
    }

    /// Whether CONNACK accepted the current connection and it has not broken since.
    pub fn is_connected(&self) -> bool {
        self.session.is_connected()
    }

    /// Declare the connection broken by `error` (the transport failed, say) and return it;
    /// the first such error is kept and returned by every call until the next `connect`.
    pub fn fail(&mut self, error: Error) -> Error {
        self.queued = 0;
        self.session.fail(error)
    }

    /// Queue a packet encoded by `encode` into the free part of the send buffer.
    fn queue<R>(
        &mut self,
        encode: impl FnOnce(&mut Session<'b>, &mut [u8]) -> Result<(usize, R), Error>,
    ) -> Result<R, Error> {
        // `queued` only grows by what an encoder wrote into the free part.
        let capacity = self.tx.len();
        let free =
            self.tx
                .get_mut(self.queued..)
                .ok_or(Error::Encode(EncodeError::BufferTooSmall {
                    needed: self.queued,
                    available: capacity,
                }))?;
        let (len, result) = encode(&mut self.session, free)?;
        self.queued += len;
        Ok(result)
    }

    /// Start a connection over a new transport: queue CONNECT. Bytes of the previous
    /// transport, read or queued, are dropped. With `clean_session` the session starts over;
    /// without it, in-flight messages are re-sent once CONNACK has come
    /// ([`Event::Connected`]).
    pub fn connect(&mut self, now: Instant, options: &ConnectOptions<'_>) -> Result<(), Error> {
        self.inbox.reset();
        self.queued = 0;
        self.queue(|s, out| Ok((s.connect(now, options, out)?, ())))
    }

    /// Queue a PUBLISH. Returns its packet id for QoS 1 and 2: its [`Event::Delivered`]
    /// tells when the broker has it. [`Error::WindowFull`] or [`Error::StoreFull`]: nothing
    /// was queued or kept; handle acknowledgements and try again.
    pub fn publish(
        &mut self,
        now: Instant,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
    ) -> Result<Option<u16>, Error> {
        self.queue(|s, out| s.publish(now, topic, payload, qos, retain, out))
    }

    /// Queue a SUBSCRIBE; returns the packet id its [`Event::Subscribed`] will carry.
    pub fn subscribe(&mut self, now: Instant, filters: &[(&str, QoS)]) -> Result<u16, Error> {
        self.queue(|s, out| s.subscribe(now, filters, out))
    }

    /// Queue an UNSUBSCRIBE; returns the packet id its [`Event::Unsubscribed`] will carry.
    pub fn unsubscribe(&mut self, now: Instant, filters: &[&str]) -> Result<u16, Error> {
        self.queue(|s, out| s.unsubscribe(now, filters, out))
    }

    /// Queue DISCONNECT; the session goes idle (in-flight messages are kept). Close the
    /// transport once it is sent.
    pub fn disconnect(&mut self) -> Result<(), Error> {
        self.queue(|s, out| Ok((s.disconnect(out)?, ())))
    }

    /// The next bytes to write to the transport, if any: re-sends of a resumed session first,
    /// then what was queued (CONNECT, PUBLISH, replies, ...), then a PINGREQ when one is due.
    /// They count as sent once returned: if writing them fails, call [`Connection::fail`].
    pub fn poll_transmit(&mut self, now: Instant) -> Result<Option<&[u8]>, Error> {
        if let Some(error) = self.session.broken() {
            return Err(error.clone());
        }
        if self.queued == 0 || self.session.resend_pending() {
            // Split borrows: the session's bytes, or the queue below.
            if let Some(bytes) = self.session.poll_transmit(now)? {
                return Ok(Some(bytes));
            }
        }
        let len = core::mem::take(&mut self.queued);
        Ok(self.tx.get(..len).filter(|bytes| !bytes.is_empty()))
    }

    /// Where to read transport bytes into: the free part of the receive buffer. Empty only
    /// while a whole packet waits for [`Connection::poll_event`].
    pub fn input_buffer(&mut self) -> &mut [u8] {
        self.inbox.space()
    }

    /// `n` bytes were read into [`Connection::input_buffer`]; 0 means the transport reached
    /// its end (the broker closed the connection), which breaks the connection.
    pub fn input_received(&mut self, n: usize) -> Result<(), Error> {
        if n == 0 {
            return Err(self.fail(Error::ConnectionClosed));
        }
        self.inbox.received(n);
        Ok(())
    }

    /// Copy transport bytes in (for callers that read into their own buffer); returns how many
    /// were taken: fewer than given when the receive buffer is full, so handle events and
    /// give the rest again.
    pub fn handle_input(&mut self, bytes: &[u8]) -> usize {
        let space = self.inbox.space();
        let n = bytes.len().min(space.len());
        if let (Some(dst), Some(src)) = (space.get_mut(..n), bytes.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.inbox.received(n);
        n
    }

    /// Whether a whole packet is buffered for [`Connection::poll_event`]. An oversize packet
    /// found here is reported ([`Error::PacketTooLarge`], not fatal) and skipped.
    pub fn has_event(&mut self) -> Result<bool, Error> {
        if let Some(error) = self.session.broken() {
            return Err(error.clone());
        }
        match self.inbox.next_frame() {
            Ok(frame) => Ok(frame.is_some()),
            Err(e) if e.is_fatal() => Err(self.fail(e)),
            Err(e) => Err(e),
        }
    }

    /// Handle the next whole packet received, if one is buffered: its event, with its reply
    /// (if any) queued for [`Connection::poll_transmit`].
    pub fn poll_event(&mut self, now: Instant) -> Result<Option<Event<'_>>, Error> {
        let Some(len) = self.inbox.next_frame().map_err(|e| {
            if e.is_fatal() {
                self.session.fail(e)
            } else {
                e
            }
        })?
        else {
            return Ok(None);
        };
        self.inbox.handed_out = len;
        let (Some(frame), Some(out)) = (self.inbox.buf.get(..len), self.tx.get_mut(self.queued..))
        else {
            // next_frame returns only lengths within the buffered bytes; `queued` stays in `tx`.
            return Err(self.session.fail(Error::Decode(DecodeError::Truncated {
                needed: len,
                available: self.inbox.filled,
            })));
        };
        let (event, reply) = self.session.handle(now, frame, out)?;
        self.queued += reply;
        Ok(Some(event))
    }

    /// When [`Connection::handle_timeout`] (and [`Connection::poll_transmit`], for a PINGREQ or
    /// a re-send) next need calling, if ever.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.session.poll_at()
    }

    /// Enforce the deadlines (CONNACK, PINGRESP, deferred QoS 2) at `now`. Call it when the
    /// transport has nothing more to read: a packet still buffered here is handled first
    /// (this returns `Ok` and leaves the deadline for later).
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), Error> {
        if self.inbox.holds_packet() {
            return Ok(());
        }
        self.session.check_timeouts(now)
    }
}

#[cfg(test)]
mod tests;
