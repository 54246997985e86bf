//! MQTT 3.1.1 control packets: parse what a server sends, emit what a client sends.
//!
//! Like smoltcp's `wire` module, this layer only turns bytes into values and back; it keeps no
//! state. Reading is two steps. [`scan`] looks at the fixed header at the front of a receive
//! buffer and tells the caller how long the packet is ([`Frame`]), before the body has arrived,
//! so that a packet larger than the buffer is refused at once instead of being half-read.
//! ([`frame`] is that framing alone, for a packet of any type, as a tool that reads both
//! directions needs; `scan` adds the checks below on what a server sends.)
//! [`decode`] then takes exactly that many bytes and returns an [`Inbound`] value whose topic
//! and payload borrow from the buffer. Neither function panics, whatever the bytes.
//!
//! Writing goes through the `encode_*` functions, which check their input, check that the whole
//! packet fits in `out`, and return the number of bytes written. Every packet is serialised
//! here, by one small writer: `mqttrs` (a dev-dependency now, the tests' second opinion) without
//! `std` holds at most five filters of at most 256 bytes, and its generic encoder cost about
//! 3.6 KB of flash on the Cortex-M4 (docs/performance.md). Server packets are parsed here too:
//! `mqttrs`'s decoder indexes past the end of short bodies and holds at most five SUBACK return
//! codes.
//!
//! Rules enforced on what the server sends (anything else is a [`DecodeError`], after which
//! the caller must close the connection):
//! - The remaining length takes at most four bytes (§2.2.3); a fourth byte with the
//!   continuation bit set is malformed.
//! - Only packet types a server may send are accepted: CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL,
//!   PUBCOMP, SUBACK, UNSUBACK, PINGRESP (§2.2.1). CONNECT, SUBSCRIBE, UNSUBSCRIBE, PINGREQ,
//!   DISCONNECT and the reserved types 0 and 15 are refused.
//! - Fixed-header flags are exactly those of §2.2.2 [MQTT-2.2.2-2]: PUBREL has `0b0010`
//!   [MQTT-3.6.1-1], the others besides PUBLISH have 0; PUBLISH never has both QoS bits set
//!   [MQTT-3.3.1-4], nor DUP at QoS 0 [MQTT-3.3.1-2].
//! - The remaining length is exactly what the type needs: 2 for CONNACK, the PUB* acks and
//!   UNSUBACK, 0 for PINGRESP, at least 3 for SUBACK, and for PUBLISH enough for its topic and
//!   packet id; these are checked by [`scan`] already, from the header alone.
//! - CONNACK's reserved acknowledge-flag bits are 0 (§3.2.2.1) and its return code is 0 to 5
//!   (§3.2.2.3). That session-present is 0 on a refusal [MQTT-3.2.2-4] is *not* enforced:
//!   the refusal ends the connection anyway, and its reason is the more useful error.
//! - Packet identifiers are non-zero [MQTT-2.3.1-1].
//! - A PUBLISH topic name is well-formed UTF-8 [MQTT-1.5.3-1] and a valid name (non-empty, no
//!   wildcards, no U+0000: [MQTT-3.3.2-2], [MQTT-4.7.3-1], [MQTT-4.7.3-2]).
//! - SUBACK return codes are 0x00, 0x01, 0x02 or 0x80 [MQTT-3.9.3-2].
//!
//! Rules enforced on what the client sends (anything else is an [`EncodeError`]):
//! - Strings are at most 65,535 bytes (§1.5.3) and have no U+0000 [MQTT-1.5.3-2]; the
//!   remaining length is at most 268,435,455 (§2.2.3).
//! - Topic names in PUBLISH and in the will are valid names, and SUBSCRIBE/UNSUBSCRIBE filters
//!   are valid filters (see [`crate::topic`]).
//! - Packet identifiers are non-zero [MQTT-2.3.1-1]; a PUBLISH has one exactly when its QoS is
//!   above 0 [MQTT-2.3.1-5], and DUP only then [MQTT-3.3.1-2].
//! - SUBSCRIBE and UNSUBSCRIBE carry at least one filter [MQTT-3.8.3-3], [MQTT-3.10.3-2], and
//!   their fixed-header flags are `0b0010` [MQTT-3.8.1-1], [MQTT-3.10.1-1].
//! - CONNECT has a password only with a user name [MQTT-3.1.2-22], and an empty client id only
//!   with a clean session [MQTT-3.1.3-7].

