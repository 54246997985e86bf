//! Messages per second through the sans-IO [`Session`]: no transport, no TLS, no clock; the
//! broker's side is scripted bytes, as in the session's unit tests.
//!
//! One iteration is one message (`Throughput::Elements(1)`), through every packet its QoS
//! flow needs:
//! - `publish_qos0`: encode one PUBLISH (nothing is kept).
//! - `publish_qos1_round_trip`: PUBLISH (kept in the in-flight table), then the broker's
//!   PUBACK is handled and the message leaves the table.
//! - `publish_qos2_round_trip`: PUBLISH, then PUBREC (the session replies PUBREL), then
//!   PUBCOMP.
//! - `inbound_qos1`: a broker PUBLISH is handled: a `Message` and the PUBACK reply.
//! - `inbound_qos2`: a broker PUBLISH (`Message` and PUBREC), then its PUBREL (PUBCOMP).
//!
//! Every flow is run once before it is measured, and checked: the bytes the session wrote, the
//! payload delivered, and nothing left in flight or awaiting release (before and after). Payloads are 16 B on
//! a 22-byte topic; the frames handed to [`Session::handle`] are whole packets, as a client
//! finds them with `packet::scan` (not measured here).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use embedded_mqtts::packet::{self, QoS};
use embedded_mqtts::session::DEFAULT_INBOUND;
use embedded_mqtts::{ConnectOptions, Event, Instant, Session, Slot};

/// A session over leaked buffers (one per flow).
type BenchSession = Session<'static>;
/// Messages in flight at once.
const WINDOW: usize = 16;
/// Bytes to keep them for resending.
const STORE: usize = 8192;

const TOPIC: &str = "sensors/42/temperature";
const PAYLOAD: [u8; 16] = *b"21.5C humidity42";
const PID: u16 = 7;
const PUBACK: u8 = 0x40;
const PUBREC: u8 = 0x50;
const PUBREL: u8 = 0x62;
const PUBCOMP: u8 = 0x70;

fn now() -> Instant {
    Instant::from_millis(1)
}

/// An acknowledgement packet of type byte `kind` for `pid`.
fn ack(kind: u8, pid: u16) -> [u8; 4] {
    let [hi, lo] = pid.to_be_bytes();
    [kind, 0x02, hi, lo]
}

/// A session past CONNECT and an accepting CONNACK.
fn connected() -> BenchSession {
    let mut session = Session::new(
        Box::leak(Box::new([Slot::EMPTY; WINDOW])),
        Box::leak(Box::new([0; STORE])),
        Box::leak(Box::new([0; DEFAULT_INBOUND])),
    );
    let mut out = [0u8; 64];
    session
        .connect(
            Instant::from_millis(0),
            &ConnectOptions::new("bench"),
            &mut out,
        )
        .expect("CONNECT");
    let (event, _) = session
        .handle(now(), &[0x20, 0x02, 0x00, 0x00], &mut out)
        .expect("CONNACK");
    assert!(matches!(event, Event::Connected { .. }), "{event:?}");
    session
}

/// The broker's PUBLISH of [`PAYLOAD`] on [`TOPIC`] at `qos`, with [`PID`].
fn broker_publish(qos: QoS) -> Vec<u8> {
    let publish = packet::Publish {
        dup: false,
        qos,
        retain: false,
        pid: Some(PID),
        topic: TOPIC,
        payload: &PAYLOAD,
    };
    let mut frame = vec![0u8; 128];
    let len = packet::encode_publish(&publish, &mut frame).expect("PUBLISH");
    frame.truncate(len);
    frame
}

/// One message's way through the session.
#[derive(Clone, Copy, Debug)]
enum Flow {
    /// We publish at this QoS and the broker acknowledges.
    Publish(QoS),
    /// The broker delivers at this QoS and we acknowledge.
    Deliver(QoS),
}

