//! The blocking client against a real Mosquitto through broken links: a proxy that cuts,
//! resets, stalls and trickles the TCP stream, and a broker that restarts mid-stream. The
//! client must reconnect with its persistent session and lose nothing: QoS 1 messages arrive
//! at least once, QoS 2 messages exactly once.
//!
//! Scenarios (each prints its counts; run with `--nocapture` to see them):
//! - 1,000 QoS 1 and 1,000 QoS 2 messages through a proxy that cuts or resets every
//!   connection at a random point (seeded): every message arrives, QoS 2 exactly once.
//! - Mosquitto restarted twice mid-stream (persistence on): publisher and subscriber both
//!   resume their sessions, QoS 1 at least once, QoS 2 exactly once.
//! - CONNECT or CONNACK cut, reset or stalled: a clean, sticky, fatal error; the next attempt
//!   succeeds.
//! - Everything one byte at a time, both ways: connect, subscribe, QoS 2 to itself, disconnect.
//! - A broker that stalls after CONNACK is declared dead by keep-alive within the bound, and
//!   what was published into the stall is delivered after reconnecting.
//! - A publish whose send fails is kept and re-sent, not lost (and must not be repeated).
//! - 66,000 QoS 2 messages with faults: packet ids wrap past 65,535 without a leak, and the
//!   session ends with nothing in flight.
//!
//! - Over TLS (`faults/over_tls.rs`): the handshake cut, reset or stalled at points inside the
//!   ClientHello, ServerHello and Certificate records is a clean `ConnectError::Tls` and the
//!   next handshake succeeds; 300 QoS 2 messages through records cut and reset mid-stream
//!   arrive exactly once.
//!
//! - A transport whose `write` returns `Ok(0)` in the middle of a PUBLISH (`write_zero`, both
//!   drivers, over TCP and under TLS): the transport error `WriteZero`, not a panic, and the
//!   resumed session delivers both messages exactly once.
//!
//! The client under test is the blocking one (both in `write_zero`); the proxy forwards raw
//! bytes, TLS or not.
#![cfg(feature = "std")]

#[path = "faults/over_tls.rs"]
mod over_tls;
#[path = "faults/proxy.rs"]
mod proxy;
#[macro_use]
mod support;
#[path = "faults/traffic.rs"]
mod traffic;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use embedded_io::ErrorKind;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use embedded_mqtts::error::Timeout;
use embedded_mqtts::host::TcpTransport;
use embedded_mqtts::time::StdClock;
use embedded_mqtts::{blocking, ConnectOptions, Connection, Error, Event, QoS};
use proxy::{Direction, Fault, Proxy};
use support::{Broker, BrokerConfig};
use traffic::{assert_complete, dial, publish_all, PubStorage, Subscriber};

/// Seed of the random cut points: a failure is replayed by running the test again.
const SEED: u64 = 0x5eed_fa17;

/// A random fault for one connection: a cut (3 in 4) or a reset, in a random direction,
/// after 200..5000 bytes towards the broker or 20..500 towards the client (where mostly
/// 4-byte acknowledgements flow).
fn random_fault(rng: &mut StdRng) -> Fault {
    let (direction, after) = if rng.gen_bool(0.5) {
        (Direction::ToBroker, rng.gen_range(200..5000))
    } else {
        (Direction::ToClient, rng.gen_range(20..500))
    };
    if rng.gen_ratio(3, 4) {
        Fault::Cut { direction, after }
    } else {
        Fault::Reset { direction, after }
    }
}

/// A broker for message streams. Mosquitto drops messages for a subscriber that has more
/// than `max_queued_messages` (1000) waiting, which would count as losses here: no limit.
fn stream_broker() -> BrokerConfig {
    BrokerConfig::new().line("max_queued_messages 0")
}

