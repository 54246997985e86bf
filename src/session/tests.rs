//! The session fed scripted broker bytes: every flow, every refusal, every bad input.

use super::*;
use crate::error::{Timeout, Violation};
use crate::packet::DecodeError;

type S = Session<'static>;

/// A session over leaked storage: `N` slots, `STORE` bytes, `INBOUND` inbound QoS 2 ids.
fn session<const N: usize, const STORE: usize, const INBOUND: usize>() -> S {
    let slots = std::boxed::Box::leak(std::boxed::Box::new([Slot::EMPTY; N]));
    let store = std::boxed::Box::leak(std::boxed::Box::new([0u8; STORE]));
    let inbound = std::boxed::Box::leak(std::boxed::Box::new([0u16; INBOUND]));
    Session::new(slots, store, inbound)
}

/// What `poll_transmit` gave, copied (so the session can be used again).
fn transmit(s: &mut S, now: Instant) -> Result<Option<std::vec::Vec<u8>>, Error> {
    s.poll_transmit(now).map(|b| b.map(<[u8]>::to_vec))
}

fn t(ms: u32) -> Instant {
    Instant::from_millis(ms)
}

const CONNACK_OK: [u8; 4] = [0x20, 0x02, 0x00, 0x00];
const CONNACK_RESUMED: [u8; 4] = [0x20, 0x02, 0x01, 0x00];

/// Frame bytes that outlive the test (events borrow them).
fn leak(bytes: &[u8]) -> &'static [u8] {
    std::boxed::Box::leak(bytes.to_vec().into_boxed_slice())
}

fn ack(kind: u8, pid: u16) -> &'static [u8] {
    let [hi, lo] = pid.to_be_bytes();
    leak(&[kind, 0x02, hi, lo])
}
const PUBACK: u8 = 0x40;
const PUBREC: u8 = 0x50;
const PUBREL: u8 = 0x62;
const PUBCOMP: u8 = 0x70;

/// A broker PUBLISH of `payload` on topic "a/b".
fn publish(qos: u8, pid: u16, dup: bool, payload: &[u8]) -> &'static [u8] {
    let mut body = std::vec![0x00, 0x03, b'a', b'/', b'b'];
    if qos > 0 {
        body.extend_from_slice(&pid.to_be_bytes());
    }
    body.extend_from_slice(payload);
    let mut p = std::vec![
        0x30 | (qos << 1) | if dup { 0x08 } else { 0 },
        body.len() as u8
    ];
    p.extend_from_slice(&body);
    leak(&p)
}

fn connected(options: &ConnectOptions<'_>) -> S {
    let mut s = session::<4, 256, 32>();
    let mut out = [0u8; 128];
    s.connect(t(0), options, &mut out).unwrap();
    let (event, len) = s.handle(t(1), &CONNACK_OK, &mut out).unwrap();
    assert_eq!(
        event,
        Event::Connected {
            session_present: false,
            resending: 0
        }
    );
    assert_eq!(len, 0);
    s
}

#[test]
fn connect_encodes_connect_and_accepts_connack() {
    let mut s = session::<4, 256, 32>();
    let mut out = [0u8; 64];
    let mut options = ConnectOptions::new("dev1");
    options.keep_alive_secs = 30;
    let len = s.connect(t(0), &options, &mut out).unwrap();
    assert_eq!(
        &out[..len],
        &[0x10, 16, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 30, 0, 4, b'd', b'e', b'v', b'1']
    );
    assert!(!s.is_connected());
    assert_eq!(
        s.publish(t(0), "x", b"", QoS::AtMostOnce, false, &mut out),
        Err(Error::NotConnected)
    );
    s.handle(t(5), &CONNACK_OK, &mut out).unwrap();
    assert!(s.is_connected());
}

