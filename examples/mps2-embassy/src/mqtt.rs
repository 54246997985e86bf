//! The MQTT part of the run, over one connection: CONNECT, SUBSCRIBE `<topic>/in` (for
//! `recv=`), publish what is left of `count=` messages, wait until each is acknowledged and
//! each awaited message came, stay idle for `idle=`, DISCONNECT.
//!
//! [`Progress`] outlives the connection, like the client's state: after a failure the next
//! connection resumes the persistent session (`clean_session = false`), the session re-sends
//! what was in flight, and this goes on with the first message it had not handed over.
//!
//! Waiting is [`next_event`]: the client's `poll` plus the [`Idle`] wait, bounded by a time-out.
//! The client's own `wait_event` has no time-out, and racing it against a timer would drop a
//! TLS read half-way (embedded-tls's reads are not cancel-safe); the idle wait is the one
//! future that may be dropped.

use core::fmt::Write as _;

use embassy_time::{Duration, Instant as EmbassyInstant};
use embedded_io::ReadReady;
use embedded_io_async::{Read, Write};
use embedded_mqtts::asynch::{Client, Idle};
use embedded_mqtts::{Clock, ConnectOptions, Error, Event, QoS};

use crate::Failure;
use crate::args::Args;
use crate::clock::EmbassyClock;

/// The client identifier (one persistent session on the broker).
const CLIENT_ID: &str = "mps2-embassy";
/// How long the run may go without an event while it waits for one.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(20);

/// The client's buffers: 8 messages in flight, 2 KiB to keep them for re-sending, 1 KiB to
/// receive and 1 KiB to send.
pub type MqttState = embedded_mqtts::ClientState<8, 2048, 1024, 1024>;
/// The largest MQTT packet sent (the transmit buffer).
pub const MQTT_TX: usize = 1024;

/// What the run has done so far, across connections.
#[derive(Debug, Default)]
pub struct Progress {
    /// Messages handed to the session (sent, or kept in flight to be re-sent).
    handed_over: u32,
    /// Messages acknowledged (QoS 1/2), or sent (QoS 0).
    acknowledged: u32,
    /// Messages received on `<topic>/in`.
    received: u32,
    /// The broker granted the `<topic>/in` subscription.
    subscribed: bool,
    /// Connections that reached CONNACK.
    pub connections: u32,
}

impl Progress {
    fn done(&self, args: &Args<'_>) -> bool {
        self.acknowledged >= args.count && self.received >= args.receive
    }

    /// Counts what `event` means for the run; prints received messages.
    fn record(&mut self, event: &Event<'_>, inbox: &str) -> Result<(), Failure> {
        match event {
            Event::Delivered { .. } => self.acknowledged += 1,
            Event::Message(message) if message.topic == inbox => {
                self.received += 1;
                let payload = core::str::from_utf8(message.payload).unwrap_or("<not UTF-8>");
                crate::say!("received {} {}", message.topic, payload);
            }
            Event::Subscribed { granted, .. } => {
                if granted.any_refused() {
                    return Err(Failure::SubscriptionRefused);
                }
                self.subscribed = true;
            }
            _ => {}
        }
        Ok(())
    }
}

/// `<topic>/in`.
type TopicBuf = heapless::String<128>;

fn inbox_topic(topic: &str) -> Result<TopicBuf, Failure> {
    let mut inbox = TopicBuf::new();
    write!(inbox, "{topic}/in").map_err(|_| Failure::TopicTooLong)?;
    Ok(inbox)
}

/// One connection's MQTT work; `Ok` once the run is complete (and DISCONNECT sent).
pub async fn serve<T, I, const N: usize, const S: usize, const RX: usize, const TX: usize>(
    client: &mut Client<'_, T, EmbassyClock, I, N, S, RX, TX>,
    idle: &mut impl Idle,
    args: &Args<'_>,
    progress: &mut Progress,
) -> Result<(), Failure>
where
    T: Read + Write + ReadReady,
    I: Idle,
{
    let inbox = inbox_topic(args.topic)?;
    let mut options = ConnectOptions::new(CLIENT_ID);
    options.keep_alive_secs = args.keep_alive_secs;
    options.clean_session = false;
    let connected = client.connect(&options).await?;
    progress.connections += 1;
    crate::say!(
        "connected (session present: {}, re-sending {})",
        connected.session_present,
        connected.resending
    );
    if args.receive > 0 && !(connected.session_present && progress.subscribed) {
        client.subscribe(&[(inbox.as_str(), args.qos)]).await?;
        progress.subscribed = false;
        while !progress.subscribed {
            wait_for_event(client, idle, progress, &inbox, "SUBACK").await?;
        }
        crate::say!("subscribed to {}", inbox.as_str());
    }

    let mut payload = heapless::String::<32>::new();
    while !progress.done(args) {
        if progress.handed_over < args.count {
            payload.clear();
            let _ = write!(payload, "{}", progress.handed_over + 1);
            if hand_over(client, args, progress, payload.as_bytes()).await? {
                pause(client, idle, progress, &inbox, args.interval_ms).await?;
                continue;
            }
        }
        // Window or store full, or everything handed over: only answers move things on.
        wait_for_event(client, idle, progress, &inbox, "acknowledgements").await?;
    }
    crate::say!(
        "{} messages acknowledged, {} received",
        progress.acknowledged,
        progress.received
    );
    pause(
        client,
        idle,
        progress,
        &inbox,
        args.idle_secs.saturating_mul(1000),
    )
    .await?;
    client.disconnect().await?;
    Ok(())
}

