//! `-d`: a wire tap between the client and the transport that logs every MQTT packet sent
//! and received to stderr, in the words of `mosquitto_pub -d`:
//!
//! ```text
//! Client mqtt-pub-123 sending CONNECT (c1, k60)
//! Client mqtt-pub-123 received CONNACK (0)
//! Client mqtt-pub-123 sending PUBLISH (d0, q1, r0, m1, 'topic', ... (5 bytes))
//! Client mqtt-pub-123 received PUBACK (Mid: 1)
//! Client mqtt-pub-123 sending DISCONNECT
//! ```
//!
//! It sees the bytes themselves, so it also logs what the session sends on its own (PINGREQ,
//! re-sends with DUP set after a reconnect). Bytes are collected until a whole packet is there
//! (a write or a read may carry part of a packet, or several).

use std::io::Write as _;

use embedded_io::{ErrorType, Read, ReadReady, Write};
use embedded_mqtts::packet;

/// A transport that logs the MQTT packets passing through it when `client_id` is set.
pub struct PacketLog<T> {
    inner: T,
    /// `None`: logging is off and the tap only passes bytes through.
    client_id: Option<String>,
    sent: Vec<u8>,
    received: Vec<u8>,
}

impl<T> PacketLog<T> {
    /// Wrap `inner`; log as `Client <client_id> ...` if `client_id` is given.
    pub fn new(inner: T, client_id: Option<String>) -> Self {
        PacketLog {
            inner,
            client_id,
            sent: Vec::new(),
            received: Vec::new(),
        }
    }
}

/// Log every whole packet at the front of `pending` and drop it.
fn log_packets(client_id: &str, direction: Direction, pending: &mut Vec<u8>) {
    loop {
        // Framed as the library frames any packet; the client's own check of what a server
        // may send (`packet::scan`) is not this tap's business.
        match packet::frame(pending) {
            Ok(Some(frame)) if frame.total_len <= pending.len() => {
                let packet: Vec<u8> = pending.drain(..frame.total_len).collect();
                for line in describe(direction, &packet) {
                    log_line(&format!("Client {client_id} {} {line}\n", direction.verb()));
                }
            }
            // Not a whole packet yet.
            Ok(_) => return,
            Err(_) => {
                log_line(&format!(
                    "Client {client_id} {} {} bytes that are not an MQTT packet\n",
                    direction.verb(),
                    pending.len()
                ));
                pending.clear();
                return;
            }
        }
    }
}

/// Write one line to stderr in one piece, so that the logs of two processes sharing a
/// terminal do not interleave mid-line. A log that cannot be written is not worth failing for.
fn log_line(line: &str) {
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

impl<T: ErrorType> ErrorType for PacketLog<T> {
    type Error = T::Error;
}

impl<T: Read> Read for PacketLog<T> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let n = self.inner.read(buf)?;
        if let Some(id) = &self.client_id {
            self.received
                .extend_from_slice(buf.get(..n).unwrap_or_default());
            log_packets(id, Direction::Received, &mut self.received);
        }
        Ok(n)
    }
}

impl<T: Write> Write for PacketLog<T> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        let n = self.inner.write(buf)?;
        if let Some(id) = &self.client_id {
            self.sent
                .extend_from_slice(buf.get(..n).unwrap_or_default());
            log_packets(id, Direction::Sent, &mut self.sent);
        }
        Ok(n)
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        self.inner.flush()
    }
}

impl<T: ReadReady> ReadReady for PacketLog<T> {
    fn read_ready(&mut self) -> Result<bool, Self::Error> {
        self.inner.read_ready()
    }
}

/// Which way a packet went. Mosquitto words acknowledgements differently each way
/// (`received PUBACK (Mid: 1)`, `sending PUBACK (m1)`), and so do we.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Direction {
    Sent,
    Received,
}

impl Direction {
    fn verb(self) -> &'static str {
        match self {
            Direction::Sent => "sending",
            Direction::Received => "received",
        }
    }
}

/// The packet's body: what follows the fixed header (empty if the header is incomplete).
fn body(packet: &[u8]) -> &[u8] {
    match packet::frame(packet) {
        Ok(Some(frame)) => packet.get(frame.header_len..).unwrap_or_default(),
        _ => &[],
    }
}

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    let pair = bytes.get(at..at + 2)?;
    Some(u16::from_be_bytes([*pair.first()?, *pair.get(1)?]))
}

