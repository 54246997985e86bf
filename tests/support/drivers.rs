//! A scenario written once and run through both drivers, calling their own methods.
//!
//! `both_drivers! { items }` expands `items` twice: in `mod blocking_client` and in
//! `mod async_client`, each importing its driver's module below, which gives the same names:
//! - `call!(expr)`: the result of a client call: `expr` for the blocking driver,
//!   `block_on(expr)` for the async one (`call!(c.publish("t", b"x", qos, false))`);
//! - `Client<'c, 'b, T>`, `client(transport, conn)`: the driver's client type and a new one;
//! - `Tls<'s>`: its TLS stream over TCP (`TlsStream`, `AsyncTlsStream`; `Tls<'s, S>` over the
//!   socket `S`), made with `call!(Tls::connect(..))`, and `tls_connect(..)`: TLS and CONNECT
//!   in one call;
//! - `Transport`: what its transports are (`embedded_io` or `embedded_io_async`);
//! - `DRIVER`, for messages.
//!
//! The items see the file's own items and imports (`use super::*`). `#[test]` functions among
//! them become `blocking_client::name` and `async_client::name`. The helpers below that take a
//! client (`next_event!`, `collect_until!`, `collect_for!`, `subscribe!`) are macros over
//! `call!`, usable in either expansion.
//!
//! A client call left without `call!` fails to compile in the async expansion (a future has no
//! `unwrap`). rustfmt leaves macro bodies alone: to format a scenario file, turn its
//! `both_drivers! {` into `mod scenarios {` for the run of `rustfmt`, then back.

use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use embedded_mqtts::host::TcpTransport;
use embedded_mqtts::session::Granted;
use embedded_mqtts::{client, Connection, Error, QoS, Storage};

use super::Seen;

/// The items given, once per driver: see the [module documentation](self).
macro_rules! both_drivers {
    ($($item:item)*) => {
        mod blocking_client {
            use super::*;
            use $crate::support::blocking_driver::*;
            $($item)*
        }
        mod async_client {
            use super::*;
            use $crate::support::async_driver::*;
            $($item)*
        }
    };
}

/// Which of the crate's two clients a scenario runs through.
#[derive(Clone, Copy, Debug)]
pub enum Driver {
    Blocking,
    Async,
}

/// What a `both_drivers!` expansion sees of the blocking driver.
pub mod blocking_driver {
    use embedded_mqtts::host::TcpTransport;
    use embedded_mqtts::time::StdClock;
    use embedded_mqtts::tls::{
        self, ClientError, MaybeClientIdentity, PinnedProvider, TlsOptions, TlsSocket, TlsStream,
    };
    use embedded_mqtts::{blocking, ConnectOptions, Connected, Connection};

    pub const DRIVER: super::Driver = super::Driver::Blocking;

    /// A blocking call's result is the call's value.
    macro_rules! call {
        ($call:expr) => {
            $call
        };
    }
    pub(crate) use call;

    pub trait Transport: embedded_io::Read + embedded_io::Write + embedded_io::ReadReady {}
    impl<T: embedded_io::Read + embedded_io::Write + embedded_io::ReadReady> Transport for T {}

    pub type Client<'c, 'b, T> = blocking::Client<'c, 'b, T, StdClock>;
    pub type Tls<'s, S = TcpTransport> = TlsStream<'s, S>;

    /// A blocking client over `transport` (not yet MQTT-connected) and `conn`.
    pub fn client<'c, 'b, T: Transport>(
        transport: T,
        conn: &'c mut Connection<'b>,
    ) -> Client<'c, 'b, T> {
        blocking::Client::new(transport, conn, StdClock::new())
    }

    /// [`tls::connect`] with the host clock.
    #[allow(clippy::too_many_arguments, clippy::result_large_err)] // as tls::connect
    pub fn tls_connect<'s, 'c, 'b, R, I>(
        socket: &'s TlsSocket<TcpTransport>,
        read_buffer: &'s mut [u8],
        write_buffer: &'s mut [u8],
        tls: &TlsOptions<'_>,
        provider: &mut PinnedProvider<'_, R, I>,
        conn: &'c mut Connection<'b>,
        options: &ConnectOptions<'_>,
    ) -> Result<(Client<'c, 'b, Tls<'s>>, Connected), ClientError>
    where
        R: rand_core::CryptoRngCore,
        I: MaybeClientIdentity,
    {
        let clock = StdClock::new();
        tls::connect(
            socket,
            read_buffer,
            write_buffer,
            tls,
            provider,
            conn,
            clock,
            options,
        )
    }
}

/// What a `both_drivers!` expansion sees of the async driver.
pub mod async_driver {
    use embedded_mqtts::host::TcpTransport;
    use embedded_mqtts::time::StdClock;
    use embedded_mqtts::tls::{
        self, AsyncTlsStream, ClientError, MaybeClientIdentity, PinnedProvider, TlsOptions,
        TlsSocket,
    };
    use embedded_mqtts::{asynch, ConnectOptions, Connected, Connection};

    use crate::support::{idle, Idle};

    pub const DRIVER: super::Driver = super::Driver::Async;

