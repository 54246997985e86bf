//! Numbered message streams for the fault tests: a publisher that reconnects with its
//! persistent session after every failure and goes on, and a subscriber thread (our blocking
//! client, persistent session) that counts what arrives.
//!
//! Payloads carry their number and a filler derived from it, so the subscriber can tell a
//! message, a duplicate and a corrupted payload apart.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use embedded_io::{Read, ReadReady, Write};
use embedded_mqtts::host::TcpTransport;
use embedded_mqtts::session::DEFAULT_INBOUND;
use embedded_mqtts::time::StdClock;
use embedded_mqtts::{blocking, ConnectOptions, Connection, Error, Event, QoS, Storage};

/// The publisher's storage: 8 messages in flight, as a small device would have.
pub type PubStorage = Storage<8, 4096, 4096, 4096>;
/// The subscriber's storage, with room for `INBOUND` inbound QoS 2 messages awaiting PUBREL
/// (beyond that it defers them: [`Event::Deferred`]).
type SubStorage<const INBOUND: usize> = Storage<1, 4096, 4096, 4096, INBOUND>;
/// The subscriber's client.
type SubClient<'c, 'b> = blocking::Client<'c, 'b, TcpTransport, StdClock>;

/// How far the publisher may run ahead of the subscriber ([`Subscriber::pace`]).
const MAX_LAG: usize = 64;
/// Length of every payload.
const PAYLOAD_LEN: usize = 64;
/// How long a whole stream may take before the publisher gives up, and how long the
/// subscriber waits for a message it has not had yet before it gives up.
const STREAM_TIMEOUT: Duration = Duration::from_secs(40);
/// How long the subscriber keeps listening for late duplicates once it has everything.
const QUIET: Duration = Duration::from_millis(300);

/// The payload of message `index`: `index` in decimal, `:`, then a filler made from it.
pub fn payload(index: usize) -> Vec<u8> {
    let mut bytes = format!("{index:06}:").into_bytes();
    let mut x = index as u32 ^ 0x9e37_79b9;
    while bytes.len() < PAYLOAD_LEN {
        x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        bytes.push(b'a' + (x >> 24) as u8 % 26);
    }
    bytes
}

/// The number of a payload made by [`payload`], or `None` if it is not one (corrupted).
fn index_of(bytes: &[u8]) -> Option<usize> {
    let digits = std::str::from_utf8(bytes.get(..6)?).ok()?;
    let index = digits.parse().ok()?;
    (payload(index) == bytes).then_some(index)
}