#[test]
fn every_connack_refusal_is_its_own_error() {
    let codes = [
        (1, ConnectReturnCode::UnacceptableProtocolVersion),
        (2, ConnectReturnCode::IdentifierRejected),
        (3, ConnectReturnCode::ServerUnavailable),
        (4, ConnectReturnCode::BadUserNameOrPassword),
        (5, ConnectReturnCode::NotAuthorized),
    ];
    for (code, expected) in codes {
        let mut s = session::<4, 256, 32>();
        let mut out = [0u8; 64];
        s.connect(t(0), &ConnectOptions::new("c"), &mut out)
            .unwrap();
        let result = s.handle(t(1), leak(&[0x20, 0x02, 0x00, code]), &mut out);
        assert_eq!(result, Err(Error::Refused(expected)), "code {code}");
        assert!(!s.is_connected());
    }
}

#[test]
fn qos1_publish_is_delivered_on_puback() {
    let mut s = connected(&ConnectOptions::new("c"));
    let mut out = [0u8; 64];
    let (len, pid) = s
        .publish(t(10), "a/b", b"hi", QoS::AtLeastOnce, false, &mut out)
        .unwrap();
    let pid = pid.unwrap();
    assert_eq!(
        &out[..len],
        &[0x32, 9, 0, 3, b'a', b'/', b'b', 0, pid as u8, b'h', b'i']
    );
    assert_eq!(s.in_flight(), 1);
    let (event, reply) = s.handle(t(20), ack(PUBACK, pid), &mut out).unwrap();
    assert_eq!((event, reply), (Event::Delivered { pid }, 0));
    assert_eq!(s.in_flight(), 0);
}

#[test]
fn qos2_publish_goes_through_pubrec_pubrel_pubcomp() {
    let mut s = connected(&ConnectOptions::new("c"));
    let mut out = [0u8; 64];
    let (_, pid) = s
        .publish(t(10), "a/b", b"x", QoS::ExactlyOnce, true, &mut out)
        .unwrap();
    let pid = pid.unwrap();
    assert_eq!(out[0], 0x35);
    let (event, len) = s.handle(t(20), ack(PUBREC, pid), &mut out).unwrap();
    assert_eq!(event, Event::BrokerReceived { pid });
    assert_eq!(&out[..len], ack(PUBREL, pid));
    // A repeated PUBREC gets the PUBREL again.
    let (_, len) = s.handle(t(21), ack(PUBREC, pid), &mut out).unwrap();
    assert_eq!(&out[..len], ack(PUBREL, pid));
    let (event, len) = s.handle(t(30), ack(PUBCOMP, pid), &mut out).unwrap();
    assert_eq!((event, len), (Event::Delivered { pid }, 0));
    assert_eq!(s.in_flight(), 0);
}

#[test]
fn inbound_qos0_and_qos1_messages() {
    let mut s = connected(&ConnectOptions::new("c"));
    let mut out = [0u8; 64];
    let frame = publish(0, 0, false, b"zero");
    let (event, len) = s.handle(t(5), frame, &mut out).unwrap();
    let Event::Message(m) = event else {
        panic!("{event:?}")
    };
    assert_eq!(
        (m.topic, m.payload, m.qos, m.pid, len),
        ("a/b", &b"zero"[..], QoS::AtMostOnce, None, 0)
    );
    let frame = publish(1, 9, false, b"one");
    let (event, len) = s.handle(t(6), frame, &mut out).unwrap();
    let Event::Message(m) = event else {
        panic!("{event:?}")
    };
    assert_eq!(
        (m.payload, m.qos, m.pid),
        (&b"one"[..], QoS::AtLeastOnce, Some(9))
    );
    assert_eq!(&out[..len], ack(PUBACK, 9));
}

#[test]
fn inbound_qos2_is_delivered_exactly_once() {
    let mut s = connected(&ConnectOptions::new("c"));
    let mut out = [0u8; 64];
    let first = publish(2, 7, false, b"once");
    let (event, len) = s.handle(t(5), first, &mut out).unwrap();
    assert!(matches!(event, Event::Message(m) if m.payload == b"once"));
    assert_eq!(&out[..len], ack(PUBREC, 7));
    assert_eq!(s.awaiting_release(), 1);
    // The broker did not see our PUBREC and sends it again, DUP set: acknowledged, not delivered.
    let again = publish(2, 7, true, b"once");
    let (event, len) = s.handle(t(6), again, &mut out).unwrap();
    assert_eq!(event, Event::Duplicate { pid: 7 });
    assert_eq!(&out[..len], ack(PUBREC, 7));
    let (event, len) = s.handle(t(7), ack(PUBREL, 7), &mut out).unwrap();
    assert_eq!(event, Event::Released { pid: 7 });
    assert_eq!(&out[..len], ack(PUBCOMP, 7));
    assert_eq!(s.awaiting_release(), 0);
    // After the release the id is free: a new message with it is a new message.
    let (event, _) = s
        .handle(t(8), publish(2, 7, false, b"new"), &mut out)
        .unwrap();
    assert!(matches!(event, Event::Message(m) if m.payload == b"new"));
}

