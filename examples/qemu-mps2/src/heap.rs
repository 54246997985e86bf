//! The heap, used only by the RSA code (the `rsa` crate's big integers and the certificate
//! parser behind it); MQTT and TLS buffers are statics.
//!
//! [`MeasuredHeap`] wraps embedded-alloc's linked-list allocator and keeps the high-water mark
//! of bytes in use, so that a run reports how much heap RSA verification really needed.

use core::alloc::{GlobalAlloc, Layout};
use core::mem::MaybeUninit;
use core::ptr::addr_of_mut;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use embedded_alloc::LlffHeap;

/// Heap size. Verifying the `certs/` RSA chain (RSA-2048 leaf, RSA-2048 intermediate, RSA-4096
/// root) peaks at 22,164 bytes in use; with this allocator's fragmentation, 23 KiB failed and
/// 25 KiB sufficed. 32 KiB leaves room for larger chains. The firmware prints the peak.
pub const HEAP_SIZE: usize = 32 * 1024;

/// A heap that remembers its peak use.
pub struct MeasuredHeap {
    heap: LlffHeap,
    peak: AtomicUsize,
    initialised: AtomicBool,
}

impl MeasuredHeap {
    /// An empty heap: [`MeasuredHeap::init`] gives it its memory.
    pub const fn empty() -> Self {
        MeasuredHeap {
            heap: LlffHeap::empty(),
            peak: AtomicUsize::new(0),
            initialised: AtomicBool::new(false),
        }
    }

    /// Gives the heap its [`HEAP_SIZE`] bytes of static memory. Later calls do nothing.
    pub fn init(&self) {
        static mut MEMORY: [MaybeUninit<u8>; HEAP_SIZE] = [MaybeUninit::uninit(); HEAP_SIZE];
        if self.initialised.swap(true, Ordering::AcqRel) {
            return;
        }
        // SAFETY: `MEMORY` is used by nothing else, and the flag above lets this run once, so
        // the allocator gets exclusive use of the whole array for the rest of the program.
        unsafe { self.heap.init(addr_of_mut!(MEMORY) as usize, HEAP_SIZE) }
    }

    /// The most bytes ever in use at once.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }

    /// Bytes in use now.
    pub fn used(&self) -> usize {
        self.heap.used()
    }
}

// SAFETY: every call is passed on unchanged to embedded-alloc's allocator, which is a correct
// `GlobalAlloc`; the wrapper only reads its usage afterwards.
unsafe impl GlobalAlloc for MeasuredHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which we forward.
        let block = unsafe { self.heap.alloc(layout) };
        self.peak.fetch_max(self.heap.used(), Ordering::Relaxed);
        block
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller upholds `GlobalAlloc::dealloc`'s contract, which we forward.
        unsafe { self.heap.dealloc(ptr, layout) }
    }
}
