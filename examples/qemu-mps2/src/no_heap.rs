//! The global allocator of every firmware image: one without memory.
//!
//! Nothing in the images allocates: RSA is verified on the stack (the library's
//! `src/tls/rsassa.rs`), ECDSA always was. Rust still needs a global allocator because a
//! dependency of the library (`der`, with its `alloc` feature) links the `alloc` crate, so
//! this one has no memory: an allocation would fail, which ends the program through
//! `handle_alloc_error` (a panic) instead of passing silently. Shared by the images of
//! examples/qemu-mps2, mps2-eth, mps2-embassy and frdm-k64f.

use core::alloc::{GlobalAlloc, Layout};

/// An allocator without memory: every allocation fails.
pub struct NoHeap;

// SAFETY: `alloc` always returns null, which `GlobalAlloc` allows to signal failure; `dealloc`
// is therefore never called with a pointer from here and does nothing.
unsafe impl GlobalAlloc for NoHeap {
    unsafe fn alloc(&self, _layout: Layout) -> *mut u8 {
        core::ptr::null_mut()
    }

    unsafe fn dealloc(&self, _ptr: *mut u8, _layout: Layout) {}
}