/// A length-prefixed string at `at`, and the offset after it.
fn string_at(bytes: &[u8], at: usize) -> Option<(String, usize)> {
    let len = usize::from(u16_at(bytes, at)?);
    let text = bytes.get(at + 2..at + 2 + len)?;
    Some((String::from_utf8_lossy(text).into_owned(), at + 2 + len))
}

/// The log line(s) for one packet: usually one; SUBSCRIBE has one per filter, as mosquitto's.
fn describe(direction: Direction, packet: &[u8]) -> Vec<String> {
    let header = packet.first().copied().unwrap_or_default();
    let flags = header & 0x0f;
    let body = body(packet);
    let pid = u16_at(body, 0);
    let ack = |name: &str| match (direction, pid) {
        (Direction::Received, Some(pid)) => format!("{name} (Mid: {pid})"),
        (Direction::Sent, Some(pid)) => format!("{name} (m{pid})"),
        (_, None) => format!("{name} (truncated)"),
    };
    let line = match header >> 4 {
        1 => describe_connect(body),
        2 => match (body.first(), body.get(1)) {
            (Some(0), Some(code)) => format!("CONNACK ({code})"),
            (Some(_), Some(code)) => format!("CONNACK ({code}, session present)"),
            _ => "CONNACK (truncated)".to_owned(),
        },
        3 => describe_publish(flags, body),
        4 => ack("PUBACK"),
        5 => ack("PUBREC"),
        6 => ack("PUBREL"),
        7 => ack("PUBCOMP"),
        8 => return describe_subscribe(body),
        9 => {
            let granted: Vec<String> = body.iter().skip(2).map(u8::to_string).collect();
            format!(
                "SUBACK (Mid: {}, granted: {})",
                pid.unwrap_or_default(),
                granted.join(", ")
            )
        }
        10 => format!("UNSUBSCRIBE (Mid: {})", pid.unwrap_or_default()),
        11 => ack("UNSUBACK"),
        12 => "PINGREQ".to_owned(),
        13 => "PINGRESP".to_owned(),
        14 => "DISCONNECT".to_owned(),
        other => format!("packet of reserved type {other}"),
    };
    vec![line]
}

/// `CONNECT (c1, k60)`: clean session and keep-alive, as Mosquitto's broker log shows them.
fn describe_connect(body: &[u8]) -> String {
    // Protocol name "MQTT" (6 bytes), level (1), flags (1), keep-alive (2).
    match (body.get(7), u16_at(body, 8)) {
        (Some(flags), Some(keep_alive)) => {
            let clean = (flags >> 1) & 1;
            let will = if flags & 0x04 != 0 { ", will" } else { "" };
            format!("CONNECT (c{clean}, k{keep_alive}{will})")
        }
        _ => "CONNECT (truncated)".to_owned(),
    }
}

/// `PUBLISH (d0, q1, r0, m1, 'topic', ... (5 bytes))`, as mosquitto_pub -d.
fn describe_publish(flags: u8, body: &[u8]) -> String {
    let dup = flags >> 3;
    let qos = (flags >> 1) & 0x03;
    let retain = flags & 1;
    let Some((topic, after_topic)) = string_at(body, 0) else {
        return "PUBLISH (truncated)".to_owned();
    };
    let (pid, payload_at) = if qos > 0 {
        (
            u16_at(body, after_topic).unwrap_or_default(),
            after_topic + 2,
        )
    } else {
        (0, after_topic)
    };
    let payload_len = body.len().saturating_sub(payload_at);
    format!("PUBLISH (d{dup}, q{qos}, r{retain}, m{pid}, '{topic}', ... ({payload_len} bytes))")
}