#[test]
fn qos2_dedup_survives_a_resumed_session() {
    let mut options = ConnectOptions::new("c");
    options.clean_session = false;
    let mut s = connected(&options);
    let mut out = [0u8; 64];
    s.handle(t(5), publish(2, 3, false, b"m"), &mut out)
        .unwrap();
    s.fail(Error::ConnectionClosed);
    s.connect(t(10), &options, &mut out).unwrap();
    s.handle(t(11), &CONNACK_RESUMED, &mut out).unwrap();
    let (event, _) = s
        .handle(t(12), publish(2, 3, true, b"m"), &mut out)
        .unwrap();
    assert_eq!(event, Event::Duplicate { pid: 3 });
    // Without the session the broker will not send PUBREL: the record is dropped.
    s.fail(Error::ConnectionClosed);
    s.connect(t(20), &options, &mut out).unwrap();
    s.handle(t(21), &CONNACK_OK, &mut out).unwrap();
    assert_eq!(s.awaiting_release(), 0);
}

#[test]
fn resumed_session_resends_publish_with_dup_and_pubrel() {
    let mut options = ConnectOptions::new("c");
    options.clean_session = false;
    let mut s = connected(&options);
    let mut out = [0u8; 64];
    let (_, p1) = s
        .publish(t(1), "a/b", b"1", QoS::AtLeastOnce, false, &mut out)
        .unwrap();
    let (_, p2) = s
        .publish(t(2), "a/b", b"2", QoS::ExactlyOnce, false, &mut out)
        .unwrap();
    let (_, p3) = s
        .publish(t(3), "a/b", b"3", QoS::ExactlyOnce, false, &mut out)
        .unwrap();
    let (p1, p2, p3) = (p1.unwrap(), p2.unwrap(), p3.unwrap());
    s.handle(t(4), ack(PUBREC, p2), &mut out).unwrap();
    assert_eq!(s.fail(Error::ConnectionClosed), Error::ConnectionClosed);
    // Sticky: the same error for every call until the next connect.
    assert_eq!(
        s.publish(t(5), "a/b", b"x", QoS::AtMostOnce, false, &mut out),
        Err(Error::ConnectionClosed)
    );
    assert_eq!(transmit(&mut s, t(5)), Err(Error::ConnectionClosed));
    assert_eq!(s.in_flight(), 3);

    s.connect(t(100), &options, &mut out).unwrap();
    assert_eq!(transmit(&mut s, t(100)), Ok(None), "nothing before CONNACK");
    let (event, _) = s.handle(t(101), &CONNACK_RESUMED, &mut out).unwrap();
    assert_eq!(
        event,
        Event::Connected {
            session_present: true,
            resending: 3
        }
    );
    let sent = transmit(&mut s, t(102)).unwrap().unwrap();
    assert_eq!(sent, &[0x3a, 8, 0, 3, b'a', b'/', b'b', 0, p1 as u8, b'1']);
    let sent = transmit(&mut s, t(102)).unwrap().unwrap();
    assert_eq!(sent, ack(PUBREL, p2));
    let sent = transmit(&mut s, t(102)).unwrap().unwrap();
    assert_eq!(sent, &[0x3c, 8, 0, 3, b'a', b'/', b'b', 0, p3 as u8, b'3']);
    assert_eq!(transmit(&mut s, t(103)), Ok(None));
    s.handle(t(104), ack(PUBACK, p1), &mut out).unwrap();
    s.handle(t(105), ack(PUBCOMP, p2), &mut out).unwrap();
    s.handle(t(106), ack(PUBREC, p3), &mut out).unwrap();
    s.handle(t(107), ack(PUBCOMP, p3), &mut out).unwrap();
    assert_eq!(s.in_flight(), 0);
}

