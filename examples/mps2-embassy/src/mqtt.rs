//! The MQTT part of the run, over one connection (connected by `connection.rs`): SUBSCRIBE
//! `<topic>/in` when asked to receive and `sub=TOPIC` in receive mode, publish what is left of `count` messages, wait until
//! each QoS 1/2 message is acknowledged and the awaited messages came, stay idle for `idle`
//! seconds, DISCONNECT. The same work, words and output as the blocking firmware
//! (`examples/mps2-eth`), with `.await`.
//!
//! [`Progress`] outlives the connection, like the [`Connection`](embedded_mqtts::Connection):
//! after a failure the next connection resumes the persistent session
//! (`clean_session = false`), the session re-sends what was in flight, and this goes on with
//! the first message it had not handed over.
//!
//! Receive mode (`sub=TOPIC`, a filter) takes one message of any size there: one larger than
//! the 1 KiB receive buffer comes as `MessageStart`, its payload in `MessagePart`s, then
//! `MessageEnd` (acknowledged after it). Each part goes into a SHA-256 and is dropped; the
//! run prints `received N bytes sha256 HEX`. A large message on `<topic>/in` is counted the
//! same way and printed as `received <topic>/in (N bytes, streamed)`.
//!
//! Waiting is the client's `wait_event(timeout_ms)`, which ends only between reads (so a TLS
//! record is never abandoned half-read) and sends PINGREQ meanwhile. One thing it cannot
//! bound: a read that has begun waits for the rest of its TLS record, and on embassy-net
//! nothing ends that wait if the broker stops in the middle of one (smoltcp's socket timeout
//! counts any packet from the peer, its ACKs included). So each wait is also raced against
//! [`STALL`], and if that fires the connection is abandoned with it
//! ([`Failure::Stalled`]): the next one starts a fresh TLS stream, and the `Connection` is
//! made for that (CONNECT drops the bytes of the previous transport; what was in flight is
//! re-sent). The client is never used again after one of its futures was dropped.

use core::fmt::Write as _;

use cortex_m_semihosting::hprintln;
use embassy_net::tcp::TcpSocket;
use embassy_time::{Duration, Instant as EmbassyInstant, with_timeout};
use embedded_mqtts::tls::{AsyncTlsClient, ClientError};
use embedded_mqtts::{Connected, Error, Event, QoS, Storage, topic};
use sha2::{Digest, Sha256};

use crate::Failure;
use crate::args::Args;
use crate::clock::EmbassyClock;
use crate::idle::SocketIdle;

/// The longest single `wait_event` (the run's deadline is checked in between).
const STEP: Duration = Duration::from_secs(1);
/// How long one call of the client may go beyond its own timeout before the connection is
/// considered stalled and abandoned.
pub const STALL: Duration = Duration::from_secs(10);

/// The connection's memory: 8 messages in flight, 1 KiB to keep them for re-sending, 1 KiB
/// to receive (a larger message comes in pieces) and 1 KiB to send.
pub type MqttStorage = Storage<8, 1024, 1024, MQTT_TX>;
/// The largest MQTT packet sent (the transmit buffer).
pub const MQTT_TX: usize = 1024;
/// The client of one connection: over TLS over the TCP socket, waiting with [`SocketIdle`].
pub type Mqtt<'s, 'c, 'b, 'd> =
    AsyncTlsClient<'s, 'c, 'b, TcpSocket<'d>, EmbassyClock, SocketIdle<'s, 'd>>;

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
    /// The broker granted the subscriptions (in the stored session).
    pub subscribed: bool,
    /// Receive mode: the message on `sub=TOPIC` came whole.
    pub taken: bool,
}

/// Which message a streamed one is, for the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Taking {
    /// On another topic: dropped.
    Nothing,
    /// On `<topic>/in`: counted.
    Inbox,
    /// On `sub=TOPIC`: hashed.
    Sub,
}

/// A message coming in pieces (or whole, in receive mode): its SHA-256 and length so far;
/// nothing of the payload is kept.
pub struct Download {
    hash: Sha256,
    /// The payload length its head announced.
    announced: usize,
    /// The payload bytes so far.
    came: usize,
    taking: Taking,
    /// When its head came.
    started: EmbassyInstant,
}

impl Download {
    pub fn new() -> Self {
        Download {
            hash: Sha256::new(),
            announced: 0,
            came: 0,
            taking: Taking::Nothing,
            started: EmbassyInstant::now(),
        }
    }

