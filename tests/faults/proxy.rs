//! A fault-injecting TCP proxy between a client and the broker, on 127.0.0.1.
//!
//! The proxy forwards raw bytes, so it serves plain MQTT and TLS alike. For each accepted
//! connection it asks the test's plan (a closure of the connection's number) which [`Fault`]
//! to inject, and then:
//! - [`Fault::Cut`]: after `after` bytes in one direction, closes both sides with FIN (what
//!   a NAT box or a peer that closes mid-stream does); then reads and discards until both
//!   peers have closed too, so that the close stays a clean FIN.
//! - [`Fault::Reset`]: after `after` bytes, stops reading and closes the client's socket while
//!   data it sent is still unread. Linux answers such a close with RST, which is how the proxy
//!   sends a reset without `SO_LINGER` (unstable in std). It waits up to
//!   [`RESET_WAIT`] for the client to send something; if nothing comes the close is a plain
//!   FIN, counted in [`Counters::resets_without_rst`].
//! - [`Fault::Stall`]: after `after` bytes, forwards nothing more in either direction but keeps
//!   both sockets open (a broker that hangs, a link that black-holes packets).
//! - [`Fault::Trickle`]: forwards everything one byte per write, with a flush and a pause
//!   after each byte, in both directions.
//!
//! Every thread polls a stop flag at least every [`POLL`], and dropping the [`Proxy`] sets it
//! and joins them all: nothing outlives the test.

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a blocked read or write waits before the thread looks at its flags again.
const POLL: Duration = Duration::from_millis(20);
/// How long a reset waits for unread data from the client, which makes the close an RST.
const RESET_WAIT: Duration = Duration::from_millis(300);
/// How long a cut waits for the peers to close their side after its FIN.
const DRAIN_WAIT: Duration = Duration::from_secs(1);
/// Pause after each byte in [`Fault::Trickle`].
const TRICKLE_PAUSE: Duration = Duration::from_millis(1);

/// Which way bytes flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// From the client to the broker.
    ToBroker,
    /// From the broker to the client.
    ToClient,
}

/// What the proxy does to one connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Forward everything.
    None,
    /// After `after` bytes in `direction`, close both sides (FIN).
    Cut { direction: Direction, after: usize },
    /// After `after` bytes in `direction`, reset the client's side (RST).
    Reset { direction: Direction, after: usize },
    /// After `after` bytes in `direction`, forward nothing more; keep the sockets open.
    Stall { direction: Direction, after: usize },
    /// Forward one byte at a time, both ways.
    Trickle,
}

impl Fault {
    /// The byte count at which the fault fires in `direction`, if it fires there.
    fn threshold(self, direction: Direction) -> Option<usize> {
        match self {
            Fault::Cut {
                direction: d,
                after,
            }
            | Fault::Reset {
                direction: d,
                after,
            }
            | Fault::Stall {
                direction: d,
                after,
            } if d == direction => Some(after),
            _ => None,
        }
    }
}

/// A fault that fired: on which connection, and when.
#[derive(Clone, Copy, Debug)]
pub struct Fired {
    /// The connection's number (0 for the first accepted).
    pub connection: usize,
    /// The fault.
    pub fault: Fault,
    /// When it fired.
    pub at: Instant,
}

/// What the proxy did so far.
#[derive(Debug, Default)]
pub struct Counters {
    /// Connections accepted.
    pub connections: AtomicUsize,
    /// Connections dropped because the broker refused the proxy's connection.
    pub broker_refused: AtomicUsize,
    /// Bytes forwarded to the broker, counted before they are written (see [`forward`]):
    /// whatever the broker answered to is already counted.
    pub to_broker: AtomicUsize,
    /// Bytes forwarded to the client, counted before they are written.
    pub to_client: AtomicUsize,
    /// Write calls that carried those bytes to the client, counted before they are made.
    pub writes_to_client: AtomicUsize,
    /// Resets that closed with unread data, so the client got an RST; counted once the
    /// client's socket is closed, so the RST has been sent (see [`Ending`]).
    pub resets_with_rst: AtomicUsize,
    /// Resets where the client sent nothing more, so the close was a FIN; counted once the
    /// client's socket is closed.
    pub resets_without_rst: AtomicUsize,
}

