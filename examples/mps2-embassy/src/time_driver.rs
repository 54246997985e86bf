//! embassy-time's driver for mps2-an386: SysTick interrupts 1,000 times a second and each
//! interrupt is one tick (`embassy-time-driver`'s feature `tick-hz-1_000`).
//!
//! The board's only other timers are the CMSDK ones; SysTick needs no set-up beyond its reload
//! value, and under QEMU without `-icount` it follows the host's clock, so a tick is a real
//! millisecond. Timers are kept in embassy's timer queue (`embassy-time-queue-utils`, the
//! executor's integrated queue); every tick checks whether the earliest has expired, so no
//! separate alarm is needed and a timer fires at most a millisecond late.

use core::cell::{Cell, RefCell};
use core::task::Waker;

use cortex_m::peripheral::SYST;
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::exception;
use critical_section::{CriticalSection, Mutex};
use embassy_time_driver::Driver;
use embassy_time_queue_utils::Queue;

/// The core clock of mps2-an386 (QEMU's model of the AN386 FPGA image), which SysTick counts.
const CORE_HZ: u32 = 25_000_000;

/// Ticks per second, as embassy-time was built for.
const TICK_HZ: u32 = embassy_time_driver::TICK_HZ as u32;
const _: () = assert!(
    CORE_HZ.is_multiple_of(TICK_HZ) && CORE_HZ / TICK_HZ <= 1 << 24,
    "SysTick's 24-bit reload must divide the core clock into ticks"
);

/// The tick count, the timer queue and when its earliest timer expires.
struct SysTickDriver {
    ticks: Mutex<Cell<u64>>,
    queue: Mutex<RefCell<Queue>>,
    next_expiry: Mutex<Cell<u64>>,
}

embassy_time_driver::time_driver_impl!(static DRIVER: SysTickDriver = SysTickDriver {
    ticks: Mutex::new(Cell::new(0)),
    queue: Mutex::new(RefCell::new(Queue::new())),
    next_expiry: Mutex::new(Cell::new(u64::MAX)),
});

impl SysTickDriver {
    /// Wakes the timers due at `now` and remembers when the next one is.
    fn expire(&self, cs: CriticalSection<'_>, now: u64) {
        let next = self.queue.borrow_ref_mut(cs).next_expiration(now);
        self.next_expiry.borrow(cs).set(next);
    }

    /// One tick passed.
    fn tick(&self) {
        critical_section::with(|cs| {
            let ticks = self.ticks.borrow(cs);
            let now = ticks.get() + 1;
            ticks.set(now);
            if now >= self.next_expiry.borrow(cs).get() {
                self.expire(cs, now);
            }
        });
    }
}

impl Driver for SysTickDriver {
    fn now(&self) -> u64 {
        critical_section::with(|cs| self.ticks.borrow(cs).get())
    }

    fn schedule_wake(&self, at: u64, waker: &Waker) {
        critical_section::with(|cs| {
            let changed = self.queue.borrow_ref_mut(cs).schedule_wake(at, waker);
            if changed {
                // Also wakes the new timer at once if `at` has passed already.
                self.expire(cs, self.ticks.borrow(cs).get());
            }
        });
    }
}

/// Starts SysTick at [`TICK_HZ`] interrupts a second. It is consumed: nothing else may
/// reprogram it.
pub fn start(mut syst: SYST) {
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(CORE_HZ / TICK_HZ - 1);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
}

#[exception]
fn SysTick() {
    DRIVER.tick();
}
