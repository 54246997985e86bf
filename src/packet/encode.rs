//! Emitting the packets a client sends. The rules enforced are listed in the docs of
//! [`crate::packet`].

use core::fmt;

use super::{Publish, QoS, MAX_REMAINING_LEN, PUBACK, PUBCOMP, PUBLISH, PUBREC, PUBREL};
use crate::topic::{self, TopicError};

/// Longest MQTT string or binary field: its length prefix is 16 bits (§1.5.3).
const MAX_STRING_LEN: usize = u16::MAX as usize;

/// Fixed-header byte of CONNECT: type 1, no flags.
const CONNECT_HEADER: u8 = 0x10;
/// The protocol name and level of MQTT 3.1.1 as CONNECT carries them (§3.1.2.1, §3.1.2.2).
const PROTOCOL_NAME_AND_LEVEL: [u8; 7] = [0, 4, b'M', b'Q', b'T', b'T', 4];
/// PINGREQ, whole: type 12, remaining length 0.
const PINGREQ: [u8; 2] = [0xc0, 0];
/// DISCONNECT, whole: type 14, remaining length 0.
const DISCONNECT: [u8; 2] = [0xe0, 0];
/// Fixed-header byte of SUBSCRIBE: type 8, flags `0b0010` [MQTT-3.8.1-1].
const SUBSCRIBE_HEADER: u8 = 0x82;
/// Fixed-header byte of UNSUBSCRIBE: type 10, flags `0b0010` [MQTT-3.10.1-1].
const UNSUBSCRIBE_HEADER: u8 = 0xa2;

/// The will message of a CONNECT: what the server publishes if the client vanishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Will<'a> {
    /// Topic name to publish on.
    pub topic: &'a str,
    /// Message to publish (at most 65,535 bytes).
    pub payload: &'a [u8],
    /// QoS to publish with.
    pub qos: QoS,
    /// Whether the server retains the will message.
    pub retain: bool,
}

/// A CONNECT packet (§3.1), always for protocol level 4 (MQTT 3.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Connect<'a> {
    /// Client identifier; may be empty only with `clean_session`.
    pub client_id: &'a str,
    /// Keep-alive interval in seconds; 0 turns keep-alive off.
    pub keep_alive: u16,
    /// Start a fresh session, discarding any the server kept.
    pub clean_session: bool,
    /// The will message, if any.
    pub will: Option<Will<'a>>,
    /// User name, if any.
    pub username: Option<&'a str>,
    /// Password, if any; only allowed with a user name.
    pub password: Option<&'a [u8]>,
}

/// The four packets that acknowledge a PUBLISH by its packet id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum Ack {
    /// Completes QoS 1.
    Puback = PUBACK,
    /// QoS 2, step 1.
    Pubrec = PUBREC,
    /// QoS 2, step 2.
    Pubrel = PUBREL,
    /// QoS 2, step 3.
    Pubcomp = PUBCOMP,
}

/// Why a packet could not be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum EncodeError {
    /// The output buffer is smaller than the packet.
    BufferTooSmall {
        /// Bytes of the whole packet.
        needed: usize,
        /// Bytes of the output buffer.
        available: usize,
    },
    /// A PUBLISH or will topic name, or a SUBSCRIBE or UNSUBSCRIBE filter, is invalid.
    InvalidTopic(TopicError),
    /// A string or binary field is longer than 65,535 bytes.
    StringTooLong {
        /// Which field.
        field: &'static str,
        /// Its length in bytes.
        len: usize,
    },
    /// A string field contains U+0000 [MQTT-1.5.3-2].
    NulChar {
        /// Which field.
        field: &'static str,
    },
    /// The packet would be longer than MQTT allows: a remaining length past 268,435,455 bytes.
    /// (Also what a `None` from [`publish_len`] means.)
    TooLong,
    /// A packet identifier of 0 [MQTT-2.3.1-1].
    ZeroPacketId,
    /// A PUBLISH with a packet id at QoS 0, or without one at QoS 1 or 2 [MQTT-2.3.1-5].
    PacketIdMismatch {
        /// The QoS of the PUBLISH.
        qos: QoS,
    },
    /// A PUBLISH with DUP set at QoS 0 [MQTT-3.3.1-2].
    DupAtQoS0,
    /// A SUBSCRIBE or UNSUBSCRIBE without filters [MQTT-3.8.3-3], [MQTT-3.10.3-2].
    NoFilters,
    /// A CONNECT with an empty client id but no clean session [MQTT-3.1.3-7].
    EmptyClientIdNeedsCleanSession,
    /// A CONNECT with a password but no user name [MQTT-3.1.2-22].
    PasswordWithoutUsername,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            EncodeError::BufferTooSmall { needed, available } => write!(
                f,
                "packet needs {needed} bytes, output buffer has {available}"
            ),
            EncodeError::InvalidTopic(e) => write!(f, "invalid topic: {e}"),
            EncodeError::StringTooLong { field, len } => {
                write!(f, "{field} is {len} bytes, more than 65535")
            }
            EncodeError::NulChar { field } => write!(f, "{field} contains U+0000"),
            EncodeError::TooLong => write!(
                f,
                "packet longer than the MQTT limit of {MAX_REMAINING_LEN} bytes after its header"
            ),
            EncodeError::ZeroPacketId => f.write_str("packet identifier 0"),
            EncodeError::PacketIdMismatch { qos } => write!(
                f,
                "PUBLISH at QoS {} needs a packet id exactly when QoS is above 0",
                qos as u8
            ),
            EncodeError::DupAtQoS0 => f.write_str("PUBLISH with DUP set at QoS 0"),
            EncodeError::NoFilters => f.write_str("SUBSCRIBE or UNSUBSCRIBE without filters"),
            EncodeError::EmptyClientIdNeedsCleanSession => {
                f.write_str("empty client id without clean session")
            }
            EncodeError::PasswordWithoutUsername => f.write_str("password without user name"),
        }
    }
}

