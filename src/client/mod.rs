//! The clients: a blocking and an async driver around one sans-IO [`ClientState`].
//!
//! [`ClientState`] holds everything that is not I/O: the [`Session`] (which survives
//! reconnects), the receive buffer that frames packets, and the transmit buffer. Both drivers
//! are the same short loop — send what the session wants sent, read what arrives, feed it in —
//! written once with blocking calls ([`blocking::Client`]) and once with `.await`
//! ([`asynch::Client`]). No protocol decision is made in a driver.
//!
//! # Transport contract
//!
//! A transport is a byte stream: `Read + Write` (blocking or async) plus
//! [`embedded_io::ReadReady`]. The drivers only call `read` after `read_ready` said `true`, so a
//! read never waits for data that may not come, and a TLS record is never abandoned half-read;
//! in between, the session's keep-alive keeps running. `read` returning 0 means the peer closed
//! the connection. Every write is followed by `flush`.

pub mod asynch;
pub mod blocking;

use core::ops::Range;

use crate::error::Error;
use crate::packet::{self, QoS};
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

/// The receive buffer: bytes as they arrive, cut into whole MQTT packets.
///
/// A packet larger than the buffer is reported once ([`Error::PacketTooLarge`]) and then
/// skipped byte by byte as it arrives, so the stream stays in step.
#[derive(Debug)]
struct Inbox<const RX: usize> {
    buf: [u8; RX],
    filled: usize,
    /// Length of the packet handed out last, dropped on the next call.
    handed_out: usize,
    /// Bytes of an oversize packet still to skip.
    skip: usize,
}

impl<const RX: usize> Inbox<RX> {
    const fn new() -> Self {
        Inbox {
            buf: [0; RX],
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
        self.buf.copy_within(n..self.filled, 0);
        self.filled -= n;
    }

    /// Forget the packet handed out last.
    fn release(&mut self) {
        let n = core::mem::take(&mut self.handed_out);
        self.drop_front(n);
    }

    /// Free space to read into.
    fn space(&mut self) -> &mut [u8] {
        self.buf.get_mut(self.filled..).unwrap_or_default()
    }

    /// `n` bytes were read into [`Inbox::space`].
    fn received(&mut self, n: usize) {
        self.filled = (self.filled + n).min(RX);
        let skipped = self.skip.min(self.filled);
        self.drop_front(skipped);
        self.skip -= skipped;
    }

    /// The next whole packet, if one is here.
    fn next_frame(&mut self) -> Result<Option<Range<usize>>, Error> {
        self.release();
        let data = self.buf.get(..self.filled).unwrap_or_default();
        let Some(frame) = packet::scan(data).map_err(Error::Decode)? else {
            return Ok(None);
        };
        if frame.total_len > RX {
            self.skip = frame.total_len;
            self.received(0);
            return Err(Error::PacketTooLarge {
                size: frame.total_len,
                capacity: RX,
            });
        }
        if frame.total_len > self.filled {
            return Ok(None);
        }
        self.handed_out = frame.total_len;
        Ok(Some(0..frame.total_len))
    }
}

/// One packet handled: its event, the reply to send before anything else, and the session
/// (to declare the connection broken if sending the reply fails).
struct Handled<'a, const N: usize, const STORE: usize, const INBOUND: usize> {
    event: Event<'a>,
    reply: &'a [u8],
    session: &'a mut Session<N, STORE, INBOUND>,
}

/// Everything a client keeps between calls, apart from the transport: the session (which
/// outlives any one connection), an `RX`-byte receive buffer (the largest packet the broker
/// may send us), and a `TX`-byte transmit buffer (the largest packet we send).
///
/// `N` and `STORE` are the [`Session`]'s in-flight window and its byte store; `INBOUND` is how
/// many inbound QoS 2 messages it tracks until their PUBREL ([`DEFAULT_INBOUND`] unless given).
#[derive(Debug)]
pub struct ClientState<
    const N: usize,
    const STORE: usize,
    const RX: usize,
    const TX: usize,
    const INBOUND: usize = DEFAULT_INBOUND,
> {
    session: Session<N, STORE, INBOUND>,
    inbox: Inbox<RX>,
    tx: [u8; TX],
}

impl<
        const N: usize,
        const STORE: usize,
        const RX: usize,
        const TX: usize,
        const INBOUND: usize,
    > Default for ClientState<N, STORE, RX, TX, INBOUND>
{
    fn default() -> Self {
        Self::new()
    }
}

