//! The MQTT part: TLS 1.3 with the broker's CA pinned, then a persistent MQTT session that
//! survives reconnects, over the shared network layer's TCP stream.
//!
//! [`run`] opens a connection (TCP to 10.0.2.2:`port`, the TLS handshake, CONNECT with
//! `clean_session = false` and a fixed client id), subscribes to `<topic>/in` when asked to
//! receive, publishes `count` messages, waits until every QoS 1/2 message is acknowledged and
//! the expected messages came, stays idle if asked (keep-alive), and disconnects. When the
//! connection fails on the way (the broker restarted, a reset, a timeout) it opens a new one
//! and goes on: the client state keeps the in-flight messages, and the broker's stored session
//! the subscription, so nothing is lost and no QoS 2 message is delivered twice. A refused
//! certificate ends the run at once: no MQTT byte goes to an impostor.

use core::fmt::{self, Write as _};

use cortex_m_semihosting::hprintln;
use embedded_mqtts::tls::connection::{read_buffer_for, write_buffer_for};
use embedded_mqtts::tls::{
    ConnectError, MaxFragmentLength, Pin, PinnedProvider, TlsOptions, TlsSocket, TlsStream,
    ValidityTime, VerifyOptions,
};
use embedded_mqtts::{blocking::Client, ClientState, ConnectOptions, Error, Event, QoS};
use firmware_net::claim::ClaimOnce;
use firmware_net::lan9118;
use firmware_net::lan9118::smoltcp::Lan9118Device;
use firmware_net::net::{self, TcpStream};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use smoltcp::wire::Ipv4Address;

use crate::args::Args;
use crate::clock::Uptime;
use crate::host::{self, HostError};
use crate::Network;

/// The host, as QEMU's user-mode network shows it to the guest.
const BROKER_IP: Ipv4Address = Ipv4Address::new(10, 0, 2, 2);
/// The MQTT client identifier: the same on every connection, so the session resumes.
const CLIENT_ID: &str = "mps2-eth";
/// How long the TCP handshake may take.
const TCP_CONNECT_TIMEOUT_MS: u64 = 5_000;
/// How long a read of the TLS handshake or of a started TLS record may wait.
const READ_TIMEOUT_MS: u64 = 10_000;
/// How long CONNACK, SUBACK and PINGRESP may take.
const RESPONSE_TIMEOUT_MS: u32 = 10_000;
/// Pause before opening a new connection after one failed.
const RECONNECT_DELAY_MS: u64 = 500;
/// Connections one run may open before it gives up.
const MAX_CONNECTIONS: u32 = 20;

