//! The MQTT 3.1.1 client state machine, sans-IO.
//!
//! [`Session`] owns every protocol decision: packet identifiers, the outbound in-flight table
//! (QoS 1 and 2 flows, DUP on resend), inbound QoS 2 de-duplication, keep-alive deadlines, and
//! what to do when a session resumes. It does no I/O and reads no clock: callers hand it the
//! bytes of one whole packet and the current [`Instant`], and it hands back the bytes to send
//! and an [`Event`]. The blocking and async clients are thin loops around it.
//!
//! Rules enforced here (MQTT 3.1.1 numbering):
//! - [MQTT-3.2.2-1] a CONNACK for a clean session must say `session_present = 0`.
//! - [MQTT-4.4.0-1] on resuming a session, unacknowledged PUBLISH packets are sent again with
//!   DUP = 1 and the same identifier, and PUBREL for QoS 2 messages past PUBREC.
//! - [MQTT-4.3.3-2] an inbound QoS 2 message is delivered once: a PUBLISH whose identifier is
//!   waiting for PUBREL is acknowledged again (PUBREC) but not delivered again.
//! - [MQTT-2.3.1-2] an identifier is not reused while its flow is in progress.
//! - [MQTT-3.1.2-24] the client sends something within every keep-alive period (PINGREQ when
//!   idle), and also sends PINGREQ when nothing has been *received* for a keep-alive period;
//!   a broker that does not answer within the response timeout (at most one keep-alive
//!   period) is declared dead: within two keep-alive periods of its last packet.
//! - An acknowledgement for an identifier with no flow in progress ([`Event::StrayAck`]) is
//!   a warning: brokers send duplicates after resumes and retries. A stray PUBREC is answered
//!   with PUBREL so the broker can finish its flow. An acknowledgement of the wrong kind, a
//!   second CONNACK, a packet a server must never send are violations: the connection is
//!   declared broken rather than guessing.
//!
//! Errors that break the connection are sticky: every later call returns the same error until
//! [`Session::connect`] starts a new connection. The in-flight table survives that, so a
//! persistent session resumes where it stopped.

use crate::error::{Error, Timeout, Violation};
use crate::inflight::{Awaiting, Full, InFlight, Request as RequestKind, Resend, Slot};
use crate::packet::{self, ConnectReturnCode, QoS};

pub use crate::packet::Ack;
use crate::time::Instant;

pub use crate::packet::{PublishHead, Will};

/// What to send in CONNECT, and how patient to be.
#[derive(Clone, Debug)]
pub struct ConnectOptions<'a> {
    /// Client identifier (1 to 23 characters is what every broker must accept).
    pub client_id: &'a str,
    /// Keep-alive period in seconds; 0 turns keep-alive off.
    pub keep_alive_secs: u16,
    /// Start a clean session (true) or resume a persistent one (false).
    pub clean_session: bool,
    /// Last will, published by the broker if this client vanishes.
    pub will: Option<Will<'a>>,
    /// User name.
    pub username: Option<&'a str>,
    /// Password.
    pub password: Option<&'a [u8]>,
    /// How long to wait for CONNACK and for PINGRESP before declaring the broker dead. The
    /// PINGRESP wait is also bounded by the keep-alive period, so a silent broker is declared
    /// dead within two keep-alive periods of the last packet received from it.
    pub response_timeout_ms: u32,
}

impl<'a> ConnectOptions<'a> {
    /// Clean session, 60 s keep-alive, 10 s response timeout, no will, no credentials.
    pub const fn new(client_id: &'a str) -> Self {
        ConnectOptions {
            client_id,
            keep_alive_secs: 60,
            clean_session: true,
            will: None,
            username: None,
            password: None,
            response_timeout_ms: 10_000,
        }
    }
}

/// A message delivered by the broker, borrowed from the receive buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Message<'a> {
    /// Topic name.
    pub topic: &'a str,
    /// Payload bytes.
    pub payload: &'a [u8],
    /// The QoS it was delivered with.
    pub qos: QoS,
    /// Whether the broker sent it as a retained message.
    pub retain: bool,
    /// Whether the broker marked it as a possible duplicate (QoS 1 redelivery).
    pub dup: bool,
    /// Packet identifier (QoS 1 and 2).
    pub pid: Option<u16>,
}

/// The broker's answer to one filter of a SUBSCRIBE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Granted {
    /// Subscribed with this maximum QoS.
    Qos(QoS),
    /// The broker refused this filter (return code 0x80).
    Refused,
}

/// The per-filter results of a SUBACK, in the order of the SUBSCRIBE's filters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Suback<'a> {
    codes: &'a [u8],
}

impl<'a> Suback<'a> {
    /// One result per filter.
    pub fn iter(&self) -> impl Iterator<Item = Granted> + 'a {
        self.codes.iter().map(|&code| match code {
            0 => Granted::Qos(QoS::AtMostOnce),
            1 => Granted::Qos(QoS::AtLeastOnce),
            2 => Granted::Qos(QoS::ExactlyOnce),
            _ => Granted::Refused,
        })
    }

    /// Number of filters answered.
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    /// Whether the SUBACK answered no filter (never true for a valid SUBACK).
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// Whether the broker refused at least one filter.
    pub fn any_refused(&self) -> bool {
        self.iter().any(|g| g == Granted::Refused)
    }
}