use core::fmt;

use crate::topic::{self, TopicError};

mod encode;

pub use encode::{
    encode_ack, encode_connect, encode_disconnect, encode_pingreq, encode_publish,
    encode_subscribe, encode_unsubscribe, publish_len, set_dup, Ack, Connect, EncodeError, Will,
};

/// Largest remaining length a four-byte variable-length integer holds (§2.2.3).
pub const MAX_REMAINING_LEN: usize = 268_435_455;

pub(crate) const CONNACK: u8 = 2;
pub(crate) const PUBLISH: u8 = 3;
pub(crate) const PUBACK: u8 = 4;
pub(crate) const PUBREC: u8 = 5;
pub(crate) const PUBREL: u8 = 6;
pub(crate) const PUBCOMP: u8 = 7;
pub(crate) const SUBACK: u8 = 9;
pub(crate) const UNSUBACK: u8 = 11;
pub(crate) const PINGRESP: u8 = 13;

/// The control packet names of types 1 to 14 (§2.2.1), one after the other: one string and a
/// table of where each ends instead of a table of fourteen string references.
const TYPE_NAMES: &str = "CONNECTCONNACKPUBLISHPUBACKPUBRECPUBRELPUBCOMPSUBSCRIBESUBACKUNSUBSCRIBEUNSUBACKPINGREQPINGRESPDISCONNECT";

/// Where the name of type `n` ends in [`TYPE_NAMES`] (entry `n`; it starts where entry `n - 1`
/// ends).
const TYPE_NAME_ENDS: [u8; 15] = [0, 7, 14, 21, 27, 33, 39, 46, 55, 61, 72, 80, 87, 95, 105];

/// The control packet name for a packet type number (§2.2.1), for messages.
fn type_name(packet_type: u8) -> &'static str {
    let n = usize::from(packet_type);
    let range = match (TYPE_NAME_ENDS.get(n.wrapping_sub(1)), TYPE_NAME_ENDS.get(n)) {
        (Some(&start), Some(&end)) => usize::from(start)..usize::from(end),
        _ => return "reserved type",
    };
    TYPE_NAMES.get(range).unwrap_or("reserved type")
}

/// Quality of service of a PUBLISH or a subscription (§4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum QoS {
    /// QoS 0: delivered at most once, never acknowledged.
    AtMostOnce = 0,
    /// QoS 1: delivered at least once, acknowledged by PUBACK.
    AtLeastOnce = 1,
    /// QoS 2: delivered exactly once, by PUBREC, PUBREL and PUBCOMP.
    ExactlyOnce = 2,
}

impl QoS {
    /// The QoS with wire value `bits` (0, 1 or 2), or `None`.
    pub fn from_bits(bits: u8) -> Option<QoS> {
        match bits {
            0 => Some(QoS::AtMostOnce),
            1 => Some(QoS::AtLeastOnce),
            2 => Some(QoS::ExactlyOnce),
            _ => None,
        }
    }
}

/// Sizes of one packet found at the start of a buffer by [`scan`] or [`frame`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Frame {
    /// Bytes of the fixed header: the type byte and 1 to 4 remaining-length bytes.
    pub header_len: usize,
    /// Bytes of the whole packet: `header_len` plus the remaining length.
    pub total_len: usize,
}

