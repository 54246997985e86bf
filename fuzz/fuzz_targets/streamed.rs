//! Streamed reception: the same broker bytes fed to a connection with a small receive buffer
//! (in pieces of fuzzed sizes) and to one with a buffer that holds any packet.
//!
//! Input: `[k] [k piece sizes, cycled; 0 counts as 1] [the broker's bytes after CONNACK]`.
//!
//! Properties: nothing panics; on the small connection a message larger than its buffer comes
//! as `MessageStart`, only `MessagePart`s adding up to its `payload_len`, then `MessageEnd`
//! with its packet id, and no acknowledgement leaves before that end; and the messages (topic,
//! QoS, packet id, DUP, RETAIN, payload) are the same on both connections, and so is the first fatal error
//! (the small one may see a bad head of a packet the input does not complete), unless the
//! small one had to skip a packet whose head does not fit (then only the messages before that
//! skip are compared).
#![no_main]

use embedded_mqtts::{ConnectOptions, Connection, Error, Event, Instant, QoS, Storage};
use libfuzzer_sys::fuzz_target;


#[derive(Debug, PartialEq)]
struct Received {
    topic: String,
    qos: QoS,
    pid: Option<u16>,
    dup: bool,
    retain: bool,
    payload: Vec<u8>,
}

/// What a connection made of the stream: its messages, and the first fatal error.
#[derive(Debug, Default)]
struct Outcome {
    messages: Vec<Received>,
    fatal: Option<Error>,
    /// Messages received before the first packet skipped as too large.
    before_skip: Option<usize>,
}

const CONNACK: [u8; 4] = [0x20, 0x02, 0x00, 0x00];

fn connected<'b>(storage: embedded_mqtts::Buffers<'b>) -> Connection<'b> {
    let mut conn = Connection::new(storage);
    let mut options = ConnectOptions::new("fuzz");
    options.keep_alive_secs = 0;
    conn.connect(Instant::from_millis(0), &options).expect("CONNECT fits");
    while let Ok(Some(_)) = conn.poll_transmit(Instant::from_millis(0)) {}
    assert_eq!(conn.handle_input(Instant::from_millis(0), &CONNACK), 4);
    assert!(matches!(
        conn.poll_event(Instant::from_millis(0)),
        Ok(Some(Event::Connected { .. }))
    ));
    conn
}

/// Feeds `stream` in pieces sized by `pieces`, taking every event as it comes.
fn run(conn: &mut Connection<'_>, stream: &[u8], pieces: &[u8]) -> Outcome {
    let now = Instant::from_millis(1);
    let mut outcome = Outcome::default();
    let mut rest = stream;
    let mut sizes = pieces.iter().cycle();
    // The message being streamed: its head, payload so far, expected length.
    let mut open: Option<(Received, usize)> = None;
    loop {
        // As the clients do: what is due goes out before each step.
        while let Ok(Some(bytes)) = conn.poll_transmit(now) {
            // Nothing is acknowledged while a message is open (a PINGREQ never comes:
            // keep-alive is off).
            assert!(open.is_none(), "{bytes:?} sent in the middle of a message");
        }
        match conn.poll_event(now) {
            Ok(Some(event)) => {
                if let Some((received, expected)) = &mut open {
                    match event {
                        Event::MessagePart(part) => {
                            assert!(!part.is_empty());
                            received.payload.extend_from_slice(part);
                            assert!(received.payload.len() <= *expected);
                        }
                        Event::MessageEnd { pid } => {
                            assert_eq!(received.payload.len(), *expected);
                            assert_eq!(pid, received.pid);
                            let (received, _) = open.take().expect("open");
                            outcome.messages.push(received);
                        }
                        other => panic!("{other:?} in the middle of a streamed message"),
                    }
                } else {
                    match event {
                        Event::Message(m) => outcome.messages.push(Received {
                            topic: m.topic.into(),
                            qos: m.qos,
                            pid: m.pid,
                            dup: m.dup,
                            retain: m.retain,
                            payload: m.payload.to_vec(),
                        }),
                        Event::MessageStart(head) => {
                            let received = Received {
                                topic: head.topic.into(),
                                qos: head.qos,
                                pid: head.pid,
                                dup: head.dup,
                                retain: head.retain,
                                payload: Vec::new(),
                            };
                            open = Some((received, head.payload_len));
                        }
                        Event::MessagePart(_) | Event::MessageEnd { .. } => {
                            panic!("a part or an end outside a streamed message")
                        }
                        _ => {}
                    }
                }
            }
            Ok(None) => {
                if rest.is_empty() {
                    return outcome;
                }
                let size = usize::from(*sizes.next().unwrap_or(&255)).max(1);
                let n = conn.handle_input(now, &rest[..size.min(rest.len())]);
                rest = &rest[n..];
            }
            Err(Error::PacketTooLarge { .. }) => {
                outcome.before_skip.get_or_insert(outcome.messages.len());
            }
            Err(e) => {
                assert!(e.is_fatal(), "{e}");
                outcome.fatal = Some(e);
                return outcome;
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&k, rest)) = data.split_first() else {
        return;
    };
    let (pieces, stream) = rest.split_at(usize::from(k).min(rest.len()));
    let mut small: Storage<4, 256, 24, 64, 4> = Storage::new();
    let mut big: Storage<4, 256, 65_536, 64, 4> = Storage::new();
    let mut small = connected(small.buffers());
    let mut big = connected(big.buffers());
    let streamed = run(&mut small, stream, pieces);
    let whole = run(&mut big, stream, &[255]);
    match streamed.before_skip {
        None if whole.before_skip.is_none() => {
            assert_eq!(streamed.messages, whole.messages);
            // The small connection may find a bad head before the big one has the whole
            // packet (the input may end first); never later, and never another error.
            match (&streamed.fatal, &whole.fatal) {
                (Some(a), Some(b)) => assert_eq!(a, b),
                (None, Some(b)) => panic!("only the big connection failed: {b}"),
                _ => {}
            }
        }
        None => {}
        Some(n) => assert_eq!(streamed.messages[..n], whole.messages[..n.min(whole.messages.len())]),
    }
});
