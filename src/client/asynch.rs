//! The async client: a [`Connection`] driven over `embedded_io_async::{Read, Write}` and
//! [`embedded_io::ReadReady`], the same loop as [`super::blocking`] with `.await`.
//!
//! Cancel safety: embedded-tls's async `read` is not cancel-safe, so the client never races a
//! read against a timer. It reads only when `read_ready` says data is there, and waits in
//! between with the [`Idle`] future the caller supplies, the one future it drops half-way.
//! Do not wrap the client's calls in `select`/`with_timeout`: give
//! [`Client::wait_event`] a timeout instead, which ends only between reads.

use core::future::Future;

use embedded_io::{Error as _, ErrorKind, ReadReady};
use embedded_io_async::{Read, Write};

use super::{transport_failed, unwritten, Connected, Connection};
use crate::error::Error;
use crate::packet::QoS;
use crate::session::{ConnectOptions, Event};
use crate::time::{Clock, Instant};

/// How the async client waits while nothing is ready to read.
///
/// `idle(timeout_ms)` should finish when data may have arrived or after `timeout_ms`
/// milliseconds (`None`: not before data arrives), whichever is first. The timeout is
/// relative, so no clock needs converting: with embassy-net, say,
/// `select(socket.wait_read_ready(), Timer::after_millis(ms.into()))` (watch `may_recv()` too:
/// `wait_read_ready` stays pending after the peer closed); a short sleep also works.
/// Dropping it half-way must be harmless.
pub trait Idle {
    /// Wait until data may be readable or `timeout_ms` milliseconds have passed.
    fn idle(&mut self, timeout_ms: Option<u32>) -> impl Future<Output = ()>;
}

impl<F: FnMut(Option<u32>) -> Fut, Fut: Future<Output = ()>> Idle for F {
    fn idle(&mut self, timeout_ms: Option<u32>) -> impl Future<Output = ()> {
        self(timeout_ms)
    }
}

/// An MQTT client over an async transport (see the [module](super) for the contract).
pub type Client<'c, 'b, T, C, I> = super::Client<'c, 'b, T, C, IdleWith<I>>;

/// How the async client waits while nothing is readable: with the caller's [`Idle`].
#[derive(Clone, Copy, Debug)]
pub struct IdleWith<I>(I);