type Plan = Box<dyn FnMut(usize) -> Fault + Send>;

/// What the proxy's threads share with the test.
struct Shared {
    target: SocketAddr,
    stop: AtomicBool,
    plan: Mutex<Plan>,
    fired: Mutex<Vec<Fired>>,
    counters: Counters,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

/// A running proxy; dropping it closes every connection and ends every thread.
pub struct Proxy {
    port: u16,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

/// Locks `mutex`, ignoring poisoning (a panicking test already reports its own failure).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Proxy {
    /// A proxy on a free port of 127.0.0.1 forwarding to `127.0.0.1:broker_port`, injecting
    /// no fault until [`Proxy::plan`] says otherwise.
    pub fn start(broker_port: u16) -> Proxy {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind the proxy");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let port = listener.local_addr().expect("proxy address").port();
        let shared = Arc::new(Shared {
            target: SocketAddr::from((Ipv4Addr::LOCALHOST, broker_port)),
            stop: AtomicBool::new(false),
            plan: Mutex::new(Box::new(|_| Fault::None)),
            fired: Mutex::new(Vec::new()),
            counters: Counters::default(),
            threads: Mutex::new(Vec::new()),
        });
        let acceptor = {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || accept_loop(&listener, &shared))
        };
        Proxy {
            port,
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// The port clients connect to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// From now on, each new connection gets `plan(n)`, `n` counting accepted connections
    /// from 0 since the proxy started.
    pub fn plan(&self, plan: impl FnMut(usize) -> Fault + Send + 'static) {
        *lock(&self.shared.plan) = Box::new(plan);
    }

    /// The faults that fired so far, in order.
    pub fn fired(&self) -> Vec<Fired> {
        lock(&self.shared.fired).clone()
    }

    /// What the proxy did so far.
    pub fn counters(&self) -> &Counters {
        &self.shared.counters
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        let threads = std::mem::take(&mut *lock(&self.shared.threads));
        for thread in threads {
            let _ = thread.join();
        }
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    while !shared.stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((client, _)) => open_link(client, shared),
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(2))
            }
            Err(_) => std::thread::sleep(POLL),
        }
    }
}

/// Where one connection stands; every pump checks it before each read and write.
const OPEN: u8 = 0;
const STALLED: u8 = 1;
const CUT: u8 = 2;
const RESETTING: u8 = 3;

/// One proxied connection: the client's socket, the broker's, and its fault.
struct Link {
    number: usize,
    fault: Fault,
    client: TcpStream,
    broker: TcpStream,
    shared: Arc<Shared>,
    /// Declared after the sockets: it is dropped after they are closed.
    ending: Ending,
}

/// Where a link stands, and what its end was. It is the link's last field, so its `Drop`
/// runs once the link's sockets are closed (the pumps' handles are gone before the link's):
/// a reset is counted when the RST or FIN has been sent, never before.
struct Ending {
    state: AtomicU8,
    /// A reset found unread data from the client, so the close is an RST.
    reset_with_unread: AtomicBool,
    shared: Arc<Shared>,
}

impl Link {
    fn stopping(&self) -> bool {
        self.shared.stop.load(Ordering::Relaxed)
    }

    fn state(&self) -> u8 {
        self.ending.state.load(Ordering::Acquire)
    }

    /// The fault's threshold was reached: change state once and record it.
    fn fire(&self) {
        let next = match self.fault {
            Fault::Cut { .. } => CUT,
            Fault::Reset { .. } => RESETTING,
            Fault::Stall { .. } => STALLED,
            Fault::None | Fault::Trickle => return,
        };
        if self
            .ending
            .state
            .compare_exchange(OPEN, next, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return;
        }
        lock(&self.shared.fired).push(Fired {
            connection: self.number,
            fault: self.fault,
            at: Instant::now(),
        });
        if next == CUT {
            let _ = self.client.shutdown(Shutdown::Write);
            let _ = self.broker.shutdown(Shutdown::Write);
        }
    }
}

