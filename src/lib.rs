#![no_std]
//! A `#![no_std]` MQTT 3.1.1 client for microcontrollers, over TLS 1.3 with the broker's
//! certificate verified against a pin compiled into the firmware.
//!
//! - **One sans-IO core.** [`Connection`] makes every protocol decision (packet ids, QoS 1/2
//!   flows, DUP on resend, inbound QoS 2 de-duplication, keep-alive, the order of what is
//!   sent) and does no I/O: it takes bytes and the time and gives bytes and [`Event`]s.
//!   [`blocking::Client`] and [`asynch::Client`] are short loops around it, with the same
//!   methods, over any `embedded-io` / `embedded-io-async` stream: a smoltcp or embassy-net
//!   socket, a UART, a TLS stream, or a `std` TCP stream ([`host::TcpTransport`], feature
//!   `std`). Any other runtime can drive a [`Connection`] itself.
//! - **No heap for MQTT.** The buffers are yours: slices sized at run time ([`Buffers`]), or
//!   arrays sized by const generics ([`Storage`]) in a `static` or on a stack. No heap at all:
//!   RSA (feature `rsa`, on by default) is verified on the stack, like ECDSA.
//! - **Honest failures.** Every failure is an [`Error`] variant (over TLS, a
//!   [`tls::ClientError`]) that says what happened, with its facts (`Display` is one line). A
//!   message larger than the receive buffer is not lost: it comes as
//!   [`Event::MessageStart`], its payload in [`Event::MessagePart`]s, then
//!   [`Event::MessageEnd`], acknowledged only after its end. Fatal errors are sticky until the next `connect`; the
//!   in-flight table survives, so a persistent session resumes and re-sends what the broker
//!   has not acknowledged.
//!
//! # Over TLS, with the broker's CA pinned
//!
//! Pin the CA, connect TCP, run TLS and CONNECT, loop on events. The [`tls::connect`] call
//! succeeds only for a broker that proved its certificate chain up to the pin, its host name,
//! and possession of its key (the CertificateVerify signature); a refusal is a
//! [`tls::ClientError`] whose `Display` says why in one line (expired, name mismatch, unknown
//! issuer, pin mismatch, ...).
//!
//! ```no_run
//! use embedded_mqtts::tls::{self, Pin, PinnedProvider, TlsOptions, TlsSocket, ValidityTime};
//! use embedded_mqtts::{Clock, Connection, ConnectOptions, Event, QoS};
//!
//! /// The broker's CA, compiled in (`cargo run --example pin --features std -- ca.pem` says
//! /// what to pin).
//! const PINS: &[Pin<'static>] = &[Pin::Ca(&[include_bytes!("../certs/rsa-root.der")])];
//!
//! /// `conn` and the TLS buffers are placed once (a `static`, a task's stack) and outlive the
//! /// connection; see [`Storage`] and [`tls::READ_BUFFER`].
//! fn run(
//!     tcp: impl embedded_io::Read + embedded_io::Write + embedded_io::ReadReady, // connected
//!     unix_now: u64, // wall-clock seconds (RTC, SNTP), for the certificates' validity
//!     rng: impl rand_core::CryptoRngCore,
//!     clock: impl Clock, // a monotonic millisecond counter
//!     conn: &mut Connection<'_>,
//!     (tls_read, tls_write): (&mut [u8], &mut [u8]),
//! ) -> Result<(), tls::ClientError> {
//!     let mut provider = PinnedProvider::new(rng, PINS);
//!     let socket = TlsSocket::new(tcp);
//!     let (mut client, _connected) = tls::connect(&socket, tls_read, tls_write,
//!         &TlsOptions::new("broker.example.com", ValidityTime::UnixSeconds(unix_now)),
//!         &mut provider, conn, clock, &ConnectOptions::new("sensor-42"))?;
//!     client.subscribe(&[("sensors/42/cmd", QoS::AtLeastOnce)])?;
//!     client.publish("sensors/42/temp", b"21.5", QoS::AtLeastOnce, false)?;
//!     loop {
//!         // Keep-alive runs while waiting; `None`: a quiet second, wait again.
//!         if let Some(Event::Message(m)) = client.wait_event(1000)? {
//!             let _command: &[u8] = m.payload; // borrows the receive buffer until the next call
//!         }
//!     }
//! }
//! ```
//!
//! # Any transport, any runtime
//!
//! The same client over a plain stream (for a host: `host::TcpTransport::connect(("localhost",
//! 1883))?` and `time::StdClock::new()`), reconnecting with a persistent session: the
//! [`Connection`] outlives each transport, so what the broker has not acknowledged is sent
//! again.
//!
//! ```no_run
//! use embedded_io::{Read, ReadReady, Write};
//! use embedded_mqtts::{blocking::Client, Clock, Connection, ConnectOptions, Error, Event, QoS, Storage};
//!
//! fn run<T: Read + Write + ReadReady>(
//!     mut dial: impl FnMut() -> T,
//!     mut clock: impl Clock + Copy,
//! ) -> Result<(), Error> {
//!     let mut storage: Storage<4, 1024, 1024, 1024> = Storage::new();
//!     let mut conn = Connection::new(storage.buffers());
//!     let mut options = ConnectOptions::new("sensor-42");
//!     options.clean_session = false;
//!     loop {
//!         let mut client = Client::new(dial(), &mut conn, clock);
//!         let connected = match client.connect(&options) {
//!             Ok(connected) => connected,
//!             Err(e) if e.is_fatal() => continue, // e.g. the broker is restarting: dial again
//!             Err(e) => return Err(e),
//!         };
//!         if !connected.session_present {
//!             client.subscribe(&[("sensors/42/cmd", QoS::AtLeastOnce)])?;
//!         }
//!         client.publish("sensors/42/boot", b"up", QoS::AtLeastOnce, false)?;
//!         loop {
//!             match client.wait_event(1000) {
//!                 Ok(Some(Event::Message(m))) if m.payload == b"stop" => return client.disconnect(),
//!                 Ok(_) => {}
//!                 Err(e) if e.is_fatal() => break, // reconnect; in-flight messages are re-sent
//!                 Err(e) => return Err(e),
//!             }
//!         }
//!     }
//! }
//! ```
//!
//! # Transport contract
//!
//! See [`client`]: the clients read only after `ReadReady::read_ready` says data is there, so
//! an idle link never stalls the keep-alive. Over TLS, `read_ready` means a record has begun
//! to arrive; a read then waits for the rest of that record, so a broker that stops in the
//! middle of one is bounded by the socket's timeout, not by the keep-alive.
//!
//! # Features
//!
//! - `rsa` (default): RSA certificates and signatures (PKCS#1 v1.5 and PSS), on the stack.
//! - `std`: host transport and clock, and the examples.
//! - `defmt`: `defmt::Format` on errors and events.
// Errors carry their facts inline (names, hashes) because there is no heap to box them in;
// they are returned rarely, so their size costs nothing on the success path.
#![allow(clippy::result_large_err)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

#[cfg(any(test, feature = "std"))]
extern crate std;

pub mod client;
mod connection;
pub mod error;
#[cfg(feature = "std")]
pub mod host;
mod inflight;
pub mod packet;
pub mod session;
pub mod time;
pub mod tls;
pub mod topic;

pub use client::{asynch, blocking};
pub use connection::{Buffers, Connected, Connection, Storage};
pub use error::Error;
pub use inflight::Slot;
pub use packet::QoS;
pub use session::{ConnectOptions, Event, Message, Session, Will};
pub use time::{Clock, Instant};