impl<
        const N: usize,
        const STORE: usize,
        const RX: usize,
        const TX: usize,
        const INBOUND: usize,
    > ClientState<N, STORE, RX, TX, INBOUND>
{
    /// Empty state, never connected.
    pub const fn new() -> Self {
        ClientState {
            session: Session::new(),
            inbox: Inbox::new(),
            tx: [0; TX],
        }
    }

    /// The session (in-flight counts, connection status).
    pub fn session(&self) -> &Session<N, STORE, INBOUND> {
        &self.session
    }

    /// Declare the connection broken by a transport or framing `error`. Before CONNACK, a
    /// transport that denies permission is a broker refusing the client certificate: the
    /// crate's TLS streams report that refusal, and only it, as `PermissionDenied`, on the
    /// first write or read after the handshake (TLS 1.3 servers answer the client's
    /// certificate only then).
    fn fail(&mut self, error: Error) -> Error {
        let error = match error {
            Error::Transport(embedded_io::ErrorKind::PermissionDenied)
                if self.session.is_awaiting_connack() =>
            {
                Error::ClientCertificateRefused
            }
            other => other,
        };
        self.session.fail(error)
    }

    fn tx(&self, len: usize) -> &[u8] {
        self.tx.get(..len).unwrap_or_default()
    }

    fn connect(&mut self, now: Instant, options: &ConnectOptions<'_>) -> Result<&[u8], Error> {
        self.inbox.reset();
        let len = self.session.connect(now, options, &mut self.tx)?;
        Ok(self.tx(len))
    }

    fn publish(
        &mut self,
        now: Instant,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
    ) -> Result<(&[u8], Option<u16>), Error> {
        let (len, pid) = self
            .session
            .publish(now, topic, payload, qos, retain, &mut self.tx)?;
        Ok((self.tx(len), pid))
    }

    fn subscribe(&mut self, now: Instant, filters: &[(&str, QoS)]) -> Result<(&[u8], u16), Error> {
        let (len, pid) = self.session.subscribe(now, filters, &mut self.tx)?;
        Ok((self.tx(len), pid))
    }

    fn unsubscribe(&mut self, now: Instant, filters: &[&str]) -> Result<(&[u8], u16), Error> {
        let (len, pid) = self.session.unsubscribe(now, filters, &mut self.tx)?;
        Ok((self.tx(len), pid))
    }

    fn disconnect(&mut self) -> Result<&[u8], Error> {
        let len = self.session.disconnect(&mut self.tx)?;
        Ok(self.tx(len))
    }

    /// The next packet the session itself wants sent (re-send, PINGREQ), after dropping the
    /// packet handed out last.
    fn transmit(&mut self, now: Instant) -> Result<Option<&[u8]>, Error> {
        match self.session.poll_transmit(now, &mut self.tx)? {
            Some(len) => Ok(Some(self.tx(len))),
            None => Ok(None),
        }
    }

    /// Nothing more to read right now: enforce the session's deadlines.
    fn check_timeouts(&mut self, now: Instant) -> Result<(), Error> {
        self.session.check_timeouts(now)
    }

    /// The next whole packet in the receive buffer.
    fn frame(&mut self) -> Result<Option<Range<usize>>, Error> {
        match self.inbox.next_frame() {
            Ok(frame) => Ok(frame),
            Err(e) if e.is_fatal() => Err(self.fail(e)),
            Err(e) => Err(e),
        }
    }

    fn read_space(&mut self) -> &mut [u8] {
        self.inbox.space()
    }

    /// `n` bytes arrived (0: the peer closed).
    fn received(&mut self, n: usize) -> Result<(), Error> {
        if n == 0 {
            return Err(self.fail(Error::ConnectionClosed));
        }
        self.inbox.received(n);
        Ok(())
    }

    /// Hand the packet at `frame` to the session: its event, and the reply to send first.
    fn handle(
        &mut self,
        now: Instant,
        frame: Range<usize>,
    ) -> Result<Handled<'_, N, STORE, INBOUND>, Error> {
        let bytes = self.inbox.buf.get(frame).unwrap_or_default();
        let (event, len) = self.session.handle(now, bytes, &mut self.tx)?;
        Ok(Handled {
            event,
            reply: self.tx.get(..len).unwrap_or_default(),
            session: &mut self.session,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inbox_frames_split_and_joined_packets() {
        let mut inbox = Inbox::<16>::new();
        // PINGRESP, then half a PUBACK.
        let bytes = [0xd0, 0x00, 0x40, 0x02];
        inbox.space()[..3].copy_from_slice(&bytes[..3]);
        inbox.received(3);
        assert_eq!(inbox.next_frame().unwrap(), Some(0..2));
        assert_eq!(inbox.next_frame().unwrap(), None);
        inbox.space()[..3].copy_from_slice(&[0x02, 0x00, 0x07]);
        inbox.received(3);
        let frame = inbox.next_frame().unwrap().unwrap();
        assert_eq!(&inbox.buf[frame], &[0x40, 0x02, 0x00, 0x07]);
        assert_eq!(inbox.next_frame().unwrap(), None);
        assert_eq!(inbox.filled, 0);
    }

    #[test]
    fn inbox_skips_an_oversize_packet_and_stays_in_step() {
        let mut inbox = Inbox::<8>::new();
        // A PUBLISH with remaining length 10 (12 bytes in all), then a PINGRESP.
        let mut stream = std::vec![0x30, 10, 0, 1, b't'];
        stream.extend_from_slice(b"1234567");
        stream.extend_from_slice(&[0xd0, 0x00]);
        let mut chunks = stream.chunks(3);
        let mut saw_error = false;
        let mut frames = 0;
        loop {
            match inbox.next_frame() {
                Err(Error::PacketTooLarge { size, capacity }) => {
                    assert_eq!((size, capacity), (12, 8));
                    saw_error = true;
                }
                Err(e) => panic!("{e}"),
                Ok(Some(r)) => {
                    assert_eq!(&inbox.buf[r], &[0xd0, 0x00]);
                    frames += 1;
                }
                Ok(None) => match chunks.next() {
                    Some(c) => {
                        inbox.space()[..c.len()].copy_from_slice(c);
                        inbox.received(c.len());
                    }
                    None => break,
                },
            }
        }
        assert!(saw_error);
        assert_eq!(frames, 1);
    }
}
