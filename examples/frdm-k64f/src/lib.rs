//! Board support for the FRDM-K64F (MK64FN1M0VLL12) firmware example of `embedded-mqtts`.
//!
//! Everything below the MQTT client: clocks, pins, a console on UART0, the RTC as the UNIX
//! clock, the RNGA as the random source, the ENET MAC with its KSZ8081 PHY as a smoltcp
//! device, and one TCP connection as an `embedded_io` stream ([`net::TcpStream`]). On top,
//! [`mqtt`] runs `embedded-mqtts` (TLS 1.3 with the broker's CA pinned, MQTT 3.1.1); [`stack`]
//! measures the RAM it takes (there is no heap: [`no_heap`]). The binary (`src/main.rs`) puts these together
//! behind the seed firmware's console commands.
//!
//! The hardware modules only do something on the target; the parsing and arithmetic in them
//! (and [`calendar`], [`console`]) is tested on the host:
//! `cargo test --lib --target x86_64-unknown-linux-gnu`.
#![cfg_attr(not(test), no_std)]

pub mod board;
pub mod calendar;
pub use firmware_net::claim;
pub mod config;
pub mod console;
pub mod enet;
pub mod ksz8081;
pub mod mqtt;
pub mod net;
#[path = "../../qemu-mps2/src/no_heap.rs"]
pub mod no_heap;
pub mod regs;
pub mod rng;
pub mod rtc;
pub mod stack;
pub mod uart;
pub mod uptime;