/// What one packet from the broker meant. Every packet yields exactly one event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Event<'a> {
    /// CONNACK accepted the connection. `session_present` says whether the broker kept the
    /// session (subscriptions and queued messages); `resending` is how many unacknowledged
    /// messages the client is sending again.
    Connected {
        /// The broker resumed a stored session.
        session_present: bool,
        /// Messages in flight that will be sent again on this connection.
        resending: usize,
    },
    /// A message for one of our subscriptions.
    Message(Message<'a>),
    /// The start of a message for us that is larger than the receive buffer: its topic, QoS,
    /// packet id and payload length. Its payload follows in [`Event::MessagePart`]s as it
    /// arrives, then [`Event::MessageEnd`]; nothing else comes in between. Its acknowledgement
    /// (PUBACK, PUBREC) goes out only after the end, so a device that resets in the middle
    /// gets the message again. (A QoS 2 duplicate of a message already delivered is skipped
    /// whole and reported as [`Event::Duplicate`], as for small ones.)
    MessageStart(PublishHead<'a>),
    /// The next piece of the payload of the message announced by [`Event::MessageStart`],
    /// borrowed from the receive buffer.
    MessagePart(&'a [u8]),
    /// The message announced by [`Event::MessageStart`] is complete; its acknowledgement is
    /// queued.
    MessageEnd {
        /// Its packet identifier (QoS 1 and 2).
        pid: Option<u16>,
    },
    /// A QoS 2 message the broker sent again before our PUBREC reached it: acknowledged again,
    /// not delivered twice.
    Duplicate {
        /// Its packet identifier.
        pid: u16,
    },
    /// A new QoS 2 message that came while the inbound room ([`Buffers::inbound`](crate::Buffers))
    /// was full of others awaiting their PUBREL, or after
    /// an earlier one was deferred on this connection (so that messages stay in order): not
    /// delivered and not acknowledged, since the session has no room to remember it for
    /// de-duplication. The connection goes on so that the broker's PUBRELs can free the
    /// room; once they have (or after the response timeout) the session ends the connection
    /// with [`Error::InboundQos2Full`], and the broker sends every deferred message again when
    /// the persistent session resumes.
    Deferred {
        /// Its packet identifier.
        pid: u16,
    },
    /// The broker released an inbound QoS 2 message (PUBREL); PUBCOMP was sent.
    Released {
        /// Its packet identifier.
        pid: u16,
    },
    /// The broker has received an outbound QoS 2 message (its PUBREC came); PUBREL is sent.
    /// Not a message for us: those are [`Event::Message`]. [`Event::Delivered`] follows.
    BrokerReceived {
        /// Its packet identifier.
        pid: u16,
    },
    /// An acknowledgement for a packet id with no flow in progress: brokers send duplicates
    /// after resumes and retries. A warning, not an error: a PUBACK or PUBCOMP is ignored, a
    /// PUBREC is answered with PUBREL so that the broker can finish its flow. (An
    /// acknowledgement of the wrong kind for a message in flight is still a
    /// [`crate::error::Violation`].)
    StrayAck {
        /// Which acknowledgement: PUBACK, PUBREC or PUBCOMP.
        ack: Ack,
        /// Its packet identifier.
        pid: u16,
    },
    /// An outbound message is fully acknowledged (PUBACK for QoS 1, PUBCOMP for QoS 2).
    Delivered {
        /// Its packet identifier.
        pid: u16,
    },
    /// SUBACK: the broker's answer for each filter.
    Subscribed {
        /// The SUBSCRIBE's packet identifier.
        pid: u16,
        /// Per-filter results.
        granted: Suback<'a>,
    },
    /// UNSUBACK.
    Unsubscribed {
        /// The UNSUBSCRIBE's packet identifier.
        pid: u16,
    },
    /// PINGRESP.
    Pong,
}

// `repr(u8)`: a plain tag with `Idle` = 0, so that a new session's phase is zero bytes;
// without it the tag hides in `Error`'s niche and is not 0.
#[derive(Clone, Debug)]
#[repr(u8)]
enum Phase {
    /// No connection (never connected, or DISCONNECT sent).
    Idle,
    /// CONNECT sent, CONNACK due by the deadline.
    AwaitConnack { deadline: Instant, clean: bool },
    /// Connected.
    Connected,
    /// The connection broke; the error is returned by every call until the next connect.
    Broken(Error),
}

/// How many inbound QoS 2 messages awaiting PUBREL a [`Storage`](crate::Storage) tracks unless
/// told otherwise: above Mosquitto's default window of 20 (`max_inflight_messages`), at 2 bytes
/// each.
pub const DEFAULT_INBOUND: usize = 32;

/// Packet ids of inbound QoS 2 messages delivered and awaiting PUBREL, over a caller-owned
/// slice (0 marks a free entry: MQTT never uses packet id 0).
#[derive(Debug)]
struct PidSet<'b> {
    pids: &'b mut [u16],
}

impl<'b> PidSet<'b> {
    fn new(pids: &'b mut [u16]) -> Self {
        pids.fill(0);
        PidSet { pids }
    }

    fn contains(&self, pid: u16) -> bool {
        pid != 0 && self.pids.contains(&pid)
    }

    /// Adds `pid`; `false` when the set is full.
    fn insert(&mut self, pid: u16) -> bool {
        match self.pids.iter_mut().find(|p| **p == 0) {
            Some(free) => {
                *free = pid;
                true
            }
            None => false,
        }
    }

    fn remove(&mut self, pid: u16) {
        for p in self.pids.iter_mut().filter(|p| **p == pid) {
            *p = 0;
        }
    }

    fn clear(&mut self) {
        self.pids.fill(0);
    }

    fn len(&self) -> usize {
        self.pids.iter().filter(|&&p| p != 0).count()
    }

    fn is_empty(&self) -> bool {
        self.pids.iter().all(|&p| p == 0)
    }

    fn has_room(&self) -> bool {
        self.pids.contains(&0)
    }

    fn capacity(&self) -> usize {
        self.pids.len()
    }
}

/// What becomes of an inbound PUBLISH, decided from its head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Delivered to the application, acknowledged once it has the whole message.
    Deliver,
    /// A QoS 2 message already delivered and awaiting PUBREL: acknowledged again, not
    /// delivered ([`Event::Duplicate`]).
    Duplicate,
    /// No room to remember a new QoS 2 message: neither delivered nor acknowledged
    /// ([`Event::Deferred`]).
    Deferred,
}