/// 1,000 messages at `qos` through a proxy that breaks every connection at a random point.
fn stream_through_random_cuts(qos: QoS, name: &str) {
    const COUNT: usize = 1000;
    let broker = Broker::start(stream_broker());
    let proxy = Proxy::start(broker.port());
    let mut rng = StdRng::seed_from_u64(SEED ^ qos as u64);
    proxy.plan(move |_| random_fault(&mut rng));
    let topic = format!("faults/{name}");
    let sub = Subscriber::spawn(
        broker.port(),
        &format!("sub-{name}"),
        &topic,
        QoS::ExactlyOnce,
        COUNT,
    );
    let mut storage = Box::new(PubStorage::new());
    let mut conn = Connection::new(storage.buffers());
    let started = Instant::now();
    let published = publish_all(
        &mut conn,
        proxy.port(),
        &format!("pub-{name}"),
        &topic,
        qos,
        COUNT,
        |n| sub.pace(n),
    );
    let received = sub.finish();
    let fired = proxy.fired();
    let cuts = fired
        .iter()
        .filter(|f| matches!(f.fault, Fault::Cut { .. }))
        .count();
    let counters = proxy.counters();
    println!(
        "{name}: {COUNT} messages at {qos:?} in {:?}; connections cut {cuts}, reset {} ({} with RST); \
         publisher sessions {}, failures {:?}, resent {}; received {} distinct, {} duplicates, \
         {} suppressed QoS 2 re-sends, {} corrupt, at most {} awaiting PUBREL, {} deferred",
        started.elapsed(),
        fired.len() - cuts,
        counters.resets_with_rst.load(Ordering::Relaxed),
        published.sessions,
        published.failures,
        published.resent,
        COUNT - received.missing().len(),
        received.duplicates(),
        received.suppressed,
        received.corrupt,
        received.most_awaiting_release,
        received.deferred,
    );
    assert!(fired.len() >= 10, "only {} faults fired", fired.len());
    assert!(
        published.failures.total() + 1 >= fired.len(),
        "every fault that fired broke a connection the client noticed"
    );
    assert_eq!(
        received.failures.total(),
        0,
        "the subscriber's link is direct"
    );
    assert_complete(qos, COUNT, &published, &received, &conn);
}

#[test]
fn qos1_stream_survives_random_cuts() {
    stream_through_random_cuts(QoS::AtLeastOnce, "q1");
}

#[test]
fn qos2_stream_survives_random_cuts_exactly_once() {
    stream_through_random_cuts(QoS::ExactlyOnce, "q2");
}

/// `count` messages at `qos` while Mosquitto is restarted twice (graceful stop, so its
/// persistence is saved), once a third and once two thirds of the way through. Both clients
/// are connected directly and reconnect with their persistent sessions.
fn stream_through_broker_restarts(qos: QoS, name: &str) {
    const COUNT: usize = 200;
    let mut broker = Broker::start(stream_broker().persistence());
    let port = broker.port();
    let topic = format!("faults/{name}");
    let sub = Subscriber::spawn(
        port,
        &format!("sub-{name}"),
        &topic,
        QoS::ExactlyOnce,
        COUNT,
    );
    let mut storage = Box::new(PubStorage::new());
    let mut conn = Connection::new(storage.buffers());
    let progress = AtomicUsize::new(0);
    let started = Instant::now();
    let (published, restarted_at) = std::thread::scope(|scope| {
        let restarter = scope.spawn(|| {
            let mut restarted_at = Vec::new();
            for at in [COUNT / 3, 2 * COUNT / 3] {
                let deadline = Instant::now() + Duration::from_secs(30);
                while progress.load(Ordering::Relaxed) < at && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(1));
                }
                restarted_at.push(progress.load(Ordering::Relaxed));
                broker.restart();
            }
            restarted_at
        });
        let published = publish_all(
            &mut conn,
            port,
            &format!("pub-{name}"),
            &topic,
            qos,
            COUNT,
            |n| {
                progress.store(n, Ordering::Relaxed);
                sub.pace(n);
                // A steady pace, so that both restarts land while messages are flowing.
                std::thread::sleep(Duration::from_millis(2));
            },
        );
        (published, restarter.join().expect("restarter"))
    });
    let received = sub.finish();
    println!(
        "{name}: {COUNT} messages at {qos:?}, broker restarted after message {restarted_at:?}, \
         in {:?}; publisher sessions {}, failures {:?}, resent {}; subscriber sessions {}, \
         failures {:?}; received {} distinct, {} duplicates, {} suppressed QoS 2 re-sends",
        started.elapsed(),
        published.sessions,
        published.failures,
        published.resent,
        received.sessions,
        received.failures,
        COUNT - received.missing().len(),
        received.duplicates(),
        received.suppressed,
    );
    assert!(
        restarted_at.iter().all(|&n| n < COUNT),
        "both restarts came before the last message: {restarted_at:?}"
    );
    assert!(published.sessions >= 3 && received.sessions >= 3);
    assert_complete(qos, COUNT, &published, &received, &conn);
}

