//! The console's `mqtt` commands: MQTT 3.1.1 over TLS 1.3 with `embedded-mqtts`, the broker's
//! CA pinned in the image.
//!
//! A connection is three steps, each printed on the console in the seed firmware's words:
//!
//! 1. [`Mqtt::open_tcp`] checks what a verifying client needs (a pin, the current UTC time
//!    from the RTC, a working RNGA) and opens TCP to the broker ([`crate::net`]).
//! 2. [`Mqtt::connect`] runs the TLS 1.3 handshake over it with the RNGA as the random source,
//!    verifies the broker against [`BROKER_CA_DER`] (chain to the pinned CA, validity at the
//!    RTC's time, the name [`config::BROKER_NAME`], and the CertificateVerify signature), says
//!    the verdict in words, then sends CONNECT and waits for CONNACK. It asks the broker for
//!    4 KiB records (max_fragment_length, RFC 6066), so the TLS read buffer is 4,352 bytes
//!    instead of 16,640; a broker that ignores the extension and sends a larger record fails
//!    the connection with "a TLS record does not fit the read buffer".
//! 3. The returned [`Link`] is the live connection: `publish`, `subscribe`, [`Link::poll`]
//!    (keep-alive, incoming PUBLISH, acknowledgements) and [`Link::close`].
//!
//! Nothing here is self-referential: the [`BrokerSocket`] (TCP under TLS) is kept by the
//! caller's stack frame for the whole connection, and the TLS buffers and the MQTT
//! [`MqttStorage`] are statics owned by [`Mqtt`]; a [`Link`] borrows both. The session state
//! outlives the link, so with [`config::CLEAN_SESSION`] off the next `mqtt connect` resumes
//! the broker-side session and re-sends what the broker had not acknowledged.

// A refusal carries its facts (certificate names) inline, as the library's errors do: there is
// no heap to box them in, and they are returned once per `mqtt connect`.
#![allow(clippy::result_large_err)]

use crate::calendar::DateTime;
use crate::claim::ClaimOnce;
use crate::config;
use crate::net::{ConnectError, NetHandle, TcpStream};
use crate::rng::{RngError, Rnga};
use crate::uptime;
use core::fmt::{self, Write};
use embedded_mqtts::session::{Ack, Granted};
use embedded_mqtts::tls::{
    self, read_buffer_for, write_buffer_for, MaxFragmentLength, Pin, PinnedProvider, TlsOptions,
    TlsSocket, TlsStream, ValidityTime,
};
use embedded_mqtts::{
    blocking, Clock, ConnectOptions, Connection, Event, Instant, Message, Storage,
};
use smoltcp::wire::IpEndpoint;

/// The broker's CA certificate (DER), the pin. `build.rs` copies it from
/// `certs/rsa-root.der` (or `$BROKER_CA`, PEM converted to DER); empty if the file was
/// missing at build time, in which case `mqtt connect` refuses.
pub static BROKER_CA_DER: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/broker-ca.der"));

/// Which file the pin came from, or why it is missing (set by `build.rs`).
pub const BROKER_CA_SOURCE: &str = env!("BROKER_CA_SOURCE");

/// Outbound QoS 1/2 messages in flight at once.
pub const IN_FLIGHT: usize = 4;
/// Bytes kept to re-send the messages in flight.
pub const STORE: usize = 1024;
/// The largest MQTT packet the broker may send us (an incoming PUBLISH: topic and payload).
pub const MQTT_RX: usize = 1024;
/// The largest MQTT packet we send.
pub const MQTT_TX: usize = 1024;
/// The record size asked of the broker.
pub const FRAGMENT: MaxFragmentLength = MaxFragmentLength::Bits12;
/// TLS read buffer: one record of [`FRAGMENT`] bytes plus overhead (4,352).
pub const TLS_READ: usize = read_buffer_for(FRAGMENT);
/// TLS write buffer: one record holding the largest MQTT packet (1,157).
pub const TLS_WRITE: usize = write_buffer_for(MQTT_TX);
/// Events handled per [`Link::poll`], so that the console stays responsive under a flood.
const EVENTS_PER_POLL: usize = 8;
/// Payload bytes shown of an incoming message.
const PAYLOAD_SHOWN: usize = 128;

