//! The clients: a blocking and an async driver around one sans-IO [`Connection`].
//!
//! Both are the same short loop, written once with blocking calls ([`blocking::Client`]) and
//! once with `.await` ([`asynch::Client`]), with the same methods and meanings: write what
//! [`Connection::poll_transmit`] gives, read when the transport has bytes, hand them in, return
//! the next [`Event`](crate::Event). Every protocol rule (what to send, in which order, when a
//! broker is late) is the [`Connection`]'s; the drivers decide only when to read.
//!
//! # Transport contract
//!
//! A transport is a byte stream: `Read + Write` (blocking or async) plus
//! [`embedded_io::ReadReady`]. The clients call `read` only after `read_ready` said `true`,
//! so a read never waits for data that may not come, and a TLS record is never abandoned
//! half-read; in between, the connection's keep-alive keeps running. Over TLS, "ready" means a
//! record has begun to arrive, and the read then waits for the rest of that record: a broker
//! that stops in the middle of a record is bounded by the socket's own timeout. `read`
//! returning 0 means the peer closed the connection. Every packet written is followed by
//! `flush`, which must hand the bytes to the network (it need not wait for the peer's
//! acknowledgement). An error of the transport ends the connection as
//! [`Error::Transport`](crate::Error::Transport) with its [`embedded_io::ErrorKind`]; the
//! client does not interpret it further (a TLS layer that knows more says so in its own
//! error: see [`tls::connect`](crate::tls::connect)).
//!
//! # Reconnecting
//!
//! A client borrows its [`Connection`], so the session outlives the transport: after a
//! fatal error, make a new transport and a new client over the same connection, `connect`
//! with `clean_session = false`, and the in-flight messages are sent again.

pub mod asynch;
pub mod blocking;

pub use crate::connection::{Connected, Connection};
