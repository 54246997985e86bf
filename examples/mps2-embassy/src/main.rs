//! embedded-mqtts on embassy, on QEMU's `mps2-an386` (Cortex-M4) with its LAN9118 Ethernet:
//! embassy-executor, embassy-time (CMSDK timer 0 and SysTick), embassy-net (DHCP, TCP),
//! TLS 1.3 with the broker's CA pinned, and the library's async MQTT client.
//!
//! Run: `qemu-system-arm -M mps2-an386 -nographic -semihosting-config enable=on,target=native
//! -nic user,model=lan9118 -kernel <elf> -append "port=P topic=T count=N qos=Q"` (all words
//! in README.md). It publishes `count` messages on `topic` (payloads `<index> q<qos>`), waits
//! until each is acknowledged, and exits QEMU with 0; or prints `FAIL: <reason>` and exits
//! with 1. A connection lost mid-run is made again, resuming the persistent session.

#![no_std]
#![no_main]
// `Failure` carries the library's `ClientError` (the names of a refused certificate, for the
// log); it is returned once per connection, so its size costs nothing.
#![allow(clippy::result_large_err)]

/// Prints one line on QEMU's console (semihosting), prefixed with the firmware's name.
macro_rules! say {
    ($($arg:tt)*) => {
        cortex_m_semihosting::hprintln!("mps2-embassy: {}", format_args!($($arg)*))
    };
}
pub(crate) use say;

// The blocking firmware's MSRV (1.85) predates `is_multiple_of`.
#[allow(clippy::manual_is_multiple_of)]
#[path = "../../mps2-eth/src/args.rs"]
mod args; // the run's words, shared with the blocking firmware (examples/mps2-eth)
mod clock;
mod connection;
mod executor;
#[path = "../../qemu-mps2/src/host.rs"]
mod host; // semihosting: command line, host time, random seed (emulator only)
mod idle;
mod mqtt;
mod net;
#[path = "../../qemu-mps2/src/no_heap.rs"]
mod no_heap; // nothing allocates, RSA included: an allocator without memory
#[path = "../../mps2-eth/src/rng.rs"]
mod rng; // the TLS random generator, shared with examples/mps2-eth
mod stack;
mod time_driver;

use core::fmt;

use cortex_m_rt::{ExceptionFrame, entry, exception};
use cortex_m_semihosting::{debug, hprintln};
use embassy_executor::Spawner;
use embassy_net::tcp::ConnectError;
use embassy_time::Instant;
use embedded_mqtts::tls::{self, FlushPolicy, Pin};
use firmware_net::claim::ClaimOnce;
use firmware_net::lan9118;
use rand_core::{RngCore, SeedableRng};

use args::{Args, BadArgument};
use connection::Broker;
use host::HostError;
use net::NoNetwork;

#[global_allocator]
static ALLOCATOR: no_heap::NoHeap = no_heap::NoHeap;

