//! Client events made owned (an `Event` borrows the client's receive buffer), for scenarios
//! that collect them.

use embedded_mqtts::session::Granted;
use embedded_mqtts::{Event, QoS};

/// A message or acknowledgement, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seen {
    /// A message for one of our subscriptions.
    Message {
        /// Topic name.
        topic: String,
        /// Payload bytes.
        payload: Vec<u8>,
        /// Delivered QoS.
        qos: QoS,
        /// The broker's retain flag.
        retain: bool,
    },
    /// An outbound message fully acknowledged.
    Delivered(u16),
    /// A SUBACK with its per-filter results.
    Subscribed(u16, Vec<Granted>),
    /// The start of a message larger than the receive buffer: topic, QoS, payload length.
    Start(String, QoS, usize),
    /// A piece of its payload.
    Part(Vec<u8>),
    /// Its end, with its packet id.
    End(Option<u16>),
    /// Any other event, as its Debug text.
    Other(String),
}

/// The owned form of `event`.
pub fn own(event: Event<'_>) -> Seen {
    match event {
        Event::Message(m) => Seen::Message {
            topic: m.topic.to_owned(),
            payload: m.payload.to_vec(),
            qos: m.qos,
            retain: m.retain,
        },
        Event::Delivered { pid } => Seen::Delivered(pid),
        Event::Subscribed { pid, granted } => Seen::Subscribed(pid, granted.iter().collect()),
        Event::MessageStart(head) => Seen::Start(head.topic.to_owned(), head.qos, head.payload_len),
        Event::MessagePart(part) => Seen::Part(part.to_vec()),
        Event::MessageEnd { pid } => Seen::End(pid),
        other => Seen::Other(format!("{other:?}")),
    }
}
