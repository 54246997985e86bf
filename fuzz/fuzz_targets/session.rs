//! The sans-IO [`Session`] after a valid CONNECT/CONNACK, driven by a structured script: broker
//! packets (valid ones built here, and raw bytes), client calls (publish, subscribe,
//! unsubscribe, disconnect, reconnect, `fail`), `poll_transmit`, `check_timeouts`, and a clock
//! that moves forward. A second mode drives the blocking client (and so its receive buffer,
//! which frames the byte stream) over a scripted transport that delivers the bytes in arbitrary
//! pieces.
//!
//! Session mode checks every call's result against a reference model of MQTT 3.1.1 as the
//! session documents it (the in-flight table, request slots, inbound QoS 2 de-duplication, the
//! keep-alive and response deadlines, sticky errors), and after every step:
//! - `in_flight() <= N`, `awaiting_release() <= INBOUND`, and both equal the model's counts;
//! - `is_connected`, `broken`, `poll_at` and `last_published` agree with the model;
//! - every error is returned (never a silent `Ok`), and a fatal one stays until `connect`;
//! - every reply and transmitted packet is the exact packet the protocol asks for (PUBACK,
//!   PUBREC, PUBREL, PUBCOMP, the stored PUBLISH with DUP set on a resend, PINGREQ);
//! - a PUBLISH the client encodes decodes back to the same fields;
//! - an inbound QoS 2 message is delivered once until the broker releases it; a new one with
//!   no room (or after such a one) is deferred, and the connection ends once the others are
//!   released or the response timeout passed;
//! - `poll_at` never lies: once it is reached, `poll_transmit` sends something or
//!   `check_timeouts` reports a timeout.
//!
//! Client mode checks that however the bytes are cut into reads, the client reports the same
//! events and errors as the session fed the whole packets directly (an oversize packet is one
//! [`Error::PacketTooLarge`] and the stream stays in step).
#![no_main]

use std::cell::Cell;
use std::collections::VecDeque;
use std::rc::Rc;

use arbitrary::{Arbitrary, Unstructured};
use embedded_mqtts::error::{Timeout, Violation};
use embedded_mqtts::packet::{self, ConnectReturnCode, Inbound, Publish};
use embedded_mqtts::session::Ack;
use embedded_mqtts::{blocking, ConnectOptions, Connection, Error, Event, Instant, QoS, Session, Storage};
use libfuzzer_sys::fuzz_target;

/// Window, store and inbound QoS 2 limit: small, so that the fuzzer reaches every limit.
const N: usize = 3;
const STORE: usize = 160;
const INBOUND: usize = 3;
/// The client's transmit buffer: some publishes do not fit.
const OUT: usize = 96;
/// The client mode's receive buffer: some packets do not fit.
const RX: usize = 48;

type S<'b> = Session<'b>;

/// The session's own memory: its in-flight slots, their store, the inbound QoS 2 room.
struct Memory {
    slots: [embedded_mqtts::Slot; N],
    store: [u8; STORE],
    inbound: [u16; INBOUND],
}

impl Memory {
    fn new() -> Self {
        Memory {
            slots: [embedded_mqtts::Slot::EMPTY; N],
            store: [0; STORE],
            inbound: [0; INBOUND],
        }
    }

    fn session(&mut self) -> S<'_> {
        Session::new(&mut self.slots, &mut self.store, &mut self.inbound)
    }
}

// The first byte chooses: even, session mode (the rest is a [`Script`], read with
// `arbitrary`); odd, client mode: bit 1 set puts an accepted CONNACK first, then a count `k`,
// `k` read sizes, and the broker's bytes (so real packet streams make seeds as they are).
fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 0 {
        if let Ok(script) = Script::arbitrary_take_rest(Unstructured::new(rest)) {
            run_session(&script);
        }
        return;
    }
    let Some((&k, rest)) = rest.split_first() else {
        return;
    };
    let (reads, bytes) = rest.split_at(usize::from(k).min(rest.len()));
    run_client(mode & 2 != 0, reads, bytes);
});

// ---------------------------------------------------------------------------------------------
// Session mode

#[derive(Arbitrary, Debug)]
struct Script {
    /// The clock's start (it may wrap during the run).
    start: u32,
    first: ConnectParams,
    ops: Vec<Op>,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
struct ConnectParams {
    clean: bool,
    /// Keep-alive in seconds, 0 to 7 (0: off).
    keep_alive: u8,
    /// Response timeout in units of 64 ms.
    response_timeout: u8,
}

impl ConnectParams {
    fn options(self) -> ConnectOptions<'static> {
        let mut o = ConnectOptions::new("fuzz");
        o.clean_session = self.clean;
        o.keep_alive_secs = u16::from(self.keep_alive % 8);
        o.response_timeout_ms = u32::from(self.response_timeout) * 64;
        o
    }
}

/// A topic, mostly valid names, some filters with wildcards and some invalid text.
#[derive(Arbitrary, Debug, Clone, Copy)]
struct TopicSel(u8);

const TOPICS: &[&str] = &[
    "a/b",
    "a",
    "sensors/42/temperature/with/a/long/name",
    "$SYS/x",
    "a/+",
    "#",
    "a/#",
    "",
    "a\0b",
    "+/+/#",
    "x#",
];

