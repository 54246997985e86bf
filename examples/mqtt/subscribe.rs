//! `mqtt sub`: subscribe, print each message on stdout, stop after `-C` messages or `-W`
//! seconds.
//!
//! The subscription is sent on the first connection (even when the broker resumes a session,
//! as mosquitto_sub does, so that new filters take effect) and again after a reconnect only
//! if the broker lost the session. A SUBACK that refuses any filter ends the run with the
//! filters named.

use std::io::{self, Write as _};
use std::time::Instant;

use embedded_io::{Read, ReadReady, Write};
use embedded_mqtts::session::Granted;
use embedded_mqtts::{Event, Message};

use crate::args::SubArgs;
use crate::failure::Failure;
use crate::link::{next_event, Link, OverTransport, POLL_MS};

/// The `mqtt sub` job.
pub struct Subscriber<'a> {
    link: Link<'a>,
    printer: Printer<'a>,
    /// When the first connection was accepted: `-W` counts from there.
    started: Option<Instant>,
    /// A SUBACK has accepted the filters on some connection.
    subscribed: bool,
}

impl<'a> Subscriber<'a> {
    pub fn new(args: &'a SubArgs) -> Self {
        Subscriber {
            link: Link::new(&args.connection),
            printer: Printer {
                args,
                printed: 0,
                skipping: false,
            },
            started: None,
            subscribed: false,
        }
    }
}

impl OverTransport for Subscriber<'_> {
    fn run<T: Read + Write + ReadReady>(&mut self, transport: T) -> Result<(), Failure> {
        let args = self.printer.args;
        let (mut client, connected) = self.link.connect(transport)?;
        let started = *self.started.get_or_insert_with(Instant::now);
        let deadline = args.timeout.map(|timeout| started + timeout);
        let mut awaiting_suback = None;
        if !self.subscribed || !connected.session_present {
            let qos = args.connection.qos;
            let filters: Vec<_> = args.filters.iter().map(|f| (f.as_str(), qos)).collect();
            awaiting_suback = Some(client.subscribe(&filters)?);
        }
        loop {
            if self.printer.is_done() {
                client.disconnect()?;
                return Ok(());
            }
            let mut wait_ms = POLL_MS;
            if let (Some(deadline), Some(timeout)) = (deadline, args.timeout) {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    // Leaving anyway: a failed DISCONNECT changes nothing.
                    let _ = client.disconnect();
                    return Err(Failure::TimedOut(timeout));
                }
                wait_ms = wait_ms.min(u32::try_from(left.as_millis()).unwrap_or(u32::MAX));
            }
            match next_event(&mut client, wait_ms)? {
                Some(Event::Message(message)) => self.printer.print(&message)?,
                // Larger than the receive buffer: printed piece by piece as it arrives, never
                // held whole (a 64 MiB message costs what a small one does).
                Some(Event::MessageStart(head)) => self.printer.start(head.topic, head.retain)?,
                Some(Event::MessagePart(part)) => self.printer.part(part)?,
                Some(Event::MessageEnd { .. }) => self.printer.end()?,
                Some(Event::Subscribed { pid, granted }) if awaiting_suback == Some(pid) => {
                    awaiting_suback = None;
                    let refused: Vec<String> = args
                        .filters
                        .iter()
                        .zip(granted.iter())
                        .filter(|(_, granted)| *granted == Granted::Refused)
                        .map(|(filter, _)| filter.clone())
                        .collect();
                    if !refused.is_empty() {
                        let _ = client.disconnect();
                        return Err(Failure::SubscriptionRefused(refused));
                    }
                    self.subscribed = true;
                }
                _ => {}
            }
        }
    }

    fn accepted_connections(&self) -> u32 {
        self.link.accepted()
    }
}

/// Prints messages as mosquitto_sub does, and counts them for `-C`.
struct Printer<'a> {
    args: &'a SubArgs,
    printed: u64,
    /// The message being printed is one `-R` skips.
    skipping: bool,
}

impl Printer<'_> {
    fn is_done(&self) -> bool {
        self.args.count.is_some_and(|count| self.printed >= count)
    }

    /// Print `message` (payload, or `topic payload` with `-v`), unless `-R` skips it.
    fn print(&mut self, message: &Message<'_>) -> Result<(), Failure> {
        self.start(message.topic, message.retain)?;
        self.part(message.payload)?;
        self.end()
    }

    /// A message on `topic` begins: its topic first with `-v`.
    fn start(&mut self, topic: &str, retain: bool) -> Result<(), Failure> {
        self.skipping = self.args.skip_retained && retain;
        if self.args.verbose {
            self.write(&[topic.as_bytes(), b" "])?;
        }
        Ok(())
    }

    /// The next bytes of its payload, flushed at once: a script reading the pipe sees them
    /// when they arrive.
    fn part(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        self.write(&[bytes])
    }

    /// The message is complete: its newline, and one more for `-C`.
    fn end(&mut self) -> Result<(), Failure> {
        if !self.args.no_newline {
            self.write(&[b"\n"])?;
        }
        if !std::mem::take(&mut self.skipping) {
            self.printed += 1;
        }
        Ok(())
    }

    fn write(&mut self, pieces: &[&[u8]]) -> Result<(), Failure> {
        if self.skipping {
            return Ok(());
        }
        let mut out = io::stdout().lock();
        let mut write = || -> io::Result<()> {
            for piece in pieces {
                out.write_all(piece)?;
            }
            out.flush()
        };
        write().map_err(Failure::Output)
    }
}
