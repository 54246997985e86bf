//! The connection fed scripted broker bytes: framing, the order of what is sent, deadlines.

use super::*;
use crate::error::Timeout;

fn t(ms: u32) -> Instant {
    Instant::from_millis(ms)
}

const CONNACK_OK: [u8; 4] = [0x20, 0x02, 0x00, 0x00];
const CONNACK_RESUMED: [u8; 4] = [0x20, 0x02, 0x01, 0x00];

/// Everything `poll_transmit` gives now, one packet per entry.
fn sent(conn: &mut Connection<'_>, now: Instant) -> std::vec::Vec<std::vec::Vec<u8>> {
    let mut packets = std::vec::Vec::new();
    while let Some(bytes) = conn.poll_transmit(now).unwrap() {
        packets.push(bytes.to_vec());
    }
    packets
}

fn connected<'b, const RX: usize>(
    storage: &'b mut Storage<4, 256, RX, 64, 4>,
    options: &ConnectOptions<'_>,
) -> Connection<'b> {
    let mut conn = Connection::new(storage.buffers());
    conn.connect(t(0), options).unwrap();
    assert_eq!(sent(&mut conn, t(0)).len(), 1);
    conn.handle_input(t(1), &CONNACK_OK);
    assert!(matches!(
        conn.poll_event(t(1)).unwrap(),
        Some(Event::Connected { .. })
    ));
    conn
}

#[test]
fn frames_split_and_joined_packets() {
    let mut storage: Storage<4, 256, 16, 64, 4> = Storage::new();
    let mut conn = Connection::new(storage.buffers());
    let mut options = ConnectOptions::new("c");
    options.keep_alive_secs = 0;
    conn.connect(t(0), &options).unwrap();
    sent(&mut conn, t(0));
    // CONNACK and the first byte of a PINGRESP, then its second byte.
    assert_eq!(conn.handle_input(t(1), &[0x20, 0x02, 0x00, 0x00, 0xd0]), 5);
    assert!(conn.has_event(t(1)).unwrap());
    assert!(matches!(
        conn.poll_event(t(1)).unwrap(),
        Some(Event::Connected { .. })
    ));
    assert!(!conn.has_event(t(1)).unwrap());
    assert_eq!(conn.poll_event(t(1)).unwrap(), None);
    conn.handle_input(t(1), &[0x00]);
    assert_eq!(conn.poll_event(t(1)).unwrap(), Some(Event::Pong));
    assert_eq!(conn.poll_event(t(1)).unwrap(), None);
    assert_eq!(conn.inbox.filled, 0);
}

#[test]
fn skips_an_oversize_packet_and_stays_in_step() {
    let mut storage: Storage<4, 256, 8, 64, 4> = Storage::new();
    let mut conn = Connection::new(storage.buffers());
    conn.connect(t(0), &ConnectOptions::new("c")).unwrap();
    sent(&mut conn, t(0));
    conn.handle_input(t(1), &CONNACK_OK);
    assert!(conn.poll_event(t(1)).unwrap().is_some());
    // A PUBLISH whose topic alone (10 bytes) is longer than the 8-byte buffer, 14 bytes in
    // all, then a PINGRESP, 3 bytes a time.
    let mut stream = std::vec![0x30, 12, 0, 10];
    stream.extend_from_slice(b"0123456789");
    stream.extend_from_slice(&[0xd0, 0x00]);
    let mut rest = &stream[..];
    let (mut too_large, mut pongs) = (0, 0);
    loop {
        match conn.poll_event(t(2)) {
            Err(Error::PacketTooLarge {
                size: 14,
                capacity: 8,
            }) => too_large += 1,
            Err(e) => panic!("{e}"),
            Ok(Some(Event::Pong)) => pongs += 1,
            Ok(Some(other)) => panic!("{other:?}"),
            Ok(None) if rest.is_empty() => break,
            Ok(None) => {
                let n = conn.handle_input(t(1), &rest[..3.min(rest.len())]);
                rest = &rest[n..];
            }
        }
    }
    assert_eq!((too_large, pongs), (1, 1));
    assert!(conn.is_connected());
}