/// Everything MQTT keeps between calls and across connections.
pub type MqttStorage = Storage<IN_FLIGHT, STORE, MQTT_RX, MQTT_TX>;

/// The blocking client over TLS over TCP.
type Client<'c> = blocking::Client<'c, 'static, TlsStream<'c, TcpStream>, UptimeClock>;

/// The TLS record buffers: all zero, so they go to `.bss`.
struct TlsBuffers {
    read: [u8; TLS_READ],
    write: [u8; TLS_WRITE],
}

static TLS_BUFFERS: ClaimOnce<TlsBuffers> = ClaimOnce::new(TlsBuffers {
    read: [0; TLS_READ],
    write: [0; TLS_WRITE],
});

static MQTT_STORAGE: ClaimOnce<MqttStorage> = ClaimOnce::new(MqttStorage::new());

/// The uptime counter as the MQTT client's millisecond clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct UptimeClock;

impl Clock for UptimeClock {
    fn now(&mut self) -> Instant {
        // The client's instants wrap at 2^32 ms and compare modulo that: truncation intended.
        Instant::from_millis(uptime::millis() as u32)
    }
}

/// Why an `mqtt` command did not run, or a connection ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MqttError {
    /// No CA certificate was embedded at build time.
    NoPin,
    /// The RTC has no valid time: certificate validity cannot be checked.
    TimeUnknown,
    /// The random generator failed.
    Random(RngError),
    /// `mqtt connect` while connected.
    AlreadyConnected,
    /// A command that needs a connection, without one.
    NotConnected,
    /// The network is not running (see the boot messages).
    NoNetwork,
    /// The TCP connection could not be opened.
    Connect(ConnectError),
    /// The TLS handshake failed, or the broker did not pass the pin.
    Tls(tls::ConnectError),
    /// The MQTT client failed (CONNACK refused, timeout, transport).
    Mqtt(embedded_mqtts::Error),
}

impl fmt::Display for MqttError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MqttError::NoPin => write!(f, "no broker certificate pinned ({BROKER_CA_SOURCE})"),
            MqttError::TimeUnknown => f.write_str(
                "the time is not set, so certificates cannot be checked: \
                 set it with date dd.mm.yyyy and time hh:mm:ss (UTC)",
            ),
            MqttError::Random(error) => write!(f, "{error}"),
            MqttError::AlreadyConnected => f.write_str("already connected (mqtt disconnect first)"),
            MqttError::NotConnected => f.write_str("not connected (mqtt connect first)"),
            MqttError::NoNetwork => f.write_str("the network is not running"),
            MqttError::Connect(error) => write!(f, "{error}"),
            MqttError::Tls(tls::ConnectError::Verify(reason)) => {
                write!(f, "Broker refused: {reason}")
            }
            MqttError::Tls(error) => write!(f, "TLS handshake failed: {error}"),
            MqttError::Mqtt(error) => write!(f, "{error}"),
        }
    }
}

impl core::error::Error for MqttError {}

/// Counters and facts for `mqtt status`, kept across connections.
#[derive(Debug, Default)]
struct Stats {
    connections: u32,
    published: u32,
    delivered: u32,
    received: u32,
    pongs: u32,
    handshake_ms: u64,
    broker_key: Option<[u8; 32]>,
    last_error: Option<MqttError>,
}

impl Stats {
    fn count(&mut self, event: &Event<'_>) {
        match event {
            Event::Message(_) | Event::MessageEnd { .. } => {
                self.received = self.received.wrapping_add(1)
            }
            Event::Delivered { .. } => self.delivered = self.delivered.wrapping_add(1),
            Event::Pong => self.pongs = self.pongs.wrapping_add(1),
            _ => {}
        }
    }

    fn write(&self, out: &mut dyn Write) {
        let _ = write!(
            out,
            "  messages  : {} published, {} acknowledged, {} received; {} PINGRESP\r\n\
             \x20 TLS       : max fragment {} bytes, buffers {} read + {} write",
            self.published,
            self.delivered,
            self.received,
            self.pongs,
            TLS_READ - 256,
            TLS_READ,
            TLS_WRITE,
        );
        if self.connections > 0 {
            let _ = write!(out, "; last handshake {} ms", self.handshake_ms);
        }
        let _ = out.write_str("\r\n");
        if let Some(key) = &self.broker_key {
            let _ = write!(out, "  broker key: SPKI sha256 {}\r\n", Hex(key));
        }
        if let Some(error) = &self.last_error {
            let _ = write!(out, "  last error: {error}\r\n");
        }
    }
}

