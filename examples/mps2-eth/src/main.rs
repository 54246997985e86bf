//! embedded-mqtts over Ethernet on an emulated Cortex-M4: QEMU's `mps2-an386` with its LAN9118
//! and user-mode networking (`-nic user,model=lan9118`).
//!
//! Boot, the LAN9118, smoltcp with DHCP (QEMU gives 10.0.2.15; the host's loopback is
//! 10.0.2.2), then [`mqtt::run`]: TCP to 10.0.2.2:`port`, TLS 1.3 with the broker's CA pinned,
//! MQTT with a persistent session that survives reconnects. The network layer is the one the
//! FRDM-K64F firmware runs (`../firmware-net`). The parameters are `key=value` words of
//! QEMU's `-append` (README.md); the run ends QEMU through semihosting with status 0 when every
//! message was acknowledged, otherwise 1 after a line `FAIL: <reason>`.

#![no_std]
#![no_main]
// `Failure` carries the library's `ConnectError` (the names of a refused certificate, for the
// log). It is returned once, to end the run, so its size costs nothing.
#![allow(clippy::result_large_err)]

mod args;
mod clock;
#[path = "../../qemu-mps2/src/host.rs"]
mod host;
mod mqtt;
#[path = "../../qemu-mps2/src/no_heap.rs"]
mod no_heap;
mod rng;
#[path = "../../qemu-mps2/src/stack.rs"]
mod stack;

use core::cell::RefCell;
use core::fmt;

use cortex_m_rt::{entry, exception, ExceptionFrame};
use cortex_m_semihosting::{debug, hprintln};
use firmware_net::lan9118::smoltcp::Lan9118Device;
use firmware_net::lan9118::Lan9118;
use firmware_net::net::{Addressing, Net, NetHandle, Settings};
use smoltcp::wire::{Ipv4Address, Ipv4Cidr};

use args::Args;
use clock::Uptime;
use mqtt::{Failure, Progress};

/// No heap: nothing allocates, RSA included (no_heap.rs).
#[global_allocator]
static ALLOCATOR: no_heap::NoHeap = no_heap::NoHeap;

/// The network as this board has it.
pub type Network = NetHandle<Lan9118Device, Uptime>;

/// QEMU's user-mode network: DHCP answers at once; without an answer the same address is
/// used statically.
const SETTINGS: Settings = Settings {
    dhcp_timeout_ms: 5_000,
    static_address: Ipv4Cidr::new(Ipv4Address::new(10, 0, 2, 15), 24),
    static_gateway: Some(Ipv4Address::new(10, 0, 2, 2)),
};
/// How long to wait for an address (DHCP, or the static fallback after it).
const ADDRESS_TIMEOUT_MS: u64 = 10_000;

#[entry]
fn main() -> ! {
    stack::paint();
    let Some(peripherals) = cortex_m::Peripherals::take() else {
        panic!("the core peripherals were taken before main");
    };
    let uptime = Uptime::start(peripherals.SYST);
    let mut line = [0u8; 512];
    let line = host::command_line(&mut line);
    let args = match Args::parse(line) {
        Ok(args) => args,
        Err(bad) => {
            hprintln!("FAIL: {}", bad);
            exit(debug::EXIT_FAILURE)
        }
    };
    let mut progress = Progress::default();
    let outcome =
        start_network(uptime).and_then(|net| mqtt::run(net, uptime, &args, &mut progress));
    report_measurements(uptime.millis(), &progress);
    match outcome {
        Ok(()) => {
            hprintln!("PASS: {} messages acknowledged", progress.acknowledged);
            exit(debug::EXIT_SUCCESS)
        }
        Err(failure) => {
            hprintln!("FAIL: {}", failure);
            exit(debug::EXIT_FAILURE)
        }
    }
}

/// The LAN9118, smoltcp and DHCP: returns once the interface has an address.
fn start_network(uptime: Uptime) -> Result<Network, Failure> {
    let chip = Lan9118::mps2_an386().map_err(Failure::Ethernet)?;
    hprintln!("mps2-eth: LAN9118 up, MAC {}", Mac(chip.mac()));
    // Emulator only: the seed comes from the host (see host.rs).
    let seed = host::random_seed()?;
    let [a, b, c, d, e, f, g, h, ..] = seed;
    let random = u64::from_le_bytes([a, b, c, d, e, f, g, h]);
    let net = Net::new(Lan9118Device::new(chip), uptime, SETTINGS, random)
        .map_err(|_| Failure::Setup("the network was started twice"))?;
    let Some(cell) =
        cortex_m::singleton!(: RefCell<Net<Lan9118Device, Uptime>> = RefCell::new(net))
    else {
        return Err(Failure::Setup("the network was started twice"));
    };
    let net = NetHandle::new(cell);
    let deadline = uptime.millis() + ADDRESS_TIMEOUT_MS;
    loop {
        net.poll();
        while let Some(event) = net.take_event() {
            hprintln!("mps2-eth: net: {}", event);
        }
        match net.status().map(|status| status.addressing) {
            Some(Addressing::Dhcp(_) | Addressing::Static(_)) => return Ok(net),
            _ if uptime.millis() > deadline => {
                return Err(Failure::NoAnswer {
                    awaited: "an IPv4 address (DHCP or static)",
                    waited_ms: ADDRESS_TIMEOUT_MS,
                })
            }
            _ => {}
        }
    }
}

/// A MAC address as `52:54:00:12:34:56`.
struct Mac([u8; 6]);

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&smoltcp::wire::EthernetAddress(self.0), f)
    }
}

/// Prints the figures the tests collect: run time, connections, messages, peak stack. There is
/// no heap to report (`no_heap.rs`).
fn report_measurements(elapsed_ms: u64, progress: &Progress) {
    hprintln!(
        "mps2-eth: elapsed_ms={} connections={} published={} acknowledged={} received={} \
         stack_peak={} stack_size={}",
        elapsed_ms,
        progress.connections,
        progress.published,
        progress.acknowledged,
        progress.received,
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
    exit(debug::EXIT_FAILURE)
}

/// The device-interrupt part of the vector table: one entry, the least cortex-m-rt's linker
/// script accepts. This firmware enables no device interrupt (it polls the LAN9118; its clock
/// ticks on SysTick, an exception), so the table ends there, where cortex-m-rt's generic one
/// has 240 entries (960 bytes of flash). A firmware that enables interrupt N must list entries
/// 0 to N here.
#[link_section = ".vector_table.interrupts"]
#[no_mangle]
static __INTERRUPTS: [unsafe extern "C" fn(); 1] = [default_handler];

extern "C" {
    /// cortex-m-rt's handler of interrupts nobody handles (it loops forever).
    #[link_name = "DefaultHandler"]
    fn default_handler();
}

#[exception]
unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
    hprintln!("FAIL: hard fault at pc {:#010x}", frame.pc());
    exit(debug::EXIT_FAILURE)
}
