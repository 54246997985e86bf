//! Statics that are handed out once, as `&'static mut`.
//!
//! DMA rings and socket buffers must live at a fixed address for the whole run and belong to
//! one owner. [`ClaimOnce`] keeps such a value in a `static` (zero-initialised in `.bss` when
//! its constructor is `const`, so nothing large is built on the stack) and gives out the one
//! mutable reference the first time [`ClaimOnce::claim`] is called; every later call gets
//! `None`.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, Ordering};

/// A value in a `static` that one caller may claim, once, as `&'static mut`.
pub struct ClaimOnce<T> {
    claimed: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the value is only reachable through `claim`, which hands out a single reference
// (the atomic swap lets exactly one caller through), and that reference may move to another
// context only if `T: Send`.
unsafe impl<T: Send> Sync for ClaimOnce<T> {}

impl<T> ClaimOnce<T> {
    /// Wraps `value`; usable in a `static` initialiser.
    pub const fn new(value: T) -> Self {
        ClaimOnce {
            claimed: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    /// The value, the first time; `None` ever after.
    #[allow(clippy::mut_from_ref)] // one caller ever gets it: see the SAFETY comment
    pub fn claim(&'static self) -> Option<&'static mut T> {
        if self.claimed.swap(true, Ordering::AcqRel) {
            return None;
        }
        // SAFETY: the swap above returned `false` exactly once, so this is the only reference
        // to the value that will ever exist; the value lives in a `static`.
        Some(unsafe { &mut *self.value.get() })
    }
}

#[cfg(test)]
mod tests {
    use super::ClaimOnce;

    #[test]
    fn only_the_first_claim_gets_the_value() {
        static SLOT: ClaimOnce<[u8; 4]> = ClaimOnce::new([1, 2, 3, 4]);
        let first = SLOT.claim().expect("first claim");
        first[0] = 9;
        assert!(SLOT.claim().is_none());
        assert!(SLOT.claim().is_none());
        assert_eq!(*first, [9, 2, 3, 4]);
    }
}
