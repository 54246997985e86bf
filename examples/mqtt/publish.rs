//! `mqtt pub`: publish one message, or one per line of stdin, and wait until the broker has
//! acknowledged every QoS 1/2 message before disconnecting.
//!
//! Several messages may be in flight at once (up to the session's window): when the window or
//! the store is full, the publisher waits for acknowledgements and tries again. After a lost
//! connection (`--reconnect`) the session re-sends what was in flight, and the publisher goes
//! on with the message it had not handed over yet.

use std::io::{self, BufRead, Read as _};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, TryRecvError};
use std::time::{Duration, Instant};

use embedded_io::{Read, ReadReady, Write};
use embedded_mqtts::{Error, QoS};

use crate::args::{PayloadSource, PubArgs};
use crate::failure::Failure;
use crate::link::{next_event, Link, Mqtt, OverTransport, POLL_MS, WINDOW};

/// While stdin streams without pause, the connection is still serviced this often.
const SERVICE_EVERY: Duration = Duration::from_millis(100);

/// The `mqtt pub` job.
pub struct Publisher<'a> {
    link: Link<'a>,
    outbox: Outbox<'a>,
}

impl<'a> Publisher<'a> {
    /// Reads the message now for `-s` and `-f` (as mosquitto_pub does, before connecting);
    /// for `-l` starts reading stdin in the background.
    pub fn new(args: &'a PubArgs) -> Result<Self, Failure> {
        Ok(Publisher {
            link: Link::new(&args.connection),
            outbox: Outbox {
                args,
                messages: Messages::from_source(&args.source)?,
                pending: None,
            },
        })
    }
}

impl OverTransport for Publisher<'_> {
    fn run<T: Read + Write + ReadReady>(&mut self, transport: T) -> Result<(), Failure> {
        let (mut client, _) = self.link.connect(transport)?;
        let mut serviced = Instant::now();
        loop {
            self.outbox.hand_over(&mut client)?;
            if self.outbox.is_empty() && client.connection().in_flight() == 0 {
                client.disconnect()?;
                return Ok(());
            }
            // Acknowledgements are counted by the session; the events need no handling here.
            let window_full = self.outbox.pending.is_some();
            if window_full || self.outbox.messages.is_exhausted() {
                // Only acknowledgements can move things on now.
                next_event(&mut client, POLL_MS)?;
                serviced = Instant::now();
            } else if !self.outbox.wait_for_input(POLL_MS)? || serviced.elapsed() >= SERVICE_EVERY {
                // stdin is quiet, or has been busy for a while: let the client read what came
                // and keep the connection alive. (Waiting on the socket after every line would
                // cost the transport's readiness wait per line.)
                next_event(&mut client, 0)?;
                serviced = Instant::now();
            }
        }
    }

    fn accepted_connections(&self) -> u32 {
        self.link.accepted()
    }
}

/// The messages not yet handed to the session.
struct Outbox<'a> {
    args: &'a PubArgs,
    messages: Messages,
    /// Taken from the source but not accepted by the session yet (window full, or the
    /// connection broke before it was sent).
    pending: Option<Vec<u8>>,
}

impl Outbox<'_> {
    /// Wait up to `timeout_ms` for the next line of input; whether one came (it is then
    /// pending). Returns at once at the end of input.
    fn wait_for_input(&mut self, timeout_ms: u32) -> Result<bool, Failure> {
        if self.pending.is_none() {
            self.pending = self.messages.wait_ready(timeout_ms)?;
        }
        Ok(self.pending.is_some())
    }

    /// Nothing left to publish: the source is exhausted and nothing is pending.
    fn is_empty(&self) -> bool {
        self.pending.is_none() && self.messages.is_exhausted()
    }

    /// Publish every message that is ready, until the session's window or store is full.
    fn hand_over<T: Read + Write + ReadReady>(
        &mut self,
        client: &mut Mqtt<'_, T>,
    ) -> Result<(), Failure> {
        let (topic, qos, retain) = (&self.args.topic, self.args.connection.qos, self.args.retain);
        loop {
            let message = match self.pending.take() {
                Some(message) => message,
                None => match self.messages.next_ready()? {
                    Some(message) => message,
                    None => return Ok(()),
                },
            };
            match client.publish(topic, &message, qos, retain) {
                Ok(_) => {}
                Err(Error::WindowFull { .. }) => {
                    self.pending = Some(message);
                    return Ok(());
                }
                // With nothing in flight the store is as empty as it gets: it never fits.
                Err(Error::StoreFull { .. }) if client.connection().in_flight() > 0 => {
                    self.pending = Some(message);
                    return Ok(());
                }
                Err(e) => {
                    // A QoS 1/2 message that entered the in-flight table is re-sent by the
                    // session after a reconnect; one that did not is still ours to send. A
                    // QoS 0 message whose send failed is lost, as QoS 0 allows.
                    let stored = client.connection().session().last_published().is_some();
                    if e.is_fatal() && qos != QoS::AtMostOnce && !stored {
                        self.pending = Some(message);
                    }
                    return Err(e.into());
                }
            }
        }
    }
}