impl core::error::Error for EncodeError {}

/// Bytes of a packet with remaining length `remaining`: type byte, length field, the rest.
fn packet_len(remaining: usize) -> Result<usize, EncodeError> {
    let field_len = match remaining {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        2_097_152..=MAX_REMAINING_LEN => 4,
        _ => return Err(EncodeError::TooLong),
    };
    remaining
        .checked_add(1 + field_len)
        .ok_or(EncodeError::TooLong)
}

/// Bytes of a field with a 16-bit length prefix and `len` bytes of content. Sizes here
/// saturate instead of overflowing (16-bit targets), so too large stays too large.
fn prefixed(len: usize) -> usize {
    len.saturating_add(2)
}

/// Checks a binary field's length.
fn check_binary(field: &'static str, bytes: &[u8]) -> Result<(), EncodeError> {
    if bytes.len() > MAX_STRING_LEN {
        return Err(EncodeError::StringTooLong {
            field,
            len: bytes.len(),
        });
    }
    Ok(())
}

/// Checks a UTF-8 string field's length and that it has no U+0000.
fn check_text(field: &'static str, text: &str) -> Result<(), EncodeError> {
    check_binary(field, text.as_bytes())?;
    if text.contains('\0') {
        return Err(EncodeError::NulChar { field });
    }
    Ok(())
}

/// A cursor that writes one packet into an output buffer, for the packets encoded here.
///
/// [`Writer::start`] checks that the whole packet fits, and the encoders check every field
/// (string lengths at most 65,535) before writing, so the `put`s cannot fail and return
/// nothing: one small copy each. Should the length arithmetic here ever be wrong, a `put`
/// that does not fit writes nothing and [`Writer::finish`] refuses the packet
/// ([`EncodeError::BufferTooSmall`]) rather than return a malformed one.
struct Writer<'a> {
    out: &'a mut [u8],
    /// Bytes of the packet so far: past the end of `out` once one did not fit (nothing is
    /// written from there on).
    pos: usize,
}

impl<'a> Writer<'a> {
    /// Checks that the whole packet fits in `out`, then writes its fixed header.
    fn start(out: &'a mut [u8], first: u8, remaining: usize) -> Result<Self, EncodeError> {
        let needed = packet_len(remaining)?;
        if out.len() < needed {
            return Err(EncodeError::BufferTooSmall {
                needed,
                available: out.len(),
            });
        }
        let mut writer = Writer { out, pos: 0 };
        writer.put(&[first]);
        writer.put_remaining_len(remaining);
        Ok(writer)
    }

    // Not inlined: one copy routine for the dozen fields, not a bounds check and a copy each.
    #[inline(never)]
    fn put(&mut self, bytes: &[u8]) {
        let end = self.pos.saturating_add(bytes.len());
        if let Some(dest) = self.out.get_mut(self.pos..end) {
            dest.copy_from_slice(bytes);
        }
        self.pos = end;
    }

    /// Writes the variable-length integer of §2.2.3: seven bits a byte, least significant
    /// first, high bit set on every byte but the last.
    fn put_remaining_len(&mut self, mut remaining: usize) {
        loop {
            let byte = (remaining % 128) as u8;
            remaining /= 128;
            if remaining == 0 {
                return self.put(&[byte]);
            }
            self.put(&[byte | 0x80]);
        }
    }

