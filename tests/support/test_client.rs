//! Our client, through either driver, behind one object-safe face, so that a scenario is
//! written once and run through the blocking and the async client (over plain TCP or TLS),
//! and the helpers those scenarios share.

use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use embedded_mqtts::host::TcpTransport;
use embedded_mqtts::session::Granted;
use embedded_mqtts::time::StdClock;
use embedded_mqtts::{asynch, blocking, ClientState, ConnectOptions, Connected, Error, QoS};

use super::{block_on, idle, own, Idle, Seen};

/// `#[test]` functions for each scenario, one per driver: `both_drivers!(a, b(ARG))` makes
/// `blocking_client::a`, calling `a(Driver::Blocking)`, `async_client::a`, calling
/// `a(Driver::Async)`, and the same for `b` with `ARG` as its second argument. (The file that
/// uses it has `#[macro_use] mod support;` and `Driver` in scope.)
macro_rules! both_drivers {
    ($($scenario:ident $(($($arg:expr),*))?),* $(,)?) => {
        mod blocking_client {
            $(#[test] fn $scenario() { super::$scenario(super::Driver::Blocking $($(, $arg)*)?) })*
        }
        mod async_client {
            $(#[test] fn $scenario() { super::$scenario(super::Driver::Async $($(, $arg)*)?) })*
        }
    };
}

/// The state of every test client: 8 messages in flight, 4 KiB packets.
pub type TestState = ClientState<8, 4096, 4096, 4096>;

/// Which of the crate's two clients drives the session.
#[derive(Clone, Copy, Debug)]
pub enum Driver {
    Blocking,
    Async,
}

/// What a scenario needs from a client, whatever its driver and link.
pub trait TestClient {
    fn connect(&mut self, options: &ConnectOptions<'_>) -> Result<Connected, Error>;
    fn publish(
        &mut self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
    ) -> Result<Option<u16>, Error>;
    fn subscribe(&mut self, filters: &[(&str, QoS)]) -> Result<u16, Error>;
    fn disconnect(&mut self) -> Result<(), Error>;
    /// The next event within 50 ms, if any.
    fn next(&mut self) -> Result<Option<Seen>, Error>;
    /// Drop the connection without DISCONNECT (the broker sees a vanished client).
    fn vanish(self: Box<Self>);
}

/// The blocking client over any stream, with the TCP socket underneath (to vanish).
pub struct BlockingClient<'s, T> {
    pub client: blocking::Client<'s, T, StdClock, 8, 4096, 4096, 4096>,
    pub tcp: TcpStream,
}

impl<T> TestClient for BlockingClient<'_, T>
where
    T: embedded_io::Read + embedded_io::Write + embedded_io::ReadReady,
{
    fn connect(&mut self, o: &ConnectOptions<'_>) -> Result<Connected, Error> {
        self.client.connect(o)
    }
    fn publish(&mut self, t: &str, p: &[u8], q: QoS, r: bool) -> Result<Option<u16>, Error> {
        self.client.publish(t, p, q, r)
    }
    fn subscribe(&mut self, f: &[(&str, QoS)]) -> Result<u16, Error> {
        self.client.subscribe(f)
    }
    fn disconnect(&mut self) -> Result<(), Error> {
        self.client.disconnect()
    }
    fn next(&mut self) -> Result<Option<Seen>, Error> {
        Ok(self.client.wait_event(50)?.map(own))
    }
    fn vanish(self: Box<Self>) {
        let _ = self.tcp.shutdown(Shutdown::Both);
    }
}

/// The async client over any stream, with the TCP socket underneath (to vanish).
pub struct AsyncClient<'s, T> {
    pub client: asynch::Client<'s, T, StdClock, Idle, 8, 4096, 4096, 4096>,
    pub tcp: TcpStream,
}

impl<T> TestClient for AsyncClient<'_, T>
where
    T: embedded_io_async::Read + embedded_io_async::Write + embedded_io::ReadReady,
{
    fn connect(&mut self, o: &ConnectOptions<'_>) -> Result<Connected, Error> {
        block_on(self.client.connect(o))
    }
    fn publish(&mut self, t: &str, p: &[u8], q: QoS, r: bool) -> Result<Option<u16>, Error> {
        block_on(self.client.publish(t, p, q, r))
    }
    fn subscribe(&mut self, f: &[(&str, QoS)]) -> Result<u16, Error> {
        block_on(self.client.subscribe(f))
    }
    fn disconnect(&mut self) -> Result<(), Error> {
        block_on(self.client.disconnect())
    }
    fn next(&mut self) -> Result<Option<Seen>, Error> {
        let deadline = Instant::now() + Duration::from_millis(50);
        loop {
            if let Some(event) = block_on(self.client.poll())? {
                return Ok(Some(own(event)));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
        }
    }
    fn vanish(self: Box<Self>) {
        let _ = self.tcp.shutdown(Shutdown::Both);
    }
}

/// A TCP connection to 127.0.0.1:`port` for a client, and a handle on its socket (to vanish).
pub fn tcp_transport(port: u16) -> (TcpTransport, TcpStream) {
    let mut transport = TcpTransport::connect(("127.0.0.1", port)).expect("connect to the broker");
    transport.set_ready_wait(Duration::from_millis(5));
    let tcp = transport
        .stream()
        .try_clone()
        .expect("clone the TCP socket");
    (transport, tcp)
}

/// A client over plain TCP to 127.0.0.1:`port` on `state`, not yet MQTT-connected.
pub fn plain_client<'s>(
    driver: Driver,
    port: u16,
    state: &'s mut TestState,
) -> Box<dyn TestClient + 's> {
    let (transport, tcp) = tcp_transport(port);
    match driver {
        Driver::Blocking => Box::new(BlockingClient {
            client: blocking::Client::new(transport, state, StdClock::new()),
            tcp,
        }),
        Driver::Async => Box::new(AsyncClient {
            client: asynch::Client::new(transport, state, StdClock::new(), idle as Idle),
            tcp,
        }),
    }
}