impl TopicSel {
    fn get(self) -> &'static str {
        TOPICS[usize::from(self.0) % TOPICS.len()]
    }
}

/// A packet identifier: one the client is using (so that acknowledgements mostly match) or any.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum PidSel {
    Outbound(u8),
    Request(u8),
    Inbound(u8),
    Last,
    Any(u16),
}

#[derive(Arbitrary, Debug)]
enum Packet {
    Connack {
        session_present: bool,
        code: u8,
    },
    Publish {
        qos: u8,
        pid: PidSel,
        dup: bool,
        retain: bool,
        topic: TopicSel,
        payload: Vec<u8>,
    },
    Puback(PidSel),
    Pubrec(PidSel),
    Pubrel(PidSel),
    Pubcomp(PidSel),
    Suback(PidSel, Vec<u8>),
    Unsuback(PidSel),
    Pingresp,
}

#[derive(Arbitrary, Debug)]
enum Op {
    /// A packet from the broker, built valid (as far as its fields allow).
    Broker(Packet),
    /// Raw bytes from the broker, cut into packets by `scan` (or handed over whole).
    Raw(Vec<u8>),
    Publish {
        topic: TopicSel,
        payload_len: u8,
        qos: u8,
        retain: bool,
    },
    Subscribe(Vec<(TopicSel, u8)>),
    Unsubscribe(Vec<TopicSel>),
    PollTransmit,
    CheckTimeouts,
    /// Move the clock forward by this many milliseconds times 8.
    Advance(u16),
    /// Do what `poll_at` asks for, if it is due, and check that it was due for a reason.
    Service,
    Disconnect,
    /// The transport failed.
    Fail,
    /// A new connection (CONNECT only; CONNACK comes as a broker packet).
    Connect(ConnectParams),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Puback,
    Pubrec,
    Pubcomp,
}

#[derive(Clone, Debug)]
struct Slot {
    pid: u16,
    stage: Stage,
    /// The PUBLISH as first sent (dropped once past PUBREC).
    bytes: Vec<u8>,
    resend: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Subscribe(usize),
    Unsubscribe,
}

#[derive(Clone, Debug, PartialEq)]
enum Phase {
    Idle,
    AwaitConnack { deadline: Instant, clean: bool },
    Connected,
    Broken(Error),
}

/// What the session should be, step by step.
struct Model {
    phase: Phase,
    keep_alive_ms: u32,
    response_timeout_ms: u32,
    last_sent: Instant,
    /// When the last packet from the broker was handled.
    last_received: Instant,
    ping_deadline: Option<Instant>,
    outbound: Vec<Slot>,
    requests: Vec<(u16, Kind)>,
    inbound: Vec<u16>,
    /// New inbound QoS 2 messages left unacknowledged on this connection: when the first
    /// came, and how many.
    deferred: Option<(Instant, usize)>,
    last_published: Option<u16>,
}

impl Model {
    fn new() -> Self {
        Model {
            phase: Phase::Idle,
            keep_alive_ms: 0,
            response_timeout_ms: 0,
            last_sent: Instant::from_millis(0),
            last_received: Instant::from_millis(0),
            ping_deadline: None,
            outbound: Vec::new(),
            requests: Vec::new(),
            inbound: Vec::new(),
            deferred: None,
            last_published: None,
        }
    }

    fn store_used(&self) -> usize {
        self.outbound.iter().map(|s| s.bytes.len()).sum()
    }

    fn fail(&mut self, e: Error) -> Error {
        if let Phase::Broken(first) = &self.phase {
            return first.clone();
        }
        self.phase = Phase::Broken(e.clone());
        self.ping_deadline = None;
        e
    }

    fn usable(&self) -> Result<(), Error> {
        match &self.phase {
            Phase::Connected => Ok(()),
            Phase::Broken(e) => Err(e.clone()),
            _ => Err(Error::NotConnected),
        }
    }

    fn poll_at(&self) -> Option<Instant> {
        match &self.phase {
            Phase::AwaitConnack { deadline, .. } => Some(*deadline),
            Phase::Connected => {
                let due = if self.outbound.iter().any(|s| s.resend) {
                    Some(self.last_sent)
                } else if let Some(d) = self.ping_deadline {
                    Some(d)
                } else if self.keep_alive_ms == 0 {
                    None
                } else {
                    Some(self.quiet_since().add_millis(self.keep_alive_ms))
                };
                // Whichever comes first.
                match (due, self.deferral_deadline()) {
                    (Some(a), Some(b)) => Some(if a.reached(b) { b } else { a }),
                    (a, b) => a.or(b),
                }
            }
            _ => None,
        }
    }

    /// The earlier of the last packet sent and the last received: a PINGREQ is due one
    /// keep-alive period after it.
    fn quiet_since(&self) -> Instant {
        self.last_sent.earliest(self.last_received)
    }

    /// How long PINGRESP is awaited: the response timeout, at most one keep-alive period.
    fn ping_wait_ms(&self) -> u32 {
        match self.keep_alive_ms {
            0 => self.response_timeout_ms,
            keep_alive => self.response_timeout_ms.min(keep_alive),
        }
    }