/// New inbound QoS 2 messages left unacknowledged on this connection ([`Event::Deferred`]).
#[derive(Clone, Copy, Debug)]
struct Deferral {
    /// When the first came: the room must be free by the response timeout after it.
    since: Instant,
    /// How many.
    count: usize,
}

/// The MQTT client session over caller-owned storage: a window of [`Slot`]s for outbound
/// QoS 1/2 messages and SUBSCRIBE/UNSUBSCRIBE requests in flight, a byte store that keeps the
/// in-flight messages for resending, and room for the packet ids of inbound QoS 2 messages
/// delivered and awaiting the broker's PUBREL. [`Connection`](crate::Connection) wraps it with
/// the receive and send buffers; use the session alone to frame and send bytes yourself.
///
/// The inbound side is the one the client does not control: a broker sends as many QoS 2
/// messages at once as its own window allows (Mosquitto: `max_inflight_messages`, 20 by
/// default). A new one beyond the room is [`Event::Deferred`]: left unacknowledged until the
/// broker has released the others, then the connection is ended ([`Error::InboundQos2Full`])
/// so that the broker sends it again on the resumed session.
#[derive(Debug)]
pub struct Session<'b> {
    phase: Phase,
    keep_alive_ms: u32,
    response_timeout_ms: u32,
    last_sent: Instant,
    /// When the last packet from the broker was handled.
    last_received: Instant,
    ping_deadline: Option<Instant>,
    next_pid: u16,
    last_published: Option<u16>,
    outbound: InFlight<'b>,
    inbound_qos2: PidSet<'b>,
    deferral: Option<Deferral>,
    /// PUBREL and PINGREQ are encoded here, so that they need no room in the caller's buffer.
    control: [u8; 4],
}

impl<'b> Session<'b> {
    /// A session that has never connected, over `slots` (the in-flight window: messages and
    /// requests), `store` (bytes of the in-flight messages, kept for re-sending) and `inbound`
    /// (inbound QoS 2 messages awaiting PUBREL). Their old contents are forgotten.
    pub fn new(slots: &'b mut [Slot], store: &'b mut [u8], inbound: &'b mut [u16]) -> Self {
        Session {
            phase: Phase::Idle,
            keep_alive_ms: 0,
            response_timeout_ms: 0,
            last_sent: Instant::from_millis(0),
            last_received: Instant::from_millis(0),
            ping_deadline: None,
            next_pid: 0,
            last_published: None,
            outbound: InFlight::new(slots, store),
            inbound_qos2: PidSet::new(inbound),
            deferral: None,
            control: [0; 4],
        }
    }

    /// Whether CONNACK accepted the current connection and it has not broken since.
    pub fn is_connected(&self) -> bool {
        matches!(self.phase, Phase::Connected)
    }

    /// Outbound QoS 1/2 messages not yet fully acknowledged.
    pub fn in_flight(&self) -> usize {
        self.outbound.len()
    }

    /// Inbound QoS 2 messages delivered and waiting for the broker's PUBREL.
    pub fn awaiting_release(&self) -> usize {
        self.inbound_qos2.len()
    }

    /// The packet identifier of the QoS 1/2 message stored by the latest call of
    /// [`Session::publish`], or `None` if that call stored nothing (QoS 0, or it failed before
    /// storing). When a client's `publish` fails to send (a transport error), this says whether
    /// *that* message is already in the in-flight table: then it is sent again when a
    /// persistent session resumes, and this names the identifier its [`Event::Delivered`] will
    /// carry.
    pub fn last_published(&self) -> Option<u16> {
        self.last_published
    }