#[test]
fn qos1_stream_survives_broker_restarts() {
    stream_through_broker_restarts(QoS::AtLeastOnce, "r1");
}

#[test]
fn qos2_stream_survives_broker_restarts_exactly_once() {
    stream_through_broker_restarts(QoS::ExactlyOnce, "r2");
}

/// A new blocking client over a fresh connection to `port`.
fn client<'c, 'b>(
    port: u16,
    conn: &'c mut Connection<'b>,
) -> blocking::Client<'c, 'b, TcpTransport, StdClock> {
    blocking::Client::new(dial(port), conn, StdClock::new())
}

/// Waits (up to 10 s) until `ready()` holds, checking every 10 ms; panics, saying what it
/// waited for, if it never does.
fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits (up to 10 s) until `done` has seen what it wants among the client's events;
/// panics on any error.
fn events_until<T>(
    client: &mut blocking::Client<'_, '_, T, StdClock>,
    mut done: impl FnMut(&Event<'_>) -> bool,
) where
    T: embedded_io::Read + embedded_io::Write + embedded_io::ReadReady,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        assert!(Instant::now() < deadline, "timed out waiting for events");
        if let Some(event) = client.wait_event(50).expect("client failed") {
            if done(&event) {
                return;
            }
        }
    }
}

#[test]
fn a_broken_handshake_is_a_clean_error_and_the_next_attempt_succeeds() {
    let broker = Broker::start(BrokerConfig::new());
    let proxy = Proxy::start(broker.port());
    let faults = [
        // CONNECT cut after 5 bytes, then the same with a reset.
        Fault::Cut {
            direction: Direction::ToBroker,
            after: 5,
        },
        Fault::Reset {
            direction: Direction::ToBroker,
            after: 5,
        },
        // CONNACK cut in half.
        Fault::Cut {
            direction: Direction::ToClient,
            after: 2,
        },
        // CONNECT stuck after 5 bytes: no CONNACK ever.
        Fault::Stall {
            direction: Direction::ToBroker,
            after: 5,
        },
    ];
    proxy.plan(move |n| faults.get(n).copied().unwrap_or(Fault::None));
    let mut storage = PubStorage::new();
    let mut conn = Connection::new(storage.buffers());
    let mut options = traffic::persistent("handshake");
    options.response_timeout_ms = 500;
    for fault in faults {
        let mut c = client(proxy.port(), &mut conn);
        let started = Instant::now();
        let error = c.connect(&options).expect_err("a broken handshake fails");
        let took = started.elapsed();
        println!("handshake with {fault:?}: {error} after {took:?}");
        assert!(error.is_fatal(), "{error}");
        let expected = match fault {
            Fault::Cut { .. } => Error::ConnectionClosed,
            Fault::Reset { .. } => Error::Transport(ErrorKind::ConnectionReset),
            _ => Error::Timeout(Timeout::Connack { waited_ms: 500 }),
        };
        assert_eq!(error, expected);
        if let Fault::Stall { .. } = fault {
            assert!(took >= Duration::from_millis(500) && took < Duration::from_secs(2));
        }
        // Sticky: the session says so, and every call answers the same.
        assert_eq!(c.connection().session().broken(), Some(&error));
        assert!(!c.connection().session().is_connected());
        assert_eq!(c.publish("x", b"", QoS::AtMostOnce, false), Err(error));
        assert_eq!(c.poll().map(|e| e.is_some()), Err(error));
        drop(c.into_transport());
    }
    let mut c = client(proxy.port(), &mut conn);
    let connected = c.connect(&options).expect("the next attempt succeeds");
    // The broker took the third attempt's CONNECT (only its CONNACK was cut): it kept the
    // persistent session since.
    assert!(connected.session_present);
    let pid = c
        .publish("faults/handshake", b"after", QoS::AtLeastOnce, false)
        .expect("publish")
        .expect("a packet id");
    events_until(&mut c, |e| *e == Event::Delivered { pid });
    c.disconnect().expect("DISCONNECT");
    assert_eq!(proxy.fired().len(), faults.len());
}

