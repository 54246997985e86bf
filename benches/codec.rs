//! Encode and decode of MQTT packets through this crate's `packet` API, each next to the same
//! work done with plain `mqttrs` in the same run.
//!
//! Every criterion group holds two functions, `ours` and `mqttrs`, over the same input and the
//! same output buffer, so criterion reports them side by side and `scripts/bench.sh` can divide
//! one by the other (`docs/performance.md`). Before a group is measured, both sides are run
//! once and their results compared, so a group never compares two different pieces of work.
//!
//! What is compared, like with like:
//! - Encode CONNECT, PUBLISH (QoS 1; 16 B, 1 KiB and 64 KiB payloads), SUBSCRIBE and PUBACK.
//!   `ours` starts from the same borrowed fields as `mqttrs` and additionally checks them
//!   (topic name, string lengths, U+0000, packet ids) and the buffer size; CONNECT, PUBLISH
//!   and PUBACK are then written by `mqttrs::encode_slice`, SUBSCRIBE by our own writer.
//!   `mqttrs`'s SUBSCRIBE holds owned `heapless` strings: its `mqttrs` function encodes a
//!   packet built before the loop (its best case), and `mqttrs_build` also builds the packet
//!   from the same `&str` filters inside the loop, as a caller holding `&str` has to.
//! - Decode PUBLISH (same three payloads) and PUBACK: packets a server sends, which both
//!   decoders accept. `ours` also validates the topic name, flags and packet id. Our decoder
//!   refuses CONNECT and SUBSCRIBE (a server never sends them) while `mqttrs` decodes both
//!   directions, so those two are compared on encode only.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Bencher, BenchmarkId, Criterion, Throughput};
use embedded_mqtts::packet::{self, Ack, Connect, Inbound, Publish, QoS};
use embedded_mqtts::topic;
use mqttrs::{Packet, Pid, QosPid, SubscribeTopic};

/// A realistic topic name and filters for a sensor.
const TOPIC: &str = "sensors/42/temperature";
const FILTERS: [(&str, QoS); 2] = [
    ("sensors/42/cmd", QoS::AtLeastOnce),
    ("fleet/+/config/#", QoS::ExactlyOnce),
];
const PAYLOAD_SIZES: [usize; 3] = [16, 1024, 64 * 1024];
const PID: u16 = 4242;
/// Room for the largest packet here (64 KiB payload plus headers).
const OUT_LEN: usize = 70 * 1024;

/// Times `routine`, keeping its result alive with `std::hint::black_box` on a reference.
///
/// The result is not handed back to criterion: criterion's `black_box` without its nightly
/// feature is a volatile read of the whole value, which costs time in proportion to the size of
/// the result type, and `mqttrs`'s `Packet` is over a kilobyte without `std` (it holds five
/// 256-byte SUBSCRIBE filters) while our `Inbound` is a few dozen bytes.
fn time<O>(b: &mut Bencher<'_>, mut routine: impl FnMut() -> O) {
    b.iter(|| {
        let result = routine();
        black_box(&result);
    })
}

fn mqttrs_pid() -> Pid {
    Pid::try_from(PID).expect("non-zero packet id")
}

fn our_publish(payload: &[u8]) -> Publish<'_> {
    Publish {
        dup: false,
        qos: QoS::AtLeastOnce,
        retain: false,
        pid: Some(PID),
        topic: TOPIC,
        payload,
    }
}

fn mqttrs_publish(payload: &[u8]) -> Packet<'_> {
    Packet::Publish(mqttrs::Publish {
        dup: false,
        qospid: QosPid::AtLeastOnce(mqttrs_pid()),
        retain: false,
        topic_name: TOPIC,
        payload,
    })
}

fn mqttrs_subscribe(filters: &[(&str, QoS)]) -> Packet<'static> {
    let topics = filters
        .iter()
        .map(|&(filter, qos)| SubscribeTopic {
            topic_path: filter.into(),
            qos: match qos {
                QoS::AtMostOnce => mqttrs::QoS::AtMostOnce,
                QoS::AtLeastOnce => mqttrs::QoS::AtLeastOnce,
                QoS::ExactlyOnce => mqttrs::QoS::ExactlyOnce,
            },
        })
        .collect();
    Packet::Subscribe(mqttrs::Subscribe::new(mqttrs_pid(), topics))
}

fn payload(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i % 251) as u8).collect()
}

/// Runs both encoders once and checks that they wrote the same bytes.
fn assert_same_encoding(
    what: &str,
    ours: impl FnOnce(&mut [u8]) -> usize,
    theirs: impl FnOnce(&mut [u8]) -> usize,
) {
    let mut a = vec![0u8; OUT_LEN];
    let mut b = vec![0u8; OUT_LEN];
    let (a_len, b_len) = (ours(&mut a), theirs(&mut b));
    assert_eq!(a[..a_len], b[..b_len], "{what}: encoders disagree");
}