#[test]
fn clean_session_drops_in_flight_state() {
    let mut s = connected(&ConnectOptions::new("c"));
    let mut out = [0u8; 64];
    s.publish(t(1), "a/b", b"1", QoS::AtLeastOnce, false, &mut out)
        .unwrap();
    s.fail(Error::ConnectionClosed);
    s.connect(t(2), &ConnectOptions::new("c"), &mut out)
        .unwrap();
    assert_eq!(s.in_flight(), 0);
    // session_present = 1 answering a clean session is a violation.
    let result = s.handle(t(3), &CONNACK_RESUMED, &mut out);
    assert_eq!(
        result,
        Err(Error::Violation(Violation::SessionPresentOnCleanSession))
    );
}

#[test]
fn keep_alive_pings_when_idle_and_declares_a_silent_broker_dead() {
    let mut options = ConnectOptions::new("c");
    options.keep_alive_secs = 10;
    options.response_timeout_ms = 3_000;
    let mut s = connected(&options);
    let mut out = [0u8; 8];
    assert_eq!(s.poll_at(), Some(t(10_000)));
    assert_eq!(transmit(&mut s, t(9_999)), Ok(None));
    // Sending alone does not put the PINGREQ off: nothing has come back since CONNACK (t=1),
    // and a client that only publishes QoS 0 must still notice a dead link.
    s.publish(t(5_000), "a/b", b"", QoS::AtMostOnce, false, &mut out)
        .unwrap();
    assert_eq!(transmit(&mut s, t(10_000)), Ok(None));
    assert_eq!(s.poll_at(), Some(t(10_001)));
    let sent = transmit(&mut s, t(10_001)).unwrap().unwrap();
    assert_eq!(sent, &[0xc0, 0x00]);
    assert_eq!(s.poll_at(), Some(t(13_001)));
    assert_eq!(
        transmit(&mut s, t(11_000)),
        Ok(None),
        "one PINGREQ at a time"
    );
    // Traffic both ways puts it off: the next is due a period after the quieter direction.
    let (event, _) = s.handle(t(11_500), &[0xd0, 0x00], &mut out).unwrap();
    assert_eq!(event, Event::Pong);
    assert_eq!(s.poll_at(), Some(t(20_001)));
    let sent = transmit(&mut s, t(20_001)).unwrap().unwrap();
    assert_eq!(sent, &[0xc0, 0x00]);
    assert_eq!(transmit(&mut s, t(23_000)), Ok(None));
    assert_eq!(s.check_timeouts(t(23_000)), Ok(()));
    let dead = Error::Timeout(Timeout::Pingresp { waited_ms: 3_000 });
    assert_eq!(s.check_timeouts(t(23_001)), Err(dead));
    assert!(s.broken().is_some());
    // Sticky.
    assert_eq!(transmit(&mut s, t(23_002)), Err(dead));
    assert_eq!(
        s.handle(t(23_002), &[0xd0, 0x00], &mut out).map(|_| ()),
        Err(dead)
    );
}

#[test]
fn a_silent_broker_is_dead_within_two_keep_alive_periods() {
    for keep_alive_secs in [2u16, 5, 60] {
        let mut options = ConnectOptions::new("c");
        options.keep_alive_secs = keep_alive_secs;
        options.response_timeout_ms = 120_000;
        let mut s = connected(&options);
        let period = u32::from(keep_alive_secs) * 1000;
        // The last packet from the broker: CONNACK at t=1. The client keeps publishing.
        let mut now = 1;
        let dead = loop {
            now += 250;
            s.publish(t(now), "a/b", b"", QoS::AtMostOnce, false, &mut [0u8; 16])
                .unwrap();
            let _ = transmit(&mut s, t(now));
            if let Err(e) = s.check_timeouts(t(now)) {
                break (now, e);
            }
        };
        let waited_ms = period;
        assert_eq!(dead.1, Error::Timeout(Timeout::Pingresp { waited_ms }));
        assert!(dead.0 - 1 <= 2 * period, "dead after {} ms", dead.0 - 1);
    }
}

