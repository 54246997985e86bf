//! The MQTT seam: the console's `mqtt` commands, ready for the `embedded-mqtts` client.
//!
//! What is here: the broker's address and name (from `config.rs`), the certificate pin
//! compiled into the image, the preconditions a verifying TLS client needs (a pin, the
//! current UTC time, a working random generator), and the TCP connection over
//! [`crate::net`]. What is not here yet is the client itself: each command says what it
//! would do. The places to wire it are marked `LEAD:`.
//!
//! Expected library shape (subject to change): `embedded_mqtts::tls::Pin::Ca(&[BROKER_CA_DER])`
//! as the trust policy, a TLS connection over [`TcpStream`] with [`Rnga`] as the random source
//! and `Rtc::now()` as UNIX time, and `embedded_mqtts::blocking::Client` on top, kept in
//! [`Mqtt`] between commands and polled from the main loop (keep-alive, incoming PUBLISH)
//! through [`Mqtt::poll`].

use crate::calendar::DateTime;
use crate::config;
use crate::net::{ConnectError, NetHandle, StreamError, TcpStream};
use crate::rng::{RngError, Rnga};
use core::fmt::{self, Write};
use embedded_io::{Read, ReadReady};

/// The broker's CA certificate (DER), the pin. `build.rs` copies it from
/// `certs/rsa-root.der` (or `$BROKER_CA`, PEM converted to DER); empty if the file was
/// missing at build time, in which case `mqtt connect` refuses.
pub static BROKER_CA_DER: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/broker-ca.der"));

/// Which file the pin came from, or why it is missing (set by `build.rs`).
pub const BROKER_CA_SOURCE: &str = env!("BROKER_CA_SOURCE");

/// Why an `mqtt` command did not run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
    /// The TCP connection failed.
    Stream(StreamError),
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
            MqttError::Stream(error) => write!(f, "{error}"),
        }
    }
}

impl core::error::Error for MqttError {}

/// The MQTT side of the firmware: for now, the TCP connection to the broker.
#[derive(Default)]
pub struct Mqtt {
    // LEAD: replace by the embedded-mqtts client (which owns the TLS stream over TcpStream).
    connection: Option<TcpStream>,
    published: u32,
}

impl Mqtt {
    /// Not connected.
    pub const fn new() -> Mqtt {
        Mqtt {
            connection: None,
            published: 0,
        }
    }

    /// `mqtt connect`: checks the pin, the time and the RNG, opens TCP to the broker.
    pub fn connect(
        &mut self,
        net: Option<NetHandle>,
        rng: &mut Rnga,
        unix_now: Option<u64>,
        out: &mut dyn Write,
    ) -> Result<(), MqttError> {
        if self.connection.is_some() {
            return Err(MqttError::AlreadyConnected);
        }
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
        let local_port = stream.endpoints().map_or(0, |(_, port)| port);
        let _ = write!(
            out,
            "TCP connection established to server (local port {local_port})\r\n\
             Would now start the TLS 1.3 handshake:\r\n\
             \x20 server name : {}\r\n\
             \x20 pin         : CA certificate, {} bytes DER ({BROKER_CA_SOURCE})\r\n\
             \x20 time        : UNIX {now}",
            config::BROKER_NAME,
            BROKER_CA_DER.len(),
        );
        if let Ok(date_time) = DateTime::from_unix(now) {
            let _ = write!(out, " = {date_time}");
        }
        let _ = write!(
            out,
            "\r\n\x20 random      : RNGA\r\n\
             and send CONNECT (client id {}, keep-alive {} s, clean session).\r\n",
            config::CLIENT_ID,
            config::KEEP_ALIVE_SECS
        );
        // LEAD: wire embedded-mqtts client here: build the TLS connection over `stream` with
        // `Pin::Ca(&[BROKER_CA_DER])`, `rng` and `now`, then `blocking::Client::connect`;
        // report CONNACK (and session_present) like the seed: "Client is connected".
        let _ = out
            .write_str("LEAD: TLS and MQTT are not wired yet; the TCP connection stays open.\r\n");
        self.connection = Some(stream);
        Ok(())
    }

