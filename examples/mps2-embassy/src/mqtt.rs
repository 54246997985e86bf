//! The MQTT part of the run, over one connection: CONNECT (persistent session), SUBSCRIBE
//! `<topic>/in` when asked to receive, publish what is left of `count` messages, wait until
//! each QoS 1/2 message is acknowledged and the awaited messages came, stay idle for `idle`
//! seconds, DISCONNECT. The same work, words and output as the blocking firmware
//! (`examples/mps2-eth`), with `.await`.
//!
//! [`Progress`] outlives the connection, like the client's state: after a failure the next
//! connection resumes the persistent session (`clean_session = false`), the session re-sends
//! what was in flight, and this goes on with the first message it had not handed over.
//!
//! Waiting is [`Session::step`]: the client's `poll` plus the idle wait, bounded by a
//! deadline. The client's own `wait_event` has no time-out, and racing it against a timer
//! would drop a TLS read half-way (embedded-tls's reads are not cancel-safe); the idle wait is
//! the one future that is dropped while the connection goes on. A `poll` or `connect` that
//! stalls for [`STALL`] (a broker that stops in the middle of a record) is dropped too, but
//! then the connection is abandoned with it ([`Failure::Stalled`]): the next one starts a
//! fresh TLS stream, and the client's state is made for that (CONNECT resets its receive
//! buffer; what was in flight is re-sent).

use core::fmt::Write as _;

use cortex_m_semihosting::hprintln;
use embassy_time::{Duration, Instant as EmbassyInstant, with_timeout};
use embedded_mqtts::asynch::{Client, Idle};
use embedded_mqtts::tls::AsyncTlsStream;
use embedded_mqtts::{Clock, ConnectOptions, Error, Event, QoS};

use crate::Failure;
use crate::args::Args;
use crate::clock::EmbassyClock;
use crate::link::{SocketIdle, TcpLink};

/// The client identifier: the same on every connection, so the session resumes.
const CLIENT_ID: &str = "mps2-embassy";
/// How long CONNACK, SUBACK and PINGRESP may take.
const RESPONSE_TIMEOUT_MS: u32 = 10_000;
/// The longest single wait for an event (the run's deadline is checked in between).
const STEP: Duration = Duration::from_millis(100);
/// How long one `poll` or `connect` of the client may take before the connection is
/// considered stalled and abandoned.
pub const STALL: Duration = Duration::from_secs(10);

/// The client's buffers: 8 messages in flight, 1 KiB to keep them for re-sending, 1 KiB to
/// receive and 1 KiB to send.
pub type MqttState = embedded_mqtts::ClientState<8, 1024, 1024, 1024>;
/// The largest MQTT packet sent (the transmit buffer).
pub const MQTT_TX: usize = 1024;
/// The client of one connection: over TLS over the shared TCP socket.
pub type Mqtt<'a, 's, 'd> = Client<
    'a,
    AsyncTlsStream<'a, TcpLink<'s, 'd>>,
    EmbassyClock,
    SocketIdle<'s, 'd>,
    8,
    1024,
    1024,
    1024,
>;

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

/// One connection's client and what the run asks of it.
pub struct Session<'r, 'a, 's, 'd> {
    pub client: Mqtt<'a, 's, 'd>,
    pub idle: SocketIdle<'s, 'd>,
    pub args: &'r Args<'r>,
    pub progress: &'r mut Progress,
    /// When the whole run must be done.
    pub deadline: EmbassyInstant,
}

impl Session<'_, '_, '_, '_> {
    /// CONNECT, SUBSCRIBE if needed, the messages still to publish, the acknowledgements and
    /// messages still to come, the idle time, DISCONNECT.
    pub async fn work(&mut self) -> Result<(), Failure> {
        let mut inbox = heapless::String::<128>::new();
        write!(inbox, "{}/in", self.args.topic).map_err(|_| Failure::TopicTooLong)?;
        let mut options = ConnectOptions::new(CLIENT_ID);
        options.clean_session = false;
        options.keep_alive_secs = self.args.keep_alive_secs;
        options.response_timeout_ms = RESPONSE_TIMEOUT_MS;
        let connected = with_timeout(STALL, self.client.connect(&options))
            .await
            .map_err(|_| Failure::Stalled("CONNACK"))??;
        crate::say!(
            "connected (connection {}, session present {}, re-sending {})",
            self.progress.connections,
            connected.session_present,
            connected.resending
        );
        if self.args.recv > 0 && !(connected.session_present && self.progress.subscribed) {
            self.progress.subscribed = false;
            let filters = [(inbox.as_str(), QoS::ExactlyOnce)];
            self.client.subscribe(&filters).await?;
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
        self.client.disconnect().await?;
        Ok(())
    }

    /// Publishes message number `published`, waiting while the in-flight window is full.
    async fn publish_next(&mut self, inbox: &str) -> Result<(), Failure> {
        let index = self.progress.published;
        let qos = self.args.qos.of(index);
        let mut payload = heapless::String::<32>::new();
        let _ = write!(payload, "{index} q{}", qos as u8);
        loop {
            let in_flight = self.client.state().session().in_flight();
            match self
                .client
                .publish(self.args.topic, payload.as_bytes(), qos, false)
                .await
            {
                Ok(_) => break,
                Err(Error::WindowFull { .. } | Error::StoreFull { .. }) => {
                    self.step(inbox, self.deadline).await?;
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

    /// Waits up to [`STEP`] (and not past `until`) for one event and handles it. The client
    /// sends PINGREQ meanwhile when the keep-alive is due.
    async fn step(&mut self, inbox: &str, until: EmbassyInstant) -> Result<(), Failure> {
        let until = until.min(EmbassyInstant::now() + STEP);
        loop {
            let polled = with_timeout(STALL, self.client.poll())
                .await
                .map_err(|_| Failure::Stalled("the rest of a TLS record"))?;
            if let Some(event) = polled? {
                return record(self.progress, &event, inbox);
            }
            let now = EmbassyInstant::now();
            if now >= until {
                return Ok(());
            }
            // One deadline for the idle wait, in the library's time: the step's end, or the
            // session's next need (keep-alive, re-send, response time-out) if sooner.
            let step_end = EmbassyClock
                .now()
                .add_millis((until - now).as_millis() as u32);
            let deadline = match self.client.state().session().poll_at() {
                Some(session_deadline) => step_end.earliest(session_deadline),
                None => step_end,
            };
            self.idle.idle(Some(deadline)).await;
        }
    }
}

/// Counts what `event` means for the run; prints the subscription and received messages.
fn record(progress: &mut Progress, event: &Event<'_>, inbox: &str) -> Result<(), Failure> {
    match event {
        Event::Delivered { .. } => progress.acknowledged += 1,
        Event::Subscribed { granted, .. } => {
            if granted.any_refused() {
                return Err(Failure::SubscriptionRefused);
            }
            progress.subscribed = true;
            hprintln!("subscribed {}", inbox);
        }
        Event::Message(message) if message.topic == inbox => {
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

/// `millis` milliseconds from now.
fn after_millis(millis: u64) -> EmbassyInstant {
    EmbassyInstant::now() + Duration::from_millis(millis)
}