/// Where the messages come from.
enum Messages {
    /// `-m`, `-n`, `-s`, `-f`: one message, until it is taken.
    One(Option<Vec<u8>>),
    /// `-l`: lines from the stdin reader thread; `ended` once it hung up (end of input).
    Lines {
        lines: Receiver<io::Result<Vec<u8>>>,
        ended: bool,
    },
}

impl Messages {
    fn from_source(source: &PayloadSource) -> Result<Self, Failure> {
        let read_failure = |source: &str, error| Failure::Input {
            source: source.to_owned(),
            error,
        };
        Ok(match source {
            PayloadSource::Message(bytes) => Messages::One(Some(bytes.clone())),
            PayloadSource::Null => Messages::One(Some(Vec::new())),
            PayloadSource::Stdin => {
                let mut all = Vec::new();
                io::stdin()
                    .read_to_end(&mut all)
                    .map_err(|e| read_failure("stdin", e))?;
                Messages::One(Some(all))
            }
            PayloadSource::File(path) => {
                let bytes = std::fs::read(path)
                    .map_err(|e| read_failure(&path.display().to_string(), e))?;
                Messages::One(Some(bytes))
            }
            PayloadSource::Lines => Messages::Lines {
                lines: spawn_line_reader(),
                ended: false,
            },
        })
    }

    /// The next message if one is ready now (never waits for stdin).
    fn next_ready(&mut self) -> Result<Option<Vec<u8>>, Failure> {
        self.wait_ready(0)
    }

    /// The next message, waiting up to `timeout_ms` for a line of stdin.
    fn wait_ready(&mut self, timeout_ms: u32) -> Result<Option<Vec<u8>>, Failure> {
        let (lines, ended) = match self {
            Messages::One(message) => return Ok(message.take()),
            Messages::Lines { lines, ended } => (lines, ended),
        };
        let received = match timeout_ms {
            0 => lines.try_recv().map_err(|e| match e {
                TryRecvError::Empty => RecvTimeoutError::Timeout,
                TryRecvError::Disconnected => RecvTimeoutError::Disconnected,
            }),
            ms => lines.recv_timeout(Duration::from_millis(u64::from(ms))),
        };
        match received {
            Ok(Ok(line)) => Ok(Some(line)),
            Ok(Err(error)) => Err(Failure::Input {
                source: "stdin".to_owned(),
                error,
            }),
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Err(RecvTimeoutError::Disconnected) => {
                *ended = true;
                Ok(None)
            }
        }
    }

    fn is_exhausted(&self) -> bool {
        match self {
            Messages::One(message) => message.is_none(),
            Messages::Lines { ended, .. } => *ended,
        }
    }
}

/// Read stdin line by line on a thread, so that waiting for input never stalls the
/// keep-alive. Each line loses its `\n` (and only that, as with mosquitto_pub -l); an empty
/// line is an empty message. The channel is bounded: a fast producer waits for the broker.
fn spawn_line_reader() -> Receiver<io::Result<Vec<u8>>> {
    let (sender, receiver) = mpsc::sync_channel(WINDOW * 4);
    std::thread::spawn(move || {
        let mut stdin = io::stdin().lock();
        loop {
            let mut line = Vec::new();
            let item = match stdin.read_until(b'\n', &mut line) {
                Ok(0) => return,
                Ok(_) => {
                    if line.last() == Some(&b'\n') {
                        line.pop();
                    }
                    Ok(line)
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => Err(e),
            };
            let failed = item.is_err();
            if sender.send(item).is_err() || failed {
                return;
            }
        }
    });
    receiver
}
