//! Monotonic time, as the caller supplies it.
//!
//! The session never reads a clock: every call that cares about time takes an [`Instant`], and
//! [`Session::poll_at`](crate::session::Session::poll_at) says when it next needs attention.
//! An [`Instant`] is a millisecond counter that is allowed to wrap (a `u32` of milliseconds wraps
//! after 49.7 days, well within a device's uptime), so all comparisons use wrapping arithmetic
//! and are correct as long as the two instants compared are less than 24.8 days apart.

/// A point on a monotonic millisecond clock that may wrap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Instant(u32);

impl Instant {
    /// An instant `millis` milliseconds after the clock's (arbitrary) origin.
    pub const fn from_millis(millis: u32) -> Self {
        Instant(millis)
    }

    /// The raw millisecond count.
    pub const fn millis(self) -> u32 {
        self.0
    }

    /// This instant plus `millis` milliseconds (wrapping).
    pub const fn add_millis(self, millis: u32) -> Self {
        Instant(self.0.wrapping_add(millis))
    }

    /// Milliseconds from `earlier` to `self`; 0 if `earlier` is in fact later.
    pub const fn millis_since(self, earlier: Instant) -> u32 {
        let diff = self.0.wrapping_sub(earlier.0);
        if diff > i32::MAX as u32 {
            0
        } else {
            diff
        }
    }

    /// Whether `self` is at or past `deadline` (wrapping comparison).
    pub const fn reached(self, deadline: Instant) -> bool {
        self.0.wrapping_sub(deadline.0) <= i32::MAX as u32
    }

    /// The earlier of two instants (wrapping comparison).
    pub const fn earliest(self, other: Instant) -> Instant {
        if other.reached(self) {
            self
        } else {
            other
        }
    }
}

/// A monotonic millisecond clock, for the drivers that wait on their own.
pub trait Clock {
    /// The current instant.
    fn now(&mut self) -> Instant;
}

impl<F: FnMut() -> Instant> Clock for F {
    fn now(&mut self) -> Instant {
        self()
    }
}

/// A [`Clock`] over `std::time::Instant` (feature `std`).
#[cfg(feature = "std")]
#[derive(Clone, Copy, Debug)]
pub struct StdClock {
    origin: std::time::Instant,
}

#[cfg(feature = "std")]
impl StdClock {
    /// A clock whose origin is now.
    pub fn new() -> Self {
        StdClock {
            origin: std::time::Instant::now(),
        }
    }
}

#[cfg(feature = "std")]
impl Default for StdClock {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(feature = "std")]
impl Clock for StdClock {
    fn now(&mut self) -> Instant {
        // Truncation is the point: the counter wraps like a device's would.
        Instant(self.origin.elapsed().as_millis() as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_comparisons() {
        let before = Instant::from_millis(u32::MAX - 10);
        let after = before.add_millis(30);
        assert_eq!(after.millis(), 19);
        assert_eq!(after.millis_since(before), 30);
        assert_eq!(before.millis_since(after), 0);
        assert!(after.reached(before));
        assert!(!before.reached(after));
        assert!(after.reached(after));
        assert_eq!(before.earliest(after), before);
        assert_eq!(after.earliest(before), before);
    }
}