/// A TCP connection to `127.0.0.1:port`, retried for up to 10 s while it is refused (a
/// broker that is restarting).
pub fn dial(port: u16) -> TcpTransport {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match TcpTransport::connect(("127.0.0.1", port)) {
            Ok(mut transport) => {
                transport.set_ready_wait(Duration::from_millis(2));
                return transport;
            }
            Err(e) => {
                assert!(Instant::now() < deadline, "cannot connect to {port}: {e}");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

/// Persistent-session options for `client_id`.
pub fn persistent(client_id: &str) -> ConnectOptions<'_> {
    let mut options = ConnectOptions::new(client_id);
    options.clean_session = false;
    options.keep_alive_secs = 5;
    options.response_timeout_ms = 2000;
    options
}

/// Tallies errors by what they are, for the printed summary.
#[derive(Debug, Default)]
pub struct Failures(BTreeMap<String, usize>);

impl Failures {
    /// Counts `error`, which must be fatal (the connection is gone); panics on an error that
    /// only a bug explains (a malformed packet or a protocol violation from Mosquitto).
    pub fn record(&mut self, error: &Error) {
        assert!(
            error.is_fatal(),
            "a non-fatal error ended a connection: {error}"
        );
        assert!(
            matches!(
                error,
                Error::ConnectionClosed
                    | Error::Transport(_)
                    | Error::Timeout(_)
                    | Error::InboundQos2Full { .. }
            ),
            "a broken link (or a QoS 2 burst beyond the session's limit) can explain only \
             closed/transport/timeout/inbound-full errors, got: {error}"
        );
        let key = match error {
            Error::Transport(kind) => format!("{kind:?}"),
            Error::InboundQos2Full { max, .. } => format!("InboundQos2Full {{ max: {max} }}"),
            other => format!("{other:?}"),
        };
        *self.0.entry(key).or_default() += 1;
    }

    /// How many errors of any kind.
    pub fn total(&self) -> usize {
        self.0.values().sum()
    }
}

/// What a publisher run did.
#[derive(Debug, Default)]
pub struct Published {
    /// Connections that reached CONNACK.
    pub sessions: usize,
    /// Failures that ended a connection (or a connection attempt).
    pub failures: Failures,
    /// Messages sent again on resumed sessions (sum of `Connected::resending`).
    pub resent: usize,
    /// Delivered events (PUBACK / PUBCOMP).
    pub delivered: usize,
    /// Packet ids the publishes got, in order.
    pub pids: Vec<u16>,
    /// Publishes whose send failed after the session took the message (so it is re-sent on
    /// the next connection, and its packet id was never returned).
    pub taken_on_error: usize,
}

/// The packet ids in flight, as the publisher saw them handed out and acknowledged: checks
/// that no id is handed out while in use and that every acknowledgement matches a message.
#[derive(Debug, Default)]
struct Outstanding {
    pids: HashSet<u16>,
    /// Messages taken without their id being returned ([`Published::taken_on_error`]).
    unnamed: usize,
}

impl Outstanding {
    fn handed_out(&mut self, pid: u16) {
        assert_ne!(pid, 0, "packet id 0 handed out");
        assert!(
            self.pids.insert(pid),
            "packet id {pid} handed out while in flight"
        );
    }

    fn delivered(&mut self, pid: u16) {
        if !self.pids.remove(&pid) {
            assert!(
                self.unnamed > 0,
                "Delivered for packet id {pid}, not in flight"
            );
            self.unnamed -= 1;
        }
    }
}

/// Publishes messages `0..count` to `topic` with `qos` through `127.0.0.1:port`, keeping up
/// to the window in flight, reconnecting with the persistent session after every failure
/// until every message is acknowledged. `progress(n)` is called after the `n`th message was
/// taken (some scenarios break things at chosen points).
pub fn publish_all(
    conn: &mut Connection<'_>,
    port: u16,
    client_id: &str,
    topic: &str,
    qos: QoS,
    count: usize,
    mut progress: impl FnMut(usize),
) -> Published {
    let mut publisher = Publisher::new(client_id, topic, qos, count);
    loop {
        publisher.check_deadline();
        let mut client = blocking::Client::new(dial(port), conn, StdClock::new());
        if publisher.run(&mut client, &mut progress) {
            return publisher.finish();
        }
        drop(client.into_transport());
    }
}

/// A publisher's run across connections: what it has published, and what is still in flight.
/// Each connection, over whatever transport, is one [`Publisher::run`].
pub struct Publisher<'a> {
    options: ConnectOptions<'a>,
    topic: &'a str,
    qos: QoS,
    count: usize,
    deadline: Instant,
    report: Published,
    outstanding: Outstanding,
    next: usize,
}

impl<'a> Publisher<'a> {
    /// Messages `0..count` to `topic` at `qos`, as `client_id` with a persistent session.
    pub fn new(client_id: &'a str, topic: &'a str, qos: QoS, count: usize) -> Self {
        Publisher {
            options: persistent(client_id),
            topic,
            qos,
            count,
            deadline: Instant::now() + STREAM_TIMEOUT,
            report: Published::default(),
            outstanding: Outstanding::default(),
            next: 0,
        }
    }

    /// Panics, with where the run stands, once the stream has taken too long.
    pub fn check_deadline(&self) {
        assert!(
            Instant::now() < self.deadline,
            "publisher {} stuck at {}/{}: {} sessions, failures {:?}, {} delivered",
            self.options.client_id,
            self.next,
            self.count,
            self.report.sessions,
            self.report.failures,
            self.report.delivered,
        );
    }

    /// One connection on `client`: CONNECT (resuming the session), then publish and collect
    /// acknowledgements until every message is acknowledged (`true`, after DISCONNECT) or the
    /// connection fails (`false`, the failure recorded). `progress` as for [`publish_all`].
    pub fn run<T: Read + Write + ReadReady>(
        &mut self,
        client: &mut blocking::Client<'_, '_, T, StdClock>,
        progress: &mut impl FnMut(usize),
    ) -> bool {
        let report = &mut self.report;
        match client.connect(&self.options) {
            Ok(connected) => {
                assert!(
                    connected.session_present || report.sessions == 0,
                    "the broker lost {}'s session",
                    self.options.client_id
                );
                report.sessions += 1;
                report.resent += connected.resending;
            }
            Err(e) => {
                report.failures.record(&e);
                return false;
            }
        }
        let outstanding = &mut self.outstanding;
        let error = loop {
            if self.next < self.count {
                let before = client.connection().in_flight();
                match client.publish(self.topic, &payload(self.next), self.qos, false) {
                    Ok(pid) => {
                        if let Some(pid) = pid {
                            outstanding.handed_out(pid);
                            report.pids.push(pid);
                        }
                        self.next += 1;
                        progress(self.next);
                        continue;
                    }
                    Err(Error::WindowFull { .. } | Error::StoreFull { .. }) => {}
                    Err(e) => {
                        // A failed send still took the message into the session, which
                        // will send it again: it must not be published a second time.
                        if client.connection().in_flight() > before {
                            report.taken_on_error += 1;
                            outstanding.unnamed += 1;
                            self.next += 1;
                            progress(self.next);
                        }
                        break e;
                    }
                }
            } else if client.connection().in_flight() == 0 {
                assert_eq!(outstanding.pids.len() + outstanding.unnamed, 0);
                if let Err(e) = client.disconnect() {
                    // The link broke just after the last acknowledgement: nothing is lost.
                    report.failures.record(&e);
                }
                return true;
            }
            match client.wait_event(200) {
                Ok(Some(Event::Delivered { pid })) => {
                    outstanding.delivered(pid);
                    report.delivered += 1;
                }
                Ok(_) => {}
                Err(e) => break e,
            }
        };
        report.failures.record(&error);
        false
    }

    /// What the run did.
    pub fn finish(self) -> Published {
        self.report
    }
}

/// What the subscriber received.
#[derive(Debug, Default)]
pub struct Received {
    /// Deliveries of each message number.
    pub counts: Vec<usize>,
    /// Payloads that were no message of the stream.
    pub corrupt: usize,
    /// QoS 2 messages the broker sent again before our PUBREC reached it, which the session
    /// acknowledged without delivering ([`Event::Duplicate`]).
    pub suppressed: usize,
    /// New QoS 2 messages the session left for the broker to send again, having no room for
    /// them while others awaited PUBREL ([`Event::Deferred`]).
    pub deferred: usize,
    /// Connections that reached CONNACK.
    pub sessions: usize,
    /// Failures that ended a connection.
    pub failures: Failures,
    /// Inbound QoS 2 messages still awaiting PUBREL when the subscriber stopped.
    pub awaiting_release: usize,
    /// The most inbound QoS 2 messages ever awaiting PUBREL at once.
    pub most_awaiting_release: usize,
}

impl Received {
    /// Message numbers never delivered.
    pub fn missing(&self) -> Vec<usize> {
        (0..self.counts.len())
            .filter(|&i| self.counts[i] == 0)
            .collect()
    }

    /// Deliveries beyond the first, over all messages.
    pub fn duplicates(&self) -> usize {
        self.counts.iter().map(|&c| c.saturating_sub(1)).sum()
    }
}

/// Asserts that a stream of `count` messages at `qos` came through whole: none lost or
/// corrupted, none twice at QoS 2, each acknowledged to the publisher once, and nothing left
/// in flight in the publisher's connection `conn` or awaiting release at the subscriber.
pub fn assert_complete(
    qos: QoS,
    count: usize,
    published: &Published,
    received: &Received,
    conn: &Connection<'_>,
) {
    let in_flight = conn.in_flight();
    assert_eq!(received.missing(), Vec::<usize>::new(), "messages lost");
    assert_eq!(received.corrupt, 0, "payloads corrupted");
    if qos == QoS::ExactlyOnce {
        assert_eq!(received.duplicates(), 0, "QoS 2 delivered twice");
    }
    assert_eq!(
        published.delivered, count,
        "one acknowledgement per message"
    );
    assert_eq!(
        in_flight, 0,
        "the publisher's session still has messages in flight"
    );
    assert_eq!(
        received.awaiting_release, 0,
        "QoS 2 messages never released"
    );
}

/// What a subscriber thread subscribes to and counts.
struct Subscription {
    port: u16,
    client_id: String,
    filter: String,
    qos: QoS,
    /// Messages `0..count` are expected.
    count: usize,
    /// Distinct messages received so far, for the test to watch.
    distinct: Arc<AtomicUsize>,
}

/// A subscriber thread counting messages `0..count`.
pub struct Subscriber {
    thread: JoinHandle<Received>,
    distinct: Arc<AtomicUsize>,
}

impl Subscriber {
    /// Connects `client_id` (persistent session) to `127.0.0.1:port`, subscribes to `filter`
    /// with `qos` unless the session already has it, and returns once the broker has the
    /// subscription. The thread reconnects after every failure and ends when all `count`
    /// messages are in and nothing more came for a while, or once 40 s passed without a new
    /// one (not at a fixed time: the publisher, slowed down by a loaded machine, may still be
    /// delivering the last messages then, and they would be reported lost).
    pub fn spawn(port: u16, client_id: &str, filter: &str, qos: QoS, count: usize) -> Self {
        Self::spawn_with_inbound::<DEFAULT_INBOUND>(port, client_id, filter, qos, count)
    }

    /// [`Subscriber::spawn`] with room for `INBOUND` QoS 2 messages awaiting PUBREL instead
    /// of the session's default.
    pub fn spawn_with_inbound<const INBOUND: usize>(
        port: u16,
        client_id: &str,
        filter: &str,
        qos: QoS,
        count: usize,
    ) -> Self {
        let (ready, subscribed) = mpsc::channel();
        let distinct = Arc::new(AtomicUsize::new(0));
        let subscription = Subscription {
            port,
            client_id: client_id.to_owned(),
            filter: filter.to_owned(),
            qos,
            count,
            distinct: Arc::clone(&distinct),
        };
        let thread = std::thread::spawn(move || {
            let mut storage = Box::new(SubStorage::<INBOUND>::new());
            receive(
                &mut Connection::new(storage.buffers()),
                &subscription,
                &ready,
            )
        });
        if subscribed.recv_timeout(Duration::from_secs(10)).is_err() {
            // The thread ended (panicked) before it was subscribed: show why.
            Subscriber { thread, distinct }.finish();
            panic!("the subscriber got no SUBACK");
        }
        Subscriber { thread, distinct }
    }

    /// Holds the publisher (for up to 10 s) while message `published` is more than
    /// [`MAX_LAG`] ahead of what this subscriber has received, so that the broker never has
    /// a long backlog for it.
    pub fn pace(&self, published: usize) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while published > self.distinct.load(Ordering::Relaxed) + MAX_LAG
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Waits for the thread and returns what it received.
    pub fn finish(self) -> Received {
        match self.thread.join() {
            Ok(received) => received,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

/// Registers a persistent session for `client_id` subscribed to `filter`, then leaves
/// (DISCONNECT): messages published meanwhile wait for it at the broker.
pub fn register(port: u16, client_id: &str, filter: &str, qos: QoS) {
    let mut storage = Box::new(SubStorage::<1>::new());
    let mut conn = Connection::new(storage.buffers());
    let mut client = blocking::Client::new(dial(port), &mut conn, StdClock::new());
    client.connect(&persistent(client_id)).expect("CONNECT");
    subscribe(&mut client, filter, qos);
    client.disconnect().expect("DISCONNECT");
}

/// The subscriber thread: connect, subscribe if the session lacks it, count messages;
/// reconnect after every failure.
fn receive(conn: &mut Connection<'_>, sub: &Subscription, ready: &mpsc::Sender<()>) -> Received {
    let clock = StdClock::new();
    let options = persistent(&sub.client_id);
    let mut report = Received {
        counts: vec![0; sub.count],
        ..Received::default()
    };
    // The last message of any kind (for the quiet end), and the last new one (for giving up).
    let mut last_news = Instant::now();
    let mut last_new = Instant::now();
    while last_new.elapsed() < STREAM_TIMEOUT {
        let mut client = blocking::Client::new(dial(sub.port), conn, clock);
        let error = match client.connect(&options) {
            Err(e) => e,
            Ok(connected) => {
                report.sessions += 1;
                if !connected.session_present {
                    assert_eq!(report.sessions, 1, "{} lost its session", sub.client_id);
                    subscribe(&mut client, &sub.filter, sub.qos);
                }
                let _ = ready.send(());
                loop {
                    let awaiting = client.connection().session().awaiting_release();
                    report.most_awaiting_release = report.most_awaiting_release.max(awaiting);
                    let all_in = sub.distinct.load(Ordering::Relaxed) == sub.count;
                    if all_in && awaiting == 0 && last_news.elapsed() > QUIET {
                        let _ = client.disconnect();
                        return report;
                    }
                    if last_new.elapsed() >= STREAM_TIMEOUT {
                        report.awaiting_release = awaiting;
                        return report;
                    }
                    match client.wait_event(50) {
                        Ok(Some(Event::Message(m))) => {
                            last_news = Instant::now();
                            match index_of(m.payload).filter(|&i| i < sub.count) {
                                Some(i) => {
                                    if report.counts[i] == 0 {
                                        sub.distinct.fetch_add(1, Ordering::Relaxed);
                                        last_new = last_news;
                                    }
                                    report.counts[i] += 1;
                                }
                                None => report.corrupt += 1,
                            }
                        }
                        Ok(Some(Event::Duplicate { .. })) => report.suppressed += 1,
                        Ok(Some(Event::Deferred { .. })) => report.deferred += 1,
                        Ok(_) => {}
                        Err(e) => break e,
                    }
                }
            }
        };
        report.failures.record(&error);
        drop(client.into_transport());
    }
    report.awaiting_release = conn.session().awaiting_release();
    report
}

/// Subscribes to `filter` and waits (up to 10 s) for the broker to grant it.
fn subscribe(client: &mut SubClient<'_, '_>, filter: &str, qos: QoS) {
    let pid = client.subscribe(&[(filter, qos)]).expect("SUBSCRIBE");
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Some(Event::Subscribed { pid: p, granted }) =
            client.wait_event(50).expect("waiting for SUBACK")
        {
            assert_eq!(p, pid);
            assert!(!granted.any_refused(), "the broker refused {filter}");
            return;
        }
    }
    panic!("no SUBACK for {filter}");
}