    /// Whether CONNECT was sent and CONNACK has not come yet.
    pub fn is_awaiting_connack(&self) -> bool {
        matches!(self.phase, Phase::AwaitConnack { .. })
    }

    /// The error that broke the connection, if it is broken.
    pub fn broken(&self) -> Option<&Error> {
        match &self.phase {
            Phase::Broken(e) => Some(e),
            _ => None,
        }
    }

    /// Declare the connection broken by `error` (a transport failure, say) and return it.
    /// In-flight messages are kept for the next connection.
    // Not inlined (nor `check_usable`): called from a dozen places, each inlined copy moved
    // the whole `Error` (108 B of flash saved, scripts/footprint.sh).
    #[inline(never)]
    pub fn fail(&mut self, error: Error) -> Error {
        if let Phase::Broken(first) = &self.phase {
            return *first;
        }
        self.phase = Phase::Broken(error);
        self.ping_deadline = None;
        error
    }

    #[inline(never)]
    fn check_usable(&self) -> Result<(), Error> {
        match &self.phase {
            Phase::Connected => Ok(()),
            Phase::Broken(e) => Err(*e),
            Phase::Idle | Phase::AwaitConnack { .. } => Err(Error::NotConnected),
        }
    }

    /// Start a new connection: encode CONNECT into `out` and return its length. With
    /// `clean_session` the in-flight state is dropped; without it, it is kept and re-sent once
    /// CONNACK arrives.
    pub fn connect(
        &mut self,
        now: Instant,
        options: &ConnectOptions<'_>,
        out: &mut [u8],
    ) -> Result<usize, Error> {
        let connect = packet::Connect {
            client_id: options.client_id,
            keep_alive: options.keep_alive_secs,
            clean_session: options.clean_session,
            will: options.will,
            username: options.username,
            password: options.password,
        };
        let len = packet::encode_connect(&connect, out)?;
        if options.clean_session {
            self.outbound.clear();
            self.inbound_qos2.clear();
        }
        self.outbound.forget_requests();
        self.deferral = None;
        self.keep_alive_ms = u32::from(options.keep_alive_secs) * 1000;
        self.response_timeout_ms = options.response_timeout_ms;
        self.ping_deadline = None;
        self.last_sent = now;
        self.last_received = now;
        self.phase = Phase::AwaitConnack {
            deadline: now.add_millis(options.response_timeout_ms),
            clean: options.clean_session,
        };
        Ok(len)
    }

    /// Next free packet identifier: never 0, never one in use.
    fn allocate_pid(&mut self) -> Result<u16, Error> {
        for _ in 0..=u16::MAX {
            let pid = self.next_pid;
            self.next_pid = match self.next_pid.wrapping_add(1) {
                0 => 1,
                n => n,
            };
            if pid != 0 && !self.outbound.contains(pid) {
                return Ok(pid);
            }
        }
        Err(Error::WindowFull {
            slots: self.outbound.capacity(),
        })
    }

    /// Encode a PUBLISH into `out`. Returns its length and, for QoS 1 and 2, the packet
    /// identifier that its [`Event::Delivered`] will carry. QoS 1/2 messages are also kept
    /// in the in-flight table until acknowledged; when the table is full this returns
    /// [`Error::WindowFull`] or [`Error::StoreFull`] and nothing is sent: poll for
    /// acknowledgements and try again.
    pub fn publish(
        &mut self,
        now: Instant,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
        out: &mut [u8],
    ) -> Result<(usize, Option<u16>), Error> {
        self.last_published = None;
        self.check_usable()?;
        let stage = match qos {
            QoS::AtMostOnce => None,
            QoS::AtLeastOnce => Some(Awaiting::Puback),
            QoS::ExactlyOnce => Some(Awaiting::Pubrec),
        };
        let pid = match stage {
            Some(_) => {
                self.outbound.check_room(0).map_err(Error::from)?;
                Some(self.allocate_pid()?)
            }
            None => None,
        };
        let publish = packet::Publish {
            dup: false,
            qos,
            retain,
            pid,
            topic,
            payload,
        };
        let len = packet::encode_publish(&publish, out)?;
        if let (Some(stage), Some(pid)) = (stage, pid) {
            let encoded = out.get(..len).unwrap_or_default();
            self.outbound.insert(pid, stage, encoded)?;
            self.last_published = Some(pid);
        }
        self.last_sent = now;
        Ok((len, pid))
    }

    fn push_request(&mut self, kind: RequestKind) -> Result<u16, Error> {
        self.outbound.check_room(0)?;
        let pid = self.allocate_pid()?;
        self.outbound.insert_request(pid, kind)?;
        Ok(pid)
    }