/// A packet a server may send, decoded by [`decode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Inbound<'a> {
    /// CONNACK: the answer to CONNECT.
    Connack {
        /// The server kept state from an earlier session of this client id.
        session_present: bool,
        /// Whether the connection was accepted, and why not.
        code: ConnectReturnCode,
    },
    /// PUBLISH: a message on a subscribed topic.
    Publish(Publish<'a>),
    /// PUBACK with its packet id: QoS 1 delivery done.
    Puback(u16),
    /// PUBREC with its packet id: QoS 2 step 1 of 3.
    Pubrec(u16),
    /// PUBREL with its packet id: QoS 2 step 2 of 3 (from the server, for an inbound message).
    Pubrel(u16),
    /// PUBCOMP with its packet id: QoS 2 delivery done.
    Pubcomp(u16),
    /// SUBACK: the answer to SUBSCRIBE.
    Suback {
        /// Packet id of the SUBSCRIBE being answered.
        pid: u16,
        /// One code per filter, in order: the granted QoS (0x00, 0x01, 0x02) or failure (0x80);
        /// each is checked to be one of those four. At least one.
        return_codes: &'a [u8],
    },
    /// UNSUBACK with the packet id of the UNSUBSCRIBE being answered.
    Unsuback(u16),
    /// PINGRESP: the answer to PINGREQ.
    Pingresp,
}

/// CONNACK return code (§3.2.2.3); values above 5 are a [`DecodeError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum ConnectReturnCode {
    /// 0: connection accepted.
    Accepted = 0,
    /// 1: the server does not support MQTT 3.1.1.
    UnacceptableProtocolVersion = 1,
    /// 2: the client id is not allowed.
    IdentifierRejected = 2,
    /// 3: the MQTT service is unavailable.
    ServerUnavailable = 3,
    /// 4: the user name or password is malformed.
    BadUserNameOrPassword = 4,
    /// 5: the client is not authorised to connect.
    NotAuthorized = 5,
}

impl ConnectReturnCode {
    /// The code with wire value `code`, or `None` above 5.
    pub fn from_code(code: u8) -> Option<ConnectReturnCode> {
        Some(match code {
            0 => ConnectReturnCode::Accepted,
            1 => ConnectReturnCode::UnacceptableProtocolVersion,
            2 => ConnectReturnCode::IdentifierRejected,
            3 => ConnectReturnCode::ServerUnavailable,
            4 => ConnectReturnCode::BadUserNameOrPassword,
            5 => ConnectReturnCode::NotAuthorized,
            _ => return None,
        })
    }
}

impl fmt::Display for ConnectReturnCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConnectReturnCode::Accepted => "connection accepted",
            ConnectReturnCode::UnacceptableProtocolVersion => "unacceptable protocol version",
            ConnectReturnCode::IdentifierRejected => "client identifier rejected",
            ConnectReturnCode::ServerUnavailable => "server unavailable",
            ConnectReturnCode::BadUserNameOrPassword => "bad user name or password",
            ConnectReturnCode::NotAuthorized => "not authorized",
        })
    }
}

/// A PUBLISH, in either direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Publish<'a> {
    /// This is a resend of a message sent before (only at QoS 1 and 2).
    pub dup: bool,
    /// Delivery guarantee.
    pub qos: QoS,
    /// The server keeps this message for future subscribers.
    pub retain: bool,
    /// Packet id: `Some` (never 0) exactly when `qos` is above 0.
    pub pid: Option<u16>,
    /// Topic name (no wildcards).
    pub topic: &'a str,
    /// Application message.
    pub payload: &'a [u8],
}

