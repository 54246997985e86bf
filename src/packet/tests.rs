//! Unit tests of framing any packet, and scanning and decoding server packets.

extern crate std;
use std::{format, string::ToString, vec, vec::Vec};

use super::*;

/// The remaining-length examples of §2.2.3, table 2.4 (smallest and largest of each size).
pub(super) const REMAINING_LENGTHS: [(usize, &[u8]); 8] = [
    (0, &[0x00]),
    (127, &[0x7f]),
    (128, &[0x80, 0x01]),
    (16_383, &[0xff, 0x7f]),
    (16_384, &[0x80, 0x80, 0x01]),
    (2_097_151, &[0xff, 0xff, 0x7f]),
    (2_097_152, &[0x80, 0x80, 0x80, 0x01]),
    (268_435_455, &[0xff, 0xff, 0xff, 0x7f]),
];

fn with_header(first: u8, length: &[u8]) -> Vec<u8> {
    let mut buf = vec![first];
    buf.extend_from_slice(length);
    buf
}

#[test]
fn scan_reads_spec_remaining_lengths() {
    for (value, bytes) in REMAINING_LENGTHS {
        // PINGRESP for 0 (the only type with an empty body), PUBLISH for the rest.
        let first = if value == 0 { 0xd0 } else { 0x30 };
        let frame = scan(&with_header(first, bytes)).unwrap().unwrap();
        assert_eq!(frame.header_len, 1 + bytes.len(), "{value}");
        assert_eq!(frame.total_len, 1 + bytes.len() + value, "{value}");
    }
}

#[test]
fn scan_waits_for_a_whole_fixed_header_only() {
    assert_eq!(scan(&[]), Ok(None));
    assert_eq!(scan(&[0x30]), Ok(None));
    assert_eq!(scan(&[0x30, 0x80]), Ok(None));
    assert_eq!(scan(&[0x30, 0xff, 0xff, 0xff]), Ok(None));
    // The body need not be present.
    let frame = Frame {
        header_len: 2,
        total_len: 9,
    };
    assert_eq!(scan(&[0x30, 7]), Ok(Some(frame)));
    // Bytes after the packet are left alone.
    assert_eq!(
        scan(&[0x40, 2, 0, 1, 0xd0, 0]).unwrap().unwrap().total_len,
        4
    );
}

#[test]
fn scan_refuses_a_fifth_length_byte() {
    let err = DecodeError::MalformedRemainingLength;
    assert_eq!(scan(&[0x30, 0xff, 0xff, 0xff, 0xff]), Err(err));
    assert_eq!(scan(&[0x30, 0x80, 0x80, 0x80, 0x80, 0x01]), Err(err));
    assert_eq!(decode(&[0x30, 0x80, 0x80, 0x80, 0x80, 0x00]), Err(err));
}

#[test]
fn scan_refuses_client_only_and_reserved_types() {
    for packet_type in [0u8, 1, 8, 10, 12, 14, 15] {
        let first = packet_type << 4 | if matches!(packet_type, 8 | 10) { 2 } else { 0 };
        let err = DecodeError::ForbiddenType { packet_type };
        // Refused from the first byte alone.
        assert_eq!(scan(&[first]), Err(err), "type {packet_type}");
        assert_eq!(decode(&[first, 0]), Err(err), "type {packet_type}");
    }
}

/// `frame` sizes any packet, including those only a client sends, with `scan`'s framing.
#[test]
fn frame_sizes_every_packet_type_and_agrees_with_scan() {
    // Every type byte, with every flag pattern, and each remaining-length example.
    for first in 0..=u8::MAX {
        for (value, bytes) in REMAINING_LENGTHS {
            let buf = with_header(first, bytes);
            let framed = frame(&buf).unwrap().unwrap();
            assert_eq!(framed.header_len, 1 + bytes.len(), "{first:#x} {value}");
            assert_eq!(
                framed.total_len,
                1 + bytes.len() + value,
                "{first:#x} {value}"
            );
            // Where scan accepts the header, it frames it the same.
            if let Ok(scanned) = scan(&buf) {
                assert_eq!(scanned, Some(framed), "{first:#x} {value}");
            }
        }
    }
    // What a client sends: CONNECT, SUBSCRIBE, UNSUBSCRIBE, PINGREQ, DISCONNECT.
    let subscribe = [0x82, 12, 0, 3, 0, 1, b'a', 1, 0, 3, b'b', b'/', b'#', 2];
    assert_eq!(frame(&subscribe).unwrap().unwrap().total_len, 14);
    assert_eq!(frame(&[0x10, 13]).unwrap().unwrap().total_len, 15);
    assert_eq!(frame(&[0xa2, 5]).unwrap().unwrap().total_len, 7);
    assert_eq!(frame(&[0xc0, 0, 0xe0, 0]).unwrap().unwrap().total_len, 2);
    assert_eq!(frame(&[0xe0, 0]).unwrap().unwrap().total_len, 2);
}