    /// An async call's result: its future run to completion.
    macro_rules! call {
        ($call:expr) => {
            $crate::support::block_on($call)
        };
    }
    pub(crate) use call;

    pub trait Transport:
        embedded_io_async::Read + embedded_io_async::Write + embedded_io::ReadReady
    {
    }
    impl<T> Transport for T where
        T: embedded_io_async::Read + embedded_io_async::Write + embedded_io::ReadReady
    {
    }

    pub type Client<'c, 'b, T> = asynch::Client<'c, 'b, T, StdClock, Idle>;
    pub type Tls<'s, S = TcpTransport> = AsyncTlsStream<'s, S>;

    /// An async client over `transport` (not yet MQTT-connected) and `conn`.
    pub fn client<'c, 'b, T: Transport>(
        transport: T,
        conn: &'c mut Connection<'b>,
    ) -> Client<'c, 'b, T> {
        asynch::Client::new(transport, conn, StdClock::new(), idle as Idle)
    }

    /// [`tls::connect_async`] with the host clock.
    #[allow(clippy::too_many_arguments, clippy::result_large_err)] // as tls::connect
    pub async fn tls_connect<'s, 'c, 'b, R, I>(
        socket: &'s TlsSocket<TcpTransport>,
        read_buffer: &'s mut [u8],
        write_buffer: &'s mut [u8],
        tls: &TlsOptions<'_>,
        provider: &mut PinnedProvider<'_, R, I>,
        conn: &'c mut Connection<'b>,
        options: &ConnectOptions<'_>,
    ) -> Result<(Client<'c, 'b, Tls<'s>>, Connected), ClientError>
    where
        R: rand_core::CryptoRngCore,
        I: MaybeClientIdentity,
    {
        let (clock, idle) = (StdClock::new(), idle as Idle);
        tls::connect_async(
            socket,
            read_buffer,
            write_buffer,
            tls,
            provider,
            conn,
            clock,
            idle,
            options,
        )
        .await
    }
}

/// The next event of `client` within 50 ms, owned; `Ok(None)` if none came.
macro_rules! next_event {
    ($client:expr) => {
        call!($client.wait_event(50)).map(|event| event.map($crate::support::own))
    };
}

/// Collects the events of `client` until `done(&seen)` says so; panics after 10 s.
macro_rules! collect_until {
    ($client:expr, $done:expr $(,)?) => {
        $crate::support::events_until(|| next_event!($client), $done)
    };
}

/// Collects the events of `client` for `period` (to check that nothing, or nothing more,
/// arrives).
macro_rules! collect_for {
    ($client:expr, $period:expr $(,)?) => {
        $crate::support::events_for(|| next_event!($client), $period)
    };
}

/// Subscribes `client` to one filter and waits for its SUBACK, which must grant `qos`.
macro_rules! subscribe {
    ($client:expr, $filter:expr, $qos:expr $(,)?) => {{
        let qos = $qos;
        let pid = call!($client.subscribe(&[($filter, qos)])).unwrap();
        $crate::support::expect_suback(|| next_event!($client), pid, qos)
    }};
}

/// The state of every test client: 8 messages in flight, 4 KiB packets.
pub type TestStorage = Storage<8, 4096, 4096, 4096>;

/// A connection of its own for a test client (a device that starts afresh), leaked: a test
/// makes a handful.
pub fn leaked_connection() -> &'static mut Connection<'static> {
    let storage: &mut TestStorage = Box::leak(Box::default());
    Box::leak(Box::new(Connection::new(storage.buffers())))
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

/// A TCP connection to 127.0.0.1:`port` for a client.
pub fn dial(port: u16) -> TcpTransport {
    tcp_transport(port).0
}

/// Drops the client's TCP connection without DISCONNECT (the broker sees a vanished client).
pub fn vanish<C, W>(client: client::Client<'_, '_, TcpTransport, C, W>) {
    let _ = client.into_transport().stream().shutdown(Shutdown::Both);
}

/// Collects events from `next` until `done` says so; panics after 10 s or on an error.
pub fn events_until(
    mut next: impl FnMut() -> Result<Option<Seen>, Error>,
    mut done: impl FnMut(&[Seen]) -> bool,
) -> Vec<Seen> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = Vec::new();
    while !done(&seen) {
        assert!(Instant::now() < deadline, "timed out; saw {seen:?}");
        if let Some(event) = next().expect("client failed") {
            seen.push(event);
        }
    }
    seen
}

/// Collects events from `next` for `period`; panics on an error.
pub fn events_for(
    mut next: impl FnMut() -> Result<Option<Seen>, Error>,
    period: Duration,
) -> Vec<Seen> {
    let deadline = Instant::now() + period;
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        if let Some(event) = next().expect("client failed") {
            seen.push(event);
        }
    }
    seen
}

/// Waits for the SUBACK of `pid` among the events from `next`: it must grant `qos`.
pub fn expect_suback(next: impl FnMut() -> Result<Option<Seen>, Error>, pid: u16, qos: QoS) {
    let seen = events_until(next, |s| {
        s.iter().any(|e| matches!(e, Seen::Subscribed(..)))
    });
    assert_eq!(
        seen.last(),
        Some(&Seen::Subscribed(pid, vec![Granted::Qos(qos)]))
    );
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