/// Why bytes from the server are not an acceptable MQTT 3.1.1 packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum DecodeError {
    /// The fourth remaining-length byte has its continuation bit set (§2.2.3).
    MalformedRemainingLength,
    /// A packet type a server must not send (client-only or reserved).
    ForbiddenType {
        /// Type number, 0 to 15.
        packet_type: u8,
    },
    /// Fixed-header flags other than those of §2.2.2 for this type.
    InvalidFlags {
        /// Type number.
        packet_type: u8,
        /// The low four bits of the first byte.
        flags: u8,
    },
    /// A PUBLISH with both QoS bits set [MQTT-3.3.1-4].
    InvalidQoS,
    /// The remaining length cannot be right for this type, or a field overruns it.
    LengthMismatch {
        /// Type number.
        packet_type: u8,
        /// The remaining length the header gave.
        remaining: u32,
    },
    /// The remaining length does not fit this target's `usize` (16-bit targets only).
    TooLargeForTarget {
        /// The remaining length the header gave.
        remaining: u32,
    },
    /// `decode` got fewer bytes than a whole fixed header.
    IncompleteHeader,
    /// `decode` got fewer bytes than the header says the packet has.
    Truncated {
        /// Bytes of the whole packet.
        needed: usize,
        /// Bytes given.
        available: usize,
    },
    /// `decode` got more bytes than the header says the packet has.
    TrailingBytes {
        /// Bytes of the whole packet.
        packet_len: usize,
        /// Bytes given.
        available: usize,
    },
    /// The PUBLISH topic name is not well-formed UTF-8 [MQTT-1.5.3-1].
    InvalidUtf8,
    /// The PUBLISH topic is not a valid topic name.
    InvalidTopic(TopicError),
    /// A packet identifier of 0 [MQTT-2.3.1-1].
    ZeroPacketId,
    /// CONNACK acknowledge flags with reserved bits set (§3.2.2.1).
    InvalidConnackFlags {
        /// The acknowledge-flags byte.
        flags: u8,
    },
    /// CONNACK return code above 5 (§3.2.2.3).
    InvalidConnectReturnCode {
        /// The code received.
        code: u8,
    },
    /// SUBACK return code other than 0x00, 0x01, 0x02, 0x80 [MQTT-3.9.3-2].
    InvalidReturnCode {
        /// The code received.
        code: u8,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            DecodeError::MalformedRemainingLength => {
                f.write_str("remaining length longer than four bytes")
            }
            DecodeError::ForbiddenType { packet_type } => write!(
                f,
                "packet type {packet_type} ({}) must not come from a server",
                type_name(packet_type)
            ),
            DecodeError::InvalidFlags { packet_type, flags } => write!(
                f,
                "{} with invalid fixed-header flags {flags:#06b}",
                type_name(packet_type)
            ),
            DecodeError::InvalidQoS => f.write_str("PUBLISH with QoS 3"),
            DecodeError::LengthMismatch {
                packet_type,
                remaining,
            } => write!(
                f,
                "{} with remaining length {remaining}, which does not fit its fields",
                type_name(packet_type)
            ),
            DecodeError::TooLargeForTarget { remaining } => {
                write!(
                    f,
                    "remaining length {remaining} exceeds this target's memory"
                )
            }
            DecodeError::IncompleteHeader => f.write_str("incomplete fixed header"),
            DecodeError::Truncated { needed, available } => {
                write!(f, "packet of {needed} bytes truncated to {available}")
            }
            DecodeError::TrailingBytes {
                packet_len,
                available,
            } => write!(
                f,
                "packet of {packet_len} bytes given with {available} bytes"
            ),
            DecodeError::InvalidUtf8 => f.write_str("PUBLISH topic is not valid UTF-8"),
            DecodeError::InvalidTopic(e) => write!(f, "PUBLISH topic invalid: {e}"),
            DecodeError::ZeroPacketId => f.write_str("packet identifier 0"),
            DecodeError::InvalidConnackFlags { flags } => {
                write!(f, "CONNACK flags {flags:#04x} have reserved bits set")
            }
            DecodeError::InvalidConnectReturnCode { code } => {
                write!(f, "CONNACK return code {code} is not 0 to 5")
            }
            DecodeError::InvalidReturnCode { code } => {
                write!(
                    f,
                    "SUBACK return code {code:#04x} is not 0x00, 0x01, 0x02 or 0x80"
                )
            }
        }
    }
}

impl core::error::Error for DecodeError {}

/// Checks the first byte of a packet: a type a server may send, with the flags §2.2.2 requires.
fn check_type_and_flags(first: u8) -> Result<(), DecodeError> {
    let packet_type = first >> 4;
    let flags = first & 0x0f;
    let flags_ok = match packet_type {
        CONNACK | PUBACK | PUBREC | PUBCOMP | SUBACK | UNSUBACK | PINGRESP => flags == 0,
        PUBREL => flags == 0b0010,
        PUBLISH => {
            let qos = (flags >> 1) & 0b11;
            if qos == 3 {
                return Err(DecodeError::InvalidQoS);
            }
            let dup = flags & 0b1000 != 0;
            !(dup && qos == 0)
        }
        _ => return Err(DecodeError::ForbiddenType { packet_type }),
    };
    if flags_ok {
        Ok(())
    } else {
        Err(DecodeError::InvalidFlags { packet_type, flags })
    }
}