/// The CA the broker's chain must lead to: `certs/rsa-root`, or the file named by
/// `BROKER_CA` at build time (see build.rs).
const CA_DER: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/broker-ca.der"));
static PINS: [Pin<'static>; 1] = [Pin::Ca(&[CA_DER])];

/// MQTT buffers: 8 messages in flight, 1 KiB to keep them for resending, 1 KiB to receive and
/// 1 KiB to send.
type MqttState = ClientState<8, 1024, 1024, 1024>;
/// The largest MQTT packet sent (the transmit buffer).
const MQTT_TX: usize = 1024;
/// Records of at most 4 KiB (RFC 6066 max_fragment_length, which Mosquitto 2.0 with OpenSSL 3
/// honours): the TLS read buffer is 4,352 bytes instead of 16,640.
const FRAGMENT: MaxFragmentLength = MaxFragmentLength::Bits12;
const TLS_READ: usize = read_buffer_for(FRAGMENT);
const TLS_WRITE: usize = write_buffer_for(MQTT_TX);

/// The TCP stream of this board.
type Tcp = TcpStream<Lan9118Device, Uptime>;
/// The MQTT client of one connection.
type Mqtt<'a> = Client<'a, TlsStream<'a, Tcp>, Uptime, 8, 1024, 1024, 1024>;

/// The large buffers: statics (in .bss), so that the stack figure shows call depth only.
struct Buffers {
    mqtt: MqttState,
    tls_read: [u8; TLS_READ],
    tls_write: [u8; TLS_WRITE],
}

static BUFFERS: ClaimOnce<Buffers> = ClaimOnce::new(Buffers {
    mqtt: MqttState::new(),
    tls_read: [0; TLS_READ],
    tls_write: [0; TLS_WRITE],
});

/// What the run has done so far, over all its connections.
#[derive(Clone, Copy, Debug, Default)]
pub struct Progress {
    /// Connections opened (TCP attempts included).
    pub connections: u32,
    /// Messages handed to the client (QoS 1/2 ones are kept until acknowledged).
    pub published: u32,
    /// QoS 1/2 messages among them.
    pub expecting_ack: u32,
    /// QoS 1/2 messages acknowledged (PUBACK, or PUBCOMP).
    pub acknowledged: u32,
    /// Messages received on `<topic>/in`.
    pub received: u32,
    /// The broker granted the subscription to `<topic>/in` (in the stored session).
    pub subscribed: bool,
}

/// Why a run failed.
#[derive(Debug)]
pub enum Failure {
    /// Something is taken twice (a bug in this firmware).
    Setup(&'static str),
    /// The Ethernet controller did not start.
    Ethernet(lan9118::Error),
    /// A semihosting call failed.
    Host(HostError),
    /// No TCP connection to the broker.
    Tcp(net::ConnectError),
    /// The TLS handshake failed, or the broker's certificate was refused.
    Tls(ConnectError),
    /// The MQTT client failed.
    Mqtt(Error),
    /// The broker refused the subscription.
    SubscriptionRefused,
    /// Something did not come in time.
    NoAnswer {
        /// What was awaited.
        awaited: &'static str,
        /// For how long.
        waited_ms: u64,
    },
    /// The run's time ran out before the work was done.
    Unfinished {
        /// What was done.
        progress: Progress,
        /// The run's time.
        after_secs: u32,
    },
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Setup(what) => write!(f, "setup: {what}"),
            Failure::Ethernet(e) => write!(f, "Ethernet: {e}"),
            Failure::Host(e) => e.fmt(f),
            Failure::Tcp(e) => write!(f, "TCP: {e}"),
            Failure::Tls(e) => write!(f, "TLS: {e}"),
            Failure::Mqtt(e) => write!(f, "MQTT: {e}"),
            Failure::SubscriptionRefused => f.write_str("the broker refused the subscription"),
            Failure::NoAnswer { awaited, waited_ms } => {
                write!(f, "no {awaited} within {waited_ms} ms")
            }
            Failure::Unfinished {
                progress,
                after_secs,
            } => write!(
                f,
                "after {after_secs} s, {} of {} messages acknowledged, {} received",
                progress.acknowledged, progress.expecting_ack, progress.received
            ),
        }
    }
}

impl From<HostError> for Failure {
    fn from(e: HostError) -> Self {
        Failure::Host(e)
    }
}

/// How a connection ended badly.
enum Ended {
    /// The connection broke: open another.
    Lost(Failure),
    /// Going on is pointless (a refused certificate or subscription, the run's time is up).
    Fatal(Failure),
}

impl From<Error> for Ended {
    fn from(e: Error) -> Self {
        match e {
            Error::Refused(_) | Error::ClientCertificateRefused => Ended::Fatal(Failure::Mqtt(e)),
            other => Ended::Lost(Failure::Mqtt(other)),
        }
    }
}

/// Does the whole job, reconnecting as often as needed (see the module documentation).
pub fn run(
    net: Network,
    uptime: Uptime,
    args: &Args<'_>,
    progress: &mut Progress,
) -> Result<(), Failure> {
    let buffers = BUFFERS
        .claim()
        .ok_or(Failure::Setup("buffers taken twice"))?;
    // Emulator only: the seed comes from the host (see host.rs).
    let mut rng = ChaCha20Rng::from_seed(host::random_seed()?);
    let deadline_ms = uptime.millis() + u64::from(args.timeout_secs) * 1000;
    loop {
        progress.connections += 1;
        let ended = match connection(net, uptime, args, &mut rng, buffers, progress, deadline_ms) {
            Ok(()) => return Ok(()),
            Err(ended) => ended,
        };
        match ended {
            Ended::Fatal(failure) => return Err(failure),
            Ended::Lost(failure) => {
                if progress.connections >= MAX_CONNECTIONS || uptime.millis() >= deadline_ms {
                    return Err(failure);
                }
                hprintln!(
                    "mps2-eth: connection {} lost: {}; reconnecting",
                    progress.connections,
                    failure
                );
                uptime.delay_ms(RECONNECT_DELAY_MS);
            }
        }
    }
}

