//! Monotonic time since boot, from two chained PIT channels.
//!
//! PIT channel 0 counts bus clock cycles down from 2^32 - 1; each time it wraps, channel 1
//! (chained, `TCTRL1.CHN`) counts down by one. Together they are a 64-bit down-counter that
//! wraps after 2^64 bus cycles (9,700 years at 60 MHz), so no interrupt is needed to extend
//! it. The K64's PIT has no lifetime-timer latch, so [`ticks`] reads high, low, high and
//! re-reads low when the high word moved in between.
//!
//! smoltcp, DHCP, TCP timeouts and the console's waits all take their time from here.

use crate::board::Clocks;
use crate::regs::{pit, sim};
use core::sync::atomic::{AtomicU32, Ordering};

static BUS_HZ: AtomicU32 = AtomicU32::new(0);

/// Starts the counter. Call once, after the clocks are set.
pub fn start(clocks: &Clocks) {
    BUS_HZ.store(clocks.bus_hz, Ordering::Relaxed);
    sim::SCGC6.set_bits(sim::SCGC6_PIT);
    pit::MCR.write(0); // module on, keeps running while the debugger halts the core
    pit::TCTRL0.write(0);
    pit::TCTRL1.write(0);
    pit::LDVAL0.write(u32::MAX);
    pit::LDVAL1.write(u32::MAX);
    pit::TCTRL1.write(pit::TCTRL_CHN | pit::TCTRL_TEN);
    pit::TCTRL0.write(pit::TCTRL_TEN);
}

/// Bus clock cycles since [`start`].
pub fn ticks() -> u64 {
    let high = pit::CVAL1.read();
    let mut low = pit::CVAL0.read();
    let high_again = pit::CVAL1.read();
    if high_again != high {
        low = pit::CVAL0.read(); // channel 0 wrapped between the reads: pair with the new high
    }
    elapsed(high_again, low)
}

/// Cycles elapsed, from the two down-counters (both start at `u32::MAX`).
fn elapsed(high: u32, low: u32) -> u64 {
    !((u64::from(high) << 32) | u64::from(low))
}

/// Converts bus cycles to microseconds without overflowing for any 64-bit count.
fn ticks_to_micros(ticks: u64, bus_hz: u32) -> u64 {
    let hz = u64::from(bus_hz.max(1));
    ticks / hz * 1_000_000 + ticks % hz * 1_000_000 / hz
}

/// Microseconds since [`start`].
pub fn micros() -> u64 {
    ticks_to_micros(ticks(), BUS_HZ.load(Ordering::Relaxed))
}

/// Milliseconds since [`start`].
pub fn millis() -> u64 {
    micros() / 1000
}

/// The current time as smoltcp wants it.
pub fn now() -> smoltcp::time::Instant {
    // Below 2^63 microseconds for 290,000 years.
    smoltcp::time::Instant::from_micros(micros() as i64)
}

/// Busy-waits `ms` milliseconds.
pub fn delay_ms(ms: u64) {
    let until = millis().saturating_add(ms);
    while millis() < until {
        core::hint::spin_loop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elapsed_counts_up_as_the_chained_counters_count_down() {
        assert_eq!(elapsed(u32::MAX, u32::MAX), 0);
        assert_eq!(elapsed(u32::MAX, u32::MAX - 59), 59);
        // Channel 0 wraps: (H, 0) is followed by (H - 1, MAX), one cycle later.
        let before = elapsed(u32::MAX, 0);
        let after = elapsed(u32::MAX - 1, u32::MAX);
        assert_eq!(after, before + 1);
        assert_eq!(before, u64::from(u32::MAX));
    }

    #[test]
    fn micros_are_exact_and_do_not_overflow() {
        assert_eq!(ticks_to_micros(60, 60_000_000), 1);
        assert_eq!(ticks_to_micros(59, 60_000_000), 0);
        assert_eq!(
            ticks_to_micros(60_000_000 * 3600, 60_000_000),
            3_600_000_000
        );
        // FEI fallback bus clock, not a whole number of MHz.
        assert_eq!(ticks_to_micros(10_485_760, 10_485_760), 1_000_000);
        assert_eq!(
            ticks_to_micros(u64::MAX, 60_000_000),
            u64::MAX / 60_000_000 * 1_000_000 + (u64::MAX % 60_000_000) * 1_000_000 / 60_000_000
        );
        assert_eq!(
            ticks_to_micros(5, 0),
            5_000_000,
            "a zero clock cannot divide by zero"
        );
    }
}