/// A transport that counts the reads that returned data.
struct CountingReads<T> {
    inner: T,
    reads: usize,
    bytes: usize,
}

impl<T: embedded_io::ErrorType> embedded_io::ErrorType for CountingReads<T> {
    type Error = T::Error;
}

impl<T: embedded_io::Read> embedded_io::Read for CountingReads<T> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, T::Error> {
        let n = self.inner.read(buf)?;
        self.reads += usize::from(n > 0);
        self.bytes += n;
        Ok(n)
    }
}

impl<T: embedded_io::Write> embedded_io::Write for CountingReads<T> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, T::Error> {
        self.inner.write(buf)
    }

    fn flush(&mut self) -> Result<(), T::Error> {
        self.inner.flush()
    }
}

impl<T: embedded_io::ReadReady> embedded_io::ReadReady for CountingReads<T> {
    fn read_ready(&mut self) -> Result<bool, T::Error> {
        self.inner.read_ready()
    }
}

#[test]
fn one_byte_at_a_time_both_ways() {
    let broker = Broker::start(BrokerConfig::new());
    let proxy = Proxy::start(broker.port());
    proxy.plan(|_| Fault::Trickle);
    let mut storage = PubStorage::new();
    let mut conn = Connection::new(storage.buffers());
    let transport = CountingReads {
        inner: dial(proxy.port()),
        reads: 0,
        bytes: 0,
    };
    let mut c = blocking::Client::new(transport, &mut conn, StdClock::new());
    let started = Instant::now();
    c.connect(&ConnectOptions::new("trickle")).expect("CONNECT");
    let sub = c
        .subscribe(&[("trickle/t", QoS::ExactlyOnce)])
        .expect("SUBSCRIBE");
    events_until(
        &mut c,
        |e| matches!(e, Event::Subscribed { pid, .. } if *pid == sub),
    );
    let sent = traffic::payload(7);
    let pid = c
        .publish("trickle/t", &sent, QoS::ExactlyOnce, false)
        .expect("PUBLISH")
        .expect("a packet id");
    let (mut got, mut delivered, mut released) = (None, false, false);
    events_until(&mut c, |e| {
        match e {
            Event::Message(m) => got = Some((m.topic.to_owned(), m.payload.to_vec(), m.qos)),
            Event::Delivered { pid: p } => delivered |= *p == pid,
            Event::Released { .. } => released = true,
            _ => {}
        }
        got.is_some() && delivered && released
    });
    assert_eq!(got, Some(("trickle/t".into(), sent, QoS::ExactlyOnce)));
    assert_eq!(c.connection().in_flight(), 0);
    assert_eq!(c.connection().session().awaiting_release(), 0);
    c.disconnect().expect("DISCONNECT");
    let took = started.elapsed();
    let transport = c.into_transport();
    // The DISCONNECT too goes through byte by byte: the broker logs a clean disconnect.
    wait_until("the broker logs trickle's DISCONNECT", || {
        broker.log().contains("Client trickle disconnected.")
    });
    let counters = proxy.counters();
    let to_client = counters.to_client.load(Ordering::Relaxed);
    let writes = counters.writes_to_client.load(Ordering::Relaxed);
    println!(
        "trickle: {} bytes to the broker, {to_client} to the client in {writes} writes, \
         read by the client in {} reads; took {took:?}",
        counters.to_broker.load(Ordering::Relaxed),
        transport.reads,
    );
    assert_eq!(writes, to_client, "the proxy wrote one byte at a time");
    assert_eq!(transport.bytes, to_client);
    // CONNACK, SUBACK, PUBREC, PUBLISH, PUBREL, PUBCOMP: 6 packets, 27 bytes. The client
    // must have assembled them from many more reads than packets.
    assert!(transport.reads > 12, "{} reads", transport.reads);
}