/// One connection, from the TCP handshake to DISCONNECT (or its failure).
fn connection(
    net: Network,
    uptime: Uptime,
    args: &Args<'_>,
    rng: &mut ChaCha20Rng,
    buffers: &mut Buffers,
    progress: &mut Progress,
    deadline_ms: u64,
) -> Result<(), Ended> {
    let mut tcp = net
        .connect((BROKER_IP, args.port), TCP_CONNECT_TIMEOUT_MS)
        .map_err(|e| Ended::Lost(Failure::Tcp(e)))?;
    tcp.set_read_timeout(Some(READ_TIMEOUT_MS));
    let socket = TlsSocket::new(tcp);
    let stream = handshake(
        &socket,
        &mut buffers.tls_read,
        &mut buffers.tls_write,
        args.name,
        rng,
        uptime,
    )?;
    let mut session = Session {
        client: Client::new(stream, &mut buffers.mqtt, uptime),
        uptime,
        args,
        progress,
        deadline_ms,
        inbox: Text::new(),
    };
    let _ = write!(session.inbox, "{}/in", args.topic);
    session.work()?;
    session.client.disconnect()?;
    // The broker closes the connection when DISCONNECT arrives, so close_notify may find
    // it gone: nothing is lost then.
    let _ = session.client.into_transport().close();
    Ok(())
}

/// The TLS handshake, verified against [`PINS`] at the host's time. Not inlined: its large
/// locals (the provider, the handshake state) are on the stack only while it runs.
#[inline(never)]
fn handshake<'a>(
    socket: &'a TlsSocket<Tcp>,
    read_buffer: &'a mut [u8],
    write_buffer: &'a mut [u8],
    name: &str,
    rng: &mut ChaCha20Rng,
    uptime: Uptime,
) -> Result<TlsStream<'a, Tcp>, Ended> {
    // Emulator only: the time comes from the host (see host.rs).
    let now = host::unix_time();
    let mut provider = PinnedProvider::new(
        rng,
        &PINS,
        VerifyOptions::new(ValidityTime::UnixSeconds(now)),
    );
    let mut options = TlsOptions::new(name);
    options.max_fragment_length = Some(FRAGMENT);
    let started = uptime.millis();
    match TlsStream::connect(socket, read_buffer, write_buffer, &options, &mut provider) {
        Ok(stream) => {
            hprintln!(
                "mps2-eth: TLS 1.3 up in {} ms; broker {:?} verified against the pinned CA at unix time {}",
                uptime.millis() - started,
                stream.verified().server_name().unwrap_or("?"),
                now
            );
            Ok(stream)
        }
        Err(e @ ConnectError::Verify(_)) => Err(Ended::Fatal(Failure::Tls(e))),
        Err(e) => Err(Ended::Lost(Failure::Tls(e))),
    }
}

/// One connection's MQTT client and what the run asks of it.
struct Session<'a, 'r> {
    client: Mqtt<'a>,
    uptime: Uptime,
    args: &'r Args<'r>,
    progress: &'r mut Progress,
    deadline_ms: u64,
    inbox: Text<128>,
}

impl Session<'_, '_> {
    /// CONNECT, SUBSCRIBE if needed, the messages still to publish, the acknowledgements and
    /// messages still to come, then the idle time.
    fn work(&mut self) -> Result<(), Ended> {
        let mut options = ConnectOptions::new(CLIENT_ID);
        options.clean_session = false;
        options.keep_alive_secs = self.args.keep_alive_secs;
        options.response_timeout_ms = RESPONSE_TIMEOUT_MS;
        let connected = self.client.connect(&options)?;
        hprintln!(
            "mps2-eth: connected (connection {}, session present {}, re-sending {})",
            self.progress.connections,
            connected.session_present,
            connected.resending
        );
        if self.args.recv > 0 && !(connected.session_present && self.progress.subscribed) {
            self.progress.subscribed = false;
            self.client
                .subscribe(&[(self.inbox.as_str(), QoS::ExactlyOnce)])?;
            self.wait_until("SUBACK", |progress| progress.subscribed)?;
        }
        while self.progress.published < self.args.count {
            self.publish_next()?;
            let pause_until = self.uptime.millis() + u64::from(self.args.interval_ms);
            while self.uptime.millis() < pause_until {
                self.step()?;
            }
        }
        let (recv, expected) = (self.args.recv, self.progress.expecting_ack);
        self.wait_until("acknowledgements and messages", |progress| {
            progress.acknowledged >= expected && progress.received >= recv
        })?;
        let idle_until = self.uptime.millis() + u64::from(self.args.idle_secs) * 1000;
        if self.args.idle_secs > 0 {
            hprintln!("mps2-eth: idle for {} s", self.args.idle_secs);
        }
        while self.uptime.millis() < idle_until {
            self.step()?;
        }
        Ok(())
    }