    /// A message begins (again, if the broker re-sends it after a reconnect).
    fn start(&mut self, taking: Taking, announced: usize) {
        *self = Download {
            taking,
            announced,
            ..Download::new()
        };
    }

    fn add(&mut self, part: &[u8]) {
        if self.taking == Taking::Sub {
            self.hash.update(part);
        }
        self.came += part.len();
    }

    /// The message ended: counts it and prints its length (and hash, in receive mode).
    fn finish(&mut self, progress: &mut Progress, inbox: &str) -> Result<(), Failure> {
        let taking = core::mem::replace(&mut self.taking, Taking::Nothing);
        if taking != Taking::Nothing && self.came != self.announced {
            return Err(Failure::Truncated {
                announced: self.announced,
                came: self.came,
            });
        }
        match taking {
            Taking::Nothing => {}
            Taking::Inbox => {
                progress.received += 1;
                hprintln!("received {} ({} bytes, streamed)", inbox, self.came);
            }
            Taking::Sub => {
                let digest = core::mem::take(&mut self.hash).finalize();
                crate::say!(
                    "{} bytes taken in {} ms",
                    self.came,
                    self.started.elapsed().as_millis()
                );
                // `{:x}`: the digest's own lower-case hex.
                hprintln!("received {} bytes sha256 {:x}", self.came, digest);
                progress.taken = true;
            }
        }
        Ok(())
    }
}

/// One connection's client and what the run asks of it.
pub struct Session<'r, 's, 'c, 'b, 'd> {
    pub client: Mqtt<'s, 'c, 'b, 'd>,
    pub args: &'r Args<'r>,
    pub progress: &'r mut Progress,
    /// When the whole run must be done.
    pub deadline: EmbassyInstant,
    /// The message being streamed, if any.
    pub download: Download,
}

