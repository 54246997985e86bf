//! Time since boot from SysTick: one interrupt per millisecond, a 64-bit count.
//!
//! [`Uptime`] is the clock of both layers: the network layer's (smoltcp timers, DHCP, TCP
//! timeouts) and, through `embedded_mqtts::Clock`, the MQTT client's (keep-alive, response
//! timeouts). Under QEMU without `-icount` the emulated clock follows the host's, so these are
//! real milliseconds.

use core::cell::Cell;

use cortex_m::interrupt::{self, Mutex};
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m::peripheral::SYST;
use cortex_m_rt::exception;
use embedded_mqtts::{Clock, Instant};

/// The core clock of mps2-an386 (QEMU's model of the AN386 FPGA image).
const CORE_HZ: u32 = 25_000_000;

static MILLIS: Mutex<Cell<u64>> = Mutex::new(Cell::new(0));

/// The running clock; copies read the same counter.
#[derive(Clone, Copy, Debug)]
pub struct Uptime(());

impl Uptime {
    /// Starts SysTick at one interrupt per millisecond. It is consumed: nothing else may
    /// reprogram it.
    pub fn start(mut syst: SYST) -> Uptime {
        syst.set_clock_source(SystClkSource::Core);
        syst.set_reload(CORE_HZ / 1000 - 1);
        syst.clear_current();
        syst.enable_interrupt();
        syst.enable_counter();
        Uptime(())
    }

    /// Milliseconds since [`Uptime::start`].
    pub fn millis(&self) -> u64 {
        interrupt::free(|cs| MILLIS.borrow(cs).get())
    }

    /// Busy-waits `ms` milliseconds.
    pub fn delay_ms(&self, ms: u64) {
        let until = self.millis().saturating_add(ms);
        while self.millis() < until {
            cortex_m::asm::wfi(); // the next SysTick wakes the core
        }
    }
}

impl firmware_net::net::Uptime for Uptime {
    fn micros(&self) -> u64 {
        self.millis().saturating_mul(1000)
    }
}

impl Clock for Uptime {
    fn now(&mut self) -> Instant {
        // The MQTT clock is a wrapping 32-bit millisecond count: the low half.
        Instant::from_millis(self.millis() as u32)
    }
}

#[exception]
fn SysTick() {
    interrupt::free(|cs| {
        let millis = MILLIS.borrow(cs);
        millis.set(millis.get().wrapping_add(1));
    });
}
