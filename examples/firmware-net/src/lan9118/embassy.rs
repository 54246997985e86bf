//! The LAN9118 as an embassy-net-driver 0.2 [`Driver`], woken by its interrupt.
//!
//! embassy-net's runner polls [`Driver::receive`] with a waker and sleeps when it gets
//! `None`. [`Lan9118Driver::receive`] therefore registers that waker, unmasks the controller's
//! "frame received" interrupt, and only then looks into the RX FIFO: a frame that lands after
//! the look raises the interrupt, whose handler ([`InterruptSignal::on_interrupt`]) masks it
//! again (the line is level-triggered) and wakes the runner. A frame found is copied into the
//! driver's buffer, which the receive token lends; a transmit token lends the transmit buffer
//! and the frame goes into the TX FIFO when the token is consumed.
//!
//! The controller has no checksum offload: the capabilities leave every checksum to the
//! stack. Transmit never waits: QEMU sends a frame as soon as its last word is written, so the
//! TX FIFO is empty again at once; should it be full, the runner is woken to try again.

use core::cell::Cell;
use core::task::Context;

use embassy_net_driver::{Capabilities, Driver, HardwareAddress, LinkState};
use embassy_sync::blocking_mutex::CriticalSectionMutex;
use embassy_sync::waitqueue::AtomicWaker;

use super::{InterruptControl, Lan9118, MAX_FRAME};
use crate::Counters;

/// What the LAN9118's interrupt handler and the driver share: the runner's waker and the
/// controller's interrupt mask. Keep it in a `static`; call
/// [`InterruptSignal::on_interrupt`] from the handler of the controller's line
/// ([`super::MPS2_AN386_IRQ`] on `mps2-an386`).
pub struct InterruptSignal {
    waker: AtomicWaker,
    control: CriticalSectionMutex<Cell<Option<InterruptControl>>>,
}

impl InterruptSignal {
    /// A signal no driver uses yet.
    pub const fn new() -> Self {
        InterruptSignal {
            waker: AtomicWaker::new(),
            control: CriticalSectionMutex::new(Cell::new(None)),
        }
    }

    /// The interrupt handler's work: masks the controller's interrupt (until the driver's
    /// next look into the RX FIFO) and wakes the network runner.
    pub fn on_interrupt(&self) {
        if let Some(control) = self.control.lock(Cell::get) {
            control.mask();
        }
        self.waker.wake();
    }
}

impl Default for InterruptSignal {
    fn default() -> Self {
        Self::new()
    }
}

/// A [`Lan9118`] with the frame buffers the tokens lend.
pub struct Lan9118Driver<'a> {
    chip: Lan9118,
    signal: &'a InterruptSignal,
    rx_buffer: [u8; MAX_FRAME],
    tx_buffer: [u8; MAX_FRAME],
}

impl<'a> Lan9118Driver<'a> {
    /// Wraps the driver; `signal` is what its interrupt handler calls. Enable the NVIC line
    /// after this.
    pub fn new(mut chip: Lan9118, signal: &'a InterruptSignal) -> Self {
        signal
            .control
            .lock(|control| control.set(Some(chip.interrupt_control())));
        chip.enable_interrupts();
        Lan9118Driver {
            chip,
            signal,
            rx_buffer: [0; MAX_FRAME],
            tx_buffer: [0; MAX_FRAME],
        }
    }

    /// Frames received, dropped and sent.
    pub fn counters(&self) -> Counters {
        self.chip.counters()
    }
}

/// A received frame, already out of the FIFO.
pub struct RxToken<'a> {
    frame: &'a mut [u8],
}

/// Room to build one frame, sent when the token is consumed.
pub struct TxToken<'a> {
    chip: &'a mut Lan9118,
    buffer: &'a mut [u8; MAX_FRAME],
}

impl embassy_net_driver::RxToken for RxToken<'_> {
    fn consume<R, F>(self, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        f(self.frame)
    }
}

impl embassy_net_driver::TxToken for TxToken<'_> {
    fn consume<R, F>(self, len: usize, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        self.chip.fill_and_transmit(self.buffer, len, f)
    }
}

impl Driver for Lan9118Driver<'_> {
    type RxToken<'a>
        = RxToken<'a>
    where
        Self: 'a;
    type TxToken<'a>
        = TxToken<'a>
    where
        Self: 'a;

    fn receive(&mut self, cx: &mut Context<'_>) -> Option<(RxToken<'_>, TxToken<'_>)> {
        self.signal.waker.register(cx.waker());
        if !self.chip.tx_space_available(MAX_FRAME) {
            // An answer could not be sent: leave the frame in the FIFO and come back.
            cx.waker().wake_by_ref();
            return None;
        }
        // Unmask first, look second: a frame arriving in between raises the interrupt.
        self.chip.enable_interrupts();
        let len = self.chip.receive(&mut self.rx_buffer)?;
        Some((
            RxToken {
                frame: self.rx_buffer.get_mut(..len)?,
            },
            TxToken {
                chip: &mut self.chip,
                buffer: &mut self.tx_buffer,
            },
        ))
    }

    fn transmit(&mut self, cx: &mut Context<'_>) -> Option<TxToken<'_>> {
        if !self.chip.tx_space_available(MAX_FRAME) {
            cx.waker().wake_by_ref();
            return None;
        }
        Some(TxToken {
            chip: &mut self.chip,
            buffer: &mut self.tx_buffer,
        })
    }

    /// The internal PHY's link bit. The controller raises no interrupt for link changes, so
    /// a link that goes down is seen at the runner's next wake-up (its timers wake it).
    fn link_state(&mut self, _cx: &mut Context<'_>) -> LinkState {
        match self.chip.link_up() {
            Ok(true) => LinkState::Up,
            Ok(false) | Err(_) => LinkState::Down,
        }
    }

    fn capabilities(&self) -> Capabilities {
        let mut capabilities = Capabilities::default();
        capabilities.max_transmission_unit = MAX_FRAME;
        capabilities.max_burst_size = Some(1);
        // `ChecksumCapabilities::default()`: every checksum computed and checked in software.
        capabilities
    }

    fn hardware_address(&self) -> HardwareAddress {
        HardwareAddress::Ethernet(self.chip.mac())
    }
}
