//! Time since boot from the board's CMSDK timer 0: a 32-bit down-counter at the 25 MHz
//! peripheral clock, read and extended to 64 bits in software.
//!
//! [`Uptime`] is the clock of both layers: the network layer's (smoltcp timers, DHCP, TCP
//! timeouts) and, through `embedded_mqtts::Clock`, the MQTT client's (keep-alive, response
//! timeouts).
//!
//! SysTick only wakes the core from [`Uptime::sleep`] once a millisecond. Why it does not
//! count the time: under QEMU (no `-icount`) a busy guest gets its SysTick interrupts late
//! and QEMU drops the missed periods, so a counter of interrupts ran at about half the host's
//! speed (a 1 s keep-alive went out every 2 s and the broker dropped the client). The
//! timer's counter is computed from QEMU's virtual clock, which follows the host's, so
//! reading it is exact. It wraps every 171 s; each read adds the ticks since the previous
//! read, so reads must come more often than that (the firmware's loops read it at least
//! once a millisecond).

use core::cell::Cell;
use core::ptr::{read_volatile, write_volatile};

use cortex_m::interrupt::{self, Mutex};
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m::peripheral::SYST;
use cortex_m_rt::exception;
use embedded_mqtts::{Clock, Instant};

/// The peripheral clock of mps2-an386 (QEMU's model of the AN386 FPGA image).
const TIMER_HZ: u64 = 25_000_000;
/// CMSDK APB timer 0 (ARM DDI 0479: CTRL +0x0, VALUE +0x4, RELOAD +0x8).
const TIMER0_BASE: usize = 0x4000_0000;
const CTRL: usize = TIMER0_BASE;
const VALUE: usize = TIMER0_BASE + 0x4;
const RELOAD: usize = TIMER0_BASE + 0x8;
const CTRL_ENABLE: u32 = 1;

/// The counter at the previous read, and the ticks counted up to it.
static COUNT: Mutex<Cell<(u32, u64)>> = Mutex::new(Cell::new((u32::MAX, 0)));

/// The running clock; copies read the same counter.
#[derive(Clone, Copy, Debug)]
pub struct Uptime(());

impl Uptime {
    /// Starts timer 0 counting down from 2^32 - 1, without interrupts, and SysTick as the
    /// 1 kHz wake-up of [`Uptime::sleep`] (it is consumed: nothing else may reprogram it).
    /// Call once.
    pub fn start(mut syst: SYST) -> Uptime {
        syst.set_clock_source(SystClkSource::Core);
        syst.set_reload((TIMER_HZ / 1000) as u32 - 1); // the core clock is 25 MHz too
        syst.clear_current();
        syst.enable_interrupt();
        syst.enable_counter();
        // SAFETY: timer 0's registers on mps2-an386; nothing else in this firmware uses the
        // timer. The writes stop it, load the counter and start it free-running.
        unsafe {
            write_volatile(CTRL as *mut u32, 0);
            write_volatile(RELOAD as *mut u32, u32::MAX);
            write_volatile(VALUE as *mut u32, u32::MAX);
            write_volatile(CTRL as *mut u32, CTRL_ENABLE);
        }
        Uptime(())
    }

    /// Timer ticks (25 MHz) since [`Uptime::start`].
    fn ticks(&self) -> u64 {
        interrupt::free(|cs| {
            let count = COUNT.borrow(cs);
            let (previous, total) = count.get();
            // SAFETY: reads timer 0's counter register; reading has no side effect.
            let now = unsafe { read_volatile(VALUE as *const u32) };
            // Counting down: the ticks since the previous read, across one wrap at most.
            let total = total + u64::from(previous.wrapping_sub(now));
            count.set((now, total));
            total
        })
    }

    /// Milliseconds since [`Uptime::start`].
    pub fn millis(&self) -> u64 {
        self.ticks() / (TIMER_HZ / 1000)
    }

    /// Waits `ms` milliseconds.
    pub fn delay_ms(&self, ms: u64) {
        let until = self.millis().saturating_add(ms);
        while self.millis() < until {
            self.sleep();
        }
    }

    /// Sleeps until the next interrupt: at most a millisecond (SysTick). For loops that
    /// poll: QEMU then leaves the host's CPU alone instead of running the poll flat out.
    pub fn sleep(&self) {
        cortex_m::asm::wfi();
    }
}

impl firmware_net::net::Uptime for Uptime {
    fn micros(&self) -> u64 {
        self.ticks() / (TIMER_HZ / 1_000_000)
    }
}

impl Clock for Uptime {
    fn now(&mut self) -> Instant {
        // The MQTT clock is a wrapping 32-bit millisecond count: the low half.
        Instant::from_millis(self.millis() as u32)
    }
}

/// Only wakes the core (see [`Uptime::sleep`]); time comes from timer 0.
#[exception]
fn SysTick() {}