#[test]
fn a_stalled_broker_is_declared_dead_by_keep_alive() {
    let broker = Broker::start(BrokerConfig::new());
    let watcher = support::Subscriber::spawn(broker.port(), "faults/stall", 3, None);
    let proxy = Proxy::start(broker.port());
    // The first connection stalls right after the 4 bytes of CONNACK.
    proxy.plan(|n| match n {
        0 => Fault::Stall {
            direction: Direction::ToClient,
            after: 4,
        },
        _ => Fault::None,
    });
    let mut storage = PubStorage::new();
    let mut conn = Connection::new(storage.buffers());
    let mut options = traffic::persistent("stalled");
    options.keep_alive_secs = 1;
    options.response_timeout_ms = 1000;
    let mut c = client(proxy.port(), &mut conn);
    c.connect(&options).expect("CONNECT");
    // Three messages go into the stalled link.
    for i in 0..3 {
        c.publish(
            "faults/stall",
            &traffic::payload(i),
            QoS::AtLeastOnce,
            false,
        )
        .expect("PUBLISH");
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let error = loop {
        assert!(Instant::now() < deadline, "the stall went unnoticed");
        if let Err(e) = c.wait_event(50) {
            break e;
        }
    };
    let noticed = Instant::now();
    let fired = proxy.fired();
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].connection, 0);
    let stalled = fired[0].at;
    let after = noticed - stalled;
    println!("stall: client gave up after {after:?}: {error}");
    assert_eq!(error, Error::Timeout(Timeout::Pingresp { waited_ms: 1000 }));
    // PINGREQ one keep-alive after the last send, then the response timeout: about 2 s.
    assert!(after >= Duration::from_millis(1000), "{after:?}");
    assert!(after < Duration::from_millis(3500), "{after:?}");
    assert_eq!(c.connection().in_flight(), 3);
    drop(c.into_transport());

    let mut c = client(proxy.port(), &mut conn);
    let connected = c.connect(&options).expect("CONNECT again");
    assert!(connected.session_present);
    assert_eq!(connected.resending, 3);
    let mut delivered = 0;
    events_until(&mut c, |e| {
        delivered += usize::from(matches!(e, Event::Delivered { .. }));
        delivered == 3
    });
    assert_eq!(c.connection().in_flight(), 0);
    c.disconnect().expect("DISCONNECT");
    let got: Vec<_> = watcher.wait().into_iter().map(|m| m.payload).collect();
    assert_eq!(got, (0..3).map(traffic::payload).collect::<Vec<_>>());
}

