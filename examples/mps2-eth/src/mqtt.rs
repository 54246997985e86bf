//! The MQTT part: TLS 1.3 with the broker's CA pinned, then a persistent MQTT session that
//! survives reconnects, over the shared network layer's TCP stream.
//!
//! [`run`] opens a connection (TCP to 10.0.2.2:`port`, then [`tls::connect`]: the TLS
//! handshake and CONNECT with `clean_session = false` and a fixed client id), subscribes to
//! `<topic>/in` when asked to receive and to `sub=TOPIC` in receive mode, publishes `count`
//! messages, waits until every QoS 1/2 message is acknowledged and the expected messages came,
//! stays idle if asked (keep-alive), and disconnects. When the connection fails on the way
//! (the broker restarted, a reset, a timeout) it opens a new one and goes on: the
//! [`Connection`] outlives each TLS stream and keeps the in-flight messages, and the broker's
//! stored session the subscription, so nothing is lost and no QoS 2 message is delivered
//! twice. A refused certificate ends the run at once: no MQTT byte goes to an impostor.
//!
//! Receive mode (`sub=TOPIC`) takes one message of any size on TOPIC: one larger than the
//! MQTT receive buffer ([`MQTT_RX`], 1 KiB) comes as `MessageStart`, its payload in
//! `MessagePart`s of at most that size, then `MessageEnd`, after which the client acknowledges
//! it. Each part goes into a SHA-256 and is dropped, so a 512 KiB message costs no more RAM
//! than a small one; the run prints `received N bytes sha256 HEX`.

use core::fmt::{self, Write as _};

use cortex_m_semihosting::hprintln;
use embedded_mqtts::tls::{
    self, read_buffer_for, write_buffer_for, ClientError, ConnectError, MaxFragmentLength, Pin,
    PinnedProvider, TlsClient, TlsOptions, TlsSocket, ValidityTime,
};
use embedded_mqtts::{ConnectOptions, Connected, Connection, Error, Event, QoS, Storage};
use firmware_net::claim::ClaimOnce;
use firmware_net::lan9118;
use firmware_net::lan9118::smoltcp::Lan9118Device;
use firmware_net::net::{self, TcpStream};
use rand_core::SeedableRng;
use sha2::{Digest, Sha256};
use smoltcp::wire::Ipv4Address;

