//! The heap, and how much of it RSA really uses.
//!
//! Only the RSA code of the TLS handshake allocates (the `rsa` crate's big integers while a
//! certificate or CertificateVerify signature is checked); MQTT and TLS buffers are statics.
//! Everything is freed again when the handshake ends, so the heap is empty between
//! connections and every handshake with the same broker allocates in the same pattern.
//!
//! [`MeasuredHeap`] is embedded-alloc's linked-list heap plus three counters: the most bytes
//! ever in use at once (the figure to size [`crate::config::HEAP_SIZE`] from), the same since
//! the last [`MeasuredHeap::reset_peak`] (one handshake), and the allocations that failed. A
//! failed allocation is fatal anyway (Rust's allocation-error handler panics, and the panic
//! handler prints "memory allocation of N bytes failed"); the counter is for `status` after a
//! reset that kept the RAM, and for the host tests.

use core::alloc::{GlobalAlloc, Layout};
use core::sync::atomic::{AtomicUsize, Ordering};
use embedded_alloc::LlffHeap;

/// embedded-alloc's first-fit heap that records its high-water marks.
pub struct MeasuredHeap {
    heap: LlffHeap,
    size: AtomicUsize,
    peak: AtomicUsize,
    recent_peak: AtomicUsize,
    failures: AtomicUsize,
}

/// A snapshot of the heap's counters, for `status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeapUse {
    /// Bytes given to the heap.
    pub size: usize,
    /// Bytes in use now.
    pub used: usize,
    /// The most bytes in use at once since boot.
    pub peak: usize,
    /// Allocations that found no room.
    pub failures: usize,
}

impl MeasuredHeap {
    /// A heap without memory: [`MeasuredHeap::init`] gives it some.
    pub const fn empty() -> MeasuredHeap {
        MeasuredHeap {
            heap: LlffHeap::empty(),
            size: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            recent_peak: AtomicUsize::new(0),
            failures: AtomicUsize::new(0),
        }
    }

    /// Gives the heap `size` bytes at `start`.
    ///
    /// # Safety
    /// As embedded-alloc's `init`: call it once, before the first allocation, with memory
    /// that nothing else uses for the rest of the program.
    pub unsafe fn init(&self, start: usize, size: usize) {
        self.size.store(size, Ordering::Relaxed);
        // SAFETY: the caller's guarantees are those of `LlffHeap::init`.
        unsafe { self.heap.init(start, size) }
    }

    /// The counters now.
    pub fn usage(&self) -> HeapUse {
        HeapUse {
            size: self.size.load(Ordering::Relaxed),
            used: self.heap.used(),
            peak: self.peak.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
        }
    }

    /// Starts a new measurement for [`MeasuredHeap::recent_peak`] (e.g. before a handshake).
    pub fn reset_peak(&self) {
        self.recent_peak.store(self.heap.used(), Ordering::Relaxed);
    }

    /// The most bytes in use at once since the last [`MeasuredHeap::reset_peak`].
    pub fn recent_peak(&self) -> usize {
        self.recent_peak.load(Ordering::Relaxed)
    }
}

// SAFETY: every call goes unchanged to embedded-alloc's heap, a correct `GlobalAlloc`; the
// wrapper only reads the heap's use afterwards and updates its own atomic counters.
unsafe impl GlobalAlloc for MeasuredHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which is forwarded.
        let block = unsafe { self.heap.alloc(layout) };
        if block.is_null() {
            self.failures.fetch_add(1, Ordering::Relaxed);
        } else {
            let used = self.heap.used();
            self.peak.fetch_max(used, Ordering::Relaxed);
            self.recent_peak.fetch_max(used, Ordering::Relaxed);
        }
        block
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller upholds `GlobalAlloc::dealloc`'s contract, which is forwarded.
        unsafe { self.heap.dealloc(ptr, layout) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::sync::atomic::AtomicBool;

    /// A critical section for the host tests (cortex-m provides the real one on the target):
    /// a spin lock, enough for embedded-alloc, which never nests them.
    struct HostCriticalSection;
    critical_section::set_impl!(HostCriticalSection);

    static LOCKED: AtomicBool = AtomicBool::new(false);

    // SAFETY: `acquire` returns only once this thread holds the lock, `release` gives it back;
    // mutual exclusion across threads is all embedded-alloc needs.
    unsafe impl critical_section::Impl for HostCriticalSection {
        unsafe fn acquire() -> critical_section::RawRestoreState {
            while LOCKED.swap(true, Ordering::Acquire) {
                std::hint::spin_loop();
            }
            Default::default()
        }

        unsafe fn release(_: critical_section::RawRestoreState) {
            LOCKED.store(false, Ordering::Release);
        }
    }

    #[repr(align(16))]
    struct Arena([u8; 4096]);

    #[test]
    fn peaks_follow_the_largest_use_and_failures_are_counted() {
        static HEAP: MeasuredHeap = MeasuredHeap::empty();
        let arena = Box::leak(Box::new(Arena([0; 4096])));
        // SAFETY: the leaked arena is used by this heap only, which is initialised once.
        unsafe { HEAP.init(arena.0.as_mut_ptr() as usize, arena.0.len()) };
        let small = Layout::from_size_align(256, 8).unwrap();
        let large = Layout::from_size_align(1024, 8).unwrap();
        // SAFETY: non-zero layouts; each block is freed once with its own layout.
        unsafe {
            let a = HEAP.alloc(large);
            let b = HEAP.alloc(small);
            assert!(!a.is_null() && !b.is_null());
            let in_use = HEAP.usage().used;
            assert!(in_use >= 1024 + 256, "{in_use}");
            HEAP.dealloc(a, large);
            HEAP.dealloc(b, small);
            assert_eq!(HEAP.usage().used, 0);
            assert_eq!(HEAP.usage().peak, in_use);

            HEAP.reset_peak();
            assert_eq!(HEAP.recent_peak(), 0);
            let c = HEAP.alloc(small);
            assert_eq!(HEAP.recent_peak(), HEAP.usage().used);
            assert!(HEAP.recent_peak() < in_use);
            assert_eq!(HEAP.usage().peak, in_use, "the overall peak stays");

            let too_big = Layout::from_size_align(8192, 8).unwrap();
            assert!(HEAP.alloc(too_big).is_null());
            assert_eq!(HEAP.usage().failures, 1);
            HEAP.dealloc(c, small);
        }
        assert_eq!(HEAP.usage().size, 4096);
    }
}
