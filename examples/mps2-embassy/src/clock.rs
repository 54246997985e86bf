//! The library's clock: embassy-time's milliseconds since boot, cut to the library's wrapping
//! 32-bit [`Instant`]. Nothing else needs converting: the client's idle hook gets the time to
//! wait in milliseconds (`Timer::after_millis`), and the firmware's own deadlines are
//! embassy's.

use embedded_mqtts::{Clock, Instant};

/// embassy-time's clock as the library's [`Clock`].
#[derive(Clone, Copy, Debug, Default)]
pub struct EmbassyClock;

impl Clock for EmbassyClock {
    fn now(&mut self) -> Instant {
        // Wrapping on purpose: the library compares its instants with wrapping arithmetic.
        Instant::from_millis(embassy_time::Instant::now().as_millis() as u32)
    }
}