    /// Outbound messages and SUBSCRIBE/UNSUBSCRIBE requests share the window of `N` slots.
    fn window_full(&self) -> bool {
        self.outbound.len() + self.requests.len() >= N
    }

    /// A connection with deferred messages ends once nothing awaits PUBREL, or the response
    /// timeout after the first deferral.
    fn deferral_deadline(&self) -> Option<Instant> {
        let (since, _) = self.deferred?;
        Some(if self.inbound.is_empty() {
            since
        } else {
            since.add_millis(self.response_timeout_ms)
        })
    }

    fn pid(&self, sel: PidSel) -> u16 {
        let pick = |ids: Vec<u16>, i: u8| -> Option<u16> {
            (!ids.is_empty()).then(|| ids[usize::from(i) % ids.len()])
        };
        let found = match sel {
            PidSel::Outbound(i) => pick(self.outbound.iter().map(|s| s.pid).collect(), i),
            PidSel::Request(i) => pick(self.requests.iter().map(|r| r.0).collect(), i),
            PidSel::Inbound(i) => pick(self.inbound.clone(), i),
            PidSel::Last => self.last_published,
            PidSel::Any(pid) => Some(pid),
        };
        found.unwrap_or(1)
    }

    /// The expected outcome of `handle` for a frame that decoded to `packet`.
    fn handle(&mut self, now: Instant, packet: Inbound<'_>) -> Result<(String, Vec<u8>), Error> {
        if let Phase::Broken(e) = &self.phase {
            return Err(e.clone());
        }
        let clean = match &self.phase {
            Phase::AwaitConnack { clean, .. } => Some(*clean),
            _ => None,
        };
        let result = self.dispatch(now, clean, packet);
        result.map_err(|e| if e.is_fatal() { self.fail(e) } else { e })
    }

    fn dispatch(
        &mut self,
        now: Instant,
        clean: Option<bool>,
        packet: Inbound<'_>,
    ) -> Result<(String, Vec<u8>), Error> {
        let violation = |v| Err(Error::Violation(v));
        let unknown = |pid| Err(Error::Violation(Violation::UnknownPacketId { pid }));
        if let Inbound::Connack {
            session_present,
            code,
        } = packet
        {
            let Some(clean) = clean else {
                return violation(Violation::UnexpectedConnack);
            };
            if code != ConnectReturnCode::Accepted {
                self.phase = Phase::Idle;
                return Err(Error::Refused(code));
            }
            if clean && session_present {
                return violation(Violation::SessionPresentOnCleanSession);
            }
            if !session_present {
                self.inbound.clear();
            }
            for slot in &mut self.outbound {
                slot.resend = true;
            }
            self.phase = Phase::Connected;
            let event = Event::Connected {
                session_present,
                resending: self.outbound.len(),
            };
            return Ok((format!("{event:?}"), Vec::new()));
        }
        if clean.is_some() {
            return violation(Violation::BeforeConnack);
        }
        self.usable()?;
        let position = |m: &Model, pid| m.outbound.iter().position(|s| s.pid == pid);
        let (event, reply) = match packet {
            Inbound::Connack { .. } => unreachable!(),
            Inbound::Publish(p) => {
                let message = embedded_mqtts::Message {
                    topic: p.topic,
                    payload: p.payload,
                    qos: p.qos,
                    retain: p.retain,
                    dup: p.dup,
                    pid: p.pid,
                };
                match (p.qos, p.pid) {
                    (QoS::AtMostOnce, _) => (Event::Message(message), None),
                    (QoS::AtLeastOnce, Some(pid)) => (Event::Message(message), Some((0x40, pid))),
                    (QoS::ExactlyOnce, Some(pid)) if self.inbound.contains(&pid) => {
                        (Event::Duplicate { pid }, Some((0x50, pid)))
                    }
                    (QoS::ExactlyOnce, Some(pid))
                        if self.deferred.is_none() && self.inbound.len() < INBOUND =>
                    {
                        self.inbound.push(pid);
                        (Event::Message(message), Some((0x50, pid)))
                    }
                    (QoS::ExactlyOnce, Some(pid)) => {
                        let (_, count) = self.deferred.get_or_insert((now, 0));
                        *count += 1;
                        (Event::Deferred { pid }, None)
                    }
                    (_, None) => panic!("decode gave a QoS {:?} PUBLISH without an id", p.qos),
                }
            }
            Inbound::Puback(pid) => match position(self, pid) {
                Some(i) if self.outbound[i].stage == Stage::Puback => {
                    self.outbound.remove(i);
                    (Event::Delivered { pid }, None)
                }
                // No flow with that id: a warning (brokers repeat acknowledgements).
                None => (Event::StrayAck { ack: Ack::Puback, pid }, None),
                Some(_) => return unknown(pid),
            },
            Inbound::Pubrec(pid) => match position(self, pid) {
                Some(i) if self.outbound[i].stage != Stage::Puback => {
                    let slot = &mut self.outbound[i];
                    slot.stage = Stage::Pubcomp;
                    slot.bytes.clear();
                    slot.resend = false;
                    (Event::BrokerReceived { pid }, Some((0x62, pid)))
                }
                // No flow with that id: released, so that the broker can finish its own.
                None => (Event::StrayAck { ack: Ack::Pubrec, pid }, Some((0x62, pid))),
                Some(_) => return unknown(pid),
            },
            Inbound::Pubcomp(pid) => match position(self, pid) {
                Some(i) if self.outbound[i].stage == Stage::Pubcomp => {
                    self.outbound.remove(i);
                    (Event::Delivered { pid }, None)
                }
                None => (Event::StrayAck { ack: Ack::Pubcomp, pid }, None),
                Some(_) => return unknown(pid),
            },
            Inbound::Pubrel(pid) => {
                self.inbound.retain(|&p| p != pid);
                (Event::Released { pid }, Some((0x70, pid)))
            }
            Inbound::Suback { pid, return_codes } => {
                let Some(i) = self.requests.iter().position(|r| r.0 == pid) else {
                    return unknown(pid);
                };
                match self.requests.remove(i).1 {
                    Kind::Subscribe(filters) if filters == return_codes.len() => {
                        // The event's Suback is opaque: compare its Debug text.
                        return Ok((
                            format!("Subscribed {{ pid: {pid}, granted: Suback {{ codes: {return_codes:?} }} }}"),
                            Vec::new(),
                        ));
                    }
                    Kind::Subscribe(filters) => {
                        return violation(Violation::SubackCount {
                            pid,
                            filters,
                            answers: return_codes.len(),
                        })
                    }
                    Kind::Unsubscribe => return unknown(pid),
                }
            }
            Inbound::Unsuback(pid) => {
                let Some(i) = self.requests.iter().position(|r| r.0 == pid) else {
                    return unknown(pid);
                };
                match self.requests.remove(i).1 {
                    Kind::Unsubscribe => (Event::Unsubscribed { pid }, None),
                    Kind::Subscribe(_) => return unknown(pid),
                }
            }
            Inbound::Pingresp => {
                self.ping_deadline = None;
                (Event::Pong, None)
            }
        };
        let reply = match reply {
            Some((first, pid)) => {
                self.last_sent = now;
                ack(first, pid)
            }
            None => Vec::new(),
        };
        Ok((format!("{event:?}"), reply))
    }
}