/// Publishes one message; whether the session took it (`false`: window or store full).
async fn hand_over<T, I, const N: usize, const S: usize, const RX: usize, const TX: usize>(
    client: &mut Client<'_, T, EmbassyClock, I, N, S, RX, TX>,
    args: &Args<'_>,
    progress: &mut Progress,
    payload: &[u8],
) -> Result<bool, Failure>
where
    T: Read + Write + ReadReady,
    I: Idle,
{
    let in_flight = client.state().session().in_flight();
    match client.publish(args.topic, payload, args.qos, false).await {
        Ok(_) => {
            progress.handed_over += 1;
            if args.qos == QoS::AtMostOnce {
                progress.acknowledged += 1;
            }
            Ok(true)
        }
        Err(Error::WindowFull { .. }) => Ok(false),
        // With nothing in flight the store is as empty as it gets: the message never fits.
        Err(Error::StoreFull { .. }) if in_flight > 0 => Ok(false),
        Err(e) => {
            // A QoS 1/2 message that entered the in-flight table is re-sent on the next
            // connection; one that did not is still to be handed over. QoS 0 is lost.
            if client.state().session().in_flight() > in_flight {
                progress.handed_over += 1;
            }
            Err(e.into())
        }
    }
}

/// Services the connection (answers, keep-alive) for `millis` milliseconds.
async fn pause<T, I, const N: usize, const S: usize, const RX: usize, const TX: usize>(
    client: &mut Client<'_, T, EmbassyClock, I, N, S, RX, TX>,
    idle: &mut impl Idle,
    progress: &mut Progress,
    inbox: &str,
    millis: u32,
) -> Result<(), Failure>
where
    T: Read + Write + ReadReady,
    I: Idle,
{
    let until = EmbassyInstant::now() + Duration::from_millis(u64::from(millis));
    loop {
        let left = until.saturating_duration_since(EmbassyInstant::now());
        if left == Duration::from_ticks(0) {
            return Ok(());
        }
        next_event(client, idle, progress, inbox, left).await?;
    }
}

/// Waits for the next event, for at most [`ANSWER_TIMEOUT`]; `awaited` names it in the error.
async fn wait_for_event<T, I, const N: usize, const S: usize, const RX: usize, const TX: usize>(
    client: &mut Client<'_, T, EmbassyClock, I, N, S, RX, TX>,
    idle: &mut impl Idle,
    progress: &mut Progress,
    inbox: &str,
    awaited: &'static str,
) -> Result<(), Failure>
where
    T: Read + Write + ReadReady,
    I: Idle,
{
    if next_event(client, idle, progress, inbox, ANSWER_TIMEOUT).await? {
        Ok(())
    } else {
        Err(Failure::NoAnswer {
            awaited,
            secs: ANSWER_TIMEOUT.as_secs(),
        })
    }
}

/// Handles the next event that comes within `timeout` (`true`), or returns `false`. The
/// session's own deadlines (keep-alive, re-sends, response time-outs) are served meanwhile.
async fn next_event<T, I, const N: usize, const S: usize, const RX: usize, const TX: usize>(
    client: &mut Client<'_, T, EmbassyClock, I, N, S, RX, TX>,
    idle: &mut impl Idle,
    progress: &mut Progress,
    inbox: &str,
    timeout: Duration,
) -> Result<bool, Failure>
where
    T: Read + Write + ReadReady,
    I: Idle,
{
    let give_up = EmbassyInstant::now() + timeout;
    loop {
        if let Some(event) = client.poll().await? {
            progress.record(&event, inbox)?;
            return Ok(true);
        }
        if EmbassyInstant::now() >= give_up {
            return Ok(false);
        }
        // The library's time of `give_up`, so that the idle wait gets one deadline.
        let left = give_up.saturating_duration_since(EmbassyInstant::now());
        let mut deadline = EmbassyClock.now().add_millis(left.as_millis() as u32);
        if let Some(session_deadline) = client.state().session().poll_at() {
            deadline = deadline.earliest(session_deadline);
        }
        idle.idle(Some(deadline)).await;
    }
}
