#![no_std]
#![doc = "embedded-mqtts (crate docs are written at the end of the first milestone)"]
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
