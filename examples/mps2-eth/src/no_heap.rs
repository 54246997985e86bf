//! The heap of the image without `rsa`: none.
//!
//! Only the RSA code allocates (the `rsa` crate's big integers); an ECDSA P-256 image never
//! does (its runs print `heap_peak=0`). Rust still needs a global allocator because the
//! certificate parser links `alloc`, so this one has no memory: an allocation fails, which
//! ends the run through `handle_alloc_error` (a panic), instead of 32 KiB of `.bss` sitting
//! unused. The same API as `qemu-mps2/src/heap.rs`, so `main.rs` reads the same either way.

use core::alloc::{GlobalAlloc, Layout};

/// Bytes of heap: none.
pub const HEAP_SIZE: usize = 0;

/// An allocator without memory, with the figures of a measured heap (all zero).
pub struct MeasuredHeap;

impl MeasuredHeap {
    /// The allocator.
    pub const fn empty() -> Self {
        MeasuredHeap
    }

    /// Nothing to set up.
    pub fn init(&self) {}

    /// The most bytes ever in use at once: none.
    pub fn peak(&self) -> usize {
        0
    }

    /// Bytes in use now: none.
    pub fn used(&self) -> usize {
        0
    }
}

// SAFETY: `alloc` always returns null, which `GlobalAlloc` allows to signal failure; `dealloc`
// is therefore never called with a pointer from here and does nothing.
unsafe impl GlobalAlloc for MeasuredHeap {
    unsafe fn alloc(&self, _layout: Layout) -> *mut u8 {
        core::ptr::null_mut()
    }

    unsafe fn dealloc(&self, _ptr: *mut u8, _layout: Layout) {}
}