/// Collect events from `c` until `done` says so; panics after 10 s.
pub fn collect_until(c: &mut dyn TestClient, mut done: impl FnMut(&[Seen]) -> bool) -> Vec<Seen> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = Vec::new();
    while !done(&seen) {
        assert!(Instant::now() < deadline, "timed out; saw {seen:?}");
        if let Some(event) = c.next().expect("client failed") {
            seen.push(event);
        }
    }
    seen
}

/// Collect events from `c` for `period` (to check that nothing, or nothing more, arrives).
pub fn collect_for(c: &mut dyn TestClient, period: Duration) -> Vec<Seen> {
    let deadline = Instant::now() + period;
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        if let Some(event) = c.next().expect("client failed") {
            seen.push(event);
        }
    }
    seen
}

/// A message as a scenario compares it: topic, payload, QoS, retain flag.
pub type Received = (String, Vec<u8>, QoS, bool);

/// The messages among `seen`, in order.
pub fn messages(seen: &[Seen]) -> Vec<Received> {
    seen.iter()
        .filter_map(|s| match s {
            Seen::Message {
                topic,
                payload,
                qos,
                retain,
            } => Some((topic.clone(), payload.clone(), *qos, *retain)),
            _ => None,
        })
        .collect()
}

/// Subscribes to one filter and waits for its SUBACK, which must grant `qos`.
pub fn subscribe(c: &mut dyn TestClient, filter: &str, qos: QoS) {
    let pid = c.subscribe(&[(filter, qos)]).unwrap();
    let seen = collect_until(c, |s| s.iter().any(|e| matches!(e, Seen::Subscribed(..))));
    assert_eq!(
        seen.last(),
        Some(&Seen::Subscribed(pid, vec![Granted::Qos(qos)]))
    );
}