/// A broker PUBLISH on topic "big" with `payload`.
fn big_publish(qos: u8, pid: u16, dup: bool, payload: &[u8]) -> std::vec::Vec<u8> {
    let mut body = std::vec![0x00, 0x03, b'b', b'i', b'g'];
    if qos > 0 {
        body.extend_from_slice(&pid.to_be_bytes());
    }
    body.extend_from_slice(payload);
    let mut packet = std::vec![0x30 | (qos << 1) | if dup { 0x08 } else { 0 }];
    let mut len = body.len();
    loop {
        let byte = (len % 128) as u8;
        len /= 128;
        packet.push(if len > 0 { byte | 0x80 } else { byte });
        if len == 0 {
            break;
        }
    }
    packet.extend_from_slice(&body);
    packet
}

/// What the application saw of streamed messages: (start head, payload, end), and the
/// other events, feeding `bytes` in 7-byte pieces.
#[derive(Debug, Default, PartialEq)]
struct Streamed {
    heads: std::vec::Vec<(std::string::String, QoS, Option<u16>, usize)>,
    payload: std::vec::Vec<u8>,
    ends: std::vec::Vec<Option<u16>>,
    others: std::vec::Vec<std::string::String>,
    acks: std::vec::Vec<std::vec::Vec<u8>>,
}

fn feed(conn: &mut Connection<'_>, bytes: &[u8], piece: usize) -> Streamed {
    let mut seen = Streamed::default();
    let mut rest = bytes;
    loop {
        match conn.poll_event(t(2)).unwrap() {
            Some(Event::MessageStart(head)) => {
                assert!(
                    seen.ends.len() == seen.heads.len(),
                    "no end before a new start"
                );
                seen.heads
                    .push((head.topic.into(), head.qos, head.pid, head.payload_len));
            }
            Some(Event::MessagePart(part)) => seen.payload.extend_from_slice(part),
            Some(Event::MessageEnd { pid }) => seen.ends.push(pid),
            Some(other) => seen.others.push(std::format!("{other:?}")),
            None if rest.is_empty() => break,
            None => {
                // No acknowledgement goes out in the middle of a message.
                seen.acks.extend(sent(conn, t(2)));
                let n = conn.handle_input(t(2), &rest[..piece.min(rest.len())]);
                rest = &rest[n..];
            }
        }
        seen.acks.extend(sent(conn, t(2)));
    }
    seen
}

#[test]
fn a_message_larger_than_the_buffer_is_delivered_in_pieces_then_acknowledged() {
    let mut storage: Storage<4, 256, 16, 64, 4> = Storage::new();
    let mut conn = connected(&mut storage, &ConnectOptions::new("c"));
    let payload: std::vec::Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
    let mut bytes = big_publish(1, 9, false, &payload);
    bytes.extend_from_slice(&[0xd0, 0x00]);
    let seen = feed(&mut conn, &bytes, 7);
    assert_eq!(
        seen.heads,
        [("big".into(), QoS::AtLeastOnce, Some(9), 1000)]
    );
    assert_eq!(seen.payload, payload);
    assert_eq!(seen.ends, [Some(9)]);
    assert_eq!(seen.others, ["Pong"]);
    assert_eq!(seen.acks, [[0x40, 0x02, 0x00, 0x09]]);
    assert!(conn.is_connected());
}

#[test]
fn a_streamed_head_is_announced_with_every_field_as_sent() {
    // QoS 0 (no packet id after the topic) and QoS 1, with and without DUP and RETAIN: the
    // head is decoded once and announced from what was kept of it.
    for (qos, pid, dup, retain) in [
        (0, None, false, false),
        (0, None, false, true),
        (1, Some(300), false, false),
        (1, Some(300), true, true),
    ] {
        let mut storage: Storage<4, 256, 16, 64, 4> = Storage::new();
        let mut conn = connected(&mut storage, &ConnectOptions::new("c"));
        let mut bytes = big_publish(qos, pid.unwrap_or(0), dup, &[1; 40]);
        if retain {
            bytes[0] |= 1;
        }
        conn.handle_input(t(2), &bytes[..16]);
        let expected = PublishHead {
            dup,
            qos: QoS::from_bits(qos).unwrap(),
            retain,
            pid,
            topic: "big",
            payload_len: 40,
        };
        assert_eq!(
            conn.poll_event(t(2)).unwrap(),
            Some(Event::MessageStart(expected))
        );
    }
}