    /// `mqtt publish [payload]`: the seed published a counter to `HSLU/test`.
    pub fn publish(&mut self, payload: Option<&str>, out: &mut dyn Write) -> Result<(), MqttError> {
        if self.connection.is_none() {
            return Err(MqttError::NotConnected);
        }
        self.published = self.published.wrapping_add(1);
        let mut counter = heapless::String::<10>::new();
        let _ = write!(counter, "{}", self.published);
        let payload = payload.unwrap_or(counter.as_str());
        // LEAD: wire embedded-mqtts client here: client.publish(TOPIC, payload, QoS 0).
        let _ = write!(
            out,
            "Would publish to topic \"{}\", payload \"{payload}\" ({} bytes, QoS 0)\r\n",
            config::TOPIC,
            payload.len()
        );
        Ok(())
    }

    /// `mqtt subscribe`: the seed subscribed to `HSLU/test`.
    pub fn subscribe(&mut self, out: &mut dyn Write) -> Result<(), MqttError> {
        if self.connection.is_none() {
            return Err(MqttError::NotConnected);
        }
        // LEAD: wire embedded-mqtts client here: client.subscribe(TOPIC, QoS 0); report SUBACK.
        let _ = write!(
            out,
            "Would subscribe to topic \"{}\" (QoS 0)\r\n",
            config::TOPIC
        );
        Ok(())
    }

    /// `mqtt disconnect`: closes the connection.
    pub fn disconnect(&mut self, out: &mut dyn Write) -> Result<(), MqttError> {
        let stream = self.connection.take().ok_or(MqttError::NotConnected)?;
        // LEAD: wire embedded-mqtts client here: DISCONNECT, then TLS close_notify.
        drop(stream); // TCP FIN; the main loop's polls finish the close
        let _ = out.write_str("Disconnected (TCP closed)\r\n");
        Ok(())
    }

    /// `mqtt status`.
    pub fn status(&mut self, out: &mut dyn Write) {
        let _ = write!(
            out,
            "  broker    : {} ({}) port {}\r\n  pin       : ",
            config::BROKER_IP,
            config::BROKER_NAME,
            config::BROKER_PORT
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
        let _ = out.write_str("  connection: ");
        match self.connection.as_mut().and_then(TcpStream::endpoints) {
            Some((remote, port)) => {
                let _ = write!(
                    out,
                    "TCP {remote} from local port {port} (TLS not wired)\r\n"
                );
            }
            None if self.connection.is_some() => {
                let _ = out.write_str("closing\r\n");
            }
            None => {
                let _ = out.write_str("none\r\n");
            }
        }
        let _ = write!(out, "  published : {}\r\n", self.published);
    }

    /// Called from the main loop: notices a connection the broker closed (without TLS, a
    /// broker on 8883 closes it after its handshake timeout) and drains unexpected bytes.
    pub fn poll(&mut self, out: &mut dyn Write) {
        let Some(stream) = self.connection.as_mut() else {
            return;
        };
        // LEAD: wire embedded-mqtts client here: keep-alive and incoming messages.
        if !matches!(stream.read_ready(), Ok(true) | Err(_)) {
            return;
        }
        let mut buffer = [0u8; 64];
        match stream.read(&mut buffer) {
            Ok(0) => {
                let _ = out.write_str("\r\nmqtt: the broker closed the TCP connection\r\n");
                self.connection = None;
            }
            Ok(count) => {
                let _ = write!(
                    out,
                    "\r\nmqtt: {count} bytes from the broker (no TLS yet)\r\n"
                );
            }
            Err(error) => {
                let _ = write!(out, "\r\nmqtt: connection lost: {error}\r\n");
                self.connection = None;
            }
        }
    }
}
