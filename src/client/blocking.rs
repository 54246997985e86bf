//! The blocking client: [`ClientState`] driven over `embedded_io::{Read, Write, ReadReady}`.

use core::ops::Range;

use embedded_io::{Error as _, Read, ReadReady, Write};

use super::{ClientState, Connected};
use crate::error::Error;
use crate::packet::QoS;
use crate::session::{ConnectOptions, Event, DEFAULT_INBOUND};
use crate::time::{Clock, Instant};

/// An MQTT client over a blocking transport.
///
/// The [`ClientState`] is borrowed, not owned, so that it outlives the connection: after a
/// failure, build a new `Client` over a new transport with the same state, call
/// [`Client::connect`] with `clean_session = false`, and the in-flight messages are re-sent.
pub struct Client<
    's,
    T,
    C,
    const N: usize,
    const STORE: usize,
    const RX: usize,
    const TX: usize,
    const INBOUND: usize = DEFAULT_INBOUND,
> {
    transport: T,
    clock: C,
    state: &'s mut ClientState<N, STORE, RX, TX, INBOUND>,
}

impl<
        's,
        T,
        C,
        const N: usize,
        const STORE: usize,
        const RX: usize,
        const TX: usize,
        const INBOUND: usize,
    > Client<'s, T, C, N, STORE, RX, TX, INBOUND>