    /// Writes a field with a 16-bit length prefix: binary data, or a UTF-8 string's bytes
    /// (§1.5.3), whose length the encoder has checked (a longer one makes `finish` fail).
    fn put_prefixed(&mut self, bytes: &[u8]) {
        match u16::try_from(bytes.len()) {
            Ok(len) => self.put(&len.to_be_bytes()),
            Err(_) => self.pos = usize::MAX,
        }
        self.put(bytes)
    }

    /// The packet's length, once every `put` fitted.
    fn finish(self) -> Result<usize, EncodeError> {
        if self.pos > self.out.len() {
            return Err(EncodeError::BufferTooSmall {
                needed: self.pos,
                available: self.out.len(),
            });
        }
        Ok(self.pos)
    }
}

/// Copies a packet of fixed bytes into `out`.
fn put_whole(packet: &[u8], out: &mut [u8]) -> Result<usize, EncodeError> {
    let available = out.len();
    let dest = out
        .get_mut(..packet.len())
        .ok_or(EncodeError::BufferTooSmall {
            needed: packet.len(),
            available,
        })?;
    dest.copy_from_slice(packet);
    Ok(packet.len())
}

/// Encodes a CONNECT for MQTT 3.1.1 into `out`; returns the bytes written.
pub fn encode_connect(c: &Connect<'_>, out: &mut [u8]) -> Result<usize, EncodeError> {
    check_text("client id", c.client_id)?;
    if c.client_id.is_empty() && !c.clean_session {
        return Err(EncodeError::EmptyClientIdNeedsCleanSession);
    }
    if c.password.is_some() && c.username.is_none() {
        return Err(EncodeError::PasswordWithoutUsername);
    }
    // Protocol name (6), level (1), flags (1), keep alive (2), client id.
    let mut remaining = prefixed(c.client_id.len()).saturating_add(10);
    if let Some(will) = &c.will {
        topic::validate_name(will.topic).map_err(EncodeError::InvalidTopic)?;
        check_binary("will payload", will.payload)?;
        remaining = remaining
            .saturating_add(prefixed(will.topic.len()))
            .saturating_add(prefixed(will.payload.len()));
    }
    if let Some(username) = c.username {
        check_text("user name", username)?;
        remaining = remaining.saturating_add(prefixed(username.len()));
    }
    if let Some(password) = c.password {
        check_binary("password", password)?;
        remaining = remaining.saturating_add(prefixed(password.len()));
    }
    // Connect flags (§3.1.2.3): user name, password, will retain, will QoS (2 bits), will,
    // clean session, reserved 0.
    let mut flags = u8::from(c.clean_session) << 1;
    if let Some(will) = &c.will {
        flags |= u8::from(will.retain) << 5 | (will.qos as u8) << 3 | 1 << 2;
    }
    flags |= u8::from(c.password.is_some()) << 6 | u8::from(c.username.is_some()) << 7;
    let mut writer = Writer::start(out, CONNECT_HEADER, remaining)?;
    writer.put(&PROTOCOL_NAME_AND_LEVEL);
    writer.put(&[flags]);
    writer.put(&c.keep_alive.to_be_bytes());
    writer.put_prefixed(c.client_id.as_bytes());
    if let Some(will) = &c.will {
        writer.put_prefixed(will.topic.as_bytes());
        writer.put_prefixed(will.payload);
    }
    if let Some(username) = c.username {
        writer.put_prefixed(username.as_bytes());
    }
    if let Some(password) = c.password {
        writer.put_prefixed(password);
    }
    writer.finish()
}

/// Remaining length of a PUBLISH.
fn publish_remaining(topic_len: usize, payload_len: usize, qos: QoS) -> usize {
    let pid_len = if qos == QoS::AtMostOnce { 0 } else { 2 };
    prefixed(topic_len)
        .saturating_add(pid_len)
        .saturating_add(payload_len)
}

/// Exact encoded size of a PUBLISH, so that a caller can check room before encoding. `None`
/// when the topic is longer than 65,535 bytes or the packet exceeds the MQTT size limit.
/// (Whether the topic is a valid name is checked by [`encode_publish`].)
pub fn publish_len(topic: &str, payload_len: usize, qos: QoS) -> Option<usize> {
    if topic.len() > MAX_STRING_LEN {
        return None;
    }
    packet_len(publish_remaining(topic.len(), payload_len, qos)).ok()
}

