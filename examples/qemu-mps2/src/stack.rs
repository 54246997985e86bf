//! Peak stack use, measured by painting.
//!
//! At boot, [`paint`] fills the unused stack (from cortex-m-rt's `_stack_end`, the end of the
//! statics, up to just below the current stack pointer) with a pattern. At the end,
//! [`peak_bytes`] finds the lowest word that no longer holds the pattern: everything above it
//! was used at some point, exceptions included.

use core::ptr::{addr_of, read_volatile, write_volatile};

/// The paint. A word of live data equal to it would make the figure a word too small at most.
const PAINT: u32 = 0xC5AC_CE55;

/// Bytes below the stack pointer that `paint` leaves alone (its own frame's red zone).
const MARGIN: usize = 64;

extern "C" {
    /// Lowest address of the stack (cortex-m-rt's linker script: the end of .bss/.uninit).
    static _stack_end: u32;
    /// Initial stack pointer: the top of RAM.
    static _stack_start: u32;
}

fn stack_bounds() -> (usize, usize) {
    // Only the addresses of the linker symbols are taken, never their contents.
    (
        addr_of!(_stack_end) as usize,
        addr_of!(_stack_start) as usize,
    )
}

/// Paints the free stack. Call it first thing in `main`, before interrupts are enabled.
pub fn paint() {
    let (bottom, _) = stack_bounds();
    let sp = cortex_m::register::msp::read() as usize;
    let top = sp.saturating_sub(MARGIN) & !3;
    let mut address = bottom;
    while address < top {
        // SAFETY: `bottom..top` lies between the end of the statics and below the live part of
        // the stack, so nothing in use is overwritten; addresses are word-aligned (both linker
        // symbols are 4-aligned, per cortex-m-rt's asserts) and inside RAM.
        unsafe { write_volatile(address as *mut u32, PAINT) };
        address += 4;
    }
}

/// The most stack ever used since [`paint`], in bytes.
pub fn peak_bytes() -> usize {
    let (bottom, top) = stack_bounds();
    let mut address = bottom;
    // SAFETY: reads word-aligned RAM addresses between the two linker symbols.
    while address < top && unsafe { read_volatile(address as *const u32) } == PAINT {
        address += 4;
    }
    top - address
}

/// The stack's size: from the end of the statics to the top of RAM.
pub fn size_bytes() -> usize {
    let (bottom, top) = stack_bounds();
    top - bottom
}
