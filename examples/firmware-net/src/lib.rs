//! The network layer the firmware examples of `embedded-mqtts` share.
//!
//! - [`lan9118`]: a driver for the SMSC LAN9118 Ethernet controller (PIO FIFO mode), the one
//!   QEMU's `mps2-an386` board has. It is register-level; adapters put it under a network
//!   stack: a smoltcp `phy::Device` (feature `smoltcp`) and an `embassy_net_driver::Driver`
//!   (feature `embassy`).
//! - [`net`] (feature `smoltcp`): IPv4 over any smoltcp device: link tracking, DHCP with a
//!   static fallback, and one TCP connection as a blocking `embedded_io` stream. The
//!   FRDM-K64F firmware (ENET MAC) and the emulated board's firmware (LAN9118) run these same
//!   lines; only the MAC and PHY drivers differ.
//! - [`claim`]: statics handed out once as `&'static mut` (socket buffers, DMA memory).
//!
//! Host tests: `cargo test --features smoltcp` in this folder.
#![cfg_attr(not(test), no_std)]
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

pub mod claim;
pub mod lan9118;
#[cfg(feature = "smoltcp")]
pub mod net;

/// Frame counters of an Ethernet driver.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Good frames handed to the network stack.
    pub received: u32,
    /// Frames dropped: an error flag, or too long for the receive buffer.
    pub receive_errors: u32,
    /// Frames handed to the hardware to send.
    pub sent: u32,
}