impl Session<'_, '_, '_, '_, '_> {
    /// SUBSCRIBE if needed, the messages still to publish, the acknowledgements and messages
    /// still to come, the idle time, DISCONNECT.
    pub async fn work(&mut self, connected: Connected) -> Result<(), Failure> {
        let mut inbox = heapless::String::<128>::new();
        write!(inbox, "{}/in", self.args.topic).map_err(|_| Failure::TopicTooLong)?;
        let recv = self.args.recv > 0;
        if (recv || self.args.sub.is_some())
            && !(connected.session_present && self.progress.subscribed)
        {
            self.progress.subscribed = false;
            let inbox_filter = (inbox.as_str(), QoS::ExactlyOnce);
            let filters: &[(&str, QoS)] = match self.args.sub {
                Some(sub) if recv => &[inbox_filter, (sub, QoS::AtLeastOnce)],
                Some(sub) => &[(sub, QoS::AtLeastOnce)],
                None => &[inbox_filter],
            };
            let subscribed = self.client.subscribe(filters).await;
            subscribed.map_err(|e| self.failed(e))?;
            self.wait_until(&inbox, "SUBACK", |progress| progress.subscribed)
                .await?;
        }
        let started = EmbassyInstant::now();
        let already = self.progress.published;
        while self.progress.published < self.args.count {
            self.publish_next(&inbox).await?;
            let pause_until = after_millis(u64::from(self.args.interval_ms));
            while EmbassyInstant::now() < pause_until {
                self.step(&inbox, pause_until).await?;
            }
        }
        if self.args.sub.is_some() {
            self.wait_until(&inbox, "the message on the sub= topic", |progress| {
                progress.taken
            })
            .await?;
        }
        let (recv, expected) = (self.args.recv, self.progress.expecting_ack);
        self.wait_until(&inbox, "acknowledgements and messages", |progress| {
            progress.acknowledged >= expected && progress.received >= recv
        })
        .await?;
        crate::say!(
            "{} messages published and acknowledged in {} ms on this connection",
            self.progress.published - already,
            started.elapsed().as_millis()
        );
        if self.args.idle_secs > 0 {
            crate::say!("idle for {} s", self.args.idle_secs);
        }
        let idle_until = after_millis(u64::from(self.args.idle_secs) * 1000);
        while EmbassyInstant::now() < idle_until {
            self.step(&inbox, idle_until).await?;
        }
        let disconnected = self.client.disconnect().await;
        disconnected.map_err(|e| self.failed(e))
    }

    /// Publishes message number `published`, waiting while the in-flight window is full.
    async fn publish_next(&mut self, inbox: &str) -> Result<(), Failure> {
        let index = self.progress.published;
        let qos = self.args.qos.of(index);
        let mut payload = heapless::String::<32>::new();
        let _ = write!(payload, "{index} q{}", qos as u8);
        loop {
            let published = self
                .client
                .publish(self.args.topic, payload.as_bytes(), qos, false)
                .await;
            match published {
                Ok(_) => break,
                Err(Error::WindowFull { .. } | Error::StoreFull { .. }) => {
                    // Past the deadline `step` would not wait (nor yield to the network).
                    if EmbassyInstant::now() >= self.deadline {
                        return Err(Failure::Unfinished(*self.progress, self.args.timeout_secs));
                    }
                    self.step(inbox, self.deadline).await?;
                }
                Err(e) => {
                    // Kept in flight (QoS 1/2): it is sent again on the next connection.
                    if self.client.connection().last_published().is_some() {
                        self.count_published(qos);
                    }
                    return Err(self.failed(e));
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
    async fn wait_until(
        &mut self,
        inbox: &str,
        awaited: &'static str,
        done: impl Fn(&Progress) -> bool,
    ) -> Result<(), Failure> {
        while !done(self.progress) {
            if EmbassyInstant::now() >= self.deadline {
                crate::say!("still waiting for {}", awaited);
                return Err(Failure::Unfinished(*self.progress, self.args.timeout_secs));
            }
            self.step(inbox, self.deadline).await?;
        }
        Ok(())
    }

    /// Waits up to [`STEP`] (and not past `until`) for one event and handles it; the client
    /// sends PINGREQ meanwhile when the keep-alive is due.
    async fn step(&mut self, inbox: &str, until: EmbassyInstant) -> Result<(), Failure> {
        let left = until
            .saturating_duration_since(EmbassyInstant::now())
            .min(STEP);
        let timeout_ms = left.as_millis() as u32; // at most STEP
        let waited = with_timeout(left + STALL, self.client.wait_event(timeout_ms))
            .await
            .map_err(|_| Failure::Stalled("the rest of a TLS record"))?;
        match waited {
            Ok(Some(event)) => record(self.args, self.progress, &mut self.download, &event, inbox),
            Ok(None) => Ok(()),
            Err(e) => Err(self.failed(e)),
        }
    }

    /// The client's error `e`, made precise by what the TLS stream knows of it.
    fn failed(&mut self, e: Error) -> Failure {
        Failure::Client(ClientError::over_tls(e, self.client.transport().failure()))
    }
}

/// Counts what `event` means for the run; prints the subscriptions, received messages and
/// what the broker got wrong.
fn record(
    args: &Args<'_>,
    progress: &mut Progress,
    download: &mut Download,
    event: &Event<'_>,
    inbox: &str,
) -> Result<(), Failure> {
    let takes = |topic: &str| args.sub.is_some_and(|filter| topic::matches(filter, topic));
    match event {
        Event::Delivered { .. } => progress.acknowledged += 1,
        Event::Subscribed { granted, .. } => {
            if granted.any_refused() {
                return Err(Failure::SubscriptionRefused);
            }
            progress.subscribed = true;
            if args.recv > 0 {
                hprintln!("subscribed {}", inbox);
            }
            if let Some(sub) = args.sub {
                hprintln!("subscribed {}", sub);
            }
        }
        Event::Message(message) if message.topic == inbox => {
            progress.received += 1;
            hprintln!(
                "received {} {}",
                message.topic,
                core::str::from_utf8(message.payload).unwrap_or("(not UTF-8)")
            );
        }
        // Receive mode: a message that fits the receive buffer comes whole...
        Event::Message(message) if takes(message.topic) => {
            download.start(Taking::Sub, message.payload.len());
            download.add(message.payload);
            download.finish(progress, inbox)?;
        }
        // ... a larger one as its head, its payload in pieces, and its end.
        Event::MessageStart(head) => {
            let taking = if head.topic == inbox {
                Taking::Inbox
            } else if takes(head.topic) {
                Taking::Sub
            } else {
                Taking::Nothing
            };
            if taking != Taking::Nothing {
                crate::say!(
                    "message of {} bytes on {}, streamed through the receive buffer",
                    head.payload_len,
                    head.topic
                );
            }
            download.start(taking, head.payload_len);
        }
        Event::MessagePart(part) => download.add(part),
        Event::MessageEnd { .. } => download.finish(progress, inbox)?,
        Event::StrayAck { ack, pid } => {
            crate::say!("stray {:?} for packet id {} (ignored)", ack, pid)
        }
        _ => {}
    }
    Ok(())
}

/// `millis` milliseconds from now.
fn after_millis(millis: u64) -> EmbassyInstant {
    EmbassyInstant::now() + Duration::from_millis(millis)
}
