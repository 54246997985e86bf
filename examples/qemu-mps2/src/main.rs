//! embedded-mqtts on an emulated Cortex-M4: QEMU's `mps2-an386` machine, with UART0 connected
//! to a Mosquitto broker on the host through a TCP socket (`-serial tcp:127.0.0.1:PORT`).
//!
//! The firmware connects, subscribes to `qemu/test`, publishes a QoS 1 message there, waits
//! for the broker's PUBACK and for its own message to come back, disconnects, and exits QEMU
//! with status 0 (semihosting). Any failure prints its reason and exits with status 1.
//! Mode `plain` speaks MQTT directly over the UART; mode `tls` (the default) first runs
//! TLS 1.3 and verifies the broker's chain against the CA pinned below.
//!
//! The mode is the last word of QEMU's `-append`. Run it with `tests/qemu.rs`
//! (`cargo test --test qemu` in the library), or see README.md.

#![no_std]
#![no_main]
// `Failure` carries the library's `ConnectError` (about 180 bytes: the names of a refused
// certificate, for the log). It is returned once, to end the run, so its size costs nothing.
#![allow(clippy::result_large_err)]

mod clock;
mod host;
#[path = "no_heap.rs"]
mod no_heap;
mod stack;
mod uart;

use core::fmt;
use core::ptr::addr_of_mut;
use core::sync::atomic::{AtomicBool, Ordering};

use cortex_m_rt::{entry, exception, ExceptionFrame};
use cortex_m_semihosting::{debug, hprintln};
use embedded_io::{Read, ReadReady, Write};
use embedded_mqtts::tls::{
    read_buffer_for, write_buffer_for, ConnectError, MaxFragmentLength, Pin, PinnedProvider,
    TlsOptions, TlsSocket, TlsStream, ValidityTime,
};
use embedded_mqtts::{
    blocking::Client, Clock, ConnectOptions, Connection, Error, Event, QoS, Storage,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use clock::SysTickClock;
use host::HostError;
use uart::Uart;

/// No heap: nothing allocates (no_heap.rs).
#[global_allocator]
static ALLOCATOR: no_heap::NoHeap = no_heap::NoHeap;

/// The topic the firmware subscribes to and publishes on.
const TOPIC: &str = "qemu/test";
/// The MQTT client identifier.
const CLIENT_ID: &str = "qemu-mps2";
/// How long to wait for each answer (SUBACK, PUBACK and the echo) before giving up.
const ANSWER_TIMEOUT_MS: u32 = 10_000;

/// The broker's name: sent as SNI, and the name its certificate must carry.
const SERVER_NAME: &str = "localhost";

/// The CA the broker's chain must lead to: `certs/rsa-root` (RSA-4096), issuer of the
/// intermediate that signed the broker's RSA-2048 leaf; or the DER file named by
/// `QEMU_MPS2_CA` at build time (see build.rs).
const CA_DER: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/ca.der"));
static PINS: [Pin<'static>; 1] = [Pin::Ca(&[CA_DER])];

/// MQTT buffers: 4 messages in flight, 512 bytes to keep them for resending, 1 KiB to receive
/// and 1 KiB to send.
type MqttStorage = Storage<4, 512, 1024, 1024>;
/// The largest MQTT packet sent (the transmit buffer).
const MQTT_TX: usize = 1024;

/// Records of at most 4 KiB (RFC 6066 max_fragment_length, which Mosquitto 2.0 with
/// OpenSSL 3 honours): the TLS read buffer shrinks from 16,640 to 4,352 bytes. The broker's
/// Certificate message (leaf and intermediate, about 3 KB) fits one such record.
const FRAGMENT: MaxFragmentLength = MaxFragmentLength::Bits12;
const TLS_READ: usize = read_buffer_for(FRAGMENT);
const TLS_WRITE: usize = write_buffer_for(MQTT_TX);

/// Everything large, in statics, so that the stack figure shows call depth only.
struct Buffers {
    mqtt: &'static mut MqttStorage,
    tls_read: &'static mut [u8; TLS_READ],
    tls_write: &'static mut [u8; TLS_WRITE],
}

impl Buffers {
    /// The buffers, once; `None` on a second call.
    fn take() -> Option<Buffers> {
        static TAKEN: AtomicBool = AtomicBool::new(false);
        // Separate statics: the zeroed TLS buffers stay in .bss (no image bytes), whatever
        // the MQTT state's initial value is.
        static mut MQTT: MqttStorage = MqttStorage::new();
        static mut TLS_READ_BUFFER: [u8; TLS_READ] = [0; TLS_READ];
        static mut TLS_WRITE_BUFFER: [u8; TLS_WRITE] = [0; TLS_WRITE];
        if TAKEN.swap(true, Ordering::AcqRel) {
            return None;
        }
        // SAFETY: the flag above lets this line run once, so the references made here are
        // the only ones to these statics for the rest of the program.
        unsafe {
            Some(Buffers {
                mqtt: &mut *addr_of_mut!(MQTT),
                tls_read: &mut *addr_of_mut!(TLS_READ_BUFFER),
                tls_write: &mut *addr_of_mut!(TLS_WRITE_BUFFER),
            })
        }
    }
}

/// How to talk to the broker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// MQTT straight over the UART.
    Plain,
    /// TLS 1.3 over the UART, MQTT inside.
    Tls,
}

impl Mode {
    /// The mode named by the last word of the command line; TLS when it names none.
    fn from_command_line(line: &str) -> Mode {
        match line.split_ascii_whitespace().last() {
            Some("plain") => Mode::Plain,
            _ => Mode::Tls,
        }
    }

    fn payload(self) -> &'static [u8] {
        match self {
            Mode::Plain => b"hello from mps2-an386 over plain MQTT",
            Mode::Tls => b"hello from mps2-an386 over TLS 1.3",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Plain => "plain",
            Mode::Tls => "tls",
        })
    }
}