#[test]
fn a_streamed_qos2_message_is_remembered_only_once_acknowledged() {
    let mut storage: Storage<4, 256, 16, 64, 4> = Storage::new();
    let mut options = ConnectOptions::new("c");
    options.clean_session = false;
    let mut conn = connected(&mut storage, &options);
    let payload = [7u8; 100];
    let bytes = big_publish(2, 5, false, &payload);
    // The link breaks in the middle: nothing was acknowledged, nothing remembered.
    let seen = feed(&mut conn, &bytes[..60], 7);
    assert_eq!(seen.heads.len(), 1);
    assert!(seen.ends.is_empty() && seen.acks.is_empty());
    conn.fail(Error::ConnectionClosed);
    conn.connect(t(10), &options).unwrap();
    sent(&mut conn, t(10));
    conn.handle_input(t(11), &CONNACK_RESUMED);
    assert!(conn.poll_event(t(11)).unwrap().is_some());
    // The broker sends it again (DUP): delivered whole, then PUBREC.
    let seen = feed(&mut conn, &big_publish(2, 5, true, &payload), 9);
    assert_eq!(seen.payload, payload);
    assert_eq!(seen.ends, [Some(5)]);
    assert_eq!(seen.acks, [[0x50, 0x02, 0x00, 0x05]]);
    // Once more before PUBREL: a duplicate, skipped whole and acknowledged again.
    let seen = feed(&mut conn, &big_publish(2, 5, true, &payload), 9);
    assert!(seen.heads.is_empty() && seen.payload.is_empty());
    assert_eq!(seen.others, ["Duplicate { pid: 5 }"]);
    assert_eq!(seen.acks, [[0x50, 0x02, 0x00, 0x05]]);
}

#[test]
fn bytes_of_a_long_message_keep_the_broker_alive() {
    let mut storage: Storage<4, 256, 16, 64, 4> = Storage::new();
    let mut options = ConnectOptions::new("c");
    options.keep_alive_secs = 1;
    options.response_timeout_ms = 500;
    let mut conn = connected(&mut storage, &options);
    assert_eq!(sent(&mut conn, t(1_001)), [[0xc0, 0x00]]);
    // A long message arrives slowly; its PINGRESP waits behind it.
    let mut bytes = big_publish(0, 0, false, &[1u8; 200]);
    bytes.extend_from_slice(&[0xd0, 0x00]);
    let mut now = 1_001;
    let mut pong = false;
    for piece in bytes.chunks(10) {
        now += 400;
        assert_eq!(conn.handle_input(t(now), piece), piece.len());
        while let Some(event) = conn.poll_event(t(now)).unwrap() {
            pong |= event == Event::Pong;
        }
        conn.handle_timeout(t(now)).unwrap();
    }
    assert!(pong);
    assert!(conn.is_connected());
}

#[test]
fn resends_go_out_before_anything_queued_after_connack() {
    let mut storage: Storage<4, 256, 64, 64, 4> = Storage::new();
    let mut options = ConnectOptions::new("c");
    options.clean_session = false;
    let mut conn = connected(&mut storage, &options);
    let pid = conn
        .publish(t(2), "a", b"first", QoS::AtLeastOnce, false)
        .unwrap();
    assert_eq!(sent(&mut conn, t(2)).len(), 1);
    // The link breaks; a new one resumes the session.
    conn.fail(Error::ConnectionClosed);
    conn.connect(t(10), &options).unwrap();
    assert_eq!(sent(&mut conn, t(10)).len(), 1);
    conn.handle_input(t(1), &CONNACK_RESUMED);
    assert_eq!(
        conn.poll_event(t(11)).unwrap(),
        Some(Event::Connected {
            session_present: true,
            resending: 1
        })
    );
    // A new message queued before the caller transmitted anything still goes out second.
    let second = conn
        .publish(t(12), "a", b"second", QoS::AtLeastOnce, false)
        .unwrap();
    let packets = sent(&mut conn, t(12));
    assert_eq!(packets.len(), 2);
    assert_eq!(packets[0][0], 0x3a, "the re-send first, with DUP");
    assert!(packets[0].ends_with(b"first"));
    assert_eq!(packets[1][0], 0x32);
    assert!(packets[1].ends_with(b"second"));
    assert_ne!(pid, second);
}

