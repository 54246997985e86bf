//! The async client: [`ClientState`] driven over `embedded_io_async::{Read, Write}` and
//! [`embedded_io::ReadReady`]. The same loop as [`super::blocking`], with `.await`.
//!
//! embedded-tls's async `read` is not cancel-safe, so this driver never races a read against a
//! timer: it reads only when `read_ready` says data is there, and waits in between with a future
//! the caller supplies (see [`Client::wait_event`]), which is dropped freely.

use core::ops::Range;

use core::future::Future;

use embedded_io::{Error as _, ReadReady};
use embedded_io_async::{Read, Write};

use super::{ClientState, Connected};
use crate::error::Error;
use crate::packet::QoS;
use crate::session::{ConnectOptions, Event, DEFAULT_INBOUND};
use crate::time::{Clock, Instant};

/// An MQTT client over an async transport.
///
/// The [`ClientState`] is borrowed, not owned, so that it outlives the connection: after a
/// failure, build a new `Client` over a new transport with the same state, call
/// [`Client::connect`] with `clean_session = false`, and the in-flight messages are re-sent.
pub struct Client<
    's,
    T,
    C,
    I,
    const N: usize,
    const STORE: usize,
    const RX: usize,
    const TX: usize,
    const INBOUND: usize = DEFAULT_INBOUND,
> {
    transport: T,
    clock: C,
    idle: I,
    state: &'s mut ClientState<N, STORE, RX, TX, INBOUND>,
}

/// How the async client waits while nothing is ready to read.
///
/// `idle(deadline)` should finish when data may have arrived or at `deadline` (when the
/// session next needs attention: keep-alive, timeouts; `None`: not before data arrives),
/// whichever is first — with embassy-net, say,
/// `select(socket.wait_read_ready(), Timer::at(deadline))`; a short sleep also works. The idle
/// future is the only thing the client ever drops half-way: reads always run to completion.
pub trait Idle {
    /// Wait until data may be readable or `deadline` is reached.
    fn idle(&mut self, deadline: Option<Instant>) -> impl Future<Output = ()>;
}

impl<F, Fut> Idle for F
where
    F: FnMut(Option<Instant>) -> Fut,
    Fut: Future<Output = ()>,
{
    fn idle(&mut self, deadline: Option<Instant>) -> impl Future<Output = ()> {
        self(deadline)
    }
}

impl<
        's,
        T,
        C,
        I,
        const N: usize,
        const STORE: usize,
        const RX: usize,
        const TX: usize,
        const INBOUND: usize,
    > Client<'s, T, C, I, N, STORE, RX, TX, INBOUND>
