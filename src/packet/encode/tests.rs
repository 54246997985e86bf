//! Unit tests of encoding client packets: spec examples byte for byte, and every refusal.

extern crate std;
use std::{string::ToString, vec, vec::Vec};

use super::super::tests::REMAINING_LENGTHS;
use super::super::{decode, scan, Inbound};
use super::*;

/// Encodes with `encode` into a buffer of exactly the right size, after checking that every
/// smaller buffer is refused with `BufferTooSmall` (and nothing panics).
fn encode_exact(encode: impl Fn(&mut [u8]) -> Result<usize, EncodeError>) -> Vec<u8> {
    let mut big = vec![0u8; 1024];
    let len = encode(&mut big).unwrap();
    for short in 0..len {
        let err = EncodeError::BufferTooSmall {
            needed: len,
            available: short,
        };
        assert_eq!(encode(&mut vec![0u8; short]), Err(err), "{short} bytes");
    }
    let mut out = vec![0u8; len];
    assert_eq!(encode(&mut out), Ok(len));
    assert_eq!(out[..], big[..len]);
    out
}

fn publish<'a>(qos: QoS, pid: Option<u16>, topic: &'a str, payload: &'a [u8]) -> Publish<'a> {
    Publish {
        dup: false,
        qos,
        retain: false,
        pid,
        topic,
        payload,
    }
}

#[test]
fn remaining_length_writer_matches_spec_table() {
    for (value, bytes) in REMAINING_LENGTHS {
        let mut out = [0u8; 5];
        let mut writer = Writer {
            out: &mut out,
            pos: 0,
        };
        writer.put_remaining_len(value);
        let pos = writer.finish().unwrap();
        assert_eq!(&out[..pos], bytes, "{value}");
        assert_eq!(packet_len(value), Ok(1 + bytes.len() + value));
    }
    assert_eq!(packet_len(MAX_REMAINING_LEN + 1), Err(EncodeError::TooLong));
}

#[test]
fn a_writer_refuses_a_packet_whose_fields_did_not_fit() {
    // The encoders size the packet first, so this is the guard against their arithmetic:
    // a field that does not fit is not written, and the packet is refused, not cut short.
    let mut out = [0u8; 4];
    let mut writer = Writer {
        out: &mut out,
        pos: 0,
    };
    writer.put(b"abc");
    writer.put(b"de");
    writer.put(b"f");
    let err = EncodeError::BufferTooSmall {
        needed: 6,
        available: 4,
    };
    assert_eq!(writer.finish(), Err(err));
    assert_eq!(out, *b"abc\0");
    let long = vec![0u8; 65_536];
    let mut out = vec![0u8; 70_000];
    let mut writer = Writer {
        out: &mut out,
        pos: 0,
    };
    writer.put_prefixed(&long);
    assert!(
        writer.finish().is_err(),
        "a field longer than its 16-bit prefix"
    );
    let mut writer = Writer {
        out: &mut out,
        pos: 0,
    };
    writer.put_prefixed(b"ok");
    assert_eq!(writer.finish(), Ok(4));
    assert_eq!(out[..4], *b"\0\x02ok");
}

#[test]
fn publish_headers_at_remaining_length_boundaries() {
    // Topic "t" takes 3 bytes of the remaining length at QoS 0.
    for (value, bytes) in &REMAINING_LENGTHS[2..7] {
        let payload = vec![0x5a; value - 3];
        let p = publish(QoS::AtMostOnce, None, "t", &payload);
        let mut out = vec![0u8; 1 + bytes.len() + value];
        assert_eq!(encode_publish(&p, &mut out), Ok(out.len()));
        assert_eq!(&out[1..1 + bytes.len()], *bytes);
        assert_eq!(
            publish_len("t", payload.len(), QoS::AtMostOnce),
            Some(out.len())
        );
        assert_eq!(scan(&out).unwrap().unwrap().total_len, out.len());
        assert_eq!(decode(&out), Ok(Inbound::Publish(p)));
    }
    let max = MAX_REMAINING_LEN;
    assert_eq!(publish_len("t", max - 3, QoS::AtMostOnce), Some(max + 5));
    assert_eq!(publish_len("t", max - 2, QoS::AtMostOnce), None);
    assert_eq!(publish_len("t", max - 5, QoS::AtLeastOnce), Some(max + 5));
    assert_eq!(publish_len("t", max - 4, QoS::ExactlyOnce), None);
    assert_eq!(publish_len("t", usize::MAX, QoS::ExactlyOnce), None);
    assert_eq!(publish_len(&"a".repeat(65_536), 0, QoS::AtMostOnce), None);
    // Too large to send: refused before the (untouched, lazily zeroed) payload is read.
    let payload = vec![0u8; max - 2];
    let p = publish(QoS::AtMostOnce, None, "t", &payload);
    assert_eq!(encode_publish(&p, &mut [0u8; 8]), Err(EncodeError::TooLong));
}