fn ack(first: u8, pid: u16) -> Vec<u8> {
    let [hi, lo] = pid.to_be_bytes();
    vec![first, 2, hi, lo]
}

/// A server packet from its fields (a remaining length of up to two bytes).
fn frame(first: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![first];
    let mut len = body.len();
    loop {
        let mut byte = (len % 128) as u8;
        len /= 128;
        if len > 0 {
            byte |= 0x80;
        }
        out.push(byte);
        if len == 0 {
            break;
        }
    }
    out.extend_from_slice(body);
    out
}

fn build(model: &Model, packet: &Packet) -> Vec<u8> {
    match packet {
        Packet::Connack {
            session_present,
            code,
        } => frame(0x20, &[u8::from(*session_present), code % 7]),
        Packet::Publish {
            qos,
            pid,
            dup,
            retain,
            topic,
            payload,
        } => {
            let qos = qos % 3;
            let topic = topic.get().as_bytes();
            let mut body = (topic.len() as u16).to_be_bytes().to_vec();
            body.extend_from_slice(topic);
            if qos > 0 {
                body.extend_from_slice(&model.pid(*pid).to_be_bytes());
            }
            body.extend_from_slice(payload);
            let dup = *dup && qos > 0;
            frame(
                0x30 | (u8::from(dup) << 3) | (qos << 1) | u8::from(*retain),
                &body,
            )
        }
        Packet::Puback(p) => ack(0x40, model.pid(*p)),
        Packet::Pubrec(p) => ack(0x50, model.pid(*p)),
        Packet::Pubrel(p) => ack(0x62, model.pid(*p)),
        Packet::Pubcomp(p) => ack(0x70, model.pid(*p)),
        Packet::Suback(p, codes) => {
            let mut body = model.pid(*p).to_be_bytes().to_vec();
            let codes = if codes.is_empty() {
                &[0u8][..]
            } else {
                &codes[..]
            };
            // Mostly legal codes (0, 1, 2, 0x80), sometimes anything.
            body.extend(codes.iter().map(|&c| match c % 5 {
                3 => 0x80,
                4 => c,
                q => q,
            }));
            frame(0x90, &body)
        }
        Packet::Unsuback(p) => ack(0xb0, model.pid(*p)),
        Packet::Pingresp => vec![0xd0, 0x00],
    }
}

struct Harness<'b> {
    s: S<'b>,
    m: Model,
    now: Instant,
}