where
    T: Read + Write + ReadReady,
    C: Clock,
    I: Idle,
{
    /// A client over `transport` (already connected: TCP, TLS, UART, ...), waiting with
    /// `idle` whenever nothing is ready to read.
    pub fn new(
        transport: T,
        state: &'s mut ClientState<N, STORE, RX, TX, INBOUND>,
        clock: C,
        idle: I,
    ) -> Self {
        Client {
            transport,
            clock,
            idle,
            state,
        }
    }

    /// The session state.
    pub fn state(&self) -> &ClientState<N, STORE, RX, TX, INBOUND> {
        self.state
    }

    /// The transport, e.g. to close it.
    pub fn transport(&mut self) -> &mut T {
        &mut self.transport
    }

    /// Give back the transport.
    pub fn into_transport(self) -> T {
        self.transport
    }

    fn now(&mut self) -> Instant {
        self.clock.now()
    }

    /// Send CONNECT and wait for CONNACK (bounded by the options' response timeout).
    pub async fn connect(&mut self, options: &ConnectOptions<'_>) -> Result<Connected, Error> {
        let now = self.now();
        let bytes = self.state.connect(now, options)?;
        send(&mut self.transport, bytes)
            .await
            .map_err(|e| self.state.fail(e))?;
        loop {
            if let Event::Connected {
                session_present,
                resending,
            } = self.wait_event().await?
            {
                // Re-sends go out before anything the caller publishes next
                // ([MQTT-4.6.0-1]: in the order the messages were first sent).
                self.send_pending().await?;
                return Ok(Connected {
                    session_present,
                    resending,
                });
            }
        }
    }

    /// Publish a message. Returns the packet id for QoS 1 and 2: its
    /// [`Event::Delivered`] arrives through [`Client::poll`].
    ///
    /// # Errors
    /// [`Error::WindowFull`] or [`Error::StoreFull`]: nothing was sent or kept; poll for
    /// acknowledgements and try again. A transport error breaks the connection; a QoS 1/2
    /// message was already kept in flight and is sent again (DUP) when the persistent session
    /// resumes: [`Session::last_published`](crate::session::Session::last_published) names
    /// its packet id. With a clean session it is dropped on reconnect.
    pub async fn publish(
        &mut self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
    ) -> Result<Option<u16>, Error> {
        let now = self.now();
        let (bytes, pid) = self.state.publish(now, topic, payload, qos, retain)?;
        send(&mut self.transport, bytes)
            .await
            .map_err(|e| self.state.fail(e))?;
        Ok(pid)
    }

    /// Subscribe to `filters`; returns the packet id its [`Event::Subscribed`] will carry.
    pub async fn subscribe(&mut self, filters: &[(&str, QoS)]) -> Result<u16, Error> {
        let now = self.now();
        let (bytes, pid) = self.state.subscribe(now, filters)?;
        send(&mut self.transport, bytes)
            .await
            .map_err(|e| self.state.fail(e))?;
        Ok(pid)
    }

    /// Unsubscribe from `filters`; returns the packet id its [`Event::Unsubscribed`] will carry.
    pub async fn unsubscribe(&mut self, filters: &[&str]) -> Result<u16, Error> {
        let now = self.now();
        let (bytes, pid) = self.state.unsubscribe(now, filters)?;
        send(&mut self.transport, bytes)
            .await
            .map_err(|e| self.state.fail(e))?;
        Ok(pid)
    }

    /// Send DISCONNECT. The transport stays open; close it yourself.
    pub async fn disconnect(&mut self) -> Result<(), Error> {
        let bytes = self.state.disconnect()?;
        send(&mut self.transport, bytes)
            .await
            .map_err(|e| self.state.fail(e))
    }

    /// One step without waiting for data: send what the session wants sent (re-sends,
    /// PINGREQ), read if the transport has data, and return the event of one packet, or
    /// `None` if no whole packet is here yet. Call it again whenever
    /// [`Session::poll_at`](crate::session::Session::poll_at) is reached or data may have come.
    pub async fn poll(&mut self) -> Result<Option<Event<'_>>, Error> {
        match self.advance().await? {
            Some(frame) => {
                let now = self.now();
                self.handle(now, frame).await.map(Some)
            }
            None => Ok(None),
        }
    }

    /// Like [`Client::poll`], but wait (with the [`Idle`] future) until an event comes.
    pub async fn wait_event(&mut self) -> Result<Event<'_>, Error> {
        loop {
            if let Some(frame) = self.advance().await? {
                let now = self.now();
                return self.handle(now, frame).await;
            }
            let deadline = self.state.session.poll_at();
            self.idle.idle(deadline).await;
        }
    }

    async fn handle(&mut self, now: Instant, frame: Range<usize>) -> Result<Event<'_>, Error> {
        let handled = self.state.handle(now, frame)?;
        if let Err(e) = send(&mut self.transport, handled.reply).await {
            return Err(handled.session.fail(e));
        }
        Ok(handled.event)
    }

    /// Send every packet the session wants sent now (re-sends, PINGREQ).
    async fn send_pending(&mut self) -> Result<(), Error> {
        let now = self.now();
        while let Some(bytes) = self.state.transmit(now)? {
            if let Err(e) = send(&mut self.transport, bytes).await {
                return Err(self.state.fail(e));
            }
        }
        Ok(())
    }

    /// Send what the session wants sent, then read until a whole packet is buffered (its
    /// range) or the transport has nothing more to give right now (`None`).
    async fn advance(&mut self) -> Result<Option<Range<usize>>, Error> {
        self.send_pending().await?;
        loop {
            if let Some(frame) = self.state.frame()? {
                return Ok(Some(frame));
            }
            match self.transport.read_ready() {
                Ok(true) => {}
                Ok(false) => {
                    // Everything that arrived is in: only now is a missing answer late.
                    let now = self.now();
                    self.state.check_timeouts(now)?;
                    return Ok(None);
                }
                Err(e) => return Err(self.state.fail(Error::Transport(e.kind()))),
            }
            let n = match self.transport.read(self.state.read_space()).await {
                Ok(n) => n,
                Err(e) => return Err(self.state.fail(Error::Transport(e.kind()))),
            };
            self.state.received(n)?;
        }
    }
}

/// Write all of `bytes` and flush (a TLS stream holds records until flushed).
async fn send<T: Write>(transport: &mut T, bytes: &[u8]) -> Result<(), Error> {
    if bytes.is_empty() {
        return Ok(());
    }
    transport
        .write_all(bytes)
        .await
        .map_err(|e| Error::Transport(e.kind()))?;
    transport
        .flush()
        .await
        .map_err(|e| Error::Transport(e.kind()))
}