#[test]
fn frame_waits_for_a_whole_fixed_header_and_refuses_a_fifth_length_byte() {
    assert_eq!(frame(&[]), Ok(None));
    assert_eq!(frame(&[0x10]), Ok(None));
    assert_eq!(frame(&[0x10, 0x80]), Ok(None));
    assert_eq!(frame(&[0x10, 0xff, 0xff, 0xff]), Ok(None));
    let err = DecodeError::MalformedRemainingLength;
    assert_eq!(frame(&[0x10, 0xff, 0xff, 0xff, 0xff]), Err(err));
    // Types and flags a server may not send are not frame's business.
    assert_eq!(
        frame(&[0xf3, 1]),
        Ok(Some(Frame {
            header_len: 2,
            total_len: 3
        }))
    );
}

#[test]
fn scan_accepts_exactly_the_flags_of_section_2_2_2() {
    for packet_type in [2u8, 3, 4, 5, 6, 7, 9, 11, 13] {
        for flags in 0..16u8 {
            let result = scan(&[packet_type << 4 | flags]);
            let expected = match (packet_type, flags) {
                (3, f) if f & 0b0110 == 0b0110 => Err(DecodeError::InvalidQoS),
                (3, f) if f & 0b1110 == 0b1000 => {
                    Err(DecodeError::InvalidFlags { packet_type, flags })
                }
                (3, _) | (6, 0b0010) => Ok(None),
                (_, 0) if packet_type != 6 => Ok(None),
                _ => Err(DecodeError::InvalidFlags { packet_type, flags }),
            };
            assert_eq!(result, expected, "type {packet_type} flags {flags:#06b}");
        }
    }
}

#[test]
fn scan_checks_lengths_fixed_by_the_type() {
    for first in [0x20, 0x40, 0x50, 0x62, 0x70, 0xb0] {
        for remaining in [0u8, 1, 3, 127] {
            let packet_type = first >> 4;
            let err = DecodeError::LengthMismatch {
                packet_type,
                remaining: remaining.into(),
            };
            assert_eq!(scan(&[first, remaining]), Err(err), "{first:#x}");
            let mut packet = vec![first, remaining];
            packet.resize(2 + usize::from(remaining), 1);
            assert_eq!(decode(&packet), Err(err), "{first:#x}");
        }
    }
    let mismatch = |packet_type, remaining| {
        Err(DecodeError::LengthMismatch {
            packet_type,
            remaining,
        })
    };
    assert_eq!(scan(&[0xd0, 1]), mismatch(13, 1));
    assert_eq!(scan(&[0x90, 2]), mismatch(9, 2));
    assert_eq!(scan(&[0x30, 1]), mismatch(3, 1));
    assert_eq!(scan(&[0x32, 3]), mismatch(3, 3));
    assert_eq!(scan(&[0x34, 0x83, 0x80, 0x80, 0x00]), mismatch(3, 3));
}

#[test]
fn decodes_connack() {
    let connack = |session_present, code| {
        Ok(Inbound::Connack {
            session_present,
            code,
        })
    };
    assert_eq!(
        decode(&[0x20, 2, 0, 0]),
        connack(false, ConnectReturnCode::Accepted)
    );
    assert_eq!(
        decode(&[0x20, 2, 1, 0]),
        connack(true, ConnectReturnCode::Accepted)
    );
    for code in 1..=5u8 {
        let expected = ConnectReturnCode::from_code(code).unwrap();
        assert_eq!(expected as u8, code);
        assert_eq!(decode(&[0x20, 2, 0, code]), connack(false, expected));
    }
    let err = DecodeError::InvalidConnectReturnCode { code: 6 };
    assert_eq!(decode(&[0x20, 2, 0, 6]), Err(err));
    let err = DecodeError::InvalidConnackFlags { flags: 0x02 };
    assert_eq!(decode(&[0x20, 2, 0x02, 0]), Err(err));
}

#[test]
fn decodes_publish_at_each_qos() {
    let packet = [0x30, 7, 0, 3, b'a', b'/', b'b', b'h', b'i'];
    let expected = Publish {
        dup: false,
        qos: QoS::AtMostOnce,
        retain: false,
        pid: None,
        topic: "a/b",
        payload: b"hi",
    };
    assert_eq!(decode(&packet), Ok(Inbound::Publish(expected)));
    // The example of §3.3.2.3 (topic "a/b", packet id 10), at QoS 1 with no payload.
    let packet = [0x32, 7, 0, 3, b'a', b'/', b'b', 0, 10];
    let expected = Publish {
        qos: QoS::AtLeastOnce,
        pid: Some(10),
        payload: b"",
        ..expected
    };
    assert_eq!(decode(&packet), Ok(Inbound::Publish(expected)));
    // DUP, QoS 2, RETAIN.
    let packet = [0x3d, 8, 0, 1, b't', 0xff, 0xff, 1, 2, 3];
    let expected = Publish {
        dup: true,
        qos: QoS::ExactlyOnce,
        retain: true,
        pid: Some(0xffff),
        topic: "t",
        payload: &[1, 2, 3],
    };
    assert_eq!(decode(&packet), Ok(Inbound::Publish(expected)));
}

