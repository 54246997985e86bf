//! The LAN9118 as a smoltcp 0.14 `phy::Device`.
//!
//! A received frame is copied out of the RX FIFO when smoltcp asks for tokens
//! ([`Device::receive`]), into this adapter's buffer, so the receive token only lends it; a
//! transmit token lends the transmit buffer, and the frame goes into the TX FIFO when the
//! token is consumed. Both buffers are [`MAX_FRAME`] bytes, in the adapter (put it in a
//! `static` or in the network layer that owns it). The controller has no checksum offload.

use ::smoltcp::phy::{self, ChecksumCapabilities, Device, DeviceCapabilities, Medium};
use ::smoltcp::time::Instant;

use super::{Error, Lan9118, MAX_FRAME};
use crate::net::Nic;
use crate::Counters;

/// A [`Lan9118`] with the frame buffers smoltcp's tokens lend.
pub struct Lan9118Device {
    chip: Lan9118,
    rx_buffer: [u8; MAX_FRAME],
    tx_buffer: [u8; MAX_FRAME],
}

impl Lan9118Device {
    /// Wraps the driver.
    pub const fn new(chip: Lan9118) -> Self {
        Lan9118Device {
            chip,
            rx_buffer: [0; MAX_FRAME],
            tx_buffer: [0; MAX_FRAME],
        }
    }

    /// The driver, e.g. for [`Lan9118::link_up`] or its interrupts.
    pub fn chip(&mut self) -> &mut Lan9118 {
        &mut self.chip
    }

    /// The MAC address.
    pub fn mac(&self) -> [u8; 6] {
        self.chip.mac()
    }

    /// Frames received, dropped and sent.
    pub fn counters(&self) -> Counters {
        self.chip.counters()
    }
}

/// A received frame, already out of the FIFO.
pub struct RxToken<'a> {
    frame: &'a [u8],
}

/// Room to build one frame, sent when the token is consumed.
pub struct TxToken<'a> {
    chip: &'a mut Lan9118,
    buffer: &'a mut [u8; MAX_FRAME],
}

impl phy::RxToken for RxToken<'_> {
    fn consume<R, F>(self, f: F) -> R
    where
        F: FnOnce(&[u8]) -> R,
    {
        f(self.frame)
    }
}

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F>(self, len: usize, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        self.chip.fill_and_transmit(self.buffer, len, f)
    }
}

impl Device for Lan9118Device {
    type RxToken<'a> = RxToken<'a>;
    type TxToken<'a> = TxToken<'a>;

    fn receive(&mut self, _now: Instant) -> Option<(RxToken<'_>, TxToken<'_>)> {
        if !self.chip.tx_space_available(MAX_FRAME) {
            return None; // an answer could not be sent: leave the frame in the FIFO
        }
        let len = self.chip.receive(&mut self.rx_buffer)?;
        let frame = self.rx_buffer.get(..len)?;
        Some((
            RxToken { frame },
            TxToken {
                chip: &mut self.chip,
                buffer: &mut self.tx_buffer,
            },
        ))
    }

    fn transmit(&mut self, _now: Instant) -> Option<TxToken<'_>> {
        if !self.chip.tx_space_available(MAX_FRAME) {
            return None;
        }
        Some(TxToken {
            chip: &mut self.chip,
            buffer: &mut self.tx_buffer,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut capabilities = DeviceCapabilities::default();
        capabilities.medium = Medium::Ethernet;
        capabilities.max_transmission_unit = MAX_FRAME;
        capabilities.max_burst_size = Some(1);
        capabilities.checksum = ChecksumCapabilities::default(); // all in software
        capabilities
    }
}

/// The LAN9118's link, as its internal PHY's basic status reports it (up; QEMU's PHY models no
/// speed register, so none is read).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkUp;

impl core::fmt::Display for LinkUp {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("LAN9118 link up")
    }
}

impl Nic for Lan9118Device {
    type Link = LinkUp;
    type LinkError = Error;

    fn mac_address(&self) -> [u8; 6] {
        self.chip.mac()
    }

    fn link(&mut self) -> Result<Option<LinkUp>, Error> {
        Ok(self.chip.link_up()?.then_some(LinkUp))
    }

    fn counters(&self) -> Counters {
        self.chip.counters()
    }
}
