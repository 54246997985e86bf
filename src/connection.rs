//! The public sans-IO core, [`Connection`], and the buffers it works in.

use crate::error::Error;
use crate::inflight::Slot;
use crate::packet::{self, EncodeError, PublishHead, QoS};
use crate::session::{Admission, ConnectOptions, Event, Session, DEFAULT_INBOUND};
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
    #[inline(never)]
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

    /// `n` bytes were written into [`Inbox::space`]; `false` (and nothing counted) when `n` is
    /// more than the space held: the reader claimed bytes it cannot have written.
    fn received(&mut self, n: usize) -> bool {
        if n > self.space().len() {
            return false;
        }
        self.filled += n;
        let skipped = self.skip.min(self.filled);
        self.drop_front(skipped);
        self.skip -= skipped;
        true
    }

    /// The bytes received and not yet dropped.
    fn data(&self) -> &[u8] {
        // `received` keeps `filled` within the buffer.
        self.buf.split_at(self.filled.min(self.buf.len())).0
    }

    /// The fixed header of the next packet, once it is here (after dropping the packet
    /// handed out last); its body may still be arriving.
    fn peek_frame(&mut self) -> Result<Option<packet::Frame>, Error> {
        self.release();
        packet::scan(self.data()).map_err(Error::Decode)
    }

    /// Skip the `frame` at the front, which cannot be taken: as its bytes arrive.
    fn skip(&mut self, frame: packet::Frame) -> Error {
        self.skip = frame.total_len;
        self.received(0);
        Error::PacketTooLarge {
            size: frame.total_len,
            capacity: self.buf.len(),
        }
    }
}

/// A PUBLISH larger than the receive buffer, being received: its head was decoded (once) and
/// taken, its payload is handed out in pieces as it arrives.
#[derive(Debug)]
struct Stream {
    admission: Admission,
    /// Whether [`Event::MessageStart`] was given (or needs none: the message is skipped).
    announced: bool,
    /// Bytes of its head (fixed header, topic, packet id).
    head_len: usize,
    /// Payload bytes still to come.
    remaining: usize,
    qos: QoS,
    pid: Option<u16>,
    dup: bool,
    retain: bool,
    /// Bytes of its topic name (checked when the head was decoded), the head's last field
    /// but the packet id: in the receive buffer until the head is announced.
    topic_len: usize,
}

/// What [`Connection::poll_event`] does next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Next {
    /// Nothing: more bytes are needed.
    Wait,
    /// Hand this whole packet, at the front, to the session.
    Packet(packet::Frame),
    /// Announce the stream whose head (of this length) is at the front.
    Start(usize),
    /// Hand out this many payload bytes of the stream.
    Part(usize),
    /// Settle the stream.
    End,
}

/// One MQTT connection, sans-IO: the [`Session`] plus the receive framing and the send queue.
///
/// [`Connection`] does no I/O and reads no clock, in the manner of quinn-proto's `Connection`
/// and smoltcp's sockets: the caller writes what [`Connection::poll_transmit`] gives to the
/// transport, puts what the transport read into [`Connection::input_buffer`] (or hands it to
/// [`Connection::handle_input`]), takes [`Event`]s from [`Connection::poll_event`], and calls
/// [`Connection::handle_timeout`] at [`Connection::poll_timeout`]. The blocking and async
/// clients ([`blocking`](crate::blocking), [`asynch`](crate::asynch)) are that loop; any runtime
/// (RTIC, a superloop, embassy, mio) can run it too.
///
/// The ordering rules live here, not in a driver:
/// - Re-sends of a resumed session go out before any new packet [MQTT-4.6.0-1]:
///   `poll_transmit` gives them first, whatever was queued since.
/// - The reply to a packet (PUBACK, PUBREC, PUBCOMP, PUBREL) is queued when its event is
///   returned, and so goes out on the next `poll_transmit`: after the application has seen
///   the message.
/// - A deadline is enforced only once every whole packet that arrived has been handled: an
///   answer that came in time but was not handled yet is not late. (Bytes still in the
///   transport are the driver's to read first: call `handle_timeout` when it has none.)
/// - A PUBLISH larger than the receive buffer is handed out as it arrives
///   ([`Event::MessageStart`], [`Event::MessagePart`]s, [`Event::MessageEnd`]) and
///   acknowledged only after its end; nothing else is handled in between.
/// - Any byte received counts as a sign of life from the broker (a PINGRESP may wait behind a
///   long message).
/// - After a fatal error every call returns that error until the next `connect`; the session
///   (in-flight messages, inbound QoS 2 state) survives it, for a persistent session to resume.
///
/// The buffers are the caller's: [`Buffers`] of slices sized at run time, or a [`Storage`] of
/// arrays sized by const generics (a `static`, a task's stack) that lends them.
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
    /// The PUBLISH larger than `rx` being received, if any.
    stream: Option<Stream>,
}