/// The TCP connection to the broker, ready for TLS. Keep it in a local variable for as long
/// as the [`Link`] made from it lives.
pub struct BrokerSocket {
    socket: TlsSocket<TcpStream>,
    unix_now: u64,
    endpoints: Option<(IpEndpoint, u16)>,
}

/// The MQTT side of the firmware: the statics a connection runs in, and what `mqtt status`
/// shows between connections.
pub struct Mqtt {
    conn: Connection<'static>,
    buffers: &'static mut TlsBuffers,
    stats: Stats,
}

impl Mqtt {
    /// The MQTT statics, the first time; `None` ever after.
    pub fn take() -> Option<Mqtt> {
        Some(Mqtt {
            conn: Connection::new(MQTT_STORAGE.claim()?.buffers()),
            buffers: TLS_BUFFERS.claim()?,
            stats: Stats::default(),
        })
    }

    /// `mqtt connect`, step 1: checks the pin, the time and the RNG, opens TCP to the broker.
    pub fn open_tcp(
        &mut self,
        net: Option<NetHandle>,
        rng: &mut Rnga,
        unix_now: Option<u64>,
        out: &mut dyn Write,
    ) -> Result<BrokerSocket, MqttError> {
        let result = open_tcp(net, rng, unix_now, out);
        if let Err(error) = &result {
            self.stats.last_error = Some(error.clone());
        }
        result
    }

    /// `mqtt connect`, step 2: TLS handshake over `socket` with the broker verified against
    /// the pin, then CONNECT/CONNACK.
    pub fn connect<'c>(
        &'c mut self,
        socket: &'c BrokerSocket,
        rng: &mut Rnga,
        out: &mut dyn Write,
    ) -> Result<Link<'c>, MqttError> {
        let Mqtt {
            conn,
            buffers,
            stats,
        } = self;
        match start(socket, conn, buffers, stats, rng, out) {
            Ok(client) => Ok(Link {
                client,
                stats,
                connected_at_ms: uptime::millis(),
                endpoints: socket.endpoints,
            }),
            Err(error) => {
                stats.last_error = Some(error.clone());
                Err(error)
            }
        }
    }

    /// `mqtt status` without a connection.
    pub fn status(&self, out: &mut dyn Write) {
        write_broker(out);
        let _ = write!(
            out,
            "  connection: none ({} so far)\r\n  session   : {} in flight\r\n",
            self.stats.connections,
            self.conn.in_flight()
        );
        self.stats.write(out);
    }
}

fn open_tcp(
    net: Option<NetHandle>,
    rng: &mut Rnga,
    unix_now: Option<u64>,
    out: &mut dyn Write,
) -> Result<BrokerSocket, MqttError> {
    if BROKER_CA_DER.is_empty() {
        return Err(MqttError::NoPin);
    }
    let now = unix_now.ok_or(MqttError::TimeUnknown)?;
    rng.try_next_word().map_err(MqttError::Random)?;
    let net = net.ok_or(MqttError::NoNetwork)?;
    let _ = write!(
        out,
        "Initiating connection to broker...\r\n\
         Connecting to host: {} ({}) at port: {}\r\n",
        config::BROKER_IP,
        config::BROKER_NAME,
        config::BROKER_PORT
    );
    let mut stream = net
        .connect(
            (config::BROKER_IP, config::BROKER_PORT),
            config::CONNECT_TIMEOUT_MS,
        )
        .map_err(MqttError::Connect)?;
    stream.set_read_timeout(Some(u64::from(config::RESPONSE_TIMEOUT_MS)));
    let endpoints = stream.endpoints();
    let _ = write!(
        out,
        "TCP connection established to server (local port {}), starting TLS handshake\r\n",
        endpoints.map_or(0, |(_, port)| port)
    );
    Ok(BrokerSocket {
        socket: TlsSocket::new(stream),
        unix_now: now,
        endpoints,
    })
}

