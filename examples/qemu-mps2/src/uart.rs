//! The CMSDK APB UART of the MPS2 FPGA images (UART0 at 0x4000_4000), as a blocking
//! `embedded_io` byte stream.
//!
//! Registers (ARM CMSDK technical reference, as QEMU models them): DATA at +0 (one byte each
//! way), STATE at +4 (bit 0 TX buffer full, bit 1 RX buffer full), CTRL at +8 (bit 0 TX enable,
//! bit 1 RX enable), BAUDDIV at +0x10 (QEMU ignores the UART while it is below 16).
//!
//! The receive side holds one byte. QEMU stops reading its backend (here a TCP socket to the
//! broker) while that byte is unread, so a slow reader applies back-pressure instead of losing
//! data. [`Read::read`] therefore waits for the first byte and then takes only the bytes that
//! are already there; [`ReadReady::read_ready`] is the RX-full bit, which the MQTT client uses
//! to poll without blocking.

use core::arch::asm;
use core::convert::Infallible;
use core::ptr::{read_volatile, write_volatile};
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use embedded_io::{ErrorType, Read, ReadReady, Write};

const UART0_BASE: usize = 0x4000_4000;

const DATA: usize = 0x00;
const STATE: usize = 0x04;
const CTRL: usize = 0x08;
const BAUDDIV: usize = 0x10;

const STATE_TX_FULL: u32 = 1 << 0;
const STATE_RX_FULL: u32 = 1 << 1;
const CTRL_TX_ENABLE: u32 = 1 << 0;
const CTRL_RX_ENABLE: u32 = 1 << 1;

/// 25 MHz / 115,200 baud. QEMU does not pace the bytes, but it needs a divider of at least 16.
const BAUD_DIVIDER: u32 = 217;

static UART0_TAKEN: AtomicBool = AtomicBool::new(false);

/// Turns of the wait loops (waiting for a received byte or for transmit space) so far.
static WAIT_SPINS: AtomicU32 = AtomicU32::new(0);

/// Instructions in one turn of the wait loop of [`Uart::wait_state`] that finds the bit not
/// yet as wanted: `ldr`, `tst`, `b(eq|ne)` not taken, `adds`, `b`.
pub const INSTRUCTIONS_PER_SPIN: u32 = 5;

/// Turns of the UART wait loops since boot (wrapping). With [`INSTRUCTIONS_PER_SPIN`] it
/// tells how many of the instructions of a stretch of time were spent waiting for the host
/// (the broker's answer, over QEMU's TCP backend) rather than computing.
pub fn wait_spins() -> u32 {
    WAIT_SPINS.load(Ordering::Relaxed)
}

/// UART0, enabled for both directions. Only one exists (see [`Uart::take_uart0`]).
#[derive(Debug)]
pub struct Uart {
    base: usize,
}

impl Uart {
    /// UART0, configured and enabled; `None` if it was taken before.
    pub fn take_uart0() -> Option<Uart> {
        if UART0_TAKEN.swap(true, Ordering::AcqRel) {
            return None;
        }
        let uart = Uart { base: UART0_BASE };
        uart.write_register(BAUDDIV, BAUD_DIVIDER);
        uart.write_register(CTRL, CTRL_TX_ENABLE | CTRL_RX_ENABLE);
        Some(uart)
    }

    fn read_register(&self, offset: usize) -> u32 {
        // SAFETY: `base + offset` is one of this UART's 32-bit registers (memory-mapped I/O at
        // a fixed, aligned address), and `take_uart0` hands out one `Uart` only.
        unsafe { read_volatile((self.base + offset) as *const u32) }
    }

    fn write_register(&self, offset: usize, value: u32) {
        // SAFETY: as in `read_register`.
        unsafe { write_volatile((self.base + offset) as *mut u32, value) }
    }

    fn state(&self) -> u32 {
        self.read_register(STATE)
    }

    fn rx_full(&self) -> bool {
        self.state() & STATE_RX_FULL != 0
    }

    fn wait_tx_space(&self) {
        self.wait_state(STATE_TX_FULL, false);
    }

    fn wait_rx_full(&self) {
        self.wait_state(STATE_RX_FULL, true);
    }

    /// Waits until `STATE & mask` is non-zero (`set`) or zero (`!set`), counting the turns of
    /// the loop in [`WAIT_SPINS`]. The loop is written in assembly so that a turn is exactly
    /// [`INSTRUCTIONS_PER_SPIN`] instructions, whatever the compiler does around it.
    fn wait_state(&self, mask: u32, set: bool) {
        let state = (self.base + STATE) as *const u32;
        let mut spins: u32 = 0;
        // SAFETY: `state` is this UART's STATE register (aligned, memory-mapped, reading it
        // has no side effect); the loop touches only the registers it names.
        unsafe {
            if set {
                asm!(
                    "2:",
                    "ldr {value}, [{state}]",
                    "tst {value}, {mask}",
                    "bne 3f",
                    "adds {spins}, {spins}, #1",
                    "b 2b",
                    "3:",
                    state = in(reg) state,
                    mask = in(reg) mask,
                    value = out(reg) _,
                    spins = inout(reg) spins,
                    options(nostack, readonly),
                );
            } else {
                asm!(
                    "2:",
                    "ldr {value}, [{state}]",
                    "tst {value}, {mask}",
                    "beq 3f",
                    "adds {spins}, {spins}, #1",
                    "b 2b",
                    "3:",
                    state = in(reg) state,
                    mask = in(reg) mask,
                    value = out(reg) _,
                    spins = inout(reg) spins,
                    options(nostack, readonly),
                );
            }
        }
        if spins != 0 {
            WAIT_SPINS.fetch_add(spins, Ordering::Relaxed);
        }
    }
}

impl ErrorType for Uart {
    type Error = Infallible;
}

impl Read for Uart {
    /// Waits for the first byte, then takes the bytes already received, up to `buf.len()`.
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Infallible> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.wait_rx_full();
        let mut received = 0;
        for slot in buf.iter_mut() {
            if !self.rx_full() {
                break;
            }
            // The byte is in the low 8 bits; reading DATA clears RX full.
            *slot = self.read_register(DATA) as u8;
            received += 1;
        }
        Ok(received)
    }
}

impl ReadReady for Uart {
    fn read_ready(&mut self) -> Result<bool, Infallible> {
        Ok(self.rx_full())
    }
}

impl Write for Uart {
    /// Sends every byte of `buf`, waiting for the transmit buffer before each.
    fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
        for &byte in buf {
            self.wait_tx_space();
            self.write_register(DATA, u32::from(byte));
        }
        Ok(buf.len())
    }

    /// Waits until the last byte has left the transmit buffer.
    fn flush(&mut self) -> Result<(), Infallible> {
        self.wait_tx_space();
        Ok(())
    }
}
