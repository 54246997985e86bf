//! A millisecond clock from SysTick, for the MQTT client's keep-alive and timeouts.
//!
//! SysTick counts the core clock (25 MHz on mps2-an386) and interrupts every 25,000 cycles;
//! the handler adds one to a millisecond counter that wraps like [`Instant`] expects.
//! Under QEMU without `-icount` the emulated clock follows the host's, so these are real
//! milliseconds; with `-icount shift=0` one instruction is one emulated nanosecond, and a
//! millisecond is a million instructions.

use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m::peripheral::syst::SystClkSource;
use cortex_m::peripheral::SYST;
use cortex_m_rt::exception;
use embedded_mqtts::{Clock, Instant};

/// The core clock of mps2-an386 (QEMU's model of the AN386 FPGA image).
pub const CORE_HZ: u32 = 25_000_000;

static MILLIS: AtomicU32 = AtomicU32::new(0);

/// The running millisecond clock. Copies read the same counter.
#[derive(Clone, Copy, Debug)]
pub struct SysTickClock(());

impl SysTickClock {
    /// Starts SysTick (it is consumed: nothing else may reprogram it) at one interrupt per
    /// millisecond.
    pub fn start(mut syst: SYST) -> SysTickClock {
        syst.set_clock_source(SystClkSource::Core);
        syst.set_reload(CORE_HZ / 1000 - 1);
        syst.clear_current();
        syst.enable_interrupt();
        syst.enable_counter();
        SysTickClock(())
    }

    /// Milliseconds since [`SysTickClock::start`] (wrapping).
    pub fn millis(&self) -> u32 {
        MILLIS.load(Ordering::Relaxed)
    }
}

impl Clock for SysTickClock {
    fn now(&mut self) -> Instant {
        Instant::from_millis(self.millis())
    }
}

/// SysTick ticks (25 MHz) since [`SysTickClock::start`]: the millisecond count and the
/// down-counter within the current millisecond, read consistently. With `-icount shift=0`
/// one tick is 40 emulated instructions.
pub fn ticks() -> u64 {
    const PER_MS: u32 = CORE_HZ / 1000;
    loop {
        let before = MILLIS.load(Ordering::Relaxed);
        let current = SYST::get_current();
        let after = MILLIS.load(Ordering::Relaxed);
        // A wrap between the two reads (the counter reloaded, the interrupt may be pending):
        // read again.
        if before == after && current != 0 {
            return u64::from(before) * u64::from(PER_MS) + u64::from(PER_MS - 1 - current);
        }
    }
}

#[exception]
fn SysTick() {
    MILLIS.fetch_add(1, Ordering::Relaxed);
}