/// The handshake, the verdict, CONNECT and CONNACK. Not inlined: its large locals (the TLS
/// provider, the handshake state, the stream before it moves into the client: 8 KiB of frame)
/// then exist only while it runs, not for the whole connection loop.
#[inline(never)]
fn start<'c>(
    socket: &'c BrokerSocket,
    conn: &'c mut Connection<'static>,
    buffers: &'c mut TlsBuffers,
    stats: &mut Stats,
    rng: &mut Rnga,
    out: &mut dyn Write,
) -> Result<Client<'c>, MqttError> {
    let cas = [BROKER_CA_DER];
    let pins = [Pin::Ca(&cas)];
    let mut provider = PinnedProvider::new(rng, &pins);
    let validity = ValidityTime::UnixSeconds(socket.unix_now);
    let mut options = TlsOptions::new(config::BROKER_NAME, validity);
    options.max_fragment_length = Some(FRAGMENT);
    let _ = write!(
        out,
        "TLS 1.3: server name '{}', max fragment {} bytes, pin: CA certificate ({} bytes), \
         time {}\r\n",
        config::BROKER_NAME,
        TLS_READ - 256,
        BROKER_CA_DER.len(),
        UnixTime(socket.unix_now)
    );
    let started = uptime::millis();
    let handshake = TlsStream::connect(
        &socket.socket,
        &mut buffers.read,
        &mut buffers.write,
        &options,
        &mut provider,
    );
    stats.handshake_ms = uptime::millis().saturating_sub(started);
    let _ = write!(
        out,
        "TLS handshake {} after {} ms\r\n",
        if handshake.is_ok() {
            "completed"
        } else {
            "failed"
        },
        stats.handshake_ms,
    );
    let stream = handshake.map_err(MqttError::Tls)?;
    let verified = stream.verified();
    let _ = write!(
        out,
        "Broker certificate verified: chain to pinned CA, name '{}', CertificateVerify \
         signed by its key\r\n  key SPKI sha256 {}\r\n",
        verified.server_name().unwrap_or(config::BROKER_NAME),
        Hex(&verified.leaf_spki_sha256())
    );
    stats.broker_key = Some(verified.leaf_spki_sha256());

    let mut client = blocking::Client::new(stream, conn, UptimeClock);
    let mut connect = ConnectOptions::new(config::CLIENT_ID);
    connect.keep_alive_secs = config::KEEP_ALIVE_SECS;
    connect.clean_session = config::CLEAN_SESSION;
    connect.response_timeout_ms = config::RESPONSE_TIMEOUT_MS;
    let _ = write!(
        out,
        "Sending CONNECT: client id {}, keep-alive {} s, clean session {}\r\n",
        config::CLIENT_ID,
        config::KEEP_ALIVE_SECS,
        YesNo(config::CLEAN_SESSION)
    );
    let connected = client.connect(&connect).map_err(MqttError::Mqtt)?;
    stats.connections = stats.connections.wrapping_add(1);
    let _ = write!(
        out,
        "Received CONNACK, Connect response code 0 (session present: {})\r\n",
        YesNo(connected.session_present)
    );
    if connected.resending > 0 {
        let _ = write!(
            out,
            "Re-sending {} unacknowledged message(s)\r\n",
            connected.resending
        );
    }
    let _ = out.write_str("Client is connected\r\n");
    Ok(client)
}

/// The live connection. Drop it only through [`Link::close`].
pub struct Link<'c> {
    client: Client<'c>,
    stats: &'c mut Stats,
    connected_at_ms: u64,
    endpoints: Option<(IpEndpoint, u16)>,
}