impl Harness<'_> {
    fn connect(&mut self, params: ConnectParams) {
        let options = params.options();
        let mut out = [0u8; OUT];
        let len = self
            .s
            .connect(self.now, &options, &mut out)
            .expect("CONNECT fits");
        let decoded = mqttrs::decode_slice(&out[..len]).expect("mqttrs reads our CONNECT");
        assert!(matches!(decoded, Some(mqttrs::Packet::Connect(c)) if c.client_id == "fuzz"));
        let m = &mut self.m;
        if options.clean_session {
            m.outbound.clear();
            m.inbound.clear();
        }
        m.requests.clear();
        m.deferred = None;
        m.keep_alive_ms = u32::from(options.keep_alive_secs) * 1000;
        m.response_timeout_ms = options.response_timeout_ms;
        m.ping_deadline = None;
        m.last_sent = self.now;
        m.last_received = self.now;
        m.phase = Phase::AwaitConnack {
            deadline: self.now.add_millis(options.response_timeout_ms),
            clean: options.clean_session,
        };
    }

    /// Feeds one frame to both and compares.
    fn feed(&mut self, bytes: &[u8]) {
        let mut out = [0u8; OUT];
        let got = self
            .s
            .handle(self.now, bytes, &mut out)
            .map(|(event, len)| (format!("{event:?}"), out[..len].to_vec()));
        let expected = if let Phase::Broken(e) = &self.m.phase {
            Err(e.clone())
        } else {
            match packet::decode(bytes) {
                Ok(inbound) => {
                    self.m.last_received = self.now;
                    self.m.handle(self.now, inbound)
                }
                Err(d) => Err(self.m.fail(Error::Decode(d))),
            }
        };
        assert_eq!(got, expected, "handle({bytes:02x?})");
    }

    fn publish(&mut self, topic: &str, payload: &[u8], qos: QoS, retain: bool) {
        let mut out = [0u8; OUT];
        let before = self.s.in_flight();
        let got = self
            .s
            .publish(self.now, topic, payload, qos, retain, &mut out);
        // The encoder is the packet layer's (fuzzed on its own): it says whether it fits.
        let mut probe = [0u8; OUT];
        let probe_pid = (qos != QoS::AtMostOnce).then_some(1);
        let p = Publish {
            dup: false,
            qos,
            retain,
            pid: probe_pid,
            topic,
            payload,
        };
        let encoded = packet::encode_publish(&p, &mut probe);
        let m = &mut self.m;
        // Whatever happens, it names only what this call stores.
        m.last_published = None;
        let expected_err = if let Err(e) = m.usable() {
            Some(e)
        } else if qos != QoS::AtMostOnce && m.window_full() {
            Some(Error::WindowFull { slots: N })
        } else {
            match encoded {
                Err(e) => Some(Error::Encode(e)),
                Ok(len) if qos != QoS::AtMostOnce && m.store_used() + len > STORE => {
                    Some(Error::StoreFull {
                        needed: len,
                        free: STORE - m.store_used(),
                    })
                }
                Ok(_) => None,
            }
        };
        match (got, expected_err) {
            (Err(e), Some(expected)) => {
                assert_eq!(e, expected);
                assert_eq!(self.s.in_flight(), before, "a refused publish kept nothing");
            }
            (Ok((len, pid)), None) => {
                let bytes = out[..len].to_vec();
                assert_eq!(Ok(len), encoded);
                let decoded = packet::decode(&bytes).expect("our PUBLISH decodes");
                assert_eq!(decoded, Inbound::Publish(Publish { pid, ..p }));
                m.last_sent = self.now;
                if qos == QoS::AtMostOnce {
                    assert_eq!(pid, None);
                    return;
                }
                let pid = pid.expect("QoS 1/2 has a packet id");
                assert_ne!(pid, 0);
                assert!(!m.outbound.iter().any(|s| s.pid == pid), "pid {pid} reused");
                assert!(!m.requests.iter().any(|r| r.0 == pid), "pid {pid} reused");
                let stage = if qos == QoS::AtLeastOnce {
                    Stage::Puback
                } else {
                    Stage::Pubrec
                };
                m.outbound.push(Slot {
                    pid,
                    stage,
                    bytes,
                    resend: false,
                });
                m.last_published = Some(pid);
            }
            (got, expected) => panic!("publish: got {got:?}, expected error {expected:?}"),
        }
    }

    fn request(&mut self, filters: &[(&str, QoS)], subscribe: bool) {
        let mut out = [0u8; OUT];
        let mut probe = [0u8; OUT];
        let names: Vec<&str> = filters.iter().map(|f| f.0).collect();
        let (got, encoded) = if subscribe {
            (
                self.s.subscribe(self.now, filters, &mut out),
                packet::encode_subscribe(1, filters, &mut probe),
            )
        } else {
            (
                self.s.unsubscribe(self.now, &names, &mut out),
                packet::encode_unsubscribe(1, &names, &mut probe),
            )
        };
        let m = &mut self.m;
        let expected_err = if let Err(e) = m.usable() {
            Some(e)
        } else if let Err(e) = encoded {
            Some(Error::Encode(e))
        } else if m.window_full() {
            Some(Error::WindowFull { slots: N })
        } else {
            None
        };
        match (got, expected_err) {
            (Err(e), Some(expected)) => assert_eq!(e, expected),
            (Ok((len, pid)), None) => {
                assert_eq!(Ok(len), encoded);
                // The same bytes as the probe's but for the packet id, right after the header.
                let header = 2 + out[1..len].iter().take_while(|b| *b & 0x80 != 0).count();
                probe[header..header + 2].copy_from_slice(&pid.to_be_bytes());
                assert_eq!(out[..len], probe[..len]);
                assert_ne!(pid, 0);
                assert!(!m.outbound.iter().any(|s| s.pid == pid), "pid {pid} reused");
                assert!(!m.requests.iter().any(|r| r.0 == pid), "pid {pid} reused");
                let kind = if subscribe {
                    Kind::Subscribe(filters.len())
                } else {
                    Kind::Unsubscribe
                };
                m.requests.push((pid, kind));
                m.last_sent = self.now;
            }
            (got, expected) => panic!("request: got {got:?}, expected error {expected:?}"),
        }
    }

    fn poll_transmit(&mut self) -> bool {
        let got = self
            .s
            .poll_transmit(self.now)
            .map(|o| o.map(<[u8]>::to_vec));
        let m = &mut self.m;
        let expected = match &m.phase {
            Phase::Idle | Phase::AwaitConnack { .. } => Ok(None),
            Phase::Broken(e) => Err(e.clone()),
            Phase::Connected => {
                if let Some(slot) = m.outbound.iter_mut().find(|s| s.resend) {
                    slot.resend = false;
                    let bytes = if slot.stage == Stage::Pubcomp {
                        ack(0x62, slot.pid)
                    } else {
                        let mut b = slot.bytes.clone();
                        b[0] |= 0x08;
                        b
                    };
                    m.last_sent = self.now;
                    Ok(Some(bytes))
                } else if m.keep_alive_ms > 0
                    && m.ping_deadline.is_none()
                    && self.now.millis_since(m.quiet_since()) >= m.keep_alive_ms
                {
                    m.last_sent = self.now;
                    m.ping_deadline = Some(self.now.add_millis(m.ping_wait_ms()));
                    Ok(Some(vec![0xc0, 0x00]))
                } else {
                    Ok(None)
                }
            }
        };
        let sent = matches!(got, Ok(Some(_)));
        assert_eq!(got, expected, "poll_transmit");
        sent
    }

    fn check_timeouts(&mut self) -> bool {
        let got = self.s.check_timeouts(self.now);
        let m = &mut self.m;
        let deferral_over = m.deferral_deadline().is_some_and(|d| self.now.reached(d));
        let expected = match &m.phase {
            Phase::Broken(e) => Err(e.clone()),
            Phase::Idle => Ok(()),
            Phase::Connected if deferral_over => {
                let deferred = m.deferred.map_or(0, |(_, count)| count);
                Err(m.fail(Error::InboundQos2Full {
                    max: INBOUND,
                    deferred,
                }))
            }
            Phase::AwaitConnack { deadline, .. } if self.now.reached(*deadline) => {
                let waited_ms = m.response_timeout_ms;
                Err(m.fail(Error::Timeout(Timeout::Connack { waited_ms })))
            }
            Phase::Connected if m.ping_deadline.is_some_and(|d| self.now.reached(d)) => {
                let waited_ms = m.ping_wait_ms();
                Err(m.fail(Error::Timeout(Timeout::Pingresp { waited_ms })))
            }
            _ => Ok(()),
        };
        let fired = got.is_err();
        assert_eq!(got, expected, "check_timeouts");
        fired
    }

    fn check(&self) {
        let (s, m) = (&self.s, &self.m);
        assert!(s.in_flight() <= N);
        assert!(s.awaiting_release() <= INBOUND);
        assert_eq!(s.in_flight(), m.outbound.len());
        assert_eq!(s.awaiting_release(), m.inbound.len());
        assert_eq!(s.is_connected(), m.phase == Phase::Connected);
        let broken = match &m.phase {
            Phase::Broken(e) => Some(e),
            _ => None,
        };
        assert_eq!(s.broken(), broken);
        assert_eq!(s.poll_at(), m.poll_at());
        assert_eq!(s.last_published(), m.last_published);
    }
}