/// Checks the remaining length against what the packet type needs, from the header alone.
fn check_remaining_len(first: u8, remaining: u32) -> Result<(), DecodeError> {
    let packet_type = first >> 4;
    let ok = match packet_type {
        CONNACK | PUBACK | PUBREC | PUBREL | PUBCOMP | UNSUBACK => remaining == 2,
        PINGRESP => remaining == 0,
        // Packet id and at least one return code.
        SUBACK => remaining >= 3,
        // Topic length, and a packet id above QoS 0.
        _ => remaining >= if first & 0b0110 == 0 { 2 } else { 4 },
    };
    if ok {
        Ok(())
    } else {
        Err(DecodeError::LengthMismatch {
            packet_type,
            remaining,
        })
    }
}

/// Scans the fixed header at the start of `buf`: [`frame`] with the rules for what a server
/// sends.
///
/// `Ok(None)` means fewer bytes than a whole fixed header are present; the body need not be
/// present: the caller compares [`Frame::total_len`] with what it holds and with its buffer
/// capacity. The type byte is checked as soon as it is present, and the remaining length as
/// soon as it is complete (see the module docs for the rules), so a bad packet is refused
/// before its body is read.
pub fn scan(buf: &[u8]) -> Result<Option<Frame>, DecodeError> {
    let Some(&first) = buf.first() else {
        return Ok(None);
    };
    check_type_and_flags(first)?;
    let Some((remaining, header_len)) = fixed_header(buf)? else {
        return Ok(None);
    };
    check_remaining_len(first, remaining)?;
    frame_of(remaining, header_len).map(Some)
}

/// Frames the packet at the start of `buf`, whatever its type or flags: its size from the
/// fixed header alone. For tools that read both directions of a connection (a packet log, a
/// test broker); a client reading what its server sends uses [`scan`], which also refuses
/// what a server may not send.
///
/// `Ok(None)` means fewer bytes than a whole fixed header are present. The only errors are a
/// remaining length longer than four bytes ([`DecodeError::MalformedRemainingLength`]) and
/// one too large for this target's `usize`.
pub fn frame(buf: &[u8]) -> Result<Option<Frame>, DecodeError> {
    match fixed_header(buf)? {
        Some((remaining, header_len)) => frame_of(remaining, header_len).map(Some),
        None => Ok(None),
    }
}

/// The remaining length at the start of `buf` and the length of the fixed header, once the
/// remaining length is complete (at most four bytes, §2.2.3).
fn fixed_header(buf: &[u8]) -> Result<Option<(u32, usize)>, DecodeError> {
    let Some((_, length_bytes)) = buf.split_first() else {
        return Ok(None);
    };
    let mut remaining: u32 = 0;
    for (index, &byte) in length_bytes.iter().take(4).enumerate() {
        remaining |= u32::from(byte & 0x7f) << (7 * index);
        if byte & 0x80 == 0 {
            return Ok(Some((remaining, index + 2)));
        }
        if index == 3 {
            return Err(DecodeError::MalformedRemainingLength);
        }
    }
    Ok(None)
}

/// The [`Frame`] of a packet with `remaining` bytes after a fixed header of `header_len`.
fn frame_of(remaining: u32, header_len: usize) -> Result<Frame, DecodeError> {
    let total_len = usize::try_from(remaining)
        .ok()
        .and_then(|r| r.checked_add(header_len))
        .ok_or(DecodeError::TooLargeForTarget { remaining })?;
    Ok(Frame {
        header_len,
        total_len,
    })
}

/// Splits a big-endian `u16` off the front of `bytes`.
fn split_u16(bytes: &[u8]) -> Option<(u16, &[u8])> {
    let (head, rest) = bytes.split_first_chunk::<2>()?;
    Some((u16::from_be_bytes(*head), rest))
}

/// Splits a non-zero packet identifier off the front of the body of a `packet_type` packet.
fn split_pid(packet_type: u8, body: &[u8]) -> Result<(u16, &[u8]), DecodeError> {
    let (pid, rest) = split_u16(body).ok_or_else(|| length_mismatch(packet_type, body))?;
    if pid == 0 {
        return Err(DecodeError::ZeroPacketId);
    }
    Ok((pid, rest))
}