impl<'c, 'b, T, C, I> Client<'c, 'b, T, C, I>
where
    T: Read + Write + ReadReady,
    C: Clock,
    I: Idle,
{
    /// A client over `transport` and `conn`, waiting with `idle` while nothing is readable.
    pub fn new(transport: T, conn: &'c mut Connection<'b>, clock: C, idle: I) -> Self {
        super::Client {
            transport,
            conn,
            clock,
            wait: IdleWith(idle),
        }
    }

    /// Send CONNECT and wait for CONNACK (bounded by the options' response timeout).
    pub async fn connect(&mut self, options: &ConnectOptions<'_>) -> Result<Connected, Error> {
        // Not `run`: its first send would return the sticky error of the broken connection
        // that this CONNECT replaces (`Connection::connect` clears it and drops its bytes).
        let now = self.clock.now();
        self.conn.connect(now, options)?;
        self.send_due(now).await?;
        loop {
            let event = self.next_event(None).await?;
            if let Some(Event::Connected {
                session_present,
                resending,
            }) = event
            {
                return Ok(Connected {
                    session_present,
                    resending,
                });
            }
        }
    }

    /// Publish a message; returns its packet id for QoS 1 and 2 ([`Event::Delivered`] follows).
    /// If sending fails, [`Connection::session`]`().last_published()` says whether this message
    /// was kept in flight (to be sent again when the persistent session resumes).
    pub async fn publish(
        &mut self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
    ) -> Result<Option<u16>, Error> {
        let mut pid = None;
        self.run(&mut |c, now| {
            pid = c.publish(now, topic, payload, qos, retain)?;
            Ok(())
        })
        .await?;
        Ok(pid)
    }

    /// Subscribe to `filters`; returns the packet id its [`Event::Subscribed`] will carry.
    pub async fn subscribe(&mut self, filters: &[(&str, QoS)]) -> Result<u16, Error> {
        let mut pid = 0;
        self.run(&mut |c, now| {
            pid = c.subscribe(now, filters)?;
            Ok(())
        })
        .await?;
        Ok(pid)
    }

    /// Unsubscribe from `filters`; returns the packet id its [`Event::Unsubscribed`] will carry.
    pub async fn unsubscribe(&mut self, filters: &[&str]) -> Result<u16, Error> {
        let mut pid = 0;
        self.run(&mut |c, now| {
            pid = c.unsubscribe(now, filters)?;
            Ok(())
        })
        .await?;
        Ok(pid)
    }

    /// Send DISCONNECT. The transport stays open; close it yourself.
    pub async fn disconnect(&mut self) -> Result<(), Error> {
        self.run(&mut |c, _| c.disconnect()).await
    }

    /// One step without waiting: send what is due, read what the transport has, and return
    /// the event of one packet, or `None` if no whole packet is here.
    pub async fn poll(&mut self) -> Result<Option<Event<'_>>, Error> {
        let now = self.clock.now();
        if self.advance(now).await? {
            return self.conn.poll_event(now);
        }
        Ok(None)
    }

    /// Like [`Client::poll`], but wait (with the [`Idle`] future) until an event comes or
    /// `timeout_ms` passes (`None`). It awaits the idle future at least once when no event
    /// comes, `wait_event(0)` too, so a loop over it lets other tasks run.
    pub async fn wait_event(&mut self, timeout_ms: u32) -> Result<Option<Event<'_>>, Error> {
        let deadline = self.clock.now().add_millis(timeout_ms);
        self.next_event(Some(deadline)).await
    }

    /// The next event, or `None` at `deadline`.
    async fn next_event(&mut self, deadline: Option<Instant>) -> Result<Option<Event<'_>>, Error> {
        let mut idled = false;
        let now = loop {
            let now = self.clock.now();
            if self.advance(now).await? {
                break now;
            } else if deadline.is_some_and(|d| now.reached(d)) {
                if !idled {
                    // Even `wait_event(0)` lets the executor run other tasks (the network
                    // stack's, say) once, so that a loop over it makes progress.
                    self.wait.0.idle(Some(0)).await;
                }
                return Ok(None);
            }
            idled = true;
            let wake = match (self.conn.poll_timeout(), deadline) {
                (Some(a), Some(b)) => Some(a.earliest(b)),
                (a, b) => a.or(b),
            };
            self.wait.0.idle(wake.map(|at| at.millis_since(now))).await;
        };
        self.conn.poll_event(now)
    }

    /// Send what is due, apply `op` to the connection, and send what that made due. One body
    /// (one future) for every operation, as in the blocking client: `op` is called through a
    /// pointer and keeps its result in its closure.
    async fn run(
        &mut self,
        op: &mut (dyn FnMut(&mut Connection<'b>, Instant) -> Result<(), Error> + Send),
    ) -> Result<(), Error> {
        let now = self.clock.now();
        self.send_due(now).await?;
        op(self.conn, now)?;
        self.send_due(now).await
    }

    /// Write and flush everything the connection wants sent.
    async fn send_due(&mut self, now: Instant) -> Result<(), Error> {
        while let Some(bytes) = self.conn.poll_transmit(now)? {
            let sent = write_packet(&mut self.transport, bytes).await;
            sent.map_err(|e| transport_failed(self.conn, e))?;
        }
        Ok(())
    }

    /// Send what is due, then read until a whole packet is buffered (`true`) or the transport
    /// has nothing more right now (`false`, after enforcing the deadlines).
    async fn advance(&mut self, now: Instant) -> Result<bool, Error> {
        self.send_due(now).await?;
        while !self.conn.has_event(now)? {
            if !self.ready_to_read(now)? {
                return Ok(false);
            }
            let read = self.transport.read(self.conn.input_buffer()).await;
            self.received(now, read)?;
        }
        Ok(true)
    }
}

/// Write all of `bytes` to `transport` and flush it, by the rule of [`unwritten`]: a `write`
/// that takes nothing ends it with [`ErrorKind::WriteZero`] instead of embedded-io's panic.
async fn write_packet<T: Write>(transport: &mut T, mut bytes: &[u8]) -> Result<(), ErrorKind> {
    while !bytes.is_empty() {
        bytes = unwritten(bytes, transport.write(bytes).await)?;
    }
    transport.flush().await.map_err(|e| e.kind())
}