#[test]
fn a_publish_whose_send_failed_is_resent_not_lost() {
    let broker = Broker::start(BrokerConfig::new());
    let watcher = support::Subscriber::spawn(broker.port(), "faults/sendfail", 2, None);
    let proxy = Proxy::start(broker.port());
    let id = "sendfail";
    // CONNECT: fixed header 2, protocol name 6, level 1, flags 1, keep-alive 2, client id.
    let connect_len = 12 + 2 + id.len();
    // Reset in the middle of the first PUBLISH, while the client is not reading.
    proxy.plan(move |n| match n {
        0 => Fault::Reset {
            direction: Direction::ToBroker,
            after: connect_len + 10,
        },
        _ => Fault::None,
    });
    let mut storage = PubStorage::new();
    let mut conn = Connection::new(storage.buffers());
    let options = traffic::persistent(id);
    let mut c = client(proxy.port(), &mut conn);
    c.connect(&options).expect("CONNECT");
    assert_eq!(
        proxy.counters().to_broker.load(Ordering::Relaxed),
        connect_len
    );
    let first = c
        .publish(
            "faults/sendfail",
            &traffic::payload(0),
            QoS::ExactlyOnce,
            false,
        )
        .expect("the first PUBLISH is written before the reset");
    assert!(first.is_some());
    // The next write must meet the reset: wait until it has reached the client's socket,
    // which an RST takes from ESTABLISHED to CLOSED, where it has no peer any more (a FIN
    // would leave it in CLOSE_WAIT, peer known). The proxy counts the reset as an RST.
    wait_until("the reset reaches the client", || {
        c.transport().stream().peer_addr().is_err()
    });
    wait_until("the proxy counts its reset", || {
        proxy.counters().resets_with_rst.load(Ordering::Relaxed) == 1
    });
    let error = c
        .publish(
            "faults/sendfail",
            &traffic::payload(1),
            QoS::ExactlyOnce,
            false,
        )
        .expect_err("writing to a reset connection fails");
    println!(
        "send failure: {error}; in flight {}",
        c.connection().in_flight()
    );
    assert!(error.is_fatal(), "{error}");
    // The session took the second message before the write failed: it is in flight, and
    // resuming the session sends it. Publishing it again would send it twice.
    assert_eq!(c.connection().in_flight(), 2);
    drop(c.into_transport());
    let mut c = client(proxy.port(), &mut conn);
    let connected = c.connect(&options).expect("CONNECT again");
    assert_eq!(connected.resending, 2);
    let mut delivered = 0;
    events_until(&mut c, |e| {
        delivered += usize::from(matches!(e, Event::Delivered { .. }));
        delivered == 2
    });
    c.disconnect().expect("DISCONNECT");
    let got: Vec<_> = watcher.wait().into_iter().map(|m| m.payload).collect();
    assert_eq!(got, vec![traffic::payload(0), traffic::payload(1)]);
}

#[test]
fn packet_ids_wrap_without_leaking_across_faults() {
    const COUNT: usize = 66_000;
    let broker = Broker::start(stream_broker());
    let proxy = Proxy::start(broker.port());
    let mut rng = StdRng::seed_from_u64(SEED);
    // Fewer, later faults than the other streams: this one is about volume.
    proxy.plan(move |_| {
        let (direction, after) = if rng.gen_bool(0.5) {
            (Direction::ToBroker, rng.gen_range(50_000..500_000))
        } else {
            (Direction::ToClient, rng.gen_range(5_000..50_000))
        };
        Fault::Cut { direction, after }
    });
    let sub = Subscriber::spawn(
        broker.port(),
        "sub-wrap",
        "faults/wrap",
        QoS::ExactlyOnce,
        COUNT,
    );
    let mut storage = Box::new(PubStorage::new());
    let mut conn = Connection::new(storage.buffers());
    let started = Instant::now();
    let published = publish_all(
        &mut conn,
        proxy.port(),
        "pub-wrap",
        "faults/wrap",
        QoS::ExactlyOnce,
        COUNT,
        |n| sub.pace(n),
    );
    let received = sub.finish();
    let wraps = published.pids.windows(2).filter(|w| w[1] < w[0]).count();
    println!(
        "wrap: {COUNT} messages at ExactlyOnce in {:?}; {} faults, publisher sessions {}, \
         failures {:?}, resent {}, {} taken on a failed send; packet ids wrapped {wraps} times, \
         last {:?}; received {} distinct, {} duplicates, at most {} awaiting PUBREL, {} deferred \
         (subscriber sessions {})",
        started.elapsed(),
        proxy.fired().len(),
        published.sessions,
        published.failures,
        published.resent,
        published.taken_on_error,
        published.pids.last(),
        COUNT - received.missing().len(),
        received.duplicates(),
        received.most_awaiting_release,
        received.deferred,
        received.sessions,
    );
    assert!(wraps >= 1, "packet ids did not wrap");
    assert_eq!(published.pids.len() + published.taken_on_error, COUNT);
    assert_complete(QoS::ExactlyOnce, COUNT, &published, &received, &conn);
}

