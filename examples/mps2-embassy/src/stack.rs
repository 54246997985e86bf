//! The stack's high-water mark, by painting: [`paint`] fills the free stack with a pattern at
//! boot; [`peak_bytes`] finds the lowest word that no longer holds it.
//!
//! With embassy the tasks' futures live in statics (the executor's task storage), so this
//! stack holds only what runs on top of a task's poll: the deepest call chain of the TLS
//! handshake, and interrupt frames.

use core::ptr::{addr_of, read_volatile, write_volatile};

/// The paint. A live word equal to it makes the figure one word too small at most.
const PAINT: u32 = 0xE4BA_55D1;
/// Bytes below the stack pointer that [`paint`] leaves alone (its own frame).
const MARGIN: usize = 64;

unsafe extern "C" {
    /// Lowest stack address: the end of the statics (cortex-m-rt's `link.x`).
    static _stack_end: u32;
    /// The initial stack pointer: the top of RAM.
    static _stack_start: u32;
}

fn bounds() -> (usize, usize) {
    // Only the symbols' addresses are taken, never their contents.
    (
        addr_of!(_stack_end) as usize,
        addr_of!(_stack_start) as usize,
    )
}

/// Paints the free stack. Call it first in `main`, before interrupts are enabled.
pub fn paint() {
    let (bottom, _) = bounds();
    let top = (cortex_m::register::msp::read() as usize).saturating_sub(MARGIN) & !3;
    for address in (bottom..top).step_by(4) {
        // SAFETY: between the end of the statics and below the live stack frames, so nothing
        // in use; word-aligned (cortex-m-rt aligns both symbols) and inside RAM.
        unsafe { write_volatile(address as *mut u32, PAINT) };
    }
}

/// The most stack used since [`paint`], in bytes.
pub fn peak_bytes() -> usize {
    let (bottom, top) = bounds();
    let untouched = (bottom..top)
        .step_by(4)
        // SAFETY: word-aligned RAM addresses between the two symbols.
        .take_while(|&address| unsafe { read_volatile(address as *const u32) } == PAINT)
        .count();
    top - bottom - untouched * 4
}
