//! The one error type of the client, and the facts each failure carries.
//!
//! Every variant says what happened in words ([`core::fmt::Display`], one line). Errors are
//! either *fatal* (the connection is unusable: reconnect) or not (the operation failed, the
//! connection goes on): see [`Error::is_fatal`].

use core::fmt;

use crate::packet::{ConnectReturnCode, DecodeError, EncodeError};

/// What the client waited for in vain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Timeout {
    /// No CONNACK within the response timeout.
    Connack {
        /// How long the client waited, in milliseconds.
        waited_ms: u32,
    },
    /// No PINGRESP within the response timeout: the broker or the link is dead.
    Pingresp {
        /// How long the client waited, in milliseconds.
        waited_ms: u32,
    },
}

/// A rule of MQTT 3.1.1 that the broker broke.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Violation {
    /// CONNACK when none was due.
    UnexpectedConnack,
    /// Another packet before CONNACK [MQTT-3.2.0-1].
    BeforeConnack,
    /// `session_present = 1` answering a clean-session CONNECT [MQTT-3.2.2-1].
    SessionPresentOnCleanSession,
    /// An acknowledgement for a packet identifier the client has not used.
    UnknownPacketId {
        /// The identifier.
        pid: u16,
    },
    /// A SUBACK whose number of return codes differs from the SUBSCRIBE's filters
    /// [MQTT-3.9.3-1].
    SubackCount {
        /// The identifier.
        pid: u16,
        /// Filters sent.
        filters: usize,
        /// Return codes received.
        answers: usize,
    },
}

/// Everything that can go wrong in the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Error {
    /// The broker refused the connection with this CONNACK return code.
    Refused(ConnectReturnCode),
    /// The broker sent bytes that are not a valid MQTT packet.
    Decode(DecodeError),
    /// The broker broke a protocol rule.
    Violation(Violation),
    /// The broker did not answer in time.
    Timeout(Timeout),
    /// A packet from the broker is larger than the receive buffer and cannot be streamed (a
    /// PUBLISH whose head, its topic and packet id, does not fit; or another type). It was
    /// skipped whole (the stream stays in step) and the connection goes on; raise the buffer
    /// size. (A PUBLISH whose head fits is streamed: [`Event::MessageStart`](crate::Event).)
    PacketTooLarge {
        /// The packet's total size in bytes.
        size: usize,
        /// The receive buffer's capacity.
        capacity: usize,
    },
    /// The peer closed the connection.
    ConnectionClosed,
    /// The transport (socket, UART, TLS record layer) failed with this kind of error. The
    /// client does not interpret it: a TLS stream's own error says more (see
    /// [`tls::connect`](crate::tls::connect)).
    Transport(embedded_io::ErrorKind),
    /// A packet could not be encoded (invalid topic, buffer too small, ...).
    Encode(EncodeError),
    /// All in-flight slots (or request slots) are taken: poll for acknowledgements first.
    WindowFull {
        /// The window size.
        slots: usize,
    },
    /// The in-flight store has no room for this message's bytes: poll for acknowledgements
    /// first, or raise the store size.
    StoreFull {
        /// Bytes the message needs.
        needed: usize,
        /// Bytes free.
        free: usize,
    },
    /// Not connected (no CONNACK yet, or after DISCONNECT).
    NotConnected,
    /// The session ended the connection because it had deferred new inbound QoS 2 messages
    /// ([`Event::Deferred`](crate::session::Event::Deferred)): they came while `max` others
    /// awaited the broker's PUBREL, so there was no room to remember them for de-duplication.
    /// They were neither delivered nor acknowledged; the connection was closed once the
    /// others had been released (or the response timeout passed), and the broker sends them
    /// again when the persistent session resumes, so nothing is lost or delivered twice. (With
    /// `clean_session` the broker drops them with the session: `deferred` says how many.)
    /// MQTT 3.1.1 has no way to tell the broker this limit: keep it at least the broker's
    /// window (Mosquitto's `max_inflight_messages`, 20 by default), via
    /// [`Buffers::inbound`](crate::Buffers::inbound).
    InboundQos2Full {
        /// Inbound QoS 2 messages the session can track.
        max: usize,
        /// New messages deferred on the connection that ended.
        deferred: usize,
    },
}

