//! embassy's executor in thread mode, sleeping with WFI between polls.
//!
//! embassy-executor's own Cortex-M executor (`platform-cortex-m`) sleeps with WFE and is
//! woken by SEV. QEMU implements WFE as a mere yield, so under emulation that loop spins: an
//! idle run used two thirds of a host core. This loop sleeps with WFI instead, which QEMU
//! honours until the next interrupt (SysTick at the latest, every millisecond). A wake-up from
//! thread mode (one task waking another) sets [`WOKEN`], checked with interrupts masked right
//! before WFI, so it is never slept through; one from an interrupt ends WFI by itself.

use core::sync::atomic::{AtomicBool, Ordering};

use embassy_executor::{Spawner, raw};
use static_cell::StaticCell;

/// Some task was woken since the last poll.
static WOKEN: AtomicBool = AtomicBool::new(false);

/// The executor's pender: called whenever a task is woken, from any context.
#[unsafe(export_name = "__pender")]
fn pender(_context: *mut ()) {
    WOKEN.store(true, Ordering::Release);
}

/// Runs the executor forever; `init` spawns the first tasks.
pub fn run(init: impl FnOnce(Spawner)) -> ! {
    static EXECUTOR: StaticCell<raw::Executor> = StaticCell::new();
    let executor: &'static raw::Executor = EXECUTOR.init(raw::Executor::new(core::ptr::null_mut()));
    init(executor.spawner());
    loop {
        // SAFETY: `poll` is called from this loop only, never re-entrantly (the pender above
        // only sets a flag).
        unsafe { executor.poll() };
        cortex_m::interrupt::free(|_| {
            if !WOKEN.swap(false, Ordering::AcqRel) {
                // With interrupts masked, a pending interrupt still ends WFI; its handler
                // runs once `free` unmasks them, and the loop polls again.
                cortex_m::asm::wfi();
            }
        });
    }
}