#[test]
fn decodes_pid_only_packets() {
    assert_eq!(decode(&[0x40, 2, 0, 10]), Ok(Inbound::Puback(10)));
    assert_eq!(decode(&[0x50, 2, 1, 0]), Ok(Inbound::Pubrec(256)));
    assert_eq!(decode(&[0x62, 2, 0, 1]), Ok(Inbound::Pubrel(1)));
    assert_eq!(decode(&[0x70, 2, 0xff, 0xff]), Ok(Inbound::Pubcomp(0xffff)));
    assert_eq!(decode(&[0xb0, 2, 0, 10]), Ok(Inbound::Unsuback(10)));
    assert_eq!(decode(&[0xd0, 0]), Ok(Inbound::Pingresp));
    for first in [0x40, 0x50, 0x62, 0x70, 0xb0] {
        assert_eq!(decode(&[first, 2, 0, 0]), Err(DecodeError::ZeroPacketId));
    }
}

#[test]
fn decodes_suback_with_any_number_of_codes() {
    // The example of §3.9.3, packet id 10.
    let packet = [0x90, 6, 0, 10, 0x00, 0x01, 0x02, 0x80];
    let expected = Inbound::Suback {
        pid: 10,
        return_codes: &[0x00, 0x01, 0x02, 0x80],
    };
    assert_eq!(decode(&packet), Ok(expected));
    // More than mqttrs's five.
    let mut packet = vec![0x90, 0x82, 0x01, 0x12, 0x34];
    packet.extend((0..128u8).map(|i| [0, 1, 2, 0x80][usize::from(i % 4)]));
    match decode(&packet) {
        Ok(Inbound::Suback { pid, return_codes }) => {
            assert_eq!(pid, 0x1234);
            assert_eq!(return_codes, &packet[5..]);
        }
        other => panic!("{other:?}"),
    }
    for code in [0x03, 0x7f, 0x81, 0xff] {
        let err = DecodeError::InvalidReturnCode { code };
        assert_eq!(decode(&[0x90, 4, 0, 1, 0, code]), Err(err));
    }
    assert_eq!(decode(&[0x90, 3, 0, 0, 0]), Err(DecodeError::ZeroPacketId));
}

#[test]
fn refuses_bad_publish_bodies() {
    let publish_err = |packet: &[u8]| decode(packet).unwrap_err();
    // Topic length past the end of the packet.
    let err = DecodeError::LengthMismatch {
        packet_type: 3,
        remaining: 3,
    };
    assert_eq!(publish_err(&[0x30, 3, 0, 5, b'a']), err);
    // No room left for the packet id.
    let err = DecodeError::LengthMismatch {
        packet_type: 3,
        remaining: 5,
    };
    assert_eq!(publish_err(&[0x32, 5, 0, 2, b'a', b'b', 0]), err);
    assert_eq!(
        publish_err(&[0x32, 5, 0, 1, b'a', 0, 0]),
        DecodeError::ZeroPacketId
    );
    assert_eq!(
        publish_err(&[0x30, 3, 0, 1, 0xff]),
        DecodeError::InvalidUtf8
    );
    // A UTF-16 surrogate encoded in UTF-8 is ill-formed [MQTT-1.5.3-1].
    assert_eq!(
        publish_err(&[0x30, 5, 0, 3, 0xed, 0xa0, 0x80]),
        DecodeError::InvalidUtf8
    );
    let topic_err = |e| DecodeError::InvalidTopic(e);
    assert_eq!(publish_err(&[0x30, 2, 0, 0]), topic_err(TopicError::Empty));
    assert_eq!(
        publish_err(&[0x30, 3, 0, 1, b'#']),
        topic_err(TopicError::Wildcard)
    );
    assert_eq!(
        publish_err(&[0x30, 4, 0, 2, b'a', b'+']),
        topic_err(TopicError::Wildcard)
    );
    assert_eq!(
        publish_err(&[0x30, 3, 0, 1, 0]),
        topic_err(TopicError::NulChar)
    );
}