fn encode(c: &mut Criterion) {
    let mut out = vec![0u8; OUT_LEN];

    let connect = Connect {
        client_id: "bench-client-0001",
        keep_alive: 30,
        clean_session: true,
        will: None,
        username: Some("device"),
        password: Some(b"correct horse battery staple"),
    };
    let mqttrs_connect = Packet::Connect(mqttrs::Connect {
        protocol: mqttrs::Protocol::MQTT311,
        keep_alive: connect.keep_alive,
        client_id: connect.client_id,
        clean_session: connect.clean_session,
        last_will: None,
        username: connect.username,
        password: connect.password,
    });
    assert_same_encoding(
        "CONNECT",
        |o| packet::encode_connect(&connect, o).expect("CONNECT"),
        |o| mqttrs::encode_slice(&mqttrs_connect, o).expect("CONNECT"),
    );
    let mut group = c.benchmark_group("encode_connect");
    group.bench_function("ours", |b| {
        time(b, || {
            packet::encode_connect(black_box(&connect), black_box(&mut out))
        })
    });
    group.bench_function("mqttrs", |b| {
        time(b, || {
            mqttrs::encode_slice(black_box(&mqttrs_connect), black_box(&mut out))
        })
    });
    group.finish();

    let mut group = c.benchmark_group("encode_publish");
    for size in PAYLOAD_SIZES {
        let payload = payload(size);
        assert_same_encoding(
            "PUBLISH",
            |o| packet::encode_publish(&our_publish(&payload), o).expect("PUBLISH"),
            |o| mqttrs::encode_slice(&mqttrs_publish(&payload), o).expect("PUBLISH"),
        );
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(BenchmarkId::new("ours", size), |b| {
            time(b, || {
                let publish = our_publish(black_box(&payload));
                packet::encode_publish(&publish, black_box(&mut out))
            })
        });
        group.bench_function(BenchmarkId::new("mqttrs", size), |b| {
            time(b, || {
                let publish = mqttrs_publish(black_box(&payload));
                mqttrs::encode_slice(&publish, black_box(&mut out))
            })
        });
    }
    group.finish();

    let built = mqttrs_subscribe(&FILTERS);
    assert_same_encoding(
        "SUBSCRIBE",
        |o| packet::encode_subscribe(PID, &FILTERS, o).expect("SUBSCRIBE"),
        |o| mqttrs::encode_slice(&built, o).expect("SUBSCRIBE"),
    );
    let mut group = c.benchmark_group("encode_subscribe");
    group.bench_function("ours", |b| {
        time(b, || {
            packet::encode_subscribe(black_box(PID), black_box(&FILTERS), black_box(&mut out))
        })
    });
    group.bench_function("mqttrs", |b| {
        time(b, || {
            mqttrs::encode_slice(black_box(&built), black_box(&mut out))
        })
    });
    group.bench_function("mqttrs_build", |b| {
        time(b, || {
            let packet = mqttrs_subscribe(black_box(&FILTERS));
            mqttrs::encode_slice(&packet, black_box(&mut out))
        })
    });
    group.finish();

    assert_same_encoding(
        "PUBACK",
        |o| packet::encode_ack(Ack::Puback, PID, o).expect("PUBACK"),
        |o| mqttrs::encode_slice(&Packet::Puback(mqttrs_pid()), o).expect("PUBACK"),
    );
    let mut group = c.benchmark_group("encode_puback");
    group.bench_function("ours", |b| {
        time(b, || {
            packet::encode_ack(Ack::Puback, black_box(PID), black_box(&mut out))
        })
    });
    group.bench_function("mqttrs", |b| {
        time(b, || {
            let pid = Pid::try_from(black_box(PID)).map_err(|_| mqttrs::Error::InvalidPid)?;
            mqttrs::encode_slice(&Packet::Puback(pid), black_box(&mut out))
        })
    });
    group.finish();
}

fn decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode_publish");
    for size in PAYLOAD_SIZES {
        let payload = payload(size);
        let mut frame = vec![0u8; OUT_LEN];
        let len = packet::encode_publish(&our_publish(&payload), &mut frame).expect("PUBLISH");
        frame.truncate(len);
        let Ok(Inbound::Publish(ours)) = packet::decode(&frame) else {
            panic!("our decoder refused the PUBLISH");
        };
        let Ok(Some(Packet::Publish(theirs))) = mqttrs::decode_slice(&frame) else {
            panic!("mqttrs refused the PUBLISH");
        };
        assert_eq!(
            (ours.topic, ours.payload, ours.pid),
            (
                theirs.topic_name,
                theirs.payload,
                theirs.qospid.pid().map(Pid::get)
            )
        );
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(BenchmarkId::new("ours", size), |b| {
            time(b, || packet::decode(black_box(&frame)))
        });
        group.bench_function(BenchmarkId::new("mqttrs", size), |b| {
            time(b, || mqttrs::decode_slice(black_box(&frame)))
        });
    }
    group.finish();

    let frame = [0x40, 0x02, (PID >> 8) as u8, PID as u8];
    assert_eq!(packet::decode(&frame), Ok(Inbound::Puback(PID)));
    assert_eq!(
        mqttrs::decode_slice(&frame),
        Ok(Some(Packet::Puback(mqttrs_pid())))
    );
    let mut group = c.benchmark_group("decode_puback");
    group.bench_function("ours", |b| time(b, || packet::decode(black_box(&frame))));
    group.bench_function("mqttrs", |b| {
        time(b, || mqttrs::decode_slice(black_box(&frame)))
    });
    group.finish();
}

/// The topic checks our encoder and decoder make and `mqttrs` does not, timed alone, to set
/// against the difference between the two columns.
fn topic_checks(c: &mut Criterion) {
    let mut group = c.benchmark_group("topic_checks");
    group.bench_function("validate_name", |b| {
        time(b, || topic::validate_name(black_box(TOPIC)))
    });
    group.bench_function("validate_filter_x2", |b| {
        time(b, || {
            FILTERS
                .iter()
                .try_for_each(|&(filter, _)| topic::validate_filter(black_box(filter)))
        })
    });
    group.finish();
}

criterion_group!(benches, encode, decode, topic_checks);
criterion_main!(benches);