impl Link<'_> {
    /// `mqtt publish [payload]`: the payload, or (like the seed) a counter, to
    /// [`config::TOPIC`] with [`config::PUBLISH_QOS`].
    pub fn publish(
        &mut self,
        payload: Option<&str>,
        out: &mut dyn Write,
    ) -> Result<(), embedded_mqtts::Error> {
        let number = self.stats.published.wrapping_add(1);
        let mut counter = heapless::String::<10>::new();
        let _ = write!(counter, "{number}");
        let payload = payload.unwrap_or(counter.as_str());
        let _ = write!(
            out,
            "Initiating PUBLISH to broker...\r\n\
             Publish with payload length {} to topic \"{}\"\r\n",
            payload.len(),
            config::TOPIC
        );
        let pid = self.client.publish(
            config::TOPIC,
            payload.as_bytes(),
            config::PUBLISH_QOS,
            false,
        )?;
        self.stats.published = number;
        let _ = write!(
            out,
            "Published to topic \"{}\", payload \"{payload}\" (QoS {}",
            config::TOPIC,
            config::PUBLISH_QOS as u8
        );
        match pid {
            Some(pid) => {
                let _ = write!(out, ", id {pid}: PUBACK to come)\r\n");
            }
            None => {
                let _ = out.write_str(")\r\n");
            }
        }
        Ok(())
    }

    /// `mqtt subscribe`: [`config::TOPIC`] with [`config::SUBSCRIBE_QOS`]; SUBACK comes
    /// through [`Link::poll`].
    pub fn subscribe(&mut self, out: &mut dyn Write) -> Result<(), embedded_mqtts::Error> {
        let pid = self
            .client
            .subscribe(&[(config::TOPIC, config::SUBSCRIBE_QOS)])?;
        let _ = write!(
            out,
            "Initiating SUBSCRIBE to broker...\r\n\
             Client subscribe to topic \"{}\" (QoS {}), id: {pid}\r\n",
            config::TOPIC,
            config::SUBSCRIBE_QOS as u8
        );
        Ok(())
    }

    /// Keep-alive, re-sends, and what the broker sent: each event is printed (PINGRESP only
    /// counted). Returns whether anything was printed. An error is fatal to the connection
    /// when `is_fatal()` says so: then [`Link::close`] it.
    pub fn poll(&mut self, out: &mut dyn Write) -> Result<bool, embedded_mqtts::Error> {
        let mut printed = false;
        for _ in 0..EVENTS_PER_POLL {
            let Some(event) = self.client.poll()? else {
                break;
            };
            self.stats.count(&event);
            if !matches!(event, Event::Pong) {
                let _ = write!(out, "\r\n{}\r\n", EventText(&event));
                printed = true;
            }
        }
        Ok(printed)
    }

    /// `mqtt status` while connected.
    pub fn status(&self, out: &mut dyn Write) {
        write_broker(out);
        let up_s = uptime::millis().saturating_sub(self.connected_at_ms) / 1000;
        let session = self.client.connection().session();
        let _ = out.write_str("  connection: TLS 1.3, MQTT connected");
        if let Some((remote, port)) = self.endpoints {
            let _ = write!(out, " to {remote} from local port {port}");
        }
        let _ = write!(
            out,
            ", up {up_s} s\r\n  session   : {} in flight, {} awaiting release, \
             connection {} since boot\r\n",
            session.in_flight(),
            session.awaiting_release(),
            self.stats.connections,
        );
        self.stats.write(out);
    }

    /// Ends the connection. Without `failure` (`mqtt disconnect`): DISCONNECT, TLS
    /// close_notify, TCP FIN. With one: reports it and drops the connection (TCP FIN, or
    /// nothing if TCP is gone already). Either way the session state stays for the next
    /// `mqtt connect`.
    pub fn close(mut self, failure: Option<embedded_mqtts::Error>, out: &mut dyn Write) {
        match failure {
            Some(error) => {
                let _ = write!(out, "\r\n*** mqtt: connection lost: {error}\r\n");
                self.stats.last_error = Some(MqttError::Mqtt(error));
            }
            None => {
                let sent = self.client.disconnect();
                let closed = self.client.into_transport().close();
                match (sent, closed) {
                    (Ok(()), Ok(())) => {
                        let _ = out.write_str(
                            "Disconnected (MQTT DISCONNECT, TLS close_notify, TCP FIN)\r\n",
                        );
                    }
                    (Err(error), _) => {
                        let _ = write!(out, "Disconnected; DISCONNECT not sent: {error}\r\n");
                    }
                    (Ok(()), Err(error)) => {
                        let _ = write!(out, "Disconnected; close_notify not sent: {error}\r\n");
                    }
                }
            }
        }
    }
}