/// A device with a persistent session comes back to a backlog of QoS 2 messages. MQTT 3.1.1
/// lets the broker send any number of them before it sees a PUBREC: Mosquitto 2.0.11 sends
/// `max_inflight_messages` (20) at once, and more for a backlog queued while the client was
/// away (up to 257 were seen), and on resuming it may send a new PUBLISH before the PUBRELs
/// that would make room. This subscriber tracks only 8 awaiting PUBREL: a new one beyond
/// that is deferred (neither delivered nor acknowledged) until the broker has released the
/// others, then the client reconnects and the broker sends it again. Every message arrives,
/// exactly once, and each connection makes progress (no reconnect loop).
#[test]
fn a_qos2_backlog_larger_than_the_window_is_received() {
    const COUNT: usize = 100;
    let broker = Broker::start(BrokerConfig::new());
    traffic::register(broker.port(), "sleepy", "faults/backlog", QoS::ExactlyOnce);
    let mut storage = Box::new(PubStorage::new());
    let mut conn = Connection::new(storage.buffers());
    publish_all(
        &mut conn,
        broker.port(),
        "pub-backlog",
        "faults/backlog",
        QoS::ExactlyOnce,
        COUNT,
        |_| {},
    );
    let sub = Subscriber::spawn_with_inbound::<8>(
        broker.port(),
        "sleepy",
        "faults/backlog",
        QoS::ExactlyOnce,
        COUNT,
    );
    let received = sub.finish();
    println!(
        "backlog: received {} distinct, {} duplicates, {} deferred, sessions {}, failures {:?}",
        COUNT - received.missing().len(),
        received.duplicates(),
        received.deferred,
        received.sessions,
        received.failures,
    );
    assert_eq!(received.missing(), Vec::<usize>::new(), "messages lost");
    assert_eq!(received.duplicates(), 0, "QoS 2 delivered twice");
}

/// A transport whose `write` returns `Ok(0)` mid-session (a closed socket on some stacks),
/// through both drivers, over TCP (the client's own write loop meets it) and under TLS
/// (embedded-tls's loop meets it).
mod write_zero {
    use embedded_io::ErrorKind;
    use embedded_mqtts::host::TcpTransport;
    use embedded_mqtts::tls::{
        write_buffer_for, Pin, PinnedProvider, TlsOptions, TlsSocket, ValidityTime, READ_BUFFER,
    };
    use embedded_mqtts::{Connection, Error, QoS};

    use super::over_tls::{tls_broker, CA, SERVED};
    use super::support::{
        self, read_cert, unix_now, Broker, BrokerConfig, Seen, StopsWriting, WriteBudget,
    };
    use super::traffic::{self, dial, PubStorage};