    /// Publishes message number `published`, waiting while the in-flight window is full.
    fn publish_next(&mut self) -> Result<(), Ended> {
        let index = self.progress.published;
        let qos = self.args.qos.of(index);
        let mut payload = Text::<32>::new();
        let _ = write!(payload, "{index} q{}", qos as u8);
        loop {
            let in_flight = self.client.state().session().in_flight();
            match self
                .client
                .publish(self.args.topic, payload.as_str().as_bytes(), qos, false)
            {
                Ok(_) => break,
                Err(Error::WindowFull { .. } | Error::StoreFull { .. }) => {
                    self.step()?;
                }
                Err(e) => {
                    // Kept in flight (QoS 1/2): it is sent again on the next connection.
                    if self.client.state().session().in_flight() > in_flight {
                        self.count_published(qos);
                    }
                    return Err(e.into());
                }
            }
        }
        self.count_published(qos);
        Ok(())
    }

    fn count_published(&mut self, qos: QoS) {
        self.progress.published += 1;
        if qos != QoS::AtMostOnce {
            self.progress.expecting_ack += 1;
        }
    }

    /// Handles events until `done` says the run's progress is there, or the run's time is up.
    fn wait_until(
        &mut self,
        awaited: &'static str,
        done: impl Fn(&Progress) -> bool,
    ) -> Result<(), Ended> {
        while !done(self.progress) {
            if self.uptime.millis() >= self.deadline_ms {
                hprintln!("mps2-eth: still waiting for {}", awaited);
                return Err(Ended::Fatal(Failure::Unfinished {
                    progress: *self.progress,
                    after_secs: self.args.timeout_secs,
                }));
            }
            self.step()?;
        }
        Ok(())
    }

    /// Runs the client once (it sends PINGREQ when the keep-alive is due) and handles the
    /// event that came, if any; with none, sleeps until the next interrupt (a millisecond at
    /// most). Callers loop until their time or condition.
    fn step(&mut self) -> Result<(), Ended> {
        let event = self.client.wait_event(0)?;
        let progress = &mut *self.progress;
        match event {
            None => self.uptime.sleep(),
            Some(Event::Delivered { .. }) => progress.acknowledged += 1,
            Some(Event::Subscribed { granted, .. }) => {
                if granted.any_refused() {
                    return Err(Ended::Fatal(Failure::SubscriptionRefused));
                }
                progress.subscribed = true;
                hprintln!("subscribed {}", self.inbox.as_str());
            }
            Some(Event::Message(message)) if message.topic == self.inbox.as_str() => {
                progress.received += 1;
                hprintln!(
                    "received {} {}",
                    message.topic,
                    core::str::from_utf8(message.payload).unwrap_or("(not UTF-8)")
                );
            }
            _ => {}
        }
        Ok(())
    }
}

/// A short text built with `write!` (a topic, a payload); what does not fit is cut off.
struct Text<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> Text<N> {
    const fn new() -> Self {
        Text {
            bytes: [0; N],
            len: 0,
        }
    }

    fn as_str(&self) -> &str {
        // Only whole `&str`s are appended, so the bytes are UTF-8.
        core::str::from_utf8(self.bytes.get(..self.len).unwrap_or_default()).unwrap_or("")
    }
}

impl<const N: usize> fmt::Write for Text<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        let space = self.bytes.get_mut(self.len..end).ok_or(fmt::Error)?;
        space.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}