fn write_broker(out: &mut dyn Write) {
    let _ = write!(
        out,
        "  broker    : {} ({}) port {}, client id {}, topic \"{}\"\r\n  pin       : ",
        config::BROKER_IP,
        config::BROKER_NAME,
        config::BROKER_PORT,
        config::CLIENT_ID,
        config::TOPIC
    );
    if BROKER_CA_DER.is_empty() {
        let _ = write!(out, "none ({BROKER_CA_SOURCE})\r\n");
    } else {
        let _ = write!(
            out,
            "CA certificate, {} bytes DER ({BROKER_CA_SOURCE})\r\n",
            BROKER_CA_DER.len()
        );
    }
}

/// One event as a console line, in the seed firmware's words.
pub struct EventText<'e>(pub &'e Event<'e>);

impl fmt::Display for EventText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Event::Connected {
                session_present,
                resending,
            } => write!(
                f,
                "Client is connected (session present: {}, re-sending {resending})",
                YesNo(*session_present)
            ),
            Event::Message(message) => write_message(f, message),
            Event::Subscribed { pid, granted } => {
                write!(f, "SUBACK response with id {pid}: ")?;
                for (index, result) in granted.iter().enumerate() {
                    if index > 0 {
                        f.write_str(", ")?;
                    }
                    match result {
                        Granted::Qos(qos) => write!(f, "granted QoS {}", qos as u8)?,
                        Granted::Refused => f.write_str("refused (0x80)")?,
                    }
                }
                Ok(())
            }
            Event::Delivered { pid } => {
                write!(
                    f,
                    "PUBACK response with id {pid}: the broker has the message"
                )
            }
            Event::BrokerReceived { pid } => write!(f, "PUBREC with id {pid}: PUBREL sent"),
            Event::Released { pid } => write!(f, "PUBREL with id {pid}: PUBCOMP sent"),
            Event::Duplicate { pid } => {
                write!(
                    f,
                    "QoS 2 message id {pid} received again: acknowledged, not shown"
                )
            }
            Event::Deferred { pid } => write!(
                f,
                "QoS 2 message id {pid} deferred: too many await PUBREL, the broker sends it again"
            ),
            Event::Unsubscribed { pid } => write!(f, "UNSUBACK response with id {pid}"),
            Event::Pong => f.write_str("Received PINGRESP from server"),
            Event::MessageStart(head) => write!(
                f,
                "Incoming publish at topic \"{}\" with total length {}, QoS {}: larger than the \
                 receive buffer, in pieces:",
                head.topic, head.payload_len, head.qos as u8
            ),
            Event::MessagePart(part) => write!(f, "  {}", Payload(part)),
            Event::MessageEnd { pid } => match pid {
                Some(pid) => write!(f, "End of message id {pid}: acknowledged"),
                None => f.write_str("End of message"),
            },
            Event::StrayAck { ack, pid } => {
                let (name, answer) = match ack {
                    Ack::Pubrec => ("PUBREC", ": PUBREL sent"),
                    Ack::Puback => ("PUBACK", ": ignored"),
                    Ack::Pubrel => ("PUBREL", ": ignored"),
                    Ack::Pubcomp => ("PUBCOMP", ": ignored"),
                };
                write!(
                    f,
                    "{name} with id {pid}, which has no flow in progress{answer}"
                )
            }
        }
    }
}

fn write_message(f: &mut fmt::Formatter<'_>, message: &Message<'_>) -> fmt::Result {
    write!(
        f,
        "Incoming publish at topic \"{}\" with total length {}, QoS {}{}{}: {}",
        message.topic,
        message.payload.len(),
        message.qos as u8,
        if message.retain { ", retained" } else { "" },
        if message.dup { ", duplicate" } else { "" },
        Payload(message.payload)
    )
}

/// A payload for the console: quoted text when it is printable ASCII, else hex; the first
/// [`PAYLOAD_SHOWN`] bytes either way.
pub struct Payload<'a>(pub &'a [u8]);

impl fmt::Display for Payload<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (shown, cut) = match self.0.split_at_checked(PAYLOAD_SHOWN) {
            Some((head, rest)) if !rest.is_empty() => (head, "..."),
            _ => (self.0, ""),
        };
        match core::str::from_utf8(shown) {
            Ok(text) if text.bytes().all(|b| (0x20..0x7F).contains(&b)) => {
                write!(f, "\"{text}\"{cut}")
            }
            _ => write!(f, "hex {}{cut}", Hex(shown)),
        }
    }
}