    /// Encode a SUBSCRIBE for `filters` into `out`; returns its length and packet identifier.
    pub fn subscribe(
        &mut self,
        now: Instant,
        filters: &[(&str, QoS)],
        out: &mut [u8],
    ) -> Result<(usize, u16), Error> {
        self.check_usable()?;
        // Encode with a provisional id first so a bad filter costs no request slot.
        packet::encode_subscribe(1, filters, out)?;
        let pid = self.push_request(RequestKind::Subscribe {
            filters: filters.len(),
        })?;
        let len = packet::encode_subscribe(pid, filters, out)?;
        self.last_sent = now;
        Ok((len, pid))
    }

    /// Encode an UNSUBSCRIBE for `filters` into `out`; returns its length and packet identifier.
    pub fn unsubscribe(
        &mut self,
        now: Instant,
        filters: &[&str],
        out: &mut [u8],
    ) -> Result<(usize, u16), Error> {
        self.check_usable()?;
        packet::encode_unsubscribe(1, filters, out)?;
        let pid = self.push_request(RequestKind::Unsubscribe)?;
        let len = packet::encode_unsubscribe(pid, filters, out)?;
        self.last_sent = now;
        Ok((len, pid))
    }

    /// Encode DISCONNECT into `out`. The session goes idle; in-flight messages are kept for a
    /// later persistent reconnect (the broker drops the will on a clean DISCONNECT).
    pub fn disconnect(&mut self, out: &mut [u8]) -> Result<usize, Error> {
        self.check_usable()?;
        let len = packet::encode_disconnect(out)?;
        self.phase = Phase::Idle;
        self.ping_deadline = None;
        Ok(len)
    }

    /// When the session next needs [`Session::poll_transmit`] or [`Session::check_timeouts`]
    /// called, if ever.
    pub fn poll_at(&self) -> Option<Instant> {
        match &self.phase {
            Phase::AwaitConnack { deadline, .. } => Some(*deadline),
            Phase::Connected => match (self.transmit_or_ping_due(), self.deferral_deadline()) {
                (Some(a), Some(b)) => Some(a.earliest(b)),
                (a, b) => a.or(b),
            },
            Phase::Idle | Phase::Broken(_) => None,
        }
    }

    /// When a connected session next sends something (a re-send, PINGREQ) or gives up on
    /// PINGRESP.
    fn transmit_or_ping_due(&self) -> Option<Instant> {
        if self.outbound.resend_pending() {
            Some(self.last_sent)
        } else if let Some(deadline) = self.ping_deadline {
            Some(deadline)
        } else if self.keep_alive_ms == 0 {
            None
        } else {
            Some(self.quiet_since().add_millis(self.keep_alive_ms))
        }
    }

    /// Since when the link has been quiet one way or the other: the earlier of the last packet
    /// sent and the last received. A PINGREQ is due one keep-alive period after it, so a
    /// client that only sends (QoS 0) still finds out that nothing comes back.
    fn quiet_since(&self) -> Instant {
        self.last_sent.earliest(self.last_received)
    }

    /// How long to wait for PINGRESP: the response timeout, but never more than the
    /// keep-alive period, so that a silent broker is declared dead within two keep-alive
    /// periods of the last packet received from it (the broker itself gives up on a silent
    /// client after one and a half [MQTT-3.1.2-24]).
    fn ping_wait_ms(&self) -> u32 {
        match self.keep_alive_ms {
            0 => self.response_timeout_ms,
            keep_alive => self.response_timeout_ms.min(keep_alive),
        }
    }

    /// Whether messages of a resumed session are still to be sent again: they go out before
    /// any new packet ([MQTT-4.6.0-1]: in the order they were first sent).
    pub fn resend_pending(&self) -> bool {
        self.is_connected() && self.outbound.resend_pending()
    }

    /// The next packet the session itself wants sent, if any: a re-send after resuming (the
    /// stored PUBLISH, now with DUP set, or a PUBREL) or a PINGREQ when the connection has been
    /// idle for the keep-alive period. The bytes are the session's own (no caller buffer);
    /// they count as sent when returned.
    pub fn poll_transmit(&mut self, now: Instant) -> Result<Option<&[u8]>, Error> {
        match &self.phase {
            Phase::Idle | Phase::AwaitConnack { .. } => return Ok(None),
            Phase::Broken(e) => return Err(*e),
            Phase::Connected => {}
        }
        if self.outbound.resend_pending() {
            self.last_sent = now;
            return Ok(match self.outbound.next_resend() {
                Some(Resend::Publish(bytes)) => {
                    packet::set_dup(bytes);
                    Some(&*bytes)
                }
                Some(Resend::Pubrel(pid)) => {
                    let len = packet::encode_ack(Ack::Pubrel, pid, &mut self.control)?;
                    self.control.get(..len)
                }
                None => None,
            });
        }
        if self.keep_alive_ms > 0
            && self.ping_deadline.is_none()
            && now.millis_since(self.quiet_since()) >= self.keep_alive_ms
        {
            let len = packet::encode_pingreq(&mut self.control)?;
            self.last_sent = now;
            self.ping_deadline = Some(now.add_millis(self.ping_wait_ms()));
            return Ok(self.control.get(..len));
        }
        Ok(None)
    }