/// The CA the broker's chain must lead to: `BROKER_CA` at build time (see build.rs), by
/// default the test PKI's `certs/rsa-root` (RSA-4096).
const CA_DER: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/broker-ca.der"));
const PINS: &[Pin<'static>] = &[Pin::Ca(&[CA_DER])];

/// Why the run failed: the reason on the `FAIL:` line.
#[derive(Debug)]
pub enum Failure {
    /// A word of `-append` is not understood.
    Args(BadArgument<'static>),
    /// No random seed from the host.
    Entropy(HostError),
    /// The LAN9118 did not start.
    Network(NoNetwork),
    /// No TCP connection to the broker.
    Tcp(ConnectError),
    /// The TLS handshake failed (the broker's certificate refused, say), or MQTT, or the
    /// TLS stream under it.
    Client(tls::ClientError),
    /// The broker refused the subscription to `<topic>/in`.
    SubscriptionRefused,
    /// The broker stopped answering in the middle of something ([`mqtt::STALL`]).
    Stalled(&'static str),
    /// The run's time (`timeout=` seconds) ran out before the work was done.
    Unfinished(mqtt::Progress, u32),
    /// `<topic>/in` does not fit its 128 bytes.
    TopicTooLong,
    /// Receive mode: a message ended with fewer or more bytes than its head announced.
    Truncated { announced: usize, came: usize },
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Args(e) => e.fmt(f),
            Failure::Entropy(e) => e.fmt(f),
            Failure::Network(e) => e.fmt(f),
            Failure::Tcp(e) => {
                // The variant's name, as `Debug` spells it, without linking `Debug`.
                let reason = match e {
                    ConnectError::InvalidState => "InvalidState",
                    ConnectError::ConnectionReset => "ConnectionReset",
                    ConnectError::TimedOut => "TimedOut",
                    ConnectError::NoRoute => "NoRoute",
                };
                write!(f, "TCP connection to the broker failed: {reason}")
            }
            Failure::Client(tls::ClientError::Mqtt(e)) => write!(f, "MQTT: {e}"),
            Failure::Client(e @ tls::ClientError::Tls(_)) => write!(f, "TLS: {e}"),
            Failure::Client(e) => e.fmt(f),
            Failure::SubscriptionRefused => f.write_str("the broker refused the subscription"),
            Failure::Stalled(awaited) => write!(
                f,
                "no progress in {} s waiting for {awaited}",
                mqtt::STALL.as_secs()
            ),
            Failure::Unfinished(progress, secs) => write!(
                f,
                "after {secs} s, {} of {} messages acknowledged, {} received",
                progress.acknowledged, progress.expecting_ack, progress.received
            ),
            Failure::TopicTooLong => f.write_str("topic too long"),
            Failure::Truncated { announced, came } => {
                write!(f, "a message of {announced} bytes ended after {came}")
            }
        }
    }
}

#[entry]
fn main() -> ! {
    stack::paint();
    let core = cortex_m::Peripherals::take().expect("the core peripherals are taken once");
    time_driver::start(core.SYST);
    executor::run(|spawner| {
        spawner.spawn(boot(spawner).expect("the main task is spawned once"));
    })
}

#[embassy_executor::task]
async fn boot(spawner: Spawner) {
    let mut progress = mqtt::Progress::default();
    let outcome = run(spawner, &mut progress).await;
    report_figures(&progress);
    match outcome {
        Ok(()) => {
            hprintln!("PASS: {} messages acknowledged", progress.acknowledged);
            exit(true)
        }
        Err(failure) => {
            hprintln!("FAIL: {}", failure);
            exit(false)
        }
    }
}

/// The whole run: arguments, entropy, the network, then the broker.
async fn run(spawner: Spawner, progress: &mut mqtt::Progress) -> Result<(), Failure> {
    static COMMAND_LINE: ClaimOnce<[u8; 512]> = ClaimOnce::new([0; 512]);
    let buffer = COMMAND_LINE.claim().expect("the command line is read once");
    let args = Args::parse(host::command_line(buffer)).map_err(Failure::Args)?;
    // Emulator only: the seed comes from the host (see host.rs).
    let mut rng = rng::CtrRng::from_seed(host::random_seed().map_err(Failure::Entropy)?);
    say!("pinned CA: {}", env!("BROKER_CA_SOURCE"));
    let stack = net::start(spawner, rng.next_u64())
        .await
        .map_err(Failure::Network)?;
    let mut broker = Broker { stack, args, rng };
    connection::run(&mut broker, progress).await
}

/// Prints the figures the tests collect: run time, connections, messages, peak stack. There is
/// no heap to report (`no_heap.rs`).
fn report_figures(progress: &mqtt::Progress) {
    say!(
        "elapsed_ms={} connections={} published={} acknowledged={} received={} \
         stack_peak={} flush_policy={}",
        Instant::now().as_millis(),
        progress.connections,
        progress.published,
        progress.acknowledged,
        progress.received,
        stack::peak_bytes(),
        match connection::FLUSH_POLICY {
            FlushPolicy::Relaxed => "Relaxed",
            FlushPolicy::Strict => "Strict",
        }
    );
}

/// Ends QEMU with exit code 0 (`passed`) or 1 (semihosting).
fn exit(passed: bool) -> ! {
    let status = if passed {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    };
    debug::exit(status);
    // Only reached without a semihosting host.
    loop {
        cortex_m::asm::wfi();
    }
}

/// The device-interrupt part of the vector table: entries 0 to the LAN9118's line
/// ([`lan9118::MPS2_AN386_IRQ`], 13), the only interrupt this firmware enables, each
/// [`DefaultHandler`] (which asks [`net::on_interrupt`]). cortex-m-rt's generic table has 240
/// entries (960 bytes of flash); this one 56.
// SAFETY: the one `__INTERRUPTS` of the image (cortex-m-rt's `device` feature leaves it to the
// firmware), in the section its linker script puts after the exception vectors.
#[unsafe(link_section = ".vector_table.interrupts")]
#[unsafe(no_mangle)]
static __INTERRUPTS: [unsafe extern "C" fn(); INTERRUPTS] = [default_handler; INTERRUPTS];

/// Entries of [`__INTERRUPTS`].
const INTERRUPTS: usize = lan9118::MPS2_AN386_IRQ as usize + 1;

// SAFETY: `DefaultHandler` is defined below (cortex-m-rt's `#[exception]` exports it under
// that name); it is only put in the vector table, never called from Rust.
unsafe extern "C" {
    #[link_name = "DefaultHandler"]
    fn default_handler();
}

#[exception]
unsafe fn DefaultHandler(irqn: i16) {
    if !net::on_interrupt(irqn) {
        hprintln!("FAIL: unexpected interrupt {}", irqn);
        exit(false);
    }
}

#[exception]
unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
    hprintln!("FAIL: hard fault at pc {:#010x}", frame.pc());
    exit(false)
}

/// A panic is a bug (the library does not panic on network input). Its message and location
/// are printed with the feature `panic-info` only: see Cargo.toml for their cost.
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    if cfg!(feature = "panic-info") {
        hprintln!("FAIL: panic: {}", info);
    } else {
        let _ = info;
        hprintln!("FAIL: panic (build with --features panic-info for its message and location)");
    }
    exit(false)
}