#[test]
fn keep_alive_across_clock_wrap() {
    let mut options = ConnectOptions::new("c");
    options.keep_alive_secs = 1;
    let mut s = session::<4, 256, 32>();
    let mut out = [0u8; 64];
    let start = t(u32::MAX - 500);
    s.connect(start, &options, &mut out).unwrap();
    s.handle(start, &CONNACK_OK, &mut out).unwrap();
    assert_eq!(transmit(&mut s, start.add_millis(999)), Ok(None));
    assert_eq!(
        transmit(&mut s, start.add_millis(1000)),
        Ok(Some(std::vec![0xc0, 0x00]))
    );
}

#[test]
fn missing_connack_times_out() {
    let mut s = session::<4, 256, 32>();
    let mut out = [0u8; 64];
    let mut options = ConnectOptions::new("c");
    options.response_timeout_ms = 500;
    s.connect(t(0), &options, &mut out).unwrap();
    assert_eq!(s.poll_at(), Some(t(500)));
    assert_eq!(transmit(&mut s, t(499)), Ok(None));
    assert_eq!(s.check_timeouts(t(499)), Ok(()));
    assert_eq!(
        s.check_timeouts(t(500)),
        Err(Error::Timeout(Timeout::Connack { waited_ms: 500 }))
    );
}

#[test]
fn window_and_store_limits_refuse_without_sending() {
    let mut s = session::<2, 28, 32>();
    let mut out = [0u8; 64];
    s.connect(t(0), &ConnectOptions::new("c"), &mut out)
        .unwrap();
    s.handle(t(0), &CONNACK_OK, &mut out).unwrap();
    s.publish(t(1), "a/b", b"12345678", QoS::AtLeastOnce, false, &mut out)
        .unwrap();
    assert_eq!(
        s.publish(t(1), "a/b", b"123456789", QoS::AtLeastOnce, false, &mut out),
        Err(Error::StoreFull {
            needed: 18,
            free: 11
        })
    );
    s.publish(t(1), "a/b", b"1", QoS::AtLeastOnce, false, &mut out)
        .unwrap();
    assert_eq!(
        s.publish(t(1), "a/b", b"1", QoS::ExactlyOnce, false, &mut out),
        Err(Error::WindowFull { slots: 2 })
    );
    // QoS 0 needs no slot.
    assert!(s
        .publish(t(1), "a/b", b"1", QoS::AtMostOnce, false, &mut out)
        .is_ok());
    assert!(s.is_connected(), "limits are not fatal");
}

#[test]
fn packet_ids_never_collide_and_skip_zero() {
    let mut s = connected(&ConnectOptions::new("c"));
    let mut out = [0u8; 64];
    s.next_pid = u16::MAX;
    let (_, a) = s
        .publish(t(1), "a/b", b"", QoS::AtLeastOnce, false, &mut out)
        .unwrap();
    let (_, b) = s
        .publish(t(1), "a/b", b"", QoS::AtLeastOnce, false, &mut out)
        .unwrap();
    assert_eq!((a, b), (Some(u16::MAX), Some(1)));
    // Wrap all the way round: ids 65535 and 1 are still in flight and are skipped.
    s.next_pid = u16::MAX;
    let (_, c) = s
        .subscribe(t(1), &[("x", QoS::AtMostOnce)], &mut out)
        .unwrap();
    assert_eq!(c, 2);
}

#[test]
fn subscribe_reports_each_filter_and_refusals() {
    let mut s = connected(&ConnectOptions::new("c"));
    let mut out = [0u8; 64];
    let (_, pid) = s
        .subscribe(
            t(1),
            &[("a/#", QoS::ExactlyOnce), ("$SYS/x", QoS::AtLeastOnce)],
            &mut out,
        )
        .unwrap();
    let suback = [0x90, 0x04, 0, pid as u8, 0x02, 0x80];
    let (event, _) = s.handle(t(2), &suback, &mut out).unwrap();
    let Event::Subscribed { pid: got, granted } = event else {
        panic!("{event:?}")
    };
    assert_eq!(got, pid);
    let granted: std::vec::Vec<_> = granted.iter().collect();
    assert_eq!(granted, [Granted::Qos(QoS::ExactlyOnce), Granted::Refused]);
    let (_, pid) = s.unsubscribe(t(3), &["a/#"], &mut out).unwrap();
    let (event, _) = s
        .handle(t(4), leak(&[0xb0, 0x02, 0, pid as u8]), &mut out)
        .unwrap();
    assert_eq!(event, Event::Unsubscribed { pid });
}