fn run_session(script: &Script) {
    let mut memory = Memory::new();
    let mut h = Harness {
        s: memory.session(),
        m: Model::new(),
        now: Instant::from_millis(script.start),
    };
    // A valid CONNECT/CONNACK first.
    h.connect(script.first);
    h.feed(&[0x20, 0x02, 0x00, 0x00]);
    assert!(h.s.is_connected());
    h.check();
    for op in script.ops.iter().take(256) {
        match op {
            Op::Broker(p) => {
                let bytes = build(&h.m, p);
                h.feed(&bytes);
            }
            Op::Raw(bytes) => {
                let mut rest = &bytes[..];
                while !rest.is_empty() {
                    let take = match packet::scan(rest) {
                        Ok(Some(f)) if f.total_len <= rest.len() => f.total_len,
                        _ => rest.len(),
                    };
                    h.feed(&rest[..take]);
                    h.check();
                    rest = &rest[take..];
                }
            }
            Op::Publish {
                topic,
                payload_len,
                qos,
                retain,
            } => {
                let payload = vec![0x5a; usize::from(*payload_len % 64)];
                let qos = QoS::from_bits(qos % 3).expect("0..=2");
                h.publish(topic.get(), &payload, qos, *retain);
            }
            Op::Subscribe(filters) => {
                let filters: Vec<(&str, QoS)> = filters
                    .iter()
                    .take(7)
                    .map(|(t, q)| (t.get(), QoS::from_bits(q % 3).expect("0..=2")))
                    .collect();
                h.request(&filters, true);
            }
            Op::Unsubscribe(filters) => {
                let filters: Vec<(&str, QoS)> = filters
                    .iter()
                    .take(7)
                    .map(|t| (t.get(), QoS::AtMostOnce))
                    .collect();
                h.request(&filters, false);
            }
            Op::PollTransmit => {
                h.poll_transmit();
            }
            Op::CheckTimeouts => {
                h.check_timeouts();
            }
            Op::Advance(ms) => h.now = h.now.add_millis(u32::from(*ms) * 8),
            Op::Service => {
                if let Some(at) = h.s.poll_at() {
                    if h.now.reached(at) {
                        let sent = h.poll_transmit();
                        let fired = h.check_timeouts();
                        assert!(
                            sent || fired,
                            "poll_at {at:?} reached at {:?} for nothing",
                            h.now
                        );
                    }
                }
            }
            Op::Disconnect => {
                let mut out = [0u8; OUT];
                let got = h.s.disconnect(&mut out).map(|len| out[..len].to_vec());
                let expected = h.m.usable().map(|()| {
                    h.m.phase = Phase::Idle;
                    h.m.ping_deadline = None;
                    vec![0xe0, 0x00]
                });
                assert_eq!(got, expected, "disconnect");
            }
            Op::Fail => {
                let got = h.s.fail(Error::ConnectionClosed);
                assert_eq!(got, h.m.fail(Error::ConnectionClosed));
            }
            Op::Connect(params) => h.connect(*params),
        }
        h.check();
    }
}