/// The error for a body whose fields do not fit its length.
fn length_mismatch(packet_type: u8, body: &[u8]) -> DecodeError {
    DecodeError::LengthMismatch {
        packet_type,
        remaining: u32::try_from(body.len()).unwrap_or(u32::MAX),
    }
}

/// Decodes one whole packet that a server may send: exactly [`Frame::total_len`] bytes, as
/// found by [`scan`]. The topic and payload of a PUBLISH, and SUBACK's return codes, borrow
/// from `packet`.
///
/// For tools and tests: the client's session does not build an [`Inbound`], it reads the same
/// fields with the same functions (`split_packet`, then one per type) straight into what it
/// does with them.
pub fn decode(packet: &[u8]) -> Result<Inbound<'_>, DecodeError> {
    let (first, body) = split_packet(packet)?;
    let packet_type = first >> 4;
    Ok(match packet_type {
        CONNACK => {
            let (session_present, code) = connack_fields(body)?;
            Inbound::Connack {
                session_present,
                code,
            }
        }
        PUBLISH => Inbound::Publish(decode_publish(first, body)?),
        PUBACK => Inbound::Puback(pid_field(packet_type, body)?),
        PUBREC => Inbound::Pubrec(pid_field(packet_type, body)?),
        PUBREL => Inbound::Pubrel(pid_field(packet_type, body)?),
        PUBCOMP => Inbound::Pubcomp(pid_field(packet_type, body)?),
        UNSUBACK => Inbound::Unsuback(pid_field(packet_type, body)?),
        SUBACK => {
            let (pid, return_codes) = suback_fields(body)?;
            Inbound::Suback { pid, return_codes }
        }
        PINGRESP => Inbound::Pingresp,
        _ => return Err(DecodeError::ForbiddenType { packet_type }),
    })
}

/// The first byte and the body of one whole packet that a server may send: `packet` must be
/// exactly [`Frame::total_len`] bytes, and its fixed header pass [`scan`]'s rules (so that
/// every body length is right except the variable parts of PUBLISH and SUBACK).
pub(crate) fn split_packet(packet: &[u8]) -> Result<(u8, &[u8]), DecodeError> {
    let frame = scan(packet)?.ok_or(DecodeError::IncompleteHeader)?;
    let available = packet.len();
    if available > frame.total_len {
        return Err(DecodeError::TrailingBytes {
            packet_len: frame.total_len,
            available,
        });
    }
    let (Some(&first), Some(body)) = (packet.first(), packet.get(frame.header_len..)) else {
        return Err(DecodeError::IncompleteHeader);
    };
    if available < frame.total_len {
        return Err(DecodeError::Truncated {
            needed: frame.total_len,
            available,
        });
    }
    Ok((first, body))
}

/// CONNACK's body: whether a session is present, and the return code. Its reserved
/// acknowledge-flag bits are 0 (§3.2.2.1) and its code is 0 to 5 (§3.2.2.3).
pub(crate) fn connack_fields(body: &[u8]) -> Result<(bool, ConnectReturnCode), DecodeError> {
    let [flags, code] = *body else {
        return Err(length_mismatch(CONNACK, body));
    };
    if flags & 0xfe != 0 {
        return Err(DecodeError::InvalidConnackFlags { flags });
    }
    let code =
        ConnectReturnCode::from_code(code).ok_or(DecodeError::InvalidConnectReturnCode { code })?;
    Ok((flags & 1 == 1, code))
}

/// The non-zero packet identifier that is the whole body of a PUBACK, PUBREC, PUBREL, PUBCOMP
/// or UNSUBACK (`packet_type`).
pub(crate) fn pid_field(packet_type: u8, body: &[u8]) -> Result<u16, DecodeError> {
    split_pid(packet_type, body).map(|(pid, _)| pid)
}