#[test]
fn decode_needs_exactly_one_packet() {
    assert_eq!(decode(&[]), Err(DecodeError::IncompleteHeader));
    assert_eq!(decode(&[0x30, 0x80]), Err(DecodeError::IncompleteHeader));
    let err = DecodeError::Truncated {
        needed: 9,
        available: 5,
    };
    assert_eq!(decode(&[0x30, 7, 0, 3, b'a']), Err(err));
    let err = DecodeError::Truncated {
        needed: 4,
        available: 3,
    };
    assert_eq!(decode(&[0x40, 2, 0]), Err(err));
    let err = DecodeError::TrailingBytes {
        packet_len: 4,
        available: 6,
    };
    assert_eq!(decode(&[0x40, 2, 0, 1, 0xd0, 0]), Err(err));
}

#[test]
fn oversize_claims_are_reported_not_trusted() {
    let mut packet = vec![0x30, 0xff, 0xff, 0xff, 0x7f, 0, 1, b'a'];
    let frame = scan(&packet).unwrap().unwrap();
    assert_eq!(frame.total_len, 5 + MAX_REMAINING_LEN);
    let err = DecodeError::Truncated {
        needed: 5 + MAX_REMAINING_LEN,
        available: 8,
    };
    assert_eq!(decode(&packet), Err(err));
    // A SUBACK claiming 2 MiB of return codes.
    packet = vec![0x90, 0x80, 0x80, 0x80, 0x01, 0, 1, 0];
    assert_eq!(scan(&packet).unwrap().unwrap().total_len, 5 + 2_097_152);
    assert!(matches!(
        decode(&packet),
        Err(DecodeError::Truncated { .. })
    ));
}

#[test]
fn no_two_byte_input_panics_and_short_inputs_agree_with_scan() {
    for a in 0..=255u8 {
        for b in 0..=255u8 {
            let bytes = [a, b, b, a];
            for len in 0..=bytes.len() {
                let input = &bytes[..len];
                let scanned = scan(input);
                let decoded = decode(input);
                if let Err(e) = scanned {
                    assert_eq!(decoded, Err(e));
                }
            }
        }
    }
}

#[test]
fn publish_round_trips_through_encode_and_decode() {
    let mut out = [0u8; 64];
    for (qos, pid) in [
        (QoS::AtMostOnce, None),
        (QoS::AtLeastOnce, Some(1)),
        (QoS::ExactlyOnce, Some(0xfffe)),
    ] {
        let publish = Publish {
            dup: pid.is_some(),
            qos,
            retain: true,
            pid,
            topic: "sensors/τ/1",
            payload: b"\x00\x01payload",
        };
        let len = encode_publish(&publish, &mut out).unwrap();
        assert_eq!(
            Some(len),
            publish_len(publish.topic, publish.payload.len(), qos)
        );
        assert_eq!(scan(&out).unwrap().unwrap().total_len, len);
        assert_eq!(decode(&out[..len]), Ok(Inbound::Publish(publish)));
    }
}

#[test]
fn errors_display_their_facts() {
    let cases = [
        (
            DecodeError::ForbiddenType { packet_type: 1 },
            "packet type 1 (CONNECT) must not come from a server",
        ),
        (
            DecodeError::InvalidFlags {
                packet_type: 6,
                flags: 0,
            },
            "PUBREL with invalid fixed-header flags 0b0000",
        ),
        (
            DecodeError::LengthMismatch {
                packet_type: 4,
                remaining: 3,
            },
            "PUBACK with remaining length 3, which does not fit its fields",
        ),
        (
            DecodeError::InvalidReturnCode { code: 3 },
            "SUBACK return code 0x03 is not 0x00, 0x01, 0x02 or 0x80",
        ),
        (
            DecodeError::InvalidTopic(TopicError::Wildcard),
            "PUBLISH topic invalid: topic name contains a wildcard ('+' or '#')",
        ),
    ];
    for (error, text) in cases {
        assert_eq!(error.to_string(), text);
    }
    assert_eq!(
        format!("{}", ConnectReturnCode::NotAuthorized),
        "not authorized"
    );
}

#[test]
fn every_packet_type_is_named_as_in_the_specification() {
    let names = [
        "reserved type",
        "CONNECT",
        "CONNACK",
        "PUBLISH",
        "PUBACK",
        "PUBREC",
        "PUBREL",
        "PUBCOMP",
        "SUBSCRIBE",
        "SUBACK",
        "UNSUBSCRIBE",
        "UNSUBACK",
        "PINGREQ",
        "PINGRESP",
        "DISCONNECT",
        "reserved type",
    ];
    for (packet_type, name) in (0u8..).zip(names) {
        assert_eq!(type_name(packet_type), name, "type {packet_type}");
    }
    assert_eq!(type_name(16), "reserved type");
    assert_eq!(type_name(255), "reserved type");
}