where
    T: Read + Write + ReadReady,
    C: Clock,
{
    /// A client over `transport` (already connected: TCP, TLS, UART, ...).
    pub fn new(
        transport: T,
        state: &'s mut ClientState<N, STORE, RX, TX, INBOUND>,
        clock: C,
    ) -> Self {
        Client {
            transport,
            clock,
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
    pub fn connect(&mut self, options: &ConnectOptions<'_>) -> Result<Connected, Error> {
        let now = self.now();
        let bytes = self.state.connect(now, options)?;
        send(&mut self.transport, bytes).map_err(|e| self.state.fail(e))?;
        loop {
            if let Some(frame) = self.advance()? {
                let now = self.now();
                if let Event::Connected {
                    session_present,
                    resending,
                } = self.handle(now, frame)?
                {
                    // Re-sends go out before anything the caller publishes next
                    // ([MQTT-4.6.0-1]: in the order the messages were first sent).
                    self.send_pending()?;
                    return Ok(Connected {
                        session_present,
                        resending,
                    });
                }
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
    pub fn publish(
        &mut self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
    ) -> Result<Option<u16>, Error> {
        let now = self.now();
        let (bytes, pid) = self.state.publish(now, topic, payload, qos, retain)?;
        send(&mut self.transport, bytes).map_err(|e| self.state.fail(e))?;
        Ok(pid)
    }

    /// Subscribe to `filters`; returns the packet id its [`Event::Subscribed`] will carry.
    pub fn subscribe(&mut self, filters: &[(&str, QoS)]) -> Result<u16, Error> {
        let now = self.now();
        let (bytes, pid) = self.state.subscribe(now, filters)?;
        send(&mut self.transport, bytes).map_err(|e| self.state.fail(e))?;
        Ok(pid)
    }

    /// Unsubscribe from `filters`; returns the packet id its [`Event::Unsubscribed`] will carry.
    pub fn unsubscribe(&mut self, filters: &[&str]) -> Result<u16, Error> {
        let now = self.now();
        let (bytes, pid) = self.state.unsubscribe(now, filters)?;
        send(&mut self.transport, bytes).map_err(|e| self.state.fail(e))?;
        Ok(pid)
    }

    /// Send DISCONNECT. The transport stays open; close it yourself.
    pub fn disconnect(&mut self) -> Result<(), Error> {
        let bytes = self.state.disconnect()?;
        send(&mut self.transport, bytes).map_err(|e| self.state.fail(e))
    }

    /// One step without waiting for data: send what the session wants sent (re-sends,
    /// PINGREQ), read if the transport has data, and return the event of one packet, or
    /// `None` if no whole packet is here yet. Call it again whenever
    /// [`Session::poll_at`](crate::session::Session::poll_at) is reached or data may have come.
    pub fn poll(&mut self) -> Result<Option<Event<'_>>, Error> {
        match self.advance()? {
            Some(frame) => {
                let now = self.now();
                self.handle(now, frame).map(Some)
            }
            None => Ok(None),
        }
    }

    /// Like [`Client::poll`], but keep polling until an event comes or `timeout_ms` passes.
    /// How much CPU the wait costs depends on the transport's `read_ready` (a host transport
    /// such as [`TcpTransport`](crate::host::TcpTransport) sleeps in it).
    pub fn wait_event(&mut self, timeout_ms: u32) -> Result<Option<Event<'_>>, Error> {
        let deadline = self.now().add_millis(timeout_ms);
        loop {
            if let Some(frame) = self.advance()? {
                let now = self.now();
                return self.handle(now, frame).map(Some);
            }
            if self.now().reached(deadline) {
                return Ok(None);
            }
        }
    }

    fn handle(&mut self, now: Instant, frame: Range<usize>) -> Result<Event<'_>, Error> {
        let handled = self.state.handle(now, frame)?;
        if let Err(e) = send(&mut self.transport, handled.reply) {
            return Err(handled.session.fail(e));
        }
        Ok(handled.event)
    }

    /// Send every packet the session wants sent now (re-sends, PINGREQ).
    fn send_pending(&mut self) -> Result<(), Error> {
        let now = self.now();
        while let Some(bytes) = self.state.transmit(now)? {
            if let Err(e) = send(&mut self.transport, bytes) {
                return Err(self.state.fail(e));
            }
        }
        Ok(())
    }

    /// Send what the session wants sent, then read until a whole packet is buffered (its
    /// range) or the transport has nothing more to give right now (`None`).
    fn advance(&mut self) -> Result<Option<Range<usize>>, Error> {
        self.send_pending()?;
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
            let n = match self.transport.read(self.state.read_space()) {
                Ok(n) => n,
                Err(e) => return Err(self.state.fail(Error::Transport(e.kind()))),
            };
            self.state.received(n)?;
        }
    }
}

/// Write all of `bytes` and flush (a TLS stream holds records until flushed).
fn send<T: Write>(transport: &mut T, bytes: &[u8]) -> Result<(), Error> {
    if bytes.is_empty() {
        return Ok(());
    }
    transport
        .write_all(bytes)
        .and_then(|()| transport.flush())
        .map_err(|e| Error::Transport(e.kind()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::cell::Cell;
    use std::collections::VecDeque;
    use std::rc::Rc;
    use std::vec::Vec;

    /// A transport that plays scripted broker bytes and records what the client sent: the one
    /// way to control exactly when an answer has arrived relative to the clock.
    #[derive(Default)]
    struct Script {
        incoming: VecDeque<u8>,
        sent: Vec<u8>,
    }

    impl embedded_io::ErrorType for Script {
        type Error = embedded_io::ErrorKind;
    }
    impl Read for Script {
        fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
            let n = buf.len().min(self.incoming.len());
            for (dst, src) in buf.iter_mut().zip(self.incoming.drain(..n)) {
                *dst = src;
            }
            Ok(n)
        }
    }
    impl ReadReady for Script {
        fn read_ready(&mut self) -> Result<bool, Self::Error> {
            Ok(!self.incoming.is_empty())
        }
    }
    impl Write for Script {
        fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
            self.sent.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> Result<(), Self::Error> {
            Ok(())
        }
    }

    #[test]
    fn an_answer_already_received_is_never_late() {
        let time = Rc::new(Cell::new(0u32));
        let clock = {
            let time = time.clone();
            move || Instant::from_millis(time.get())
        };
        let mut script = Script::default();
        script.incoming.extend([0x20, 0x02, 0x00, 0x00]);
        let mut state: ClientState<2, 64, 64, 64> = ClientState::new();
        let mut client = Client::new(script, &mut state, clock);
        let mut options = ConnectOptions::new("c");
        options.keep_alive_secs = 1;
        options.response_timeout_ms = 500;
        client.connect(&options).unwrap();
        time.set(1_000);
        assert_eq!(client.poll().unwrap(), None);
        assert!(client.transport().sent.ends_with(&[0xc0, 0x00]));
        // The PINGRESP arrives in time, but the caller polls only much later.
        client.transport().incoming.extend([0xd0, 0x00]);
        time.set(5_000);
        assert_eq!(client.poll().unwrap(), Some(Event::Pong));
        // Without an answer, the same delay is fatal.
        time.set(6_000);
        assert_eq!(client.poll().unwrap(), None);
        time.set(6_500);
        assert_eq!(
            client.poll(),
            Err(Error::Timeout(crate::error::Timeout::Pingresp {
                waited_ms: 500
            }))
        );
    }
}