#[test]
fn connect_matches_spec_example() {
    // The flags of the example in §3.1.2.10: user name, password, will QoS 1, will, clean
    // session (0xCE), and keep alive 10.
    let connect = Connect {
        client_id: "c1",
        keep_alive: 10,
        clean_session: true,
        will: Some(Will {
            topic: "w",
            payload: b"bye",
            qos: QoS::AtLeastOnce,
            retain: false,
        }),
        username: Some("u"),
        password: Some(b"p"),
    };
    let bytes = encode_exact(|out| encode_connect(&connect, out));
    let mut expected = vec![0x10, 28, 0, 4, b'M', b'Q', b'T', b'T', 4, 0xce, 0, 10];
    expected.extend_from_slice(&[0, 2, b'c', b'1', 0, 1, b'w', 0, 3, b'b', b'y', b'e']);
    expected.extend_from_slice(&[0, 1, b'u', 0, 1, b'p']);
    assert_eq!(bytes, expected);

    let minimal = Connect {
        client_id: "test",
        keep_alive: 60,
        clean_session: false,
        will: None,
        username: None,
        password: None,
    };
    let bytes = encode_exact(|out| encode_connect(&minimal, out));
    let expected = [
        0x10, 16, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x00, 0, 60, 0, 4, b't', b'e', b's', b't',
    ];
    assert_eq!(bytes, expected);

    let retained_will = Connect {
        client_id: "",
        clean_session: true,
        will: Some(Will {
            topic: "w",
            payload: b"",
            qos: QoS::ExactlyOnce,
            retain: true,
        }),
        ..minimal
    };
    let bytes = encode_exact(|out| encode_connect(&retained_will, out));
    // Will retain (0x20), will QoS 2 (0x10), will (0x04), clean session (0x02).
    assert_eq!(bytes[9], 0x36);
    assert_eq!(bytes[12..], [0, 0, 0, 1, b'w', 0, 0]);
}

#[test]
fn connect_refusals() {
    let base = Connect {
        client_id: "id",
        keep_alive: 0,
        clean_session: false,
        will: None,
        username: None,
        password: None,
    };
    let mut out = [0u8; 256];
    let empty_id = Connect {
        client_id: "",
        ..base
    };
    let err = Err(EncodeError::EmptyClientIdNeedsCleanSession);
    assert_eq!(encode_connect(&empty_id, &mut out), err);
    let password_only = Connect {
        password: Some(b"secret"),
        ..base
    };
    let err = Err(EncodeError::PasswordWithoutUsername);
    assert_eq!(encode_connect(&password_only, &mut out), err);
    let nul = Connect {
        client_id: "a\0",
        ..base
    };
    let err = Err(EncodeError::NulChar { field: "client id" });
    assert_eq!(encode_connect(&nul, &mut out), err);
    let nul = Connect {
        username: Some("\0"),
        ..base
    };
    let err = Err(EncodeError::NulChar { field: "user name" });
    assert_eq!(encode_connect(&nul, &mut out), err);
    let long_id = "a".repeat(65_536);
    let long = Connect {
        client_id: &long_id,
        ..base
    };
    let err = EncodeError::StringTooLong {
        field: "client id",
        len: 65_536,
    };
    assert_eq!(encode_connect(&long, &mut out), Err(err));
    let long_password = vec![0u8; 65_536];
    let long = Connect {
        username: Some("u"),
        password: Some(&long_password),
        ..base
    };
    let err = EncodeError::StringTooLong {
        field: "password",
        len: 65_536,
    };
    assert_eq!(encode_connect(&long, &mut out), Err(err));
    let will = Will {
        topic: "a/#",
        payload: b"",
        qos: QoS::AtMostOnce,
        retain: false,
    };
    let bad_will = Connect {
        will: Some(will),
        ..base
    };
    let err = Err(EncodeError::InvalidTopic(TopicError::Wildcard));
    assert_eq!(encode_connect(&bad_will, &mut out), err);
    let bad_will = Connect {
        will: Some(Will {
            topic: "ok",
            payload: &long_password,
            ..will
        }),
        ..base
    };
    let err = EncodeError::StringTooLong {
        field: "will payload",
        len: 65_536,
    };
    assert_eq!(encode_connect(&bad_will, &mut out), Err(err));
    // The largest strings are accepted.
    let max_id = "a".repeat(65_535);
    let max = Connect {
        client_id: &max_id,
        ..base
    };
    let mut big = vec![0u8; 65_535 + 16];
    assert_eq!(encode_connect(&max, &mut big), Ok(big.len()));
}