// ---------------------------------------------------------------------------------------------
// Client mode

/// A transport that plays the broker's bytes in reads of the given sizes and swallows writes.
struct Scripted {
    incoming: VecDeque<u8>,
    reads: Vec<usize>,
    next: usize,
    drained: Rc<Cell<bool>>,
}

impl embedded_io::ErrorType for Scripted {
    type Error = embedded_io::ErrorKind;
}

impl embedded_io::Read for Scripted {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let size = self
            .reads
            .get(self.next % self.reads.len().max(1))
            .copied()
            .unwrap_or(usize::MAX);
        self.next += 1;
        let n = buf.len().min(self.incoming.len()).min(size.max(1));
        for (dst, src) in buf.iter_mut().zip(self.incoming.drain(..n)) {
            *dst = src;
        }
        self.drained.set(self.incoming.is_empty());
        Ok(n)
    }
}

impl embedded_io::ReadReady for Scripted {
    fn read_ready(&mut self) -> Result<bool, Self::Error> {
        Ok(!self.incoming.is_empty())
    }
}

impl embedded_io::Write for Scripted {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

const CONNACK_TIMEOUT_MS: u32 = 50;

/// Runs the blocking client over `bytes` read in pieces of `reads`: the outcome of `connect`,
/// then of each `poll` until nothing is left or the connection broke.
fn client_outcomes(bytes: &[u8], reads: &[usize]) -> Vec<String> {
    let drained = Rc::new(Cell::new(bytes.is_empty()));
    let transport = Scripted {
        incoming: bytes.iter().copied().collect(),
        reads: reads.to_vec(),
        next: 0,
        drained: drained.clone(),
    };
    // Time stands still while bytes remain, so that no deadline depends on the read sizes.
    let time = Cell::new(0u32);
    let clock = move || {
        if drained.get() {
            time.set(time.get() + 1);
        }
        Instant::from_millis(time.get())
    };
    let mut storage: Storage<N, STORE, RX, OUT, INBOUND> = Storage::new();
    let mut conn = Connection::new(storage.buffers());
    let mut client = blocking::Client::new(transport, &mut conn, clock);
    let mut options = ConnectOptions::new("fuzz");
    options.keep_alive_secs = 0;
    options.response_timeout_ms = CONNACK_TIMEOUT_MS;
    let mut outcomes = Vec::new();
    let connected = client.connect(&options);
    let mut fatal = matches!(&connected, Err(e) if e.is_fatal());
    outcomes.push(match connected {
        Ok(c) => format!(
            "Ok(Connected {{ session_present: {}, resending: {} }})",
            c.session_present, c.resending
        ),
        Err(e) => format!("Err({e:?})"),
    });
    // A streamed message so far: its head's fields and its payload.
    let mut streaming: Option<(String, QoS, bool, bool, Option<u16>, Vec<u8>)> = None;
    // Polls until the stream is used up; without CONNACK until the response timeout passes.
    for _ in 0..bytes.len() + CONNACK_TIMEOUT_MS as usize + 8 {
        if fatal {
            break;
        }
        let outcome = match client.poll() {
            Ok(None) => None,
            // A message larger than the buffer, put together to compare with the whole one.
            Ok(Some(Event::MessageStart(h))) => {
                let topic = h.topic.to_owned();
                streaming = Some((topic, h.qos, h.retain, h.dup, h.pid, Vec::new()));
                continue;
            }
            Ok(Some(Event::MessagePart(part))) => {
                if let Some((.., payload)) = &mut streaming {
                    payload.extend_from_slice(part);
                }
                continue;
            }
            Ok(Some(Event::MessageEnd { .. })) => streaming.take().map(|whole| {
                let (topic, qos, retain, dup, pid, payload) = whole;
                let message = embedded_mqtts::Message {
                    topic: &topic,
                    payload: &payload,
                    qos,
                    retain,
                    dup,
                    pid,
                };
                format!("Ok({:?})", Event::Message(message))
            }),
            Ok(Some(event)) => Some(format!("Ok({event:?})")),
            Err(e) => {
                fatal = e.is_fatal();
                Some(format!("Err({e:?})"))
            }
        };
        match outcome {
            Some(text) => outcomes.push(text),
            None if client.connection().is_connected() => break,
            None => {}
        }
    }
    assert!(client.connection().in_flight() == 0);
    outcomes
}

/// The same stream framed with `scan` and fed to a session directly.
fn reference_outcomes(bytes: &[u8]) -> Vec<String> {
    let mut memory = Memory::new();
    let mut s = memory.session();
    let mut out = [0u8; OUT];
    let mut options = ConnectOptions::new("fuzz");
    options.keep_alive_secs = 0;
    options.response_timeout_ms = CONNACK_TIMEOUT_MS;
    s.connect(Instant::from_millis(0), &options, &mut out)
        .expect("CONNECT fits");
    let mut outcomes: Vec<String> = Vec::new();
    let mut in_connect = true;
    let mut record =
        |outcomes: &mut Vec<String>, text: String, connected_now: bool, is_err: bool| {
            if in_connect {
                // `connect` returns at CONNACK or at the first error; other events cannot occur
                // before CONNACK (they are violations).
                if connected_now || is_err {
                    outcomes.push(text);
                    in_connect = false;
                }
            } else {
                outcomes.push(text);
            }
        };
    let mut rest = bytes;
    loop {
        let frame = match packet::scan(rest) {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                let e = s.fail(Error::Decode(e));
                record(&mut outcomes, format!("Err({e:?})"), false, true);
                return outcomes;
            }
        };
        let mut streamed = false;
        if frame.total_len > RX {
            // A PUBLISH whose head fits the client's buffer is streamed to the application:
            // the same outcome as the whole packet (the client's pieces are put together in
            // `client_outcomes`); a head that does not fit is skipped as too large.
            let prefix = &rest[..rest.len().min(RX)];
            if packet::is_publish(rest[0]) {
                match packet::decode_publish_head(prefix, frame) {
                    Ok(Some((head, _))) if rest.len() < frame.total_len => {
                        // The input ends inside its payload: the client took the head only.
                        if let Err(e) = s.begin_stream(Instant::from_millis(0), &head) {
                            record(&mut outcomes, format!("Err({e:?})"), false, true);
                            return outcomes;
                        }
                        break;
                    }
                    Ok(Some(_)) => streamed = true,
                    Ok(None) if prefix.len() < RX => break,
                    Ok(None) => {}
                    Err(e) => {
                        let e = s.fail(Error::Decode(e));
                        record(&mut outcomes, format!("Err({e:?})"), false, true);
                        return outcomes;
                    }
                }
            }
        }
        if frame.total_len > RX && !streamed {
            let e = Error::PacketTooLarge {
                size: frame.total_len,
                capacity: RX,
            };
            record(&mut outcomes, format!("Err({e:?})"), false, true);
            if frame.total_len >= rest.len() {
                break;
            }
            rest = &rest[frame.total_len..];
            continue;
        }
        let Some(whole) = rest.get(..frame.total_len) else {
            break;
        };
        rest = &rest[frame.total_len..];
        match s.handle(Instant::from_millis(0), whole, &mut out) {
            Ok((Event::Connected { session_present, resending }, _)) => record(
                &mut outcomes,
                format!("Ok(Connected {{ session_present: {session_present}, resending: {resending} }})"),
                true,
                false,
            ),
            Ok((event, _)) => record(&mut outcomes, format!("Ok({event:?})"), false, false),
            Err(e) => {
                let fatal = e.is_fatal();
                record(&mut outcomes, format!("Err({e:?})"), false, true);
                if fatal {
                    return outcomes;
                }
            }
        }
    }
    // Nothing more will come: a CONNACK still due times out.
    if !s.is_connected() && s.broken().is_none() {
        if let Err(e) = s.check_timeouts(Instant::from_millis(CONNACK_TIMEOUT_MS)) {
            record(&mut outcomes, format!("Err({e:?})"), false, true);
        }
    }
    outcomes
}

fn run_client(connack: bool, reads: &[u8], stream: &[u8]) {
    let mut bytes = Vec::new();
    if connack {
        bytes.extend_from_slice(&[0x20, 0x02, 0x00, 0x00]);
    }
    bytes.extend(stream.iter().take(4096));
    let expected = reference_outcomes(&bytes);
    let reads: Vec<usize> = reads.iter().map(|&r| usize::from(r)).collect();
    let pieces = client_outcomes(&bytes, &reads);
    assert_eq!(pieces, expected, "read sizes {reads:?}");
    let bytewise = client_outcomes(&bytes, &[1]);
    assert_eq!(bytewise, expected, "one byte per read");
}