#[test]
fn suback_with_wrong_count_is_a_violation() {
    let mut s = connected(&ConnectOptions::new("c"));
    let mut out = [0u8; 64];
    let (_, pid) = s
        .subscribe(t(1), &[("a", QoS::AtMostOnce)], &mut out)
        .unwrap();
    let result = s.handle(
        t(2),
        leak(&[0x90, 0x04, 0, pid as u8, 0x00, 0x00]),
        &mut out,
    );
    assert_eq!(
        result,
        Err(Error::Violation(Violation::SubackCount {
            pid,
            filters: 1,
            answers: 2
        }))
    );
}

#[test]
fn invalid_subscribe_costs_no_request_slot() {
    let mut s = session::<1, 16, 32>();
    let mut out = [0u8; 64];
    s.connect(t(0), &ConnectOptions::new("c"), &mut out)
        .unwrap();
    s.handle(t(0), &CONNACK_OK, &mut out).unwrap();
    assert!(matches!(
        s.subscribe(t(1), &[("a/#/b", QoS::AtMostOnce)], &mut out),
        Err(Error::Encode(_))
    ));
    assert!(s
        .subscribe(t(1), &[("a/#", QoS::AtMostOnce)], &mut out)
        .is_ok());
}

#[test]
fn stray_acknowledgements_are_warnings_and_a_stray_pubrec_is_released() {
    for (kind, ack_kind, reply) in [
        (PUBACK, Ack::Puback, None),
        (PUBREC, Ack::Pubrec, Some(ack(PUBREL, 4242))),
        (PUBCOMP, Ack::Pubcomp, None),
    ] {
        let mut s = connected(&ConnectOptions::new("c"));
        let mut out = [0u8; 64];
        let (event, len) = s.handle(t(1), ack(kind, 4242), &mut out).unwrap();
        assert_eq!(
            event,
            Event::StrayAck {
                ack: ack_kind,
                pid: 4242
            }
        );
        assert_eq!(
            reply.map(<[u8]>::to_vec),
            (len > 0).then(|| out[..len].to_vec())
        );
        assert!(s.is_connected(), "kind {kind:#x}");
    }
    // A SUBACK for nothing is still a violation, and so is a PUBACK for a QoS 2 message.
    let mut s = connected(&ConnectOptions::new("c"));
    let mut out = [0u8; 64];
    let expected = Err(Error::Violation(Violation::UnknownPacketId { pid: 42 }));
    assert_eq!(
        s.handle(t(1), ack(0xb0, 42), &mut out).map(|_| ()),
        expected
    );
    assert_eq!(transmit(&mut s, t(2)), expected.map(|()| None));
    let mut s = connected(&ConnectOptions::new("c"));
    let (_, pid) = s
        .publish(t(1), "a/b", b"", QoS::ExactlyOnce, false, &mut out)
        .unwrap();
    assert!(s.handle(t(2), ack(PUBACK, pid.unwrap()), &mut out).is_err());
}

#[test]
fn pubrel_for_an_unknown_id_is_completed() {
    let mut s = connected(&ConnectOptions::new("c"));
    let mut out = [0u8; 64];
    let (event, len) = s.handle(t(1), ack(PUBREL, 99), &mut out).unwrap();
    assert_eq!(event, Event::Released { pid: 99 });
    assert_eq!(&out[..len], ack(PUBCOMP, 99));
}