#[test]
fn publish_matches_spec_example() {
    // §3.3.2.3: topic "a/b", packet id 10; here at QoS 1 with payload "hi".
    let p = publish(QoS::AtLeastOnce, Some(10), "a/b", b"hi");
    let bytes = encode_exact(|out| encode_publish(&p, out));
    assert_eq!(bytes, [0x32, 9, 0, 3, b'a', b'/', b'b', 0, 10, b'h', b'i']);
    let p = Publish {
        retain: true,
        ..publish(QoS::AtMostOnce, None, "a", b"")
    };
    assert_eq!(
        encode_exact(|out| encode_publish(&p, out)),
        [0x31, 3, 0, 1, b'a']
    );
    let p = Publish {
        dup: true,
        ..publish(QoS::ExactlyOnce, Some(0x1234), "a", b"")
    };
    let bytes = encode_exact(|out| encode_publish(&p, out));
    assert_eq!(bytes, [0x3c, 5, 0, 1, b'a', 0x12, 0x34]);
}

#[test]
fn publish_refusals() {
    let refusal = |p: Publish<'_>| encode_publish(&p, &mut [0u8; 64]).unwrap_err();
    for (qos, pid) in [
        (QoS::AtMostOnce, Some(5)),
        (QoS::AtLeastOnce, None),
        (QoS::ExactlyOnce, None),
    ] {
        let err = EncodeError::PacketIdMismatch { qos };
        assert_eq!(refusal(publish(qos, pid, "a", b"")), err);
    }
    let p = publish(QoS::AtLeastOnce, Some(0), "a", b"");
    assert_eq!(refusal(p), EncodeError::ZeroPacketId);
    let p = publish(QoS::AtMostOnce, None, "a/+", b"");
    assert_eq!(refusal(p), EncodeError::InvalidTopic(TopicError::Wildcard));
    let p = publish(QoS::AtMostOnce, None, "", b"");
    assert_eq!(refusal(p), EncodeError::InvalidTopic(TopicError::Empty));
    let p = Publish {
        dup: true,
        ..publish(QoS::AtMostOnce, None, "a", b"")
    };
    assert_eq!(refusal(p), EncodeError::DupAtQoS0);
}

#[test]
fn set_dup_marks_only_qos_1_and_2_publish() {
    let mut out = [0u8; 16];
    let len = encode_publish(&publish(QoS::AtLeastOnce, Some(7), "a", b"x"), &mut out).unwrap();
    set_dup(&mut out[..len]);
    assert_eq!(out[0], 0x3a);
    match decode(&out[..len]) {
        Ok(Inbound::Publish(p)) => assert!(p.dup && p.pid == Some(7)),
        other => panic!("{other:?}"),
    }
    let len = encode_publish(&publish(QoS::AtMostOnce, None, "a", b"x"), &mut out).unwrap();
    set_dup(&mut out[..len]);
    assert_eq!(out[0], 0x30);
    let len = encode_ack(Ack::Pubrel, 7, &mut out).unwrap();
    set_dup(&mut out[..len]);
    assert_eq!(out[0], 0x62);
    set_dup(&mut []);
}