impl<'b> Connection<'b> {
    /// A connection over `buffers`, never connected.
    pub fn new(buffers: Buffers<'b>) -> Self {
        Connection {
            session: Session::new(buffers.slots, buffers.store, buffers.inbound),
            inbox: Inbox::new(buffers.rx),
            tx: buffers.tx,
            queued: 0,
            stream: None,
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

    /// Inbound QoS 2 messages delivered and awaiting the broker's PUBREL.
    pub fn awaiting_release(&self) -> usize {
        self.session.awaiting_release()
    }

    /// The packet id of the QoS 1/2 message stored by the latest `publish` (`None`: it stored
    /// nothing); see [`Session::last_published`].
    pub fn last_published(&self) -> Option<u16> {
        self.session.last_published()
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
        self.stream = None;
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
            return Err(*error);
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

    /// `n` bytes were read into [`Connection::input_buffer`] at `now`; 0 means the transport
    /// reached its end (the broker closed the connection), which breaks the connection.
    ///
    /// # Errors
    /// [`Error::ConnectionClosed`] for 0; [`Error::Transport`] with
    /// [`ErrorKind::InvalidData`](embedded_io::ErrorKind::InvalidData) when `n` is more than the
    /// input buffer held (a transport that broke `embedded_io::Read`'s contract: its bytes
    /// cannot be trusted, so they are not decoded); both break the connection.
    pub fn input_received(&mut self, now: Instant, n: usize) -> Result<(), Error> {
        if n == 0 {
            return Err(self.fail(Error::ConnectionClosed));
        }
        if !self.inbox.received(n) {
            let claimed_too_much = Error::Transport(embedded_io::ErrorKind::InvalidData);
            return Err(self.fail(claimed_too_much));
        }
        self.session.heard_from_broker(now);
        Ok(())
    }

    /// Copy transport bytes in (for callers that read into their own buffer); returns how many
    /// were taken: fewer than given when the receive buffer is full, so handle events and
    /// give the rest again.
    pub fn handle_input(&mut self, now: Instant, bytes: &[u8]) -> usize {
        let space = self.inbox.space();
        let n = bytes.len().min(space.len());
        if let (Some(dst), Some(src)) = (space.get_mut(..n), bytes.get(..n)) {
            dst.copy_from_slice(src);
        }
        if n > 0 {
            self.inbox.received(n);
            self.session.heard_from_broker(now);
        }
        n
    }

    /// Whether [`Connection::poll_event`] has an event now. An oversize packet found here is
    /// reported ([`Error::PacketTooLarge`], not fatal) and skipped.
    pub fn has_event(&mut self, now: Instant) -> Result<bool, Error> {
        Ok(self.next(now)? != Next::Wait)
    }

    /// Decide what comes next, taking every step that gives no event: skipping the payload
    /// of a streamed message that is not delivered, skipping an oversize packet (reported),
    /// taking the head of a PUBLISH larger than the receive buffer.
    fn next(&mut self, now: Instant) -> Result<Next, Error> {
        if let Some(error) = self.session.broken() {
            return Err(*error);
        }
        loop {
            if let Some(stream) = &mut self.stream {
                if !stream.announced {
                    return Ok(Next::Start(stream.head_len));
                }
                self.inbox.release();
                let n = stream.remaining.min(self.inbox.filled);
                if stream.remaining == 0 {
                    return Ok(Next::End);
                } else if n == 0 {
                    return Ok(Next::Wait);
                } else if stream.admission == Admission::Deliver {
                    return Ok(Next::Part(n));
                }
                stream.remaining -= n;
                self.inbox.handed_out = n;
                continue;
            }
            let frame = match self.inbox.peek_frame() {
                Ok(Some(frame)) => frame,
                Ok(None) => return Ok(Next::Wait),
                Err(e) => return Err(self.session.fail(e)),
            };
            let filled = self.inbox.filled;
            if frame.total_len <= self.inbox.buf.len() {
                let whole = frame.total_len <= filled;
                return Ok(if whole {
                    Next::Packet(frame)
                } else {
                    Next::Wait
                });
            }
            let first = self.inbox.data().first().copied().unwrap_or_default();
            if !packet::is_publish(first) {
                return Err(self.inbox.skip(frame));
            }
            let head = match packet::decode_publish_head(self.inbox.data(), frame) {
                Ok(Some(head)) => head,
                Ok(None) if filled < self.inbox.buf.len() => return Ok(Next::Wait),
                // Its head alone is larger than the buffer.
                Ok(None) => return Err(self.inbox.skip(frame)),
                Err(e) => return Err(self.session.fail(Error::Decode(e))),
            };
            let (head, head_len) = head;
            let admission = self.session.begin_stream(now, &head)?;
            let announced = admission != Admission::Deliver;
            self.stream = Some(Stream {
                admission,
                announced,
                head_len,
                remaining: head.payload_len,
                qos: head.qos,
                pid: head.pid,
                dup: head.dup,
                retain: head.retain,
                topic_len: head.topic.len(),
            });
            // The head stays at the front until it is announced; a skipped one goes now.
            self.inbox.handed_out = if announced { head_len } else { 0 };
            if !announced {
                return Ok(Next::Start(head_len));
            }
        }
    }

    /// Handle what was received next, if enough has: the event of a whole packet, with its
    /// reply (if any) queued for [`Connection::poll_transmit`]; or the next step of a
    /// message larger than the receive buffer ([`Event::MessageStart`],
    /// [`Event::MessagePart`], [`Event::MessageEnd`]).
    pub fn poll_event(&mut self, now: Instant) -> Result<Option<Event<'_>>, Error> {
        let next = self.next(now)?;
        let free = self.tx.get_mut(self.queued..);
        let (Some(out), Some(stream)) = (free, &mut self.stream) else {
            return self.handle_packet(now, next);
        };
        match next {
            Next::Start(head_len) => {
                stream.announced = true;
                self.inbox.handed_out = head_len;
                // The head was decoded by `next`; only its topic is taken from the buffer again:
                // the head's last field but the packet id.
                let pid_len = if stream.pid.is_some() { 2 } else { 0 };
                let end = head_len.checked_sub(pid_len);
                let start = end.and_then(|end| end.checked_sub(stream.topic_len));
                let topic = start
                    .zip(end)
                    .and_then(|(s, e)| self.inbox.data().get(s..e));
                let topic = topic.and_then(|t| core::str::from_utf8(t).ok());
                Ok(topic.map(|topic| {
                    Event::MessageStart(PublishHead {
                        dup: stream.dup,
                        qos: stream.qos,
                        retain: stream.retain,
                        pid: stream.pid,
                        topic,
                        payload_len: stream.remaining,
                    })
                }))
            }
            Next::Part(n) => {
                stream.remaining -= n;
                self.inbox.handed_out = n;
                Ok(self.inbox.data().get(..n).map(Event::MessagePart))
            }
            Next::End => {
                let (admission, qos, pid) = (stream.admission, stream.qos, stream.pid);
                self.stream = None;
                let (event, reply) = self.session.end_stream(now, admission, qos, pid, out)?;
                self.queued += reply;
                Ok(Some(event))
            }
            Next::Wait | Next::Packet(_) => Ok(None),
        }
    }

    /// Hand the whole packet at the front to the session (`next` said so).
    fn handle_packet(&mut self, now: Instant, next: Next) -> Result<Option<Event<'_>>, Error> {
        let Next::Packet(frame) = next else {
            return Ok(None);
        };
        self.inbox.handed_out = frame.total_len;
        // `next` gives only frames within the buffered bytes (scanned: the session decodes
        // the body alone), and `queued` stays in `tx`: the defaults (type 0, which the session
        // refuses, and empty slices) never stand in.
        let first = self.inbox.buf.first().copied().unwrap_or_default();
        let body = self.inbox.buf.get(frame.header_len..frame.total_len);
        let out = self.tx.get_mut(self.queued..).unwrap_or_default();
        let (event, reply) = self
            .session
            .handle_body(now, first, body.unwrap_or_default(), out)?;
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
        if self.next(now)? != Next::Wait {
            return Ok(());
        }
        self.session.check_timeouts(now)
    }
}

#[cfg(test)]
mod tests;