/// Bytes as lower-case hex.
struct Hex<'a>(&'a [u8]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

/// UNIX seconds as a date (or the number, past 2106).
struct UnixTime(u64);

impl fmt::Display for UnixTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match DateTime::from_unix(self.0) {
            Ok(date_time) => write!(f, "{date_time}"),
            Err(_) => write!(f, "UNIX {}", self.0),
        }
    }
}

struct YesNo(bool);

impl fmt::Display for YesNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0 { "yes" } else { "no" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use embedded_mqtts::session::DEFAULT_INBOUND;
    use embedded_mqtts::{QoS, Session, Slot};

    #[test]
    fn payloads_show_as_text_or_hex_and_are_cut() {
        assert_eq!(format!("{}", Payload(b"3")), "\"3\"");
        assert_eq!(format!("{}", Payload(b"")), "\"\"");
        assert_eq!(format!("{}", Payload(&[0, 0xff, 0x41])), "hex 00ff41");
        assert_eq!(format!("{}", Payload(b"line\r\n")), "hex 6c696e650d0a");
        let long = [b'x'; PAYLOAD_SHOWN + 1];
        let shown = format!("{}", Payload(&long));
        assert_eq!(shown.len(), PAYLOAD_SHOWN + 2 + 3);
        assert!(shown.ends_with("\"..."), "{shown}");
        let exact = [b'y'; PAYLOAD_SHOWN];
        assert!(!format!("{}", Payload(&exact)).contains("..."));
    }

    #[test]
    fn incoming_messages_read_like_the_seed_log() {
        let message = Message {
            topic: "HSLU/test",
            payload: b"3",
            qos: QoS::AtLeastOnce,
            retain: true,
            dup: false,
            pid: Some(7),
        };
        assert_eq!(
            format!("{}", EventText(&Event::Message(message))),
            "Incoming publish at topic \"HSLU/test\" with total length 1, QoS 1, retained: \"3\""
        );
        assert_eq!(
            format!("{}", EventText(&Event::Delivered { pid: 5 })),
            "PUBACK response with id 5: the broker has the message"
        );
    }

    #[test]
    fn suback_results_are_spelled_out() {
        // A session that sent CONNECT and SUBSCRIBE, fed the broker's answers.
        let (mut slots, mut store, mut inbound) =
            ([Slot::EMPTY; 2], [0; 256], [0; DEFAULT_INBOUND]);
        let mut session = Session::new(&mut slots, &mut store, &mut inbound);
        let mut out = [0u8; 256];
        let now = Instant::from_millis(0);
        session
            .connect(now, &ConnectOptions::new("t"), &mut out)
            .unwrap();
        session.handle(now, &[0x20, 2, 0, 0], &mut out).unwrap();
        let (_, pid) = session
            .subscribe(
                now,
                &[("a", QoS::AtLeastOnce), ("b", QoS::ExactlyOnce)],
                &mut out,
            )
            .unwrap();
        let [high, low] = pid.to_be_bytes();
        let suback = [0x90, 4, high, low, 1, 0x80];
        let (event, _) = session.handle(now, &suback, &mut out).unwrap();
        assert_eq!(
            format!("{}", EventText(&event)),
            format!("SUBACK response with id {pid}: granted QoS 1, refused (0x80)")
        );
    }

    #[test]
    fn refusals_say_why_in_words() {
        let refused = MqttError::Tls(tls::ConnectError::Verify(
            tls::VerifyError::MissingServerName,
        ));
        let text = format!("{refused}");
        assert!(text.starts_with("Broker refused: "), "{text}");
        assert!(text.len() > "Broker refused: ".len());
        let refused = MqttError::Mqtt(embedded_mqtts::Error::ConnectionClosed);
        assert_eq!(format!("{refused}"), "connection closed by peer");
    }

    #[test]
    fn buffers_follow_the_fragment_size() {
        assert_eq!(TLS_READ, 4096 + 256);
        assert_eq!(TLS_WRITE, MQTT_TX + 133);
        assert_eq!(
            format!("{}", UnixTime(1_492_938_937)),
            "23.04.2017 09:15:37 UTC"
        );
    }
}
