//! Peak stack use, measured by painting.
//!
//! The stack has SRAM_L to itself (`memory.x`): from `_stack_start` (0x1FFF_FFF8) down to
//! `_stack_end` (0x1FFF_0000). At boot, [`paint`] fills the free part, from `_stack_end` up to
//! just below the current stack pointer, with a pattern; [`peak_bytes`] later finds the lowest
//! word that no longer holds it. Everything above that word was in use at some point, fault
//! handlers included, so the figure is the high-water mark since boot, as `status` shows it.
//! A live word that happens to equal the pattern can make the figure one word too small.

/// The paint.
pub const PAINT: u32 = 0x5AC7_A11C;

/// Bytes in use of a stack from `bottom` to `top` (word addresses, `bottom <= top`), given a
/// way to read a word: `top` minus the lowest address whose word is not [`PAINT`].
pub fn used_bytes(bottom: usize, top: usize, read: impl Fn(usize) -> u32) -> usize {
    let mut address = bottom;
    while address < top && read(address) == PAINT {
        address += 4;
    }
    top - address
}

#[cfg(all(target_arch = "arm", target_os = "none"))]
mod target {
    use super::{used_bytes, PAINT};
    use core::ptr::{addr_of, read_volatile, write_volatile};

    /// Bytes below the stack pointer that [`paint`] leaves alone.
    const MARGIN: usize = 64;

    extern "C" {
        /// Lowest stack address (`memory.x`: the bottom of SRAM_L).
        static _stack_end: u32;
        /// Initial stack pointer (`memory.x`: the top of SRAM_L less 8 bytes).
        static _stack_start: u32;
    }

    fn bounds() -> (usize, usize) {
        // Only the symbols' addresses are taken, never their contents.
        (
            addr_of!(_stack_end) as usize,
            addr_of!(_stack_start) as usize,
        )
    }

    /// Paints the free stack. Call it first in `main`, before any interrupt is enabled.
    pub fn paint() {
        let (bottom, _) = bounds();
        let top = (cortex_m::register::msp::read() as usize).saturating_sub(MARGIN) & !3;
        let mut address = bottom;
        while address < top {
            // SAFETY: `bottom..top` is SRAM_L below the live stack (nothing else is placed
            // there, see memory.x), word-aligned (the symbols are 4-aligned and `top` is
            // rounded down), and no interrupt can use it meanwhile.
            unsafe { write_volatile(address as *mut u32, PAINT) };
            address += 4;
        }
    }

    /// The most stack used since [`paint`], in bytes.
    pub fn peak_bytes() -> usize {
        let (bottom, top) = bounds();
        // SAFETY: word-aligned reads of SRAM_L between the two linker symbols.
        used_bytes(bottom, top, |address| unsafe {
            read_volatile(address as *const u32)
        })
    }

    /// The stack's size in bytes.
    pub fn size_bytes() -> usize {
        let (bottom, top) = bounds();
        top - bottom
    }
}

#[cfg(all(target_arch = "arm", target_os = "none"))]
pub use target::{paint, peak_bytes, size_bytes};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lowest_overwritten_word_marks_the_peak() {
        // A 64-byte stack at 0x1000; the top 20 bytes were used, with one word in between
        // that happens to be unchanged.
        let mut words = [PAINT; 16];
        words[11] = 0;
        words[13] = 7;
        words[15] = 1;
        let read = |address: usize| words[(address - 0x1000) / 4];
        assert_eq!(used_bytes(0x1000, 0x1040, read), 20);
        assert_eq!(used_bytes(0x1000, 0x1000, read), 0, "empty stack");
        let untouched = [PAINT; 4];
        assert_eq!(
            used_bytes(0, 16, |address| untouched[address / 4]),
            0,
            "nothing used"
        );
        let full = [1u32; 4];
        assert_eq!(used_bytes(0, 16, |address| full[address / 4]), 16);
    }
}
