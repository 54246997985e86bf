//! The blocking client: a [`Connection`] driven over `embedded_io::{Read, Write, ReadReady}`.

use embedded_io::{Error as _, ErrorKind, Read, ReadReady, Write};

use super::{transport_failed, unwritten, Connected, Connection};
use crate::error::Error;
use crate::packet::QoS;
use crate::session::{ConnectOptions, Event};
use crate::time::{Clock, Instant};

/// An MQTT client over a blocking transport (see the [module](super) for the contract).
pub type Client<'c, 'b, T, C> = super::Client<'c, 'b, T, C, Blocking>;

/// How the blocking client waits while nothing is readable: by asking the transport's
/// `read_ready` again (a host transport sleeps in it; a board's may poll its network stack).
#[derive(Clone, Copy, Debug)]
pub struct Blocking;

impl<'c, 'b, T: Read + Write + ReadReady, C: Clock> Client<'c, 'b, T, C> {
    /// A client over `transport` (connected: TCP, TLS, UART, ...) and `conn`.
    pub fn new(transport: T, conn: &'c mut Connection<'b>, clock: C) -> Self {
        super::Client {
            transport,
            conn,
            clock,
            wait: Blocking,
        }
    }

    /// Send CONNECT and wait for CONNACK (bounded by the options' response timeout).
    pub fn connect(&mut self, options: &ConnectOptions<'_>) -> Result<Connected, Error> {
        // Not `run`: its first send would return the sticky error of the broken connection
        // that this CONNECT replaces (`Connection::connect` clears it and drops its bytes).
        let now = self.clock.now();
        self.conn.connect(now, options)?;
        self.send_due(now)?;
        loop {
            if let Some(Event::Connected {
                session_present,
                resending,
            }) = self.poll()?
            {
                let connected = Connected {
                    session_present,
                    resending,
                };
                return Ok(connected);
            }
        }
    }

    /// Publish a message; returns its packet id for QoS 1 and 2 ([`Event::Delivered`] follows).
    /// If sending fails, [`Connection::session`]`().last_published()` says whether this message
    /// was kept in flight (to be sent again when the persistent session resumes).
    pub fn publish(
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
        })?;
        Ok(pid)
    }

    /// Subscribe to `filters`; returns the packet id its [`Event::Subscribed`] will carry.
    pub fn subscribe(&mut self, filters: &[(&str, QoS)]) -> Result<u16, Error> {
        let mut pid = 0;
        self.run(&mut |c, now| {
            pid = c.subscribe(now, filters)?;
            Ok(())
        })?;
        Ok(pid)
    }

    /// Unsubscribe from `filters`; returns the packet id its [`Event::Unsubscribed`] will carry.
    pub fn unsubscribe(&mut self, filters: &[&str]) -> Result<u16, Error> {
        let mut pid = 0;
        self.run(&mut |c, now| {
            pid = c.unsubscribe(now, filters)?;
            Ok(())
        })?;
        Ok(pid)
    }

    /// Send DISCONNECT. The transport stays open; close it yourself.
    pub fn disconnect(&mut self) -> Result<(), Error> {
        self.run(&mut |c, _| c.disconnect())
    }

    /// One step without waiting: send what is due, read what the transport has, and return
    /// the event of one packet, or `None` if no whole packet is here.
    pub fn poll(&mut self) -> Result<Option<Event<'_>>, Error> {
        let now = self.clock.now();
        match self.advance(now)? {
            true => self.conn.poll_event(now),
            false => Ok(None),
        }
    }

    /// Like [`Client::poll`], but keep going until an event comes or `timeout_ms` passes
    /// (`None`). How much CPU the wait costs depends on the transport's `read_ready` (a host
    /// transport such as [`TcpTransport`](crate::host::TcpTransport) sleeps in it).
    pub fn wait_event(&mut self, timeout_ms: u32) -> Result<Option<Event<'_>>, Error> {
        let deadline = self.clock.now().add_millis(timeout_ms);
        let now = loop {
            let now = self.clock.now();
            if self.advance(now)? {
                break now;
            }
            if now.reached(deadline) {
                return Ok(None);
            }
        };
        self.conn.poll_event(now)
    }

    /// Apply `op` to the connection between two sends of what is due. One body for every
    /// operation (`op` is called through a pointer, its result kept by the caller's closure).
    fn run(
        &mut self,
        op: &mut dyn FnMut(&mut Connection<'b>, Instant) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let now = self.clock.now();
        self.send_due(now)?;
        op(self.conn, now)?;
        self.send_due(now)
    }

    /// Write and flush everything the connection wants sent.
    fn send_due(&mut self, now: Instant) -> Result<(), Error> {
        while let Some(bytes) = self.conn.poll_transmit(now)? {
            write_packet(&mut self.transport, bytes).map_err(|e| transport_failed(self.conn, e))?;
        }
        Ok(())
    }

    /// Send what is due, then read until a whole packet is buffered (`true`) or the transport
    /// has nothing more right now (`false`, after enforcing the deadlines).
    fn advance(&mut self, now: Instant) -> Result<bool, Error> {
        self.send_due(now)?;
        while !self.conn.has_event(now)? {
            if !self.ready_to_read(now)? {
                return Ok(false);
            }
            let read = self.transport.read(self.conn.input_buffer());
            self.received(now, read)?;
        }
        Ok(true)
    }
}

/// Write all of `bytes` to `transport` and flush it, by the rule of [`unwritten`]: a `write`
/// that takes nothing ends it with [`ErrorKind::WriteZero`] instead of embedded-io's panic.
fn write_packet<T: Write>(transport: &mut T, mut bytes: &[u8]) -> Result<(), ErrorKind> {
    while !bytes.is_empty() {
        bytes = unwritten(bytes, transport.write(bytes))?;
    }
    transport.flush().map_err(|e| e.kind())
}