#[test]
fn bad_input_is_an_error_and_the_session_stays_consistent() {
    let mut out = [0u8; 64];
    // Before CONNACK, anything else is a violation.
    let mut s = session::<4, 256, 32>();
    s.connect(t(0), &ConnectOptions::new("c"), &mut out)
        .unwrap();
    assert_eq!(
        s.handle(t(1), &[0xd0, 0x00], &mut out),
        Err(Error::Violation(Violation::BeforeConnack))
    );
    // A second CONNACK.
    let mut s = connected(&ConnectOptions::new("c"));
    assert_eq!(
        s.handle(t(1), &CONNACK_OK, &mut out),
        Err(Error::Violation(Violation::UnexpectedConnack))
    );
    // Malformed bytes and forbidden types are decode errors that break the connection.
    let cases: [&[u8]; 5] = [
        &[0x40, 0x01, 0x00],                   // PUBACK too short
        &[0x10, 0x00],                         // CONNECT from a server
        &[0x32, 0x05, 0x00, 0x01, b'a', 0, 0], // packet id 0
        &[0x36, 0x03, 0x00, 0x01, b'a'],       // QoS 3
        &[0x30, 0x03, 0x00, 0x02, 0xff],       // topic shorter than its length
    ];
    for case in cases {
        let mut s = connected(&ConnectOptions::new("c"));
        let result = s.handle(t(1), case, &mut out);
        assert!(
            matches!(result, Err(Error::Decode(_))),
            "{case:?}: {result:?}"
        );
        assert!(s.broken().is_some());
        // The in-flight table is intact for the next connection.
        s.connect(t(2), &ConnectOptions::new("c"), &mut out)
            .unwrap();
        s.handle(t(3), &CONNACK_OK, &mut out).unwrap();
        assert!(s.is_connected());
    }
    let mut s = connected(&ConnectOptions::new("c"));
    assert!(matches!(
        s.handle(t(1), &[0x20], &mut out),
        Err(Error::Decode(DecodeError::LengthMismatch { .. }) | Error::Decode(_))
    ));
}

/// A session with room for one inbound QoS 2 message, persistent, connected at t=0 with a
/// 500 ms response timeout.
fn one_inbound_slot() -> (S, ConnectOptions<'static>) {
    let mut s = session::<1, 16, 1>();
    let mut options = ConnectOptions::new("c");
    options.clean_session = false;
    options.response_timeout_ms = 500;
    let mut out = [0u8; 64];
    s.connect(t(0), &options, &mut out).unwrap();
    s.handle(t(0), &CONNACK_OK, &mut out).unwrap();
    (s, options)
}

#[test]
fn a_qos2_message_beyond_the_limit_is_deferred_until_the_others_are_released() {
    let (mut s, options) = one_inbound_slot();
    let mut out = [0u8; 64];
    let (event, len) = s
        .handle(t(1), publish(2, 1, false, b"one"), &mut out)
        .unwrap();
    assert!(matches!(event, Event::Message(m) if m.payload == b"one"));
    assert_eq!(&out[..len], ack(PUBREC, 1), "PUBREC 1");
    // No room for 2: neither delivered nor acknowledged, but the connection goes on.
    assert_eq!(
        s.handle(t(2), publish(2, 2, false, b"two"), &mut out),
        Ok((Event::Deferred { pid: 2 }, 0))
    );
    assert!(s.is_connected());
    assert_eq!(s.check_timeouts(t(3)), Ok(()), "1 still awaits PUBREL");
    assert_eq!(s.poll_at(), Some(t(502)), "ends by the response timeout");
    // The broker's PUBREL for 1 (sent when our PUBREC reached it) frees the room.
    let (event, len) = s.handle(t(4), ack(PUBREL, 1), &mut out).unwrap();
    assert_eq!(event, Event::Released { pid: 1 });
    assert_eq!(&out[..len], ack(PUBCOMP, 1), "PUBCOMP 1");
    // Now the connection ends, so that the broker sends 2 again.
    assert_eq!(s.poll_at(), Some(t(2)), "due at once");
    let ended = Error::InboundQos2Full {
        max: 1,
        deferred: 1,
    };
    assert_eq!(s.check_timeouts(t(5)), Err(ended));
    assert_eq!(s.broken(), Some(&ended));
    // The session resumes and the broker sends 2 again (DUP): delivered once.
    s.connect(t(6), &options, &mut out).unwrap();
    s.handle(t(6), &CONNACK_RESUMED, &mut out).unwrap();
    assert_eq!(
        s.check_timeouts(t(7)),
        Ok(()),
        "a new connection defers nothing"
    );
    let (event, len) = s
        .handle(t(7), publish(2, 2, true, b"two"), &mut out)
        .unwrap();
    assert!(matches!(event, Event::Message(m) if m.payload == b"two" && m.dup));
    assert_eq!(&out[..len], ack(PUBREC, 2), "PUBREC 2");
}