impl Drop for Ending {
    /// Both pumps have ended and dropped their handles, and the link's sockets, the last,
    /// have just been closed: a reset is counted here, once it happened.
    fn drop(&mut self) {
        if *self.state.get_mut() != RESETTING {
            return;
        }
        let counters = &self.shared.counters;
        if *self.reset_with_unread.get_mut() {
            counters.resets_with_rst.fetch_add(1, Ordering::Relaxed);
        } else {
            counters.resets_without_rst.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn open_link(client: TcpStream, shared: &Arc<Shared>) {
    let counters = &shared.counters;
    let number = counters.connections.fetch_add(1, Ordering::Relaxed);
    let fault = (lock(&shared.plan))(number);
    let Ok(broker) = TcpStream::connect_timeout(&shared.target, Duration::from_secs(1)) else {
        counters.broker_refused.fetch_add(1, Ordering::Relaxed);
        return;
    };
    let configured = [&client, &broker].into_iter().all(|s| {
        s.set_nonblocking(false).is_ok()
            && s.set_nodelay(true).is_ok()
            && s.set_read_timeout(Some(POLL)).is_ok()
            && s.set_write_timeout(Some(POLL)).is_ok()
    });
    let clones = (
        client.try_clone(),
        client.try_clone(),
        broker.try_clone(),
        broker.try_clone(),
    );
    let (true, (Ok(client_in), Ok(client_out), Ok(broker_in), Ok(broker_out))) =
        (configured, clones)
    else {
        return;
    };
    let link = Arc::new(Link {
        number,
        fault,
        client,
        broker,
        shared: Arc::clone(shared),
        ending: Ending {
            state: AtomicU8::new(OPEN),
            reset_with_unread: AtomicBool::new(false),
            shared: Arc::clone(shared),
        },
    });
    let up = Arc::clone(&link);
    let down = link;
    let mut threads = lock(&shared.threads);
    threads.push(std::thread::spawn(move || {
        pump(&up, Direction::ToBroker, client_in, broker_out)
    }));
    threads.push(std::thread::spawn(move || {
        pump(&down, Direction::ToClient, broker_in, client_out)
    }));
}

/// Forwards `from` to `to` in `direction` until a side closes, the fault ends the link, or
/// the proxy stops.
fn pump(link: &Link, direction: Direction, mut from: TcpStream, mut to: TcpStream) {
    let threshold = link.fault.threshold(direction);
    let trickle = link.fault == Fault::Trickle;
    let mut forwarded = 0usize;
    let mut buf = [0u8; 16 * 1024];
    while !link.stopping() {
        match link.state() {
            OPEN => {}
            STALLED => {
                std::thread::sleep(POLL);
                continue;
            }
            CUT => return drain(link, &mut from),
            _ => {
                if direction == Direction::ToBroker {
                    finish_reset(link, &from);
                }
                return;
            }
        }
        if threshold == Some(forwarded) {
            link.fire();
            continue;
        }
        let want = threshold.map_or(buf.len(), |t| (t - forwarded).min(buf.len()));
        let n = match from.read(&mut buf[..want]) {
            // The link's own fault closed this side: handled at the top of the loop.
            Ok(0) | Err(_) if link.state() != OPEN => continue,
            Ok(0) => {
                // The peer closed its side: pass the FIN on, keep the other direction going.
                let _ = to.shutdown(Shutdown::Write);
                return;
            }
            Ok(n) => n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => continue,
            Err(_) => return close_both(link),
        };
        if link.state() != OPEN {
            // Stalled or cut meanwhile: these bytes are lost with the link.
            continue;
        }
        // These bytes reach the threshold. A stall holds back everything after it, in both
        // directions, so it takes effect before they are written (and they still are).
        let last = threshold == Some(forwarded + n);
        if last && matches!(link.fault, Fault::Stall { .. }) {
            link.fire();
        }
        let sent = if trickle {
            buf[..n].iter().try_for_each(|byte| {
                let sent = forward(link, direction, &mut to, std::slice::from_ref(byte), false);
                std::thread::sleep(TRICKLE_PAUSE);
                sent
            })
        } else {
            forward(link, direction, &mut to, &buf[..n], last)
        };
        if sent.is_err() {
            if link.state() != OPEN {
                // The fault ended the link meanwhile: handled at the top of the loop.
                continue;
            }
            return close_both(link);
        }
        forwarded += n;
    }
}

/// Writes `bytes` to `to` in one [`write_fully`], counting them in `direction`'s
/// [`Counters`] *before* the write: the peer may read them and answer (and the test see the
/// answer) before the write call returns, and a test that looks at the counters after the
/// answer must find the bytes that caused it. Bytes a failed write did not take are taken
/// off again, so once the link is quiet the counters are exact.
fn forward(
    link: &Link,
    direction: Direction,
    to: &mut TcpStream,
    bytes: &[u8],
    last: bool,
) -> Result<(), ()> {
    let counters = &link.shared.counters;
    let (bytes_counter, writes_counter) = match direction {
        Direction::ToBroker => (&counters.to_broker, None),
        Direction::ToClient => (&counters.to_client, Some(&counters.writes_to_client)),
    };
    bytes_counter.fetch_add(bytes.len(), Ordering::Relaxed);
    if let Some(writes) = writes_counter {
        writes.fetch_add(1, Ordering::Relaxed);
    }
    let written = write_fully(link, to, bytes, last);
    if written < bytes.len() {
        bytes_counter.fetch_sub(bytes.len() - written, Ordering::Relaxed);
        if let (Some(writes), 0) = (writes_counter, written) {
            writes.fetch_sub(1, Ordering::Relaxed);
        }
        return Err(());
    }
    to.flush().map_err(|_| ())
}

/// Writes as much of `bytes` as it can and returns how many it wrote: all of them, or fewer
/// when the peer fails, when the proxy stops (a peer that reads nothing must not block the
/// proxy forever) or, unless they are the `last` before the fault's threshold, when the link
/// leaves [`OPEN`].
fn write_fully(link: &Link, to: &mut TcpStream, bytes: &[u8], last: bool) -> usize {
    let mut written = 0;
    while written < bytes.len() {
        if link.stopping() || (link.state() != OPEN && !last) {
            break;
        }
        match to.write(&bytes[written..]) {
            Ok(0) => break,
            Ok(n) => written += n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    written
}

/// A read or write failed: close both sockets, both ways.
fn close_both(link: &Link) {
    let _ = link.client.shutdown(Shutdown::Both);
    let _ = link.broker.shutdown(Shutdown::Both);
}

/// After a cut: discard what the peer still sends until it closes too.
fn drain(link: &Link, from: &mut TcpStream) {
    let deadline = Instant::now() + DRAIN_WAIT;
    let mut sink = [0u8; 4096];
    while !link.stopping() && Instant::now() < deadline {
        match from.read(&mut sink) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return,
        }
    }
}

/// After a reset fired: wait (bounded) until the client's socket holds unread data, so that
/// closing it sends RST. The socket closes when the last of its handles (this pump's, the
/// other pump's, the link's) is dropped, and none reads it any more: the link's [`Ending`],
/// dropped after its sockets, counts the reset.
fn finish_reset(link: &Link, from: &TcpStream) {
    let deadline = Instant::now() + RESET_WAIT;
    let mut probe = [0u8; 1];
    let unread = loop {
        if link.stopping() || Instant::now() >= deadline {
            break false;
        }
        match from.peek(&mut probe) {
            Ok(0) => break false,
            Ok(_) => break true,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => break false,
        }
    };
    link.ending
        .reset_with_unread
        .store(unread, Ordering::Release);
    let _ = link.broker.shutdown(Shutdown::Both);
}