#[test]
fn acks_ping_and_disconnect_bytes() {
    let cases = [
        (Ack::Puback, [0x40, 2, 0, 10]),
        (Ack::Pubrec, [0x50, 2, 0, 10]),
        (Ack::Pubrel, [0x62, 2, 0, 10]),
        (Ack::Pubcomp, [0x70, 2, 0, 10]),
    ];
    for (kind, expected) in cases {
        assert_eq!(encode_exact(|out| encode_ack(kind, 10, out)), expected);
        assert_eq!(
            encode_ack(kind, 0, &mut [0u8; 4]),
            Err(EncodeError::ZeroPacketId)
        );
    }
    assert_eq!(encode_exact(encode_pingreq), [0xc0, 0]);
    assert_eq!(encode_exact(encode_disconnect), [0xe0, 0]);
}

#[test]
fn subscribe_matches_spec_example_and_has_no_filter_cap() {
    // §3.8.3: packet id 10, "a/b" at QoS 1 and "c/d" at QoS 2.
    let filters = [("a/b", QoS::AtLeastOnce), ("c/d", QoS::ExactlyOnce)];
    let bytes = encode_exact(|out| encode_subscribe(10, &filters, out));
    let expected = [
        0x82, 14, 0, 10, 0, 3, b'a', b'/', b'b', 1, 0, 3, b'c', b'/', b'd', 2,
    ];
    assert_eq!(bytes, expected);

    let names = ["a", "b/+", "c/#", "#", "+/+", "d", "e/f/g"];
    let filters: Vec<(&str, QoS)> = names
        .iter()
        .zip(
            [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce]
                .iter()
                .cycle(),
        )
        .map(|(name, qos)| (*name, *qos))
        .collect();
    let bytes = encode_exact(|out| encode_subscribe(0x0102, &filters, out));
    let mut expected = vec![0x82, 0, 1, 2];
    for (filter, qos) in &filters {
        expected.extend_from_slice(&[0, filter.len() as u8]);
        expected.extend_from_slice(filter.as_bytes());
        expected.push(*qos as u8);
    }
    expected[1] = (expected.len() - 2) as u8;
    assert_eq!(bytes, expected);
}

#[test]
fn unsubscribe_matches_spec_example() {
    // §3.10.3: packet id 10, "a/b" and "c/d".
    let bytes = encode_exact(|out| encode_unsubscribe(10, &["a/b", "c/d"], out));
    let expected = [
        0xa2, 12, 0, 10, 0, 3, b'a', b'/', b'b', 0, 3, b'c', b'/', b'd',
    ];
    assert_eq!(bytes, expected);
    let many = ["x"; 300];
    let bytes = encode_exact(|out| encode_unsubscribe(1, &many, out));
    assert_eq!(bytes.len(), 1 + 2 + 2 + 300 * 3);
    assert_eq!(bytes[1..3], [0x86, 0x07]);
}

#[test]
fn subscribe_and_unsubscribe_refusals() {
    let mut out = [0u8; 64];
    let qos = QoS::AtMostOnce;
    assert_eq!(
        encode_subscribe(0, &[("a", qos)], &mut out),
        Err(EncodeError::ZeroPacketId)
    );
    assert_eq!(
        encode_unsubscribe(0, &["a"], &mut out),
        Err(EncodeError::ZeroPacketId)
    );
    assert_eq!(
        encode_subscribe(1, &[], &mut out),
        Err(EncodeError::NoFilters)
    );
    assert_eq!(
        encode_unsubscribe(1, &[], &mut out),
        Err(EncodeError::NoFilters)
    );
    let err = Err(EncodeError::InvalidTopic(TopicError::MisplacedWildcard));
    assert_eq!(
        encode_subscribe(1, &[("a", qos), ("a#", qos)], &mut out),
        err
    );
    let err = Err(EncodeError::InvalidTopic(TopicError::Empty));
    assert_eq!(encode_unsubscribe(1, &["a", ""], &mut out), err);
}

#[test]
fn errors_display_their_facts() {
    let cases = [
        (
            EncodeError::BufferTooSmall {
                needed: 30,
                available: 16,
            },
            "packet needs 30 bytes, output buffer has 16",
        ),
        (
            EncodeError::StringTooLong {
                field: "password",
                len: 70_000,
            },
            "password is 70000 bytes, more than 65535",
        ),
        (
            EncodeError::PacketIdMismatch {
                qos: QoS::AtMostOnce,
            },
            "PUBLISH at QoS 0 needs a packet id exactly when QoS is above 0",
        ),
    ];
    for (error, text) in cases {
        assert_eq!(error.to_string(), text);
    }
}