/// Why a run failed.
#[derive(Debug)]
enum Failure {
    /// A peripheral or buffer was taken twice (a bug in this firmware).
    Setup(&'static str),
    /// A semihosting call failed.
    Host(HostError),
    /// The TLS handshake failed, or the broker was refused.
    Tls(ConnectError),
    /// The MQTT client failed.
    Mqtt(Error),
    /// The broker refused the subscription.
    SubscriptionRefused,
    /// An answer did not come in time.
    NoAnswer {
        /// What was awaited.
        awaited: &'static str,
        /// For how long.
        waited_ms: u32,
    },
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Setup(what) => write!(f, "setup: {what}"),
            Failure::Host(e) => e.fmt(f),
            Failure::Tls(e) => write!(f, "TLS: {e}"),
            Failure::Mqtt(e) => write!(f, "MQTT: {e}"),
            Failure::SubscriptionRefused => {
                write!(f, "the broker refused the subscription to {TOPIC}")
            }
            Failure::NoAnswer { awaited, waited_ms } => {
                write!(f, "no {awaited} within {waited_ms} ms")
            }
        }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Mqtt(e)
    }
}

impl From<HostError> for Failure {
    fn from(e: HostError) -> Self {
        Failure::Host(e)
    }
}

#[entry]
fn main() -> ! {
    stack::paint();
    let outcome = match cortex_m::Peripherals::take() {
        Some(peripherals) => {
            let clock = SysTickClock::start(peripherals.SYST);
            let outcome = run(clock);
            report_measurements(clock.millis());
            outcome
        }
        None => Err(Failure::Setup("core peripherals taken twice")),
    };
    match outcome {
        Ok(()) => {
            hprintln!("qemu-mps2: PASS");
            exit(debug::EXIT_SUCCESS)
        }
        Err(failure) => {
            hprintln!("qemu-mps2: FAIL: {}", failure);
            exit(debug::EXIT_FAILURE)
        }
    }
}

fn run(clock: SysTickClock) -> Result<(), Failure> {
    let uart = Uart::take_uart0().ok_or(Failure::Setup("UART0 taken twice"))?;
    let buffers = Buffers::take().ok_or(Failure::Setup("buffers taken twice"))?;
    let mut command_line = [0u8; 256];
    let mode = Mode::from_command_line(host::command_line(&mut command_line));
    hprintln!("qemu-mps2: mode {}, broker on UART0", mode);
    match mode {
        Mode::Plain => exchange(
            uart,
            clock,
            &mut Connection::new(buffers.mqtt.buffers()),
            mode.payload(),
        )
        .map(drop),
        Mode::Tls => over_tls(uart, clock, buffers, mode.payload()),
    }
}

/// TLS 1.3 with the broker verified against [`PINS`], then the MQTT exchange inside it.
fn over_tls(
    uart: Uart,
    clock: SysTickClock,
    buffers: Buffers,
    payload: &[u8],
) -> Result<(), Failure> {
    // Emulator only: the seed and the time come from the host (see host.rs).
    let rng = ChaCha20Rng::from_seed(host::random_seed()?);
    let now = host::unix_time();
    let mut provider = PinnedProvider::new(rng, &PINS);
    let mut options = TlsOptions::new(SERVER_NAME, ValidityTime::UnixSeconds(now));
    options.max_fragment_length = Some(FRAGMENT);
    let socket = TlsSocket::new(uart);
    let started = clock.millis();
    let (started_ticks, started_spins) = (clock::ticks(), uart::wait_spins());
    let stream = TlsStream::connect(
        &socket,
        buffers.tls_read,
        buffers.tls_write,
        &options,
        &mut provider,
    )
    .map_err(Failure::Tls)?;
    let (ticks, spins) = (
        clock::ticks() - started_ticks,
        uart::wait_spins() - started_spins,
    );
    // With `-icount shift=0` one instruction is one emulated nanosecond, so one tick of the
    // 25 MHz SysTick is 40 instructions; each counted wait-loop turn is 5 (see uart.rs).
    hprintln!(
        "qemu-mps2: handshake ticks_25mhz={} uart_wait_spins={} uart_wait_instructions_per_spin={}",
        ticks,
        spins,
        uart::INSTRUCTIONS_PER_SPIN
    );
    let verified = stream.verified();
    hprintln!(
        "qemu-mps2: TLS 1.3 up in {} ms at unix time {}; broker {:?} verified (pin {}, leaf SPKI SHA-256 {})",
        clock.millis().wrapping_sub(started),
        now,
        verified.server_name().unwrap_or("?"),
        verified.pin_index(),
        Hex(&verified.leaf_spki_sha256())
    );
    let stream = exchange(
        stream,
        clock,
        &mut Connection::new(buffers.mqtt.buffers()),
        payload,
    )?;
    stream
        .close()
        .map_err(|e| Failure::Mqtt(Error::Transport(embedded_io::Error::kind(&e))))
}