use crate::args::Args;
use crate::clock::Uptime;
use crate::host::{self, HostError};
use crate::rng::CtrRng;
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
const PINS: &[Pin<'static>] = &[Pin::Ca(&[CA_DER])];

/// The largest MQTT packet received whole (the receive buffer); a larger PUBLISH is streamed
/// through it in pieces.
const MQTT_RX: usize = 1024;
/// The largest MQTT packet sent (the transmit buffer).
const MQTT_TX: usize = 1024;
/// MQTT buffers: 8 messages in flight, 1 KiB to keep them for resending, [`MQTT_RX`] to
/// receive and [`MQTT_TX`] to send.
type MqttStorage = Storage<8, 1024, MQTT_RX, MQTT_TX>;
/// Records of at most 4 KiB (RFC 6066 max_fragment_length, which Mosquitto 2.0 with OpenSSL 3
/// honours): the TLS read buffer is 4,352 bytes instead of 16,640.
const FRAGMENT: MaxFragmentLength = MaxFragmentLength::Bits12;
const TLS_READ: usize = read_buffer_for(FRAGMENT);
const TLS_WRITE: usize = write_buffer_for(MQTT_TX);

/// The TCP stream of this board.
type Tcp = TcpStream<Lan9118Device, Uptime>;
/// The MQTT client of one connection: TLS over TCP, on the run's [`Connection`].
type Mqtt<'s, 'c> = TlsClient<'s, 'c, 'static, Tcp, Uptime>;

/// The large buffers: statics (in .bss), so that the stack figure shows call depth only.
struct Buffers {
    mqtt: MqttStorage,
    tls_read: [u8; TLS_READ],
    tls_write: [u8; TLS_WRITE],
}

static BUFFERS: ClaimOnce<Buffers> = ClaimOnce::new(Buffers {
    mqtt: MqttStorage::new(),
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
    /// Receive mode: the message on `sub=TOPIC` came whole.
    pub taken: bool,
    /// The broker granted the subscriptions (in the stored session).
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
    /// The TLS handshake or the TLS stream failed, the broker's certificate was refused, or
    /// the MQTT client failed.
    Client(ClientError),
    /// Receive mode: the message's parts did not add up to its announced length.
    Truncated {
        /// The length its head announced.
        announced: usize,
        /// The bytes that came.
        came: usize,
    },
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
            Failure::Client(e @ ClientError::Mqtt(_)) => write!(f, "MQTT: {e}"),
            Failure::Client(e) => write!(f, "TLS: {e}"),
            Failure::Truncated { announced, came } => {
                write!(f, "a message of {announced} bytes ended after {came}")
            }
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

impl From<ClientError> for Ended {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::Tls(ConnectError::Verify(_))
            | ClientError::ClientCertificateRefused(_)
            | ClientError::Mqtt(Error::Refused(_)) => Ended::Fatal(Failure::Client(e)),
            other => Ended::Lost(Failure::Client(other)),
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
    let Buffers {
        mqtt,
        tls_read,
        tls_write,
    } = BUFFERS
        .claim()
        .ok_or(Failure::Setup("buffers taken twice"))?;
    // The MQTT side of the session, for the whole run: each TLS connection borrows it, and
    // what the broker has not acknowledged on one is sent again on the next.
    let mut conn = Connection::new(mqtt.buffers());
    // Emulator only: the seed comes from the host (see host.rs).
    let mut rng = CtrRng::from_seed(host::random_seed()?);
    let deadline_ms = uptime.millis() + u64::from(args.timeout_secs) * 1000;
    loop {
        progress.connections += 1;
        let link = Link {
            conn: &mut conn,
            tls_read: tls_read.as_mut_slice(),
            tls_write: tls_write.as_mut_slice(),
        };
        let ended = match connection(net, uptime, args, &mut rng, link, progress, deadline_ms) {
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

/// What one connection borrows from the run: the MQTT connection and the TLS record buffers.
struct Link<'c, 't> {
    conn: &'c mut Connection<'static>,
    tls_read: &'t mut [u8],
    tls_write: &'t mut [u8],
}

/// One connection, from the TCP handshake to DISCONNECT (or its failure).
fn connection(
    net: Network,
    uptime: Uptime,
    args: &Args<'_>,
    rng: &mut CtrRng,
    link: Link<'_, '_>,
    progress: &mut Progress,
    deadline_ms: u64,
) -> Result<(), Ended> {
    let mut tcp = net
        .connect((BROKER_IP, args.port), TCP_CONNECT_TIMEOUT_MS)
        .map_err(|e| Ended::Lost(Failure::Tcp(e)))?;
    tcp.set_read_timeout(Some(READ_TIMEOUT_MS));
    let socket = TlsSocket::new(tcp);
    let (client, connected) = open(&socket, link, args, rng, uptime)?;
    let mut session = Session {
        client,
        uptime,
        args,
        progress,
        deadline_ms,
        inbox: Text::new(),
        download: Download::new(),
    };
    let _ = write!(session.inbox, "{}/in", args.topic);
    session.work(connected)?;
    let disconnected = session.client.disconnect();
    session.check(disconnected)?;
    // The broker closes the connection when DISCONNECT arrives, so close_notify may find
    // it gone: nothing is lost then.
    let _ = session.client.into_transport().close();
    Ok(())
}

/// The TLS handshake, verified against [`PINS`] at the host's time, then CONNECT with a
/// persistent session. Not inlined: its large locals (the provider, the handshake state) are
/// on the stack only while it runs.
#[inline(never)]
fn open<'s, 'c>(
    socket: &'s TlsSocket<Tcp>,
    link: Link<'c, 's>,
    args: &Args<'_>,
    rng: &mut CtrRng,
    uptime: Uptime,
) -> Result<(Mqtt<'s, 'c>, Connected), Ended> {
    // Emulator only: the time comes from the host (see host.rs).
    let now = host::unix_time();
    let mut provider = PinnedProvider::new(rng, PINS);
    let mut tls_options = TlsOptions::new(args.name, ValidityTime::UnixSeconds(now));
    tls_options.max_fragment_length = Some(FRAGMENT);
    let mut options = ConnectOptions::new(CLIENT_ID);
    options.clean_session = false;
    options.keep_alive_secs = args.keep_alive_secs;
    options.response_timeout_ms = RESPONSE_TIMEOUT_MS;
    let started = uptime.millis();
    let (mut client, connected) = tls::connect(
        socket,
        link.tls_read,
        link.tls_write,
        &tls_options,
        &mut provider,
        link.conn,
        uptime,
        &options,
    )?;
    hprintln!(
        "mps2-eth: TLS 1.3 and CONNECT in {} ms; broker '{}' verified against the pinned CA at unix time {}",
        uptime.millis().saturating_sub(started),
        client.transport().verified().server_name().unwrap_or("?"),
        now
    );
    Ok((client, connected))
}

/// One connection's MQTT client and what the run asks of it.
struct Session<'s, 'c, 'r> {
    client: Mqtt<'s, 'c>,
    uptime: Uptime,
    args: &'r Args<'r>,
    progress: &'r mut Progress,
    deadline_ms: u64,
    inbox: Text<128>,
    download: Download,
}

impl Session<'_, '_, '_> {
    /// SUBSCRIBE if needed, the messages still to publish, the acknowledgements and messages
    /// still to come, then the idle time.
    fn work(&mut self, connected: Connected) -> Result<(), Ended> {
        hprintln!(
            "mps2-eth: connected (connection {}, session present {}, re-sending {})",
            self.progress.connections,
            connected.session_present,
            connected.resending
        );
        let recv = self.args.recv > 0;
        if (recv || self.args.sub.is_some())
            && !(connected.session_present && self.progress.subscribed)
        {
            self.progress.subscribed = false;
            let inbox = (self.inbox.as_str(), QoS::ExactlyOnce);
            let filters: &[(&str, QoS)] = match self.args.sub {
                Some(sub) if recv => &[inbox, (sub, QoS::AtLeastOnce)],
                Some(sub) => &[(sub, QoS::AtLeastOnce)],
                None => &[inbox],
            };
            let subscribed = self.client.subscribe(filters);
            self.check(subscribed)?;
            self.wait_until("SUBACK", |progress| progress.subscribed)?;
        }
        while self.progress.published < self.args.count {
            self.publish_next()?;
            let pause_until = self.uptime.millis() + u64::from(self.args.interval_ms);
            while self.uptime.millis() < pause_until {
                self.step()?;
            }
        }
        if self.args.sub.is_some() {
            self.wait_until("the message on the sub= topic", |progress| progress.taken)?;
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
            let in_flight = self.client.connection().in_flight();
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
                    if self.client.connection().in_flight() > in_flight {
                        self.count_published(qos);
                    }
                    return self.check(Err(e));
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

    /// `result` of the client, its error made as precise as the TLS stream can (an alert, a
    /// record that does not decrypt, ...) and classed as lost or fatal.
    fn check<R>(&mut self, result: Result<R, Error>) -> Result<R, Ended> {
        result.map_err(|e| ClientError::over_tls(e, self.client.transport().failure()).into())
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
        let event = match self.client.wait_event(0) {
            Ok(event) => event,
            Err(e) => return self.check(Err(e)),
        };
        let progress = &mut *self.progress;
        match event {
            None => self.uptime.sleep(),
            Some(Event::Delivered { .. }) => progress.acknowledged += 1,
            Some(Event::Subscribed { granted, .. }) => {
                if granted.any_refused() {
                    return Err(Ended::Fatal(Failure::SubscriptionRefused));
                }
                progress.subscribed = true;
                if self.args.recv > 0 {
                    hprintln!("subscribed {}", self.inbox.as_str());
                }
                if let Some(sub) = self.args.sub {
                    hprintln!("subscribed {}", sub);
                }
            }
            Some(Event::Message(message)) if message.topic == self.inbox.as_str() => {
                progress.received += 1;
                hprintln!(
                    "received {} {}",
                    message.topic,
                    core::str::from_utf8(message.payload).unwrap_or("(not UTF-8)")
                );
            }
            // Receive mode: a message that fits the receive buffer comes whole...
            Some(Event::Message(message)) if takes(self.args, message.topic) => {
                let download = &mut self.download;
                download.start(true, message.payload.len(), self.uptime.millis());
                download.add(message.payload);
                download.finish(progress, self.uptime.millis())?;
            }
            // ... a larger one as its head, its payload in pieces, and its end.
            Some(Event::MessageStart(head)) => {
                let ours = takes(self.args, head.topic);
                if ours {
                    hprintln!(
                        "mps2-eth: message of {} bytes on {}, streamed through the {}-byte receive buffer",
                        head.payload_len,
                        head.topic,
                        MQTT_RX
                    );
                }
                self.download
                    .start(ours, head.payload_len, self.uptime.millis());
            }
            Some(Event::MessagePart(part)) => self.download.add(part),
            Some(Event::MessageEnd { .. }) => {
                self.download.finish(progress, self.uptime.millis())?;
            }
            Some(Event::StrayAck { ack, pid }) => {
                hprintln!("mps2-eth: stray {:?} for packet id {} (ignored)", ack, pid);
            }
            Some(_) => {}
        }
        Ok(())
    }
}

/// Receive mode: whether a message on `topic` is the one to take (`sub=` is a filter:
/// wildcards allowed).
fn takes(args: &Args<'_>, topic: &str) -> bool {
    args.sub
        .is_some_and(|filter| embedded_mqtts::topic::matches(filter, topic))
}

/// Receive mode: the SHA-256 of the message on `sub=TOPIC` as its pieces come; nothing of
/// the payload is kept.
struct Download {
    hash: Sha256,
    /// The payload length its head announced.
    announced: usize,
    /// The payload bytes hashed so far.
    came: usize,
    /// A message on `sub=TOPIC` is coming (not one on another topic).
    taking: bool,
    /// When its head came, for the log.
    started_ms: u64,
}

impl Download {
    fn new() -> Self {
        Download {
            hash: Sha256::new(),
            announced: 0,
            came: 0,
            taking: false,
            started_ms: 0,
        }
    }

    /// A message begins (again, if the broker re-sends it after a reconnect).
    fn start(&mut self, taking: bool, announced: usize, now_ms: u64) {
        *self = Download {
            taking,
            announced,
            started_ms: now_ms,
            ..Download::new()
        };
    }

    fn add(&mut self, part: &[u8]) {
        if self.taking {
            self.hash.update(part);
            self.came += part.len();
        }
    }

    /// The message ended: prints its length and hash (the test compares them).
    fn finish(&mut self, progress: &mut Progress, now_ms: u64) -> Result<(), Ended> {
        if !core::mem::take(&mut self.taking) {
            return Ok(());
        }
        if self.came != self.announced {
            return Err(Ended::Fatal(Failure::Truncated {
                announced: self.announced,
                came: self.came,
            }));
        }
        let digest = core::mem::take(&mut self.hash).finalize();
        hprintln!(
            "mps2-eth: {} bytes taken in {} ms",
            self.came,
            now_ms.saturating_sub(self.started_ms)
        );
        hprintln!(
            "received {} bytes sha256 {}",
            self.came,
            Hex(digest.as_slice())
        );
        progress.taken = true;
        Ok(())
    }
}

/// Bytes as lower-case hex.
struct Hex<'a>(&'a [u8]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
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