/// Feeds the broker's acknowledgement of type byte `kind` for `pid`; returns the length of the
/// session's reply.
fn handle_ack(session: &mut BenchSession, kind: u8, pid: u16, out: &mut [u8]) -> usize {
    let frame = ack(kind, pid);
    let (event, len) = session
        .handle(now(), black_box(&frame), out)
        .expect("acknowledgement");
    black_box(event);
    len
}

/// Publishes at `qos` and feeds the broker's answers; returns the bytes the session wrote.
fn publish_round_trip(session: &mut BenchSession, qos: QoS, out: &mut [u8]) -> usize {
    let (sent, pid) = session
        .publish(now(), TOPIC, black_box(&PAYLOAD), qos, false, out)
        .expect("PUBLISH");
    let Some(pid) = pid else {
        return sent;
    };
    let mut replied = 0;
    let answers = match qos {
        QoS::ExactlyOnce => [Some(PUBREC), Some(PUBCOMP)],
        _ => [Some(PUBACK), None],
    };
    for kind in answers.into_iter().flatten() {
        replied += handle_ack(session, kind, pid, out);
    }
    sent + replied
}

/// Feeds the broker's PUBLISH `frame` at `qos` (and PUBREL at QoS 2); returns the bytes the
/// session replied and the payload length delivered.
fn deliver(session: &mut BenchSession, frame: &[u8], qos: QoS, out: &mut [u8]) -> (usize, usize) {
    let (event, mut replied) = session
        .handle(now(), black_box(frame), out)
        .expect("PUBLISH");
    let Event::Message(message) = event else {
        panic!("expected a message, got {event:?}");
    };
    let delivered = black_box(message).payload.len();
    if qos == QoS::ExactlyOnce {
        replied += handle_ack(session, PUBREL, PID, out);
    }
    (replied, delivered)
}

/// Runs one message through `flow`; returns the bytes the session wrote and the payload
/// bytes it delivered. `frame` is the broker's PUBLISH for [`Flow::Deliver`].
fn run(session: &mut BenchSession, flow: Flow, frame: &[u8], out: &mut [u8]) -> (usize, usize) {
    match flow {
        Flow::Publish(qos) => (publish_round_trip(session, qos, out), 0),
        Flow::Deliver(qos) => deliver(session, frame, qos, out),
    }
}

fn flows(c: &mut Criterion) {
    let mut group = c.benchmark_group("session");
    group.throughput(Throughput::Elements(1));
    let mut out = [0u8; 128];
    // Bytes the session writes for one message: PUBLISH is 2 + 2 + 22 (+ 2 pid) + 16 bytes,
    // an acknowledgement 4. And payload bytes it delivers.
    let flows = [
        ("publish_qos0", Flow::Publish(QoS::AtMostOnce), (42, 0)),
        (
            "publish_qos1_round_trip",
            Flow::Publish(QoS::AtLeastOnce),
            (44, 0),
        ),
        (
            "publish_qos2_round_trip",
            Flow::Publish(QoS::ExactlyOnce),
            (48, 0),
        ),
        ("inbound_qos1", Flow::Deliver(QoS::AtLeastOnce), (4, 16)),
        ("inbound_qos2", Flow::Deliver(QoS::ExactlyOnce), (8, 16)),
    ];
    for (name, flow, expected) in flows {
        let mut session = connected();
        let frame = match flow {
            Flow::Deliver(qos) => broker_publish(qos),
            Flow::Publish(_) => Vec::new(),
        };
        let check = |session: &BenchSession| {
            assert_eq!(session.in_flight(), 0, "{name} left a message in flight");
            assert_eq!(
                session.awaiting_release(),
                0,
                "{name} left a message unreleased"
            );
        };
        assert_eq!(
            run(&mut session, flow, &frame, &mut out),
            expected,
            "{name}"
        );
        check(&session);
        group.bench_function(name, |b| {
            b.iter(|| run(&mut session, flow, &frame, &mut out))
        });
        check(&session);
    }
    group.finish();
}

criterion_group!(benches, flows);
criterion_main!(benches);
