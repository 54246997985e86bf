//! What outlives one connection (the session state, the count of accepted connections), and
//! the shape of the work done over one connection, whatever the transport.

use embedded_io::{Read, ReadReady, Write};
use embedded_mqtts::time::StdClock;
use embedded_mqtts::{blocking, Connected, Connection, Event, Storage};

use crate::args::ConnectionArgs;
use crate::failure::Failure;
use crate::packet_log::PacketLog;

/// Messages in flight at once (QoS 1/2), and SUBSCRIBEs awaiting their SUBACK.
pub const WINDOW: usize = 16;
/// The largest packet sent or received, and the bytes kept to re-send messages in flight.
/// A PUBLISH carries up to this minus its topic and header (about 256 KiB of payload).
pub const MAX_PACKET: usize = 256 * 1024;
/// Inbound QoS 2 messages awaiting PUBREL the session can track (2 bytes each). A host has
/// room for far more than a device: a subscriber that comes back to a backlog gets it without
/// a deferral and reconnect (Mosquitto was seen sending over 250 at once).
pub const INBOUND: usize = 1024;
/// How long one wait for an event lasts before the caller looks around (stdin, deadlines).
pub const POLL_MS: u32 = 50;

/// The buffers of the session: about 768 KiB, hence on the heap.
type SessionStorage = Storage<WINDOW, MAX_PACKET, MAX_PACKET, MAX_PACKET, INBOUND>;
/// The client over one connection's transport, with the `-d` tap in between.
pub type Mqtt<'c, T> = blocking::Client<'c, 'static, PacketLog<T>, StdClock>;

/// Work done over one connection: connect, then publish or subscribe until done or the
/// connection fails. Generic over the transport so that plain TCP and TLS share it.
pub trait OverTransport {
    /// Connect over `transport` and work until done (`Ok`) or until it fails.
    fn run<T: Read + Write + ReadReady>(&mut self, transport: T) -> Result<(), Failure>;

    /// How many connections the broker has accepted so far (for the reconnect policy).
    fn accepted_connections(&self) -> u32;
}

/// The session across connections, and how to open the next one.
pub struct Link<'a> {
    args: &'a ConnectionArgs,
    conn: Connection<'static>,
    accepted: u32,
}

impl<'a> Link<'a> {
    pub fn new(args: &'a ConnectionArgs) -> Self {
        Link {
            args,
            // One session for the whole run: its buffers live as long as the process.
            conn: Connection::new(Box::leak(Box::<SessionStorage>::default()).buffers()),
            accepted: 0,
        }
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> u32 {
        self.accepted
    }

    /// Send CONNECT over `transport` and wait for CONNACK. On a persistent session the
    /// client re-sends the messages still in flight from the previous connection.
    pub fn connect<T: Read + Write + ReadReady>(
        &mut self,
        transport: T,
    ) -> Result<(Mqtt<'_, T>, Connected), Failure> {
        let log_as = self.args.debug.then(|| self.args.client_id.clone());
        let mut client = blocking::Client::new(
            PacketLog::new(transport, log_as),
            &mut self.conn,
            StdClock::new(),
        );
        let connected = client.connect(&self.args.connect_options())?;
        self.accepted += 1;
        Ok((client, connected))
    }
}

/// Wait up to `timeout_ms` for one event. A failure that leaves the connection usable (a
/// packet larger than the receive buffer, which was skipped) is reported on stderr and the
/// wait ends without an event.
pub fn next_event<'c, T: Read + Write + ReadReady>(
    client: &'c mut Mqtt<'_, T>,
    timeout_ms: u32,
) -> Result<Option<Event<'c>>, Failure> {
    match client.wait_event(timeout_ms) {
        Ok(event) => Ok(event),
        Err(e) if !e.is_fatal() => {
            eprintln!("mqtt: warning: {e}");
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}