/// SUBACK's body: the packet id and at least one return code, each 0x00, 0x01, 0x02 or 0x80
/// [MQTT-3.9.3-2].
pub(crate) fn suback_fields(body: &[u8]) -> Result<(u16, &[u8]), DecodeError> {
    let (pid, return_codes) = split_pid(SUBACK, body)?;
    let invalid = return_codes
        .iter()
        .find(|&&code| !matches!(code, 0x00 | 0x01 | 0x02 | 0x80));
    if let Some(&code) = invalid {
        return Err(DecodeError::InvalidReturnCode { code });
    }
    Ok((pid, return_codes))
}

/// Decodes the body of a PUBLISH whose first byte is `first`.
pub(crate) fn decode_publish(first: u8, body: &[u8]) -> Result<Publish<'_>, DecodeError> {
    let overrun = || length_mismatch(PUBLISH, body);
    let (topic_len, rest) = split_u16(body).ok_or_else(overrun)?;
    let (topic, rest) = rest
        .split_at_checked(usize::from(topic_len))
        .ok_or_else(overrun)?;
    let qos = QoS::from_bits((first >> 1) & 0b11).ok_or(DecodeError::InvalidQoS)?;
    let (pid, payload) = if qos == QoS::AtMostOnce {
        (None, rest)
    } else {
        let (pid, payload) = split_u16(rest).ok_or_else(overrun)?;
        if pid == 0 {
            return Err(DecodeError::ZeroPacketId);
        }
        (Some(pid), payload)
    };
    let topic = core::str::from_utf8(topic).map_err(|_| DecodeError::InvalidUtf8)?;
    topic::validate_name(topic).map_err(DecodeError::InvalidTopic)?;
    Ok(Publish {
        dup: first & 0b1000 != 0,
        qos,
        retain: first & 1 == 1,
        pid,
        topic,
        payload,
    })
}

/// Everything of a PUBLISH but its payload: what a receiver needs to take a message too
/// large to hold whole, whose payload it then reads in pieces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct PublishHead<'a> {
    /// This is a resend of a message sent before (only at QoS 1 and 2).
    pub dup: bool,
    /// Delivery guarantee.
    pub qos: QoS,
    /// The server keeps this message for future subscribers.
    pub retain: bool,
    /// Packet id: `Some` (never 0) exactly when `qos` is above 0.
    pub pid: Option<u16>,
    /// Topic name (no wildcards).
    pub topic: &'a str,
    /// Bytes of the payload that follow the head.
    pub payload_len: usize,
}

/// Decodes the head of the PUBLISH whose fixed header `frame` was scanned at the start of
/// `buf`, once all of it (fixed header, topic, packet id) is in `buf`: the head and its length
/// in bytes (where the payload starts). `Ok(None)`: more bytes are needed. The same rules as
/// [`decode`] apply to the head; the payload is not looked at.
pub fn decode_publish_head(
    buf: &[u8],
    frame: Frame,
) -> Result<Option<(PublishHead<'_>, usize)>, DecodeError> {
    let Some((&first, _)) = buf.split_first() else {
        return Ok(None);
    };
    let Some(body) = buf.get(frame.header_len..) else {
        return Ok(None);
    };
    let remaining = frame.total_len.saturating_sub(frame.header_len);
    let Some((topic_len, _)) = split_u16(body) else {
        return Ok(None);
    };
    let pid_len = if (first >> 1) & 0b11 == 0 { 0 } else { 2 };
    let head_len = 2 + usize::from(topic_len) + pid_len;
    if head_len > remaining {
        return Err(DecodeError::LengthMismatch {
            packet_type: PUBLISH,
            remaining: u32::try_from(remaining).unwrap_or(u32::MAX),
        });
    }
    let Some(head) = body.get(..head_len) else {
        return Ok(None);
    };
    let p = decode_publish(first, head)?;
    let head = PublishHead {
        dup: p.dup,
        qos: p.qos,
        retain: p.retain,
        pid: p.pid,
        topic: p.topic,
        payload_len: remaining - head_len,
    };
    Ok(Some((head, frame.header_len + head_len)))
}

/// Whether `first`, a fixed header's first byte, starts a PUBLISH.
pub fn is_publish(first: u8) -> bool {
    first >> 4 == PUBLISH
}

#[cfg(test)]
mod tests;