    /// When a connection with deferred inbound QoS 2 messages ends: at once when none await
    /// PUBREL any more, else the response timeout after the first was deferred.
    fn deferral_deadline(&self) -> Option<Instant> {
        let deferral = self.deferral?;
        Some(if self.inbound_qos2.is_empty() {
            deferral.since
        } else {
            deferral.since.add_millis(self.response_timeout_ms)
        })
    }

    /// Enforce the deadlines: a CONNACK or PINGRESP overdue at `now` breaks the connection,
    /// and so does a connection with [`Event::Deferred`] messages once the others have been
    /// released or the response timeout has passed ([`Error::InboundQos2Full`]).
    /// Call it only once everything that has already arrived has been fed in with
    /// [`Session::handle`]: an answer that came in time but was not read yet is not late.
    pub fn check_timeouts(&mut self, now: Instant) -> Result<(), Error> {
        let overdue = match &self.phase {
            Phase::Broken(e) => return Err(*e),
            Phase::Idle => return Ok(()),
            Phase::AwaitConnack { deadline, .. } => {
                now.reached(*deadline)
                    .then_some(Error::Timeout(Timeout::Connack {
                        waited_ms: self.response_timeout_ms,
                    }))
            }
            Phase::Connected => match (self.deferral_deadline(), self.deferral) {
                (Some(deadline), Some(deferral)) if now.reached(deadline) => {
                    Some(Error::InboundQos2Full {
                        max: self.inbound_qos2.capacity(),
                        deferred: deferral.count,
                    })
                }
                _ => match self.ping_deadline {
                    Some(deadline) if now.reached(deadline) => {
                        Some(Error::Timeout(Timeout::Pingresp {
                            waited_ms: self.ping_wait_ms(),
                        }))
                    }
                    _ => None,
                },
            },
        };
        match overdue {
            Some(error) => Err(self.fail(error)),
            None => Ok(()),
        }
    }