/// One `SUBSCRIBE (Mid: 1, Topic: a/#, QoS: 2)` line per filter, as mosquitto_sub -d.
fn describe_subscribe(body: &[u8]) -> Vec<String> {
    let pid = u16_at(body, 0).unwrap_or_default();
    let mut lines = Vec::new();
    let mut at = 2;
    while let Some((filter, next)) = string_at(body, at) {
        let qos = body.get(next).copied().unwrap_or_default();
        lines.push(format!(
            "SUBSCRIBE (Mid: {pid}, Topic: {filter}, QoS: {qos})"
        ));
        at = next + 1;
    }
    if lines.is_empty() {
        lines.push(format!("SUBSCRIBE (Mid: {pid})"));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(direction: Direction, packet: &[u8]) -> String {
        let lines = describe(direction, packet);
        assert_eq!(lines.len(), 1, "{lines:?}");
        lines.into_iter().next().unwrap()
    }

    #[test]
    fn publish_reads_like_mosquitto_pub() {
        // QoS 1, retain, topic "a/b", pid 7, payload "hello".
        let mut packet = vec![0x33, 12, 0, 3, b'a', b'/', b'b', 0, 7];
        packet.extend_from_slice(b"hello");
        assert_eq!(whole_len(&packet), Some(14));
        assert_eq!(
            one(Direction::Sent, &packet),
            "PUBLISH (d0, q1, r1, m7, 'a/b', ... (5 bytes))"
        );
        // QoS 0 with DUP clear, empty payload.
        assert_eq!(
            one(Direction::Received, &[0x30, 3, 0, 1, b't']),
            "PUBLISH (d0, q0, r0, m0, 't', ... (0 bytes))"
        );
    }

    #[test]
    fn acknowledgements_are_worded_per_direction() {
        assert_eq!(
            one(Direction::Received, &[0x40, 2, 0, 1]),
            "PUBACK (Mid: 1)"
        );
        assert_eq!(one(Direction::Sent, &[0x40, 2, 0, 1]), "PUBACK (m1)");
        assert_eq!(one(Direction::Sent, &[0x62, 2, 1, 0]), "PUBREL (m256)");
        assert_eq!(one(Direction::Received, &[0x20, 2, 0, 5]), "CONNACK (5)");
        assert_eq!(
            one(Direction::Received, &[0x20, 2, 1, 0]),
            "CONNACK (0, session present)"
        );
        assert_eq!(
            one(Direction::Received, &[0x90, 4, 0, 2, 1, 0x80]),
            "SUBACK (Mid: 2, granted: 1, 128)"
        );
        assert_eq!(one(Direction::Sent, &[0xc0, 0]), "PINGREQ");
        assert_eq!(one(Direction::Sent, &[0xe0, 0]), "DISCONNECT");
    }

    #[test]
    fn connect_and_subscribe() {
        // CONNECT, clean session, will, keep-alive 60, client id "x".
        let connect = [
            0x10, 13, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x06, 0, 60, 0, 1, b'x',
        ];
        assert_eq!(one(Direction::Sent, &connect), "CONNECT (c1, k60, will)");
        let subscribe = [0x82, 12, 0, 3, 0, 1, b'a', 1, 0, 3, b'b', b'/', b'#', 2];
        assert_eq!(whole_len(&subscribe), Some(14));
        assert_eq!(
            describe(Direction::Sent, &subscribe),
            [
                "SUBSCRIBE (Mid: 3, Topic: a, QoS: 1)",
                "SUBSCRIBE (Mid: 3, Topic: b/#, QoS: 2)"
            ]
        );
    }

    /// The length of the packet at the front of `buf`, if it is all there (as `log_packets`
    /// takes it).
    fn whole_len(buf: &[u8]) -> Option<usize> {
        let frame = packet::frame(buf).unwrap()?;
        (frame.total_len <= buf.len()).then_some(frame.total_len)
    }

    #[test]
    fn framing_waits_for_whole_packets() {
        assert_eq!(whole_len(&[]), None);
        assert_eq!(whole_len(&[0x30]), None);
        assert_eq!(whole_len(&[0x30, 0x80]), None);
        assert_eq!(whole_len(&[0x30, 0x80, 0x01]), None);
        assert_eq!(whole_len(&[0xd0, 0x00, 0x40]), Some(2));
        assert!(packet::frame(&[0x30, 0xff, 0xff, 0xff, 0xff]).is_err());
        // A long remaining length: 200 = 0xc8 0x01.
        let mut big = vec![0x30, 0xc8, 0x01];
        big.resize(3 + 200, 0);
        assert_eq!(whole_len(&big), Some(203));
        assert_eq!(body(&big).len(), 200);
    }

    #[test]
    fn truncated_packets_do_not_panic() {
        for packet in [
            &[0x30u8, 1, 0][..],
            &[0x40, 1, 0],
            &[0x20, 0],
            &[0x10, 2, 0, 4],
            &[],
        ] {
            let lines = describe(Direction::Received, packet);
            assert_eq!(lines.len(), 1);
        }
    }
}