    both_drivers! {
        /// A TCP transport to `port` that stops writing when told.
        fn tcp_stopping(port: u16) -> (StopsWriting<TcpTransport>, WriteBudget) {
            StopsWriting::new(dial(port))
        }

        /// A TLS stream to `port` (the broker's listener serving `SERVED`, pinned by `CA`) over
        /// a TCP socket that stops writing when told. The socket and buffers are leaked.
        fn tls_stopping(port: u16) -> (Tls<'static, StopsWriting<TcpTransport>>, WriteBudget) {
            let (socket, budget) = StopsWriting::new(dial(port));
            let socket = Box::leak(Box::new(TlsSocket::new(socket)));
            let ca = read_cert(CA);
            let cas = [ca.as_slice()];
            let pins = [Pin::Ca(&cas)];
            let mut provider = PinnedProvider::new(rand_core::OsRng, &pins);
            let stream = call!(Tls::<StopsWriting<TcpTransport>>::connect(
                socket,
                vec![0; READ_BUFFER].leak(),
                vec![0; write_buffer_for(4096)].leak(),
                &TlsOptions::new("localhost", ValidityTime::UnixSeconds(unix_now())),
                &mut provider,
            ))
            .unwrap_or_else(|e| panic!("TLS handshake: {e}"));
            (stream, budget)
        }

        #[test]
        fn a_transport_that_writes_nothing_is_a_transport_error_and_loses_nothing() {
            let broker = Broker::start(BrokerConfig::new());
            publish_into_a_stop(&broker, broker.port(), "write-zero", tcp_stopping);
        }

        #[test]
        fn a_tls_socket_that_writes_nothing_is_a_transport_error_and_loses_nothing() {
            let broker = tls_broker();
            publish_into_a_stop(&broker, broker.tls_port(SERVED), "tls-write-zero", tls_stopping);
        }

        /// CONNECT and a first QoS 2 PUBLISH go through the transport `open(port)` makes; then
        /// it takes 10 bytes of the second PUBLISH and nothing more. The publish fails with the
        /// transport error `WriteZero` (not a panic), which stays until the next CONNECT; both
        /// messages stay in flight, and a new transport's CONNECT resumes the session and
        /// delivers each exactly once.
        fn publish_into_a_stop<T: Transport>(
            broker: &Broker,
            port: u16,
            name: &str,
            open: fn(u16) -> (T, WriteBudget),
        ) {
            let id = format!("{name}-{DRIVER:?}");
            let topic = format!("faults/{id}");
            let watcher = support::Subscriber::spawn(broker.port(), &topic, 2, None);
            let mut storage = PubStorage::new();
            let mut conn = Connection::new(storage.buffers());
            let options = traffic::persistent(&id);
            let (transport, budget) = open(port);
            let mut c = client(transport, &mut conn);
            call!(c.connect(&options)).expect("CONNECT");
            let first = traffic::payload(0);
            call!(c.publish(&topic, &first, QoS::ExactlyOnce, false)).expect("the first PUBLISH");
            budget.stop_after(10);
            let second = traffic::payload(1);
            let error = call!(c.publish(&topic, &second, QoS::ExactlyOnce, false))
                .expect_err("a transport that writes nothing fails the PUBLISH");
            println!("{id}: {error}; in flight {}", c.connection().in_flight());
            assert_eq!(error, Error::Transport(ErrorKind::WriteZero));
            assert!(error.is_fatal());
            assert_eq!(budget.zero_writes(), 1, "one write met the stop; none was retried");
            assert_eq!(call!(c.wait_event(0)).err(), Some(error), "the error stays");
            assert_eq!(c.connection().in_flight(), 2);
            drop(c);

            let (transport, _) = open(port);
            let mut c = client(transport, &mut conn);
            let connected = call!(c.connect(&options)).expect("CONNECT again");
            assert_eq!(connected.resending, 2);
            collect_until!(c, |s| {
                s.iter().filter(|e| matches!(e, Seen::Delivered(_))).count() == 2
            });
            call!(c.disconnect()).expect("DISCONNECT");
            let got: Vec<_> = watcher.wait().into_iter().map(|m| m.payload).collect();
            assert_eq!(got, vec![first, second]);
        }
    }
}