    /// Feed one whole packet from the broker (`frame`, exactly as framed by
    /// [`packet::scan`]). Returns what it meant and the length of the reply encoded into
    /// `out` (0 when there is none); the caller sends the reply before anything else.
    pub fn handle<'f>(
        &mut self,
        now: Instant,
        frame: &'f [u8],
        out: &mut [u8],
    ) -> Result<(Event<'f>, usize), Error> {
        if let Phase::Broken(e) = &self.phase {
            return Err(*e);
        }
        match packet::split_packet(frame) {
            Ok((first, body)) => self.handle_body(now, first, body, out),
            Err(e) => Err(self.fail(Error::Decode(e))),
        }
    }

    /// [`Session::handle`] for a packet already framed by [`packet::scan`]: `first` is its
    /// first byte, `body` the bytes after its fixed header. No check for a broken session of
    /// its own (the connection has made it): every arm would return the sticky error anyway,
    /// CONNACK's as an unexpected one that [`Session::fail`] turns into the first.
    pub(crate) fn handle_body<'f>(
        &mut self,
        now: Instant,
        first: u8,
        body: &'f [u8],
        out: &mut [u8],
    ) -> Result<(Event<'f>, usize), Error> {
        // One place that marks the session broken, for malformed packets and violations alike.
        match self.act(now, first, body, out) {
            Err(e) if e.is_fatal() => Err(self.fail(e)),
            result => result,
        }
    }

    // Out of line (as `Inbox::drop_front` and `InFlight::live`): LTO inlined a copy into
    // every caller (140 B of flash for this one, scripts/footprint.sh).
    #[inline(never)]
    fn reply(&mut self, now: Instant, kind: Ack, pid: u16, out: &mut [u8]) -> Result<usize, Error> {
        let len = packet::encode_ack(kind, pid, out)?;
        self.last_sent = now;
        Ok(len)
    }

    /// Decode and act in one pass: one match on the packet type, whose arm reads that type's
    /// fields (a malformed packet is a [`packet::DecodeError`] whatever the phase, as
    /// [`packet::decode`] would find it) and then does what they mean.
    fn act<'f>(
        &mut self,
        now: Instant,
        first: u8,
        body: &'f [u8],
        out: &mut [u8],
    ) -> Result<(Event<'f>, usize), Error> {
        let packet_type = first >> 4;
        match packet_type {
            packet::CONNACK => {
                let (session_present, code) = packet::connack_fields(body)?;
                self.last_received = now;
                self.connack(session_present, code)
            }
            packet::PUBLISH => {
                let publish = packet::decode_publish(first, body)?;
                self.heard_packet(now)?;
                self.inbound_publish(now, publish, out)
            }
            packet::SUBACK => {
                let (pid, return_codes) = packet::suback_fields(body)?;
                self.heard_packet(now)?;
                let filters = self.take_request(pid, true)?;
                if filters != return_codes.len() {
                    return Err(Error::Violation(Violation::SubackCount {
                        pid,
                        filters,
                        answers: return_codes.len(),
                    }));
                }
                let granted = Suback {
                    codes: return_codes,
                };
                Ok((Event::Subscribed { pid, granted }, 0))
            }
            packet::PINGRESP => {
                self.heard_packet(now)?;
                self.ping_deadline = None;
                Ok((Event::Pong, 0))
            }
            // The five packets that are only a packet id: one read of it.
            packet::PUBACK
            | packet::PUBREC
            | packet::PUBREL
            | packet::PUBCOMP
            | packet::UNSUBACK => {
                let pid = packet::pid_field(packet_type, body)?;
                self.heard_packet(now)?;
                self.acknowledged(now, packet_type, pid, out)
            }
            _ => Err(Error::Decode(packet::DecodeError::ForbiddenType {
                packet_type,
            })),
        }
    }

    /// A well-formed packet other than CONNACK came at `now`: the broker is heard, and it may
    /// send one only on a connection CONNACK has accepted.
    // Out of line: called from every arm of `act`.
    #[inline(never)]
    fn heard_packet(&mut self, now: Instant) -> Result<(), Error> {
        self.last_received = now;
        if self.is_awaiting_connack() {
            return Err(Error::Violation(Violation::BeforeConnack));
        }
        self.check_usable()
    }

    /// CONNACK: the answer to CONNECT, and only to it.
    fn connack(
        &mut self,
        session_present: bool,
        code: ConnectReturnCode,
    ) -> Result<(Event<'static>, usize), Error> {
        let Phase::AwaitConnack { clean, .. } = self.phase else {
            return Err(Error::Violation(Violation::UnexpectedConnack));
        };
        if code != ConnectReturnCode::Accepted {
            self.phase = Phase::Idle;
            return Err(Error::Refused(code));
        }
        if clean && session_present {
            return Err(Error::Violation(Violation::SessionPresentOnCleanSession));
        }
        if !session_present {
            // The broker has no record of inbound QoS 2 flows: no PUBREL will come.
            self.inbound_qos2.clear();
        }
        self.outbound.mark_all_for_resend();
        self.phase = Phase::Connected;
        let resending = self.outbound.len();
        Ok((
            Event::Connected {
                session_present,
                resending,
            },
            0,
        ))
    }

    /// A packet that is only a packet id (`packet_type`: PUBACK, PUBREC, PUBREL, PUBCOMP or
    /// UNSUBACK) for `pid`.
    fn acknowledged(
        &mut self,
        now: Instant,
        packet_type: u8,
        pid: u16,
        out: &mut [u8],
    ) -> Result<(Event<'static>, usize), Error> {
        match packet_type {
            packet::PUBACK => self.complete(Ack::Puback, pid, Awaiting::Puback),
            packet::PUBCOMP => self.complete(Ack::Pubcomp, pid, Awaiting::Pubcomp),
            packet::PUBREC => {
                let event = match self.outbound.received(pid) {
                    Some(Awaiting::Pubrec) | Some(Awaiting::Pubcomp) => {
                        Event::BrokerReceived { pid }
                    }
                    // A flow the broker still has and we do not (its PUBREC for a message we
                    // completed or dropped): release it too, so the broker can finish (MQTT 5
                    // names this case with reason code 0x92; Mosquitto's own client does the
                    // same).
                    None => Event::StrayAck {
                        ack: Ack::Pubrec,
                        pid,
                    },
                    Some(Awaiting::Puback) => {
                        return Err(Error::Violation(Violation::UnknownPacketId { pid }))
                    }
                };
                let len = self.reply(now, Ack::Pubrel, pid, out)?;
                Ok((event, len))
            }
            packet::PUBREL => {
                // Answer even an unknown id: after a reconnect the broker may re-send a PUBREL
                // whose PUBCOMP was lost ([MQTT-4.3.3-2] leaves the receiver to complete it).
                self.inbound_qos2.remove(pid);
                let len = self.reply(now, Ack::Pubcomp, pid, out)?;
                Ok((Event::Released { pid }, len))
            }
            _ => {
                self.take_request(pid, false)?;
                Ok((Event::Unsubscribed { pid }, 0))
            }
        }
    }

    /// The last acknowledgement of a flow (`ack`: PUBACK for QoS 1, PUBCOMP for QoS 2) for
    /// `pid`, which must be at `stage`: the message is delivered. For no flow at all, a
    /// [`Event::StrayAck`]; for a flow at another stage, a violation.
    fn complete(
        &mut self,
        ack: Ack,
        pid: u16,
        stage: Awaiting,
    ) -> Result<(Event<'static>, usize), Error> {
        match self.outbound.complete(pid, stage) {
            Some(at) if at == stage => Ok((Event::Delivered { pid }, 0)),
            None => Ok((Event::StrayAck { ack, pid }, 0)),
            Some(_) => Err(Error::Violation(Violation::UnknownPacketId { pid })),
        }
    }

    /// Take request `pid` for its answer: a SUBACK (`suback`) answers a SUBSCRIBE, whose
    /// filter count this returns; an UNSUBACK an UNSUBSCRIBE (0). Any other pairing, or no
    /// request `pid`, is an unknown packet id (the request is forgotten all the same).
    fn take_request(&mut self, pid: u16, suback: bool) -> Result<usize, Error> {
        match self.outbound.take_request(pid) {
            Some(RequestKind::Subscribe { filters }) if suback => Ok(filters),
            Some(RequestKind::Unsubscribe) if !suback => Ok(0),
            _ => Err(Error::Violation(Violation::UnknownPacketId { pid })),
        }
    }

    /// Decide what becomes of an inbound PUBLISH with `qos` and `pid`, from its head alone.
    fn admit(&mut self, now: Instant, qos: QoS, pid: Option<u16>) -> Admission {
        let (QoS::ExactlyOnce, Some(pid)) = (qos, pid) else {
            return Admission::Deliver;
        };
        if self.inbound_qos2.contains(pid) {
            return Admission::Duplicate;
        }
        // After one deferral every new message waits too, or they would arrive out of
        // order: PUBRECs go in the order the PUBLISHes came [MQTT-4.6.0-3].
        if self.deferral.is_none() && self.inbound_qos2.has_room() {
            return Admission::Deliver;
        }
        let deferral = self.deferral.get_or_insert(Deferral {
            since: now,
            count: 0,
        });
        deferral.count = deferral.count.saturating_add(1);
        Admission::Deferred
    }

    /// The application has the whole message (or it was skipped): encode its
    /// acknowledgement into `out` and return the length (0 for none). A QoS 2 message is
    /// remembered for de-duplication only now, with its PUBREC: if the link breaks before,
    /// the broker sends it again and it is delivered again.
    fn settle(
        &mut self,
        now: Instant,
        admission: Admission,
        qos: QoS,
        pid: Option<u16>,
        out: &mut [u8],
    ) -> Result<usize, Error> {
        match (admission, qos, pid) {
            (Admission::Deferred, _, _) | (_, QoS::AtMostOnce, _) => Ok(0),
            (_, QoS::AtLeastOnce, Some(pid)) => self.reply(now, Ack::Puback, pid, out),
            (admission, QoS::ExactlyOnce, Some(pid)) => {
                if admission == Admission::Deliver {
                    self.inbound_qos2.insert(pid);
                }
                self.reply(now, Ack::Pubrec, pid, out)
            }
            // decode() guarantees a pid for QoS > 0; treat the impossible as malformed.
            (_, _, None) => Err(Error::Decode(packet::DecodeError::ZeroPacketId)),
        }
    }

    /// Bytes from the broker arrived at `now`: it is alive, whatever packet they belong to
    /// (a long message keeps a PINGRESP waiting behind it).
    pub fn heard_from_broker(&mut self, now: Instant) {
        self.last_received = now;
        if self.ping_deadline.is_some() {
            self.ping_deadline = Some(now.add_millis(self.ping_wait_ms()));
        }
    }

    /// A PUBLISH too large for the receive buffer begins (its head was decoded): check that
    /// one may come now, and decide what becomes of it. [`Session::end_stream`] settles it.
    pub fn begin_stream(
        &mut self,
        now: Instant,
        head: &PublishHead<'_>,
    ) -> Result<Admission, Error> {
        match self.heard_packet(now) {
            Ok(()) => Ok(self.admit(now, head.qos, head.pid)),
            // `fail` keeps an earlier error; `NotConnected` (idle) breaks nothing.
            Err(Error::NotConnected) => Err(Error::NotConnected),
            Err(e) => Err(self.fail(e)),
        }
    }

    /// The streamed PUBLISH begun with [`Session::begin_stream`] is complete: its event
    /// ([`Event::MessageEnd`], or [`Event::Duplicate`] / [`Event::Deferred`] for one that was
    /// skipped) and the length of its acknowledgement encoded into `out`.
    pub fn end_stream(
        &mut self,
        now: Instant,
        admission: Admission,
        qos: QoS,
        pid: Option<u16>,
        out: &mut [u8],
    ) -> Result<(Event<'static>, usize), Error> {
        let len = self
            .settle(now, admission, qos, pid, out)
            .map_err(|e| self.fail(e))?;
        let event = match (admission, pid) {
            (Admission::Duplicate, Some(pid)) => Event::Duplicate { pid },
            (Admission::Deferred, Some(pid)) => Event::Deferred { pid },
            _ => Event::MessageEnd { pid },
        };
        Ok((event, len))
    }

    fn inbound_publish<'f>(
        &mut self,
        now: Instant,
        p: packet::Publish<'f>,
        out: &mut [u8],
    ) -> Result<(Event<'f>, usize), Error> {
        let admission = self.admit(now, p.qos, p.pid);
        let len = self.settle(now, admission, p.qos, p.pid, out)?;
        let event = match (admission, p.pid) {
            (Admission::Duplicate, Some(pid)) => Event::Duplicate { pid },
            (Admission::Deferred, Some(pid)) => Event::Deferred { pid },
            _ => Event::Message(Message {
                topic: p.topic,
                payload: p.payload,
                qos: p.qos,
                retain: p.retain,
                dup: p.dup,
                pid: p.pid,
            }),
        };
        Ok((event, len))
    }
}

impl From<Full> for Error {
    fn from(full: Full) -> Self {
        match full {
            Full::Window { slots } => Error::WindowFull { slots },
            Full::Store { needed, free } => Error::StoreFull { needed, free },
        }
    }
}

#[cfg(test)]
mod tests;
