#![no_std]
//! A `#![no_std]` MQTT 3.1.1 client for microcontrollers, over TLS 1.3 with the broker's
//! certificate verified against a pin compiled into the firmware.
//!
//! - **One sans-IO core.** [`Session`] makes every protocol decision (packet ids, QoS 1/2
//!   flows, DUP on resend, inbound QoS 2 de-duplication, keep-alive) and does no I/O; it takes
//!   bytes and the time and gives bytes and [`Event`]s. [`blocking::Client`] and
//!   [`asynch::Client`] are thin loops around it over any `embedded-io` /
//!   `embedded-io-async` stream: a smoltcp or embassy-net socket, a UART, a TLS stream, or a
//!   `std` TCP stream ([`host::TcpTransport`], feature `std`).
//! - **No heap for MQTT.** Buffers are const-generic arrays in a [`ClientState`] you place
//!   where you like (a `static`, the stack, a `Box`). The `rsa` feature (on by default) uses
//!   the `rsa` crate, which needs an allocator; ECDSA P-256 needs none.
//! - **Honest failures.** Every failure is an [`Error`] variant that says what happened, with
//!   its facts (`Display` is one line). A packet larger than the receive buffer is an error
//!   naming its size, and is skipped whole so the stream stays in step. Fatal errors are
//!   sticky until the next `connect`; the in-flight table survives, so a persistent session
//!   resumes and re-sends what the broker has not acknowledged.
//!
//! # Example
//!
//! Connect, subscribe, publish with QoS 1 and wait for the message to come back, over any
//! transport (for a host: `host::TcpTransport::connect(("localhost", 1883))?` and
//! `time::StdClock::new()`):
//!
//! ```no_run
//! use embedded_io::{Read, ReadReady, Write};
//! use embedded_mqtts::{blocking::Client, ClientState, Clock, ConnectOptions, Error, Event, QoS};
//!
//! // 4 messages in flight, 1 KiB to keep them for resending, 1 KiB receive and send buffers.
//! fn run<T: Read + Write + ReadReady>(
//!     transport: T,
//!     state: &mut ClientState<4, 1024, 1024, 1024>,
//!     clock: impl Clock,
//! ) -> Result<(), Error> {
//!     let mut client = Client::new(transport, state, clock);
//!     let mut options = ConnectOptions::new("sensor-42");
//!     options.keep_alive_secs = 30;
//!     let connected = client.connect(&options)?;
//!     if !connected.session_present {
//!         client.subscribe(&[("sensors/42/cmd", QoS::AtLeastOnce)])?;
//!     }
//!     client.publish("sensors/42/cmd", b"ping", QoS::AtLeastOnce, false)?;
//!     loop {
//!         // Sends PINGREQ when idle; returns None when nothing arrived within 1 s.
//!         match client.wait_event(1000)? {
//!             Some(Event::Message(m)) => {
//!                 assert_eq!(m.payload, b"ping");
//!                 break;
//!             }
//!             Some(Event::Subscribed { granted, .. }) if granted.any_refused() => {
//!                 // The broker refused the filter: a real program would report it.
//!             }
//!             _ => {}
//!         }
//!     }
//!     client.disconnect()
//! }
//! ```
//!
//! # Over TLS, with the broker's CA pinned
//!
//! The same client over a [`tls::TlsStream`], which exists only for a broker that proved its
//! certificate chain up to the pin, its host name, and possession of its key (the
//! CertificateVerify signature). A refusal is a [`tls::ConnectError::Verify`] whose `Display`
//! says why in one line (expired, name mismatch, unknown issuer, pin mismatch, ...).
//!
//! ```no_run
//! use embedded_io::{Read, ReadReady, Write};
//! use embedded_mqtts::tls::{
//!     ConnectError, Pin, PinnedProvider, TlsOptions, TlsSocket, TlsStream, ValidityTime,
//!     READ_BUFFER,
//! };
//! use embedded_mqtts::{blocking::Client, ClientState, Clock, ConnectOptions, QoS};
//!
//! /// `ca_der`: the broker's CA certificate, e.g. `include_bytes!("broker-ca.der")` (run
//! /// `cargo run --example pin --features std -- broker-ca.pem` to see what to pin).
//! /// `unix_now`: wall-clock time in seconds (RTC, SNTP), for the certificates' validity.
//! fn publish_reading<S: Read + Write + ReadReady>(
//!     socket: S,
//!     ca_der: &[u8],
//!     unix_now: u64,
//!     rng: impl rand_core::CryptoRngCore,
//!     clock: impl Clock,
//! ) -> Result<(), &'static str> {
//!     let cas = [ca_der];
//!     let pins = [Pin::Ca(&cas)];
//!     let mut provider = PinnedProvider::new(rng, &pins);
//!     // 16,640 bytes hold the largest TLS record; with `max_fragment_length` 4,352 do.
//!     let mut read_buffer = [0u8; READ_BUFFER];
//!     let mut write_buffer = [0u8; 1024];
//!     let socket = TlsSocket::new(socket);
//!     let options = TlsOptions::new("broker.example.com", ValidityTime::UnixSeconds(unix_now));
//!     let stream = match TlsStream::connect(
//!         &socket,
//!         &mut read_buffer,
//!         &mut write_buffer,
//!         &options,
//!         &mut provider,
//!     ) {
//!         Ok(stream) => stream,
//!         // e.g. "certificate 'CN=broker.example.com' expired on 2025-01-01 00:00:00 UTC"
//!         Err(ConnectError::Verify(_reason)) => return Err("impostor refused"),
//!         Err(_) => return Err("TLS handshake failed"),
//!     };
//!     let mut state: ClientState<2, 512, 1024, 1024> = ClientState::new();
//!     let mut client = Client::new(stream, &mut state, clock);
//!     client
//!         .connect(&ConnectOptions::new("sensor-42"))
//!         .map_err(|_| "CONNECT failed")?;
//!     client
//!         .publish("sensors/42/temp", b"21.5", QoS::AtLeastOnce, false)
//!         .map_err(|_| "PUBLISH failed")?;
//!     client.disconnect().map_err(|_| "DISCONNECT failed")
//! }
//! ```
//!
//! # Transport contract
//!
//! See [`client`]: the clients read only after `ReadReady::read_ready` says data is there,
//! so a blocking read never stalls the keep-alive and a TLS record is never abandoned
//! half-read.
//!
//! # Features
//!
//! - `rsa` (default): RSA certificates and signatures; needs `alloc`.
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

#[cfg(feature = "rsa")]
extern crate alloc;

pub mod client;
pub mod error;
#[cfg(feature = "std")]
pub mod host;
mod inflight;
pub mod packet;
pub mod session;
pub mod time;
pub mod tls;
pub mod topic;

pub use client::{asynch, blocking, ClientState, Connected};
pub use error::Error;
pub use packet::QoS;
pub use session::{ConnectOptions, Event, Message, Session, Will};
pub use time::{Clock, Instant};