impl Error {
    /// Whether the connection is unusable after this error (reconnect to go on).
    pub fn is_fatal(&self) -> bool {
        match self {
            Error::Refused(_)
            | Error::Decode(_)
            | Error::Violation(_)
            | Error::Timeout(_)
            | Error::ConnectionClosed
            | Error::Transport(_)
            | Error::InboundQos2Full { .. } => true,
            Error::PacketTooLarge { .. }
            | Error::Encode(_)
            | Error::WindowFull { .. }
            | Error::StoreFull { .. }
            | Error::NotConnected => false,
        }
    }
}

impl From<EncodeError> for Error {
    fn from(e: EncodeError) -> Self {
        Error::Encode(e)
    }
}

impl From<DecodeError> for Error {
    fn from(e: DecodeError) -> Self {
        Error::Decode(e)
    }
}

impl fmt::Display for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Timeout::Connack { waited_ms } => write!(f, "no CONNACK within {waited_ms} ms"),
            Timeout::Pingresp { waited_ms } => write!(
                f,
                "no PINGRESP within {waited_ms} ms: broker or link presumed dead"
            ),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::UnexpectedConnack => f.write_str("CONNACK received when none was due"),
            Violation::BeforeConnack => f.write_str("packet received before CONNACK"),
            Violation::SessionPresentOnCleanSession => {
                f.write_str("CONNACK says session present for a clean session")
            }
            Violation::UnknownPacketId { pid } => {
                write!(f, "acknowledgement for unknown packet id {pid}")
            }
            Violation::SubackCount {
                pid,
                filters,
                answers,
            } => write!(
                f,
                "SUBACK {pid} answers {answers} filters, SUBSCRIBE had {filters}"
            ),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Refused(code) => write!(f, "broker refused the connection: {code}"),
            Error::Decode(e) => write!(f, "malformed packet from broker: {e}"),
            Error::Violation(v) => write!(f, "protocol violation by broker: {v}"),
            Error::Timeout(t) => write!(f, "timeout: {t}"),
            Error::PacketTooLarge { size, capacity } => write!(
                f,
                "packet of {size} bytes exceeds the {capacity}-byte receive buffer (skipped)"
            ),
            Error::ConnectionClosed => f.write_str("connection closed by peer"),
            Error::Transport(kind) => write!(f, "transport error: {}", io_kind_name(*kind)),
            Error::Encode(e) => write!(f, "cannot encode packet: {e}"),
            Error::WindowFull { slots } => {
                write!(f, "all {slots} in-flight slots are taken")
            }
            Error::StoreFull { needed, free } => write!(
                f,
                "in-flight store full: message needs {needed} bytes, {free} free"
            ),
            Error::NotConnected => f.write_str("not connected"),
            Error::InboundQos2Full { max, deferred } => write!(
                f,
                "{deferred} new QoS 2 message(s) came while {max} awaited PUBREL (the \
                 session's limit): left unacknowledged and the connection closed, the broker \
                 re-sends them when the session resumes"
            ),
        }
    }
}

impl core::error::Error for Error {}

/// The name of an I/O error kind, as its `Debug` spells it (`TimedOut`, `ConnectionReset`),
/// from one `&'static str` per kind instead of the derived `Debug`.
pub(crate) fn io_kind_name(kind: embedded_io::ErrorKind) -> &'static str {
    use embedded_io::ErrorKind as K;
    match kind {
        K::NotFound => "NotFound",
        K::PermissionDenied => "PermissionDenied",
        K::ConnectionRefused => "ConnectionRefused",
        K::ConnectionReset => "ConnectionReset",
        K::ConnectionAborted => "ConnectionAborted",
        K::NotConnected => "NotConnected",
        K::AddrInUse => "AddrInUse",
        K::AddrNotAvailable => "AddrNotAvailable",
        K::BrokenPipe => "BrokenPipe",
        K::AlreadyExists => "AlreadyExists",
        K::InvalidInput => "InvalidInput",
        K::InvalidData => "InvalidData",
        K::TimedOut => "TimedOut",
        K::Interrupted => "Interrupted",
        K::Unsupported => "Unsupported",
        K::OutOfMemory => "OutOfMemory",
        K::WriteZero => "WriteZero",
        // `Other`, and kinds a later embedded-io adds.
        _ => "Other",
    }
}