/// Bytes as lower-case hex.
struct Hex<'a>(&'a [u8]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

/// The MQTT part, over any transport: CONNECT, SUBSCRIBE, PUBLISH (QoS 1) to ourselves, wait
/// for the PUBACK and the message, DISCONNECT. Gives the transport back.
fn exchange<T>(
    transport: T,
    clock: SysTickClock,
    conn: &mut Connection<'_>,
    payload: &[u8],
) -> Result<T, Failure>
where
    T: Read + Write + ReadReady,
{
    let mut client = Client::new(transport, conn, clock);
    let mut options = ConnectOptions::new(CLIENT_ID);
    options.keep_alive_secs = 30;
    let connected = client.connect(&options)?;
    hprintln!(
        "qemu-mps2: connected at {} ms (session present: {})",
        clock.millis(),
        connected.session_present
    );

    let subscription = client.subscribe(&[(TOPIC, QoS::AtLeastOnce)])?;
    wait_for(&mut client, clock, "SUBACK", |event| match event {
        Event::Subscribed { pid, granted } if *pid == subscription => {
            if granted.any_refused() {
                Err(Failure::SubscriptionRefused)
            } else {
                Ok(true)
            }
        }
        _ => Ok(false),
    })?;
    hprintln!(
        "qemu-mps2: subscribed to {} at {} ms",
        TOPIC,
        clock.millis()
    );

    let published = client.publish(TOPIC, payload, QoS::AtLeastOnce, false)?;
    let (mut acknowledged, mut echoed) = (false, false);
    wait_for(&mut client, clock, "PUBACK and echo", |event| {
        match event {
            Event::Delivered { pid } if Some(*pid) == published => acknowledged = true,
            Event::Message(message) if message.topic == TOPIC && message.payload == payload => {
                echoed = true
            }
            _ => {}
        }
        Ok(acknowledged && echoed)
    })?;
    hprintln!(
        "qemu-mps2: message acknowledged and received back at {} ms",
        clock.millis()
    );
    client.disconnect()?;
    Ok(client.into_transport())
}

/// Polls the client until `done` says the awaited event came, for at most
/// [`ANSWER_TIMEOUT_MS`].
fn wait_for<T>(
    client: &mut Client<'_, '_, T, SysTickClock>,
    mut clock: SysTickClock,
    awaited: &'static str,
    mut done: impl FnMut(&Event<'_>) -> Result<bool, Failure>,
) -> Result<(), Failure>
where
    T: Read + Write + ReadReady,
{
    let deadline = clock.now().add_millis(ANSWER_TIMEOUT_MS);
    while !clock.now().reached(deadline) {
        if let Some(event) = client.wait_event(100)? {
            if done(&event)? {
                return Ok(());
            }
        }
    }
    Err(Failure::NoAnswer {
        awaited,
        waited_ms: ANSWER_TIMEOUT_MS,
    })
}

/// Prints the figures the tests and `scripts/handshake-cost.sh` collect: run time, peak stack
/// and the stack's size. There is no heap to report (`no_heap.rs`).
fn report_measurements(elapsed_ms: u32) {
    hprintln!(
        "qemu-mps2: elapsed_ms={} stack_peak={} stack_size={}",
        elapsed_ms,
        stack::peak_bytes(),
        stack::size_bytes(),
    );
}

/// Ends the emulation with `status` (QEMU's exit code 0 or 1).
fn exit(status: debug::ExitStatus) -> ! {
    debug::exit(status);
    // Only reached without a semihosting host (QEMU always has one here).
    loop {
        cortex_m::asm::wfi();
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    hprintln!("qemu-mps2: FAIL: panic: {}", info);
    exit(debug::EXIT_FAILURE)
}

#[exception]
unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
    hprintln!("qemu-mps2: FAIL: hard fault at pc {:#010x}", frame.pc());
    exit(debug::EXIT_FAILURE)
}