/// Encodes a PUBLISH into `out`; returns the bytes written (always [`publish_len`]).
pub fn encode_publish(p: &Publish<'_>, out: &mut [u8]) -> Result<usize, EncodeError> {
    topic::validate_name(p.topic).map_err(EncodeError::InvalidTopic)?;
    let pid = match (p.qos, p.pid) {
        (_, Some(0)) => return Err(EncodeError::ZeroPacketId),
        (QoS::AtMostOnce, None) => None,
        (QoS::AtLeastOnce | QoS::ExactlyOnce, Some(pid)) => Some(pid),
        (qos, _) => return Err(EncodeError::PacketIdMismatch { qos }),
    };
    if p.dup && p.qos == QoS::AtMostOnce {
        return Err(EncodeError::DupAtQoS0);
    }
    // Type 3; flags DUP, QoS (2 bits), RETAIN (§3.3.1).
    let first = PUBLISH << 4 | u8::from(p.dup) << 3 | (p.qos as u8) << 1 | u8::from(p.retain);
    let remaining = publish_remaining(p.topic.len(), p.payload.len(), p.qos);
    let mut writer = Writer::start(out, first, remaining)?;
    writer.put_prefixed(p.topic.as_bytes());
    if let Some(pid) = pid {
        writer.put(&pid.to_be_bytes());
    }
    writer.put(p.payload);
    writer.finish()
}

/// Sets the DUP flag on an already-encoded PUBLISH at QoS 1 or 2, for a resend
/// [MQTT-3.3.1-1]. A no-op on anything else, including a PUBLISH at QoS 0 [MQTT-3.3.1-2].
pub fn set_dup(encoded: &mut [u8]) {
    if let Some(first) = encoded.first_mut() {
        if *first >> 4 == PUBLISH && *first & 0b0110 != 0 {
            *first |= 0b1000;
        }
    }
}

/// Encodes a PUBACK, PUBREC, PUBREL or PUBCOMP for packet id `pid` into `out` (4 bytes).
pub fn encode_ack(kind: Ack, pid: u16, out: &mut [u8]) -> Result<usize, EncodeError> {
    if pid == 0 {
        return Err(EncodeError::ZeroPacketId);
    }
    // Types 4 to 7; PUBREL's flags are `0b0010` [MQTT-3.6.1-1].
    // Each `Ack` is its packet type number.
    let first = (kind as u8) << 4 | u8::from(kind == Ack::Pubrel) << 1;
    let [high, low] = pid.to_be_bytes();
    put_whole(&[first, 2, high, low], out)
}

/// Encodes a SUBSCRIBE of any number (at least one) of filters, each with its maximum QoS.
pub fn encode_subscribe(
    pid: u16,
    filters: &[(&str, QoS)],
    out: &mut [u8],
) -> Result<usize, EncodeError> {
    let remaining = filters_remaining(pid, filters.iter().map(|(filter, _)| *filter), 1)?;
    let mut writer = Writer::start(out, SUBSCRIBE_HEADER, remaining)?;
    writer.put(&pid.to_be_bytes());
    for &(filter, qos) in filters {
        writer.put_prefixed(filter.as_bytes());
        writer.put(&[qos as u8]);
    }
    writer.finish()
}

/// Encodes an UNSUBSCRIBE of any number (at least one) of filters.
pub fn encode_unsubscribe(
    pid: u16,
    filters: &[&str],
    out: &mut [u8],
) -> Result<usize, EncodeError> {
    let remaining = filters_remaining(pid, filters.iter().copied(), 0)?;
    let mut writer = Writer::start(out, UNSUBSCRIBE_HEADER, remaining)?;
    writer.put(&pid.to_be_bytes());
    for filter in filters {
        writer.put_prefixed(filter.as_bytes());
    }
    writer.finish()
}

/// Checks the packet id and filters of a SUBSCRIBE or UNSUBSCRIBE, and returns its remaining
/// length: the packet id, then each filter with its length prefix and `extra` bytes.
fn filters_remaining<'f>(
    pid: u16,
    filters: impl ExactSizeIterator<Item = &'f str>,
    extra: usize,
) -> Result<usize, EncodeError> {
    if pid == 0 {
        return Err(EncodeError::ZeroPacketId);
    }
    if filters.len() == 0 {
        return Err(EncodeError::NoFilters);
    }
    let mut remaining: usize = 2;
    for filter in filters {
        topic::validate_filter(filter).map_err(EncodeError::InvalidTopic)?;
        remaining = remaining
            .saturating_add(prefixed(filter.len()))
            .saturating_add(extra);
    }
    Ok(remaining)
}

/// Encodes a PINGREQ into `out` (2 bytes).
pub fn encode_pingreq(out: &mut [u8]) -> Result<usize, EncodeError> {
    put_whole(&PINGREQ, out)
}

/// Encodes a DISCONNECT into `out` (2 bytes).
pub fn encode_disconnect(out: &mut [u8]) -> Result<usize, EncodeError> {
    put_whole(&DISCONNECT, out)
}

#[cfg(test)]
mod tests;