#[test]
fn after_one_deferral_later_messages_wait_too_so_they_stay_in_order() {
    let (mut s, _) = one_inbound_slot();
    let mut out = [0u8; 64];
    s.handle(t(1), publish(2, 1, false, b"one"), &mut out)
        .unwrap();
    assert_eq!(
        s.handle(t(2), publish(2, 2, false, b"two"), &mut out),
        Ok((Event::Deferred { pid: 2 }, 0))
    );
    s.handle(t(3), ack(PUBREL, 1), &mut out).unwrap();
    // There is room again, but 3 must not overtake 2.
    assert_eq!(
        s.handle(t(4), publish(2, 3, false, b"three"), &mut out),
        Ok((Event::Deferred { pid: 3 }, 0))
    );
    // QoS 0 and 1 are other streams: still delivered.
    let (event, len) = s
        .handle(t(4), publish(1, 4, false, b"four"), &mut out)
        .unwrap();
    assert!(matches!(event, Event::Message(m) if m.payload == b"four"));
    assert_eq!(&out[..len], ack(PUBACK, 4));
    assert_eq!(
        s.check_timeouts(t(5)),
        Err(Error::InboundQos2Full {
            max: 1,
            deferred: 2
        })
    );
}

#[test]
fn a_deferral_does_not_hide_an_earlier_keep_alive() {
    let mut s = session::<1, 16, 1>();
    let mut options = ConnectOptions::new("c");
    options.clean_session = false;
    options.keep_alive_secs = 1;
    options.response_timeout_ms = 5_000;
    let mut out = [0u8; 64];
    s.connect(t(0), &options, &mut out).unwrap();
    s.handle(t(0), &CONNACK_OK, &mut out).unwrap();
    s.handle(t(1), publish(2, 1, false, b"one"), &mut out)
        .unwrap();
    s.handle(t(2), publish(2, 2, false, b"two"), &mut out)
        .unwrap();
    // The PUBREC at t=1 was the last thing sent: PINGREQ is due at 1,001, before the
    // deferral's deadline at 5,002.
    assert_eq!(s.poll_at(), Some(t(1_001)));
    assert_eq!(
        transmit(&mut s, t(1_001)),
        Ok(Some(std::vec![0xc0, 0x00])),
        "PINGREQ"
    );
    assert_eq!(
        s.poll_at(),
        Some(t(2_001)),
        "PINGRESP is awaited one keep-alive period at most, before the deferral's deadline"
    );
}

#[test]
fn a_broker_that_never_releases_ends_the_deferring_connection_at_the_response_timeout() {
    let (mut s, _) = one_inbound_slot();
    let mut out = [0u8; 64];
    s.handle(t(1), publish(2, 1, false, b"one"), &mut out)
        .unwrap();
    s.handle(t(10), publish(2, 2, false, b"two"), &mut out)
        .unwrap();
    assert_eq!(s.check_timeouts(t(509)), Ok(()));
    assert_eq!(
        s.check_timeouts(t(510)),
        Err(Error::InboundQos2Full {
            max: 1,
            deferred: 1
        })
    );
    // 1 is still remembered: when the broker sends it again it is not delivered twice.
    assert_eq!(s.awaiting_release(), 1);
}

#[test]
fn disconnect_goes_idle_and_keeps_in_flight() {
    let mut options = ConnectOptions::new("c");
    options.clean_session = false;
    let mut s = connected(&options);
    let mut out = [0u8; 64];
    s.publish(t(1), "a/b", b"", QoS::AtLeastOnce, false, &mut out)
        .unwrap();
    let len = s.disconnect(&mut out).unwrap();
    assert_eq!(&out[..len], &[0xe0, 0x00]);
    assert!(!s.is_connected());
    assert_eq!(s.poll_at(), None);
    assert_eq!(s.in_flight(), 1);
}
