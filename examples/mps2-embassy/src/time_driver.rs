//! embassy-time's driver for mps2-an386: the time from CMSDK timer 0's free-running counter,
//! the alarms from SysTick, which interrupts 1,000 times a second.
//!
//! Why two timers: under QEMU (no `-icount`) SysTick interrupts that come late are dropped,
//! not queued, so counting them ran the clock at about 60 % of the host's speed (an 8 s idle
//! took 13 s of wall time, and a 2 s keep-alive went out every 3 s). Timer 0's counter is
//! computed from QEMU's virtual clock, which follows the host's, so reading it is exact; it
//! wraps every 171 s at 25 MHz, and each read adds the ticks since the previous one, which
//! SysTick's handler makes at least every millisecond or so. A late or dropped SysTick only
//! delays a timer by as much.
//!
//! Timers are kept in embassy's timer queue (`embassy-time-queue-utils`, the executor's
//! integrated queue); every SysTick checks whether the earliest has expired.

use core::cell::{Cell, RefCell};
use core::ptr::{read_volatile, write_volatile};
use core::task::Waker;

use cortex_m::peripheral::SYST;
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::exception;
use critical_section::{CriticalSection, Mutex};
use embassy_time_driver::Driver;
use embassy_time_queue_utils::Queue;

/// The core and peripheral clock of mps2-an386 (QEMU's model of the AN386 FPGA image).
const CLOCK_HZ: u32 = 25_000_000;
/// embassy-time's ticks per second (feature `tick-hz-1_000`).
const TICK_HZ: u32 = embassy_time_driver::TICK_HZ as u32;
const COUNTS_PER_TICK: u64 = (CLOCK_HZ / TICK_HZ) as u64;
const _: () = assert!(
    CLOCK_HZ.is_multiple_of(TICK_HZ) && CLOCK_HZ / TICK_HZ <= 1 << 24,
    "SysTick's 24-bit reload must divide the clock into ticks"
);

/// CMSDK APB timer 0 (ARM DDI 0479): CTRL +0x0 (bit 0 enable), VALUE +0x4, RELOAD +0x8.
const TIMER0_CTRL: usize = 0x4000_0000;
const TIMER0_VALUE: usize = 0x4000_0004;
const TIMER0_RELOAD: usize = 0x4000_0008;

/// The counter at the previous read and the counts up to it; the timer queue and when its
/// earliest timer expires.
struct TimerDriver {
    counted: Mutex<Cell<(u32, u64)>>,
    queue: Mutex<RefCell<Queue>>,
    next_expiry: Mutex<Cell<u64>>,
}

embassy_time_driver::time_driver_impl!(static DRIVER: TimerDriver = TimerDriver {
    counted: Mutex::new(Cell::new((u32::MAX, 0))),
    queue: Mutex::new(RefCell::new(Queue::new())),
    next_expiry: Mutex::new(Cell::new(u64::MAX)),
});

impl TimerDriver {
    /// embassy ticks since [`start`].
    fn now_in(&self, cs: CriticalSection<'_>) -> u64 {
        let counted = self.counted.borrow(cs);
        let (previous, total) = counted.get();
        // SAFETY: timer 0's counter register; reading it has no side effect.
        let value = unsafe { read_volatile(TIMER0_VALUE as *const u32) };
        // Counting down: the counts since the previous read, across one wrap at most.
        let total = total + u64::from(previous.wrapping_sub(value));
        counted.set((value, total));
        total / COUNTS_PER_TICK
    }

    /// Wakes the timers due at `now` and remembers when the next one is.
    fn expire(&self, cs: CriticalSection<'_>, now: u64) {
        let next = self.queue.borrow_ref_mut(cs).next_expiration(now);
        self.next_expiry.borrow(cs).set(next);
    }

    /// SysTick's work: read the time (keeping the counter's extension current) and wake
    /// what is due.
    fn on_systick(&self) {
        critical_section::with(|cs| {
            let now = self.now_in(cs);
            if now >= self.next_expiry.borrow(cs).get() {
                self.expire(cs, now);
            }
        });
    }
}

impl Driver for TimerDriver {
    fn now(&self) -> u64 {
        critical_section::with(|cs| self.now_in(cs))
    }

    fn schedule_wake(&self, at: u64, waker: &Waker) {
        critical_section::with(|cs| {
            let changed = self.queue.borrow_ref_mut(cs).schedule_wake(at, waker);
            if changed {
                // Also wakes the new timer at once if `at` has passed already.
                let now = self.now_in(cs);
                self.expire(cs, now);
            }
        });
    }
}

/// Starts timer 0 free-running from 2^32 - 1 (no interrupt) and SysTick at [`TICK_HZ`]
/// interrupts a second. SysTick is consumed: nothing else may reprogram it.
pub fn start(mut syst: SYST) {
    // SAFETY: timer 0's registers on mps2-an386, which nothing else in this firmware uses:
    // stop it, load the counter, start it.
    unsafe {
        write_volatile(TIMER0_CTRL as *mut u32, 0);
        write_volatile(TIMER0_RELOAD as *mut u32, u32::MAX);
        write_volatile(TIMER0_VALUE as *mut u32, u32::MAX);
        write_volatile(TIMER0_CTRL as *mut u32, 1);
    }
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(CLOCK_HZ / TICK_HZ - 1);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
}

#[exception]
fn SysTick() {
    DRIVER.on_systick();
}