#[test]
fn an_answer_already_received_is_never_late() {
    let mut storage: Storage<4, 256, 64, 64, 4> = Storage::new();
    let mut options = ConnectOptions::new("c");
    options.keep_alive_secs = 1;
    options.response_timeout_ms = 500;
    let mut conn = connected(&mut storage, &options);
    assert_eq!(sent(&mut conn, t(1_000)), [[0xc0, 0x00]]);
    // The PINGRESP arrived in time, but the caller gets to it only much later.
    conn.handle_input(t(1), &[0xd0, 0x00]);
    conn.handle_timeout(t(5_000)).unwrap();
    assert_eq!(conn.poll_event(t(5_000)).unwrap(), Some(Event::Pong));
    // Without an answer, the same delay is fatal, and stays so.
    assert_eq!(sent(&mut conn, t(6_000)), [[0xc0, 0x00]]);
    conn.handle_timeout(t(6_400)).unwrap();
    let late = Err(Error::Timeout(Timeout::Pingresp { waited_ms: 500 }));
    assert_eq!(conn.handle_timeout(t(6_500)), late);
    assert_eq!(
        conn.poll_transmit(t(6_600)).map(|b| b.map(<[u8]>::to_vec)),
        late.map(|()| None)
    );
}

#[test]
fn replies_are_queued_with_their_event() {
    let mut storage: Storage<4, 256, 64, 64, 4> = Storage::new();
    let mut conn = connected(&mut storage, &ConnectOptions::new("c"));
    // A QoS 1 PUBLISH on "t" with pid 7: its PUBACK waits for the next poll_transmit.
    conn.handle_input(t(1), &[0x32, 0x06, 0x00, 0x01, b't', 0x00, 0x07, b'x']);
    let Some(Event::Message(m)) = conn.poll_event(t(2)).unwrap() else {
        panic!("no message");
    };
    assert_eq!((m.topic, m.payload, m.pid), ("t", &b"x"[..], Some(7)));
    assert_eq!(sent(&mut conn, t(3)), [[0x40, 0x02, 0x00, 0x07]]);
}

#[test]
fn last_published_says_what_this_call_stored() {
    let mut storage: Storage<4, 256, 64, 64, 4> = Storage::new();
    let mut conn = connected(&mut storage, &ConnectOptions::new("c"));
    let pid = conn
        .publish(t(2), "a", b"1", QoS::AtLeastOnce, false)
        .unwrap();
    assert_eq!(conn.session().last_published(), pid);
    conn.publish(t(2), "a", b"2", QoS::AtMostOnce, false)
        .unwrap();
    assert_eq!(conn.session().last_published(), None);
    assert!(conn
        .publish(t(2), "a/#", b"3", QoS::AtLeastOnce, false)
        .is_err());
    assert_eq!(conn.session().last_published(), None);
}

#[test]
fn input_beyond_the_buffer_is_left_to_give_again() {
    let mut storage: Storage<4, 256, 6, 64, 4> = Storage::new();
    let mut conn = Connection::new(storage.buffers());
    conn.connect(t(0), &ConnectOptions::new("c")).unwrap();
    sent(&mut conn, t(0));
    let bytes = [0x20, 0x02, 0x00, 0x00, 0xd0, 0x00, 0xd0, 0x00];
    assert_eq!(conn.handle_input(t(1), &bytes), 6);
    assert!(conn.poll_event(t(1)).unwrap().is_some());
    assert_eq!(conn.handle_input(t(1), &bytes[6..]), 2);
    assert_eq!(conn.poll_event(t(1)).unwrap(), Some(Event::Pong));
    assert_eq!(conn.poll_event(t(1)).unwrap(), Some(Event::Pong));
}

/// A reader that claims more bytes than the input buffer held (a broken transport: what no
/// real one shows) breaks the connection with `Transport(InvalidData)`; nothing of it is
/// decoded, and the next call reports the same error.
#[test]
fn a_read_beyond_the_input_buffer_is_refused() {
    let mut storage: Storage<4, 256, 16, 64, 4> = Storage::new();
    let options = ConnectOptions::new("c");
    let mut conn = connected(&mut storage, &options);
    let space = conn.input_buffer();
    let len = space.len();
    space[..2].copy_from_slice(&[0xd0, 0x00]); // a PINGRESP, which must not be seen
    let refused = Error::Transport(embedded_io::ErrorKind::InvalidData);
    assert_eq!(conn.input_received(t(2), len + 1), Err(refused));
    assert_eq!(conn.poll_event(t(2)), Err(refused));
    // A count that fits is taken as before.
    let mut storage: Storage<4, 256, 16, 64, 4> = Storage::new();
    let mut conn = connected(&mut storage, &options);
    let space = conn.input_buffer();
    space[..2].copy_from_slice(&[0xd0, 0x00]);
    assert_eq!(conn.input_received(t(2), 2), Ok(()));
    assert_eq!(conn.poll_event(t(2)), Ok(Some(Event::Pong)));
}
