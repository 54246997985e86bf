//! The library's clock from embassy's, and its deadlines back to embassy's time.
//!
//! embedded-mqtts counts wrapping `u32` milliseconds ([`Instant`]); embassy-time counts `u64`
//! ticks since boot. Nothing converts between the two, so this module does, by hand: the
//! library's time is embassy's milliseconds cut to 32 bits, and a deadline goes back as "now
//! plus what is left" (the wrap makes the 32-bit value alone ambiguous).

use embassy_time::Duration;
use embedded_mqtts::{Clock, Instant};

/// embassy-time's clock as the library's [`Clock`].
#[derive(Clone, Copy, Debug, Default)]
pub struct EmbassyClock;

impl EmbassyClock {
    /// The library's time for an embassy instant.
    fn of(instant: embassy_time::Instant) -> Instant {
        // Wrapping on purpose: the library compares its instants with wrapping arithmetic.
        Instant::from_millis(instant.as_millis() as u32)
    }

    /// The embassy instant of the library's `deadline` (now if it has passed).
    pub fn deadline(deadline: Instant) -> embassy_time::Instant {
        let now = embassy_time::Instant::now();
        let today = Self::of(now);
        if today.reached(deadline) {
            return now;
        }
        now + Duration::from_millis(u64::from(deadline.millis_since(today)))
    }
}

impl Clock for EmbassyClock {
    fn now(&mut self) -> Instant {
        Self::of(embassy_time::Instant::now())
    }
}