/// The writer against a second, independent encoder (mqttrs 0.4): the same bytes for every
/// combination of CONNECT's optional fields and flags, for PUBLISH at each QoS with DUP and
/// RETAIN, and for the acknowledgements, PINGREQ and DISCONNECT.
#[test]
fn same_bytes_as_mqttrs() {
    fn theirs(packet: &mqttrs::Packet<'_>) -> Vec<u8> {
        let mut out = vec![0u8; 512];
        let n = mqttrs::encode_slice(packet, &mut out).unwrap();
        out.truncate(n);
        out
    }
    let their_qos = |qos: QoS| match qos {
        QoS::AtMostOnce => mqttrs::QoS::AtMostOnce,
        QoS::AtLeastOnce => mqttrs::QoS::AtLeastOnce,
        QoS::ExactlyOnce => mqttrs::QoS::ExactlyOnce,
    };
    let qos_levels = [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce];
    for case in 0..64u32 {
        let bit = |n: u32| case & (1 << n) != 0;
        let will = bit(0).then(|| Will {
            topic: "dev/1/status",
            payload: b"offline",
            qos: qos_levels[(case as usize >> 4) % 3],
            retain: bit(1),
        });
        let username = bit(2).then_some("user");
        let connect = Connect {
            client_id: "dev-1",
            keep_alive: 300 + case as u16,
            clean_session: bit(5),
            will,
            username,
            password: (bit(3) && username.is_some()).then_some(&b"secret"[..]),
        };
        let expected = theirs(&mqttrs::Packet::Connect(mqttrs::Connect {
            protocol: mqttrs::Protocol::MQTT311,
            keep_alive: connect.keep_alive,
            client_id: connect.client_id,
            clean_session: connect.clean_session,
            last_will: connect.will.map(|w| mqttrs::LastWill {
                topic: w.topic,
                message: w.payload,
                qos: their_qos(w.qos),
                retain: w.retain,
            }),
            username: connect.username,
            password: connect.password,
        }));
        assert_eq!(
            encode_exact(|out| encode_connect(&connect, out)),
            expected,
            "{connect:?}"
        );
    }
    for qos in qos_levels {
        for (dup, retain) in [(false, false), (true, false), (false, true), (true, true)] {
            if dup && qos == QoS::AtMostOnce {
                continue;
            }
            let pid = (qos != QoS::AtMostOnce).then_some(513);
            let mut ours = publish(qos, pid, "a/b", &[7u8; 200]);
            ours.dup = dup;
            ours.retain = retain;
            let qospid = match qos {
                QoS::AtMostOnce => mqttrs::QosPid::AtMostOnce,
                QoS::AtLeastOnce => {
                    mqttrs::QosPid::AtLeastOnce(mqttrs::Pid::try_from(513).unwrap())
                }
                QoS::ExactlyOnce => {
                    mqttrs::QosPid::ExactlyOnce(mqttrs::Pid::try_from(513).unwrap())
                }
            };
            let expected = theirs(&mqttrs::Packet::Publish(mqttrs::Publish {
                dup,
                qospid,
                retain,
                topic_name: "a/b",
                payload: &[7u8; 200],
            }));
            assert_eq!(
                encode_exact(|out| encode_publish(&ours, out)),
                expected,
                "{ours:?}"
            );
        }
    }
    let pid = mqttrs::Pid::try_from(0x1234).unwrap();
    for (kind, packet) in [
        (Ack::Puback, mqttrs::Packet::Puback(pid)),
        (Ack::Pubrec, mqttrs::Packet::Pubrec(pid)),
        (Ack::Pubrel, mqttrs::Packet::Pubrel(pid)),
        (Ack::Pubcomp, mqttrs::Packet::Pubcomp(pid)),
    ] {
        assert_eq!(
            encode_exact(|out| encode_ack(kind, 0x1234, out)),
            theirs(&packet)
        );
    }
    assert_eq!(
        encode_exact(encode_pingreq),
        theirs(&mqttrs::Packet::Pingreq)
    );
    assert_eq!(
        encode_exact(encode_disconnect),
        theirs(&mqttrs::Packet::Disconnect)
    );
}
