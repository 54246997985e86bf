//! ENET: the K64's 10/100 Ethernet MAC in RMII mode, as a smoltcp [`Device`].
//!
//! The MAC moves frames by DMA through two rings of legacy 8-byte buffer descriptors
//! (`ECR.EN1588` clear). With `ECR.DBSWP` set the DMA byte-swaps descriptors, so the
//! little-endian core sees each one as `{ length: u16, control: u16, buffer: u32 }`.
//!
//! Ownership is the protocol. A receive descriptor belongs to the DMA while `E` (empty) is
//! set; the DMA fills the buffer, writes the length (which includes the 4 FCS bytes) and
//! clears `E`. A transmit descriptor belongs to the DMA while `R` (ready) is set. Software
//! touches a buffer only while it owns the descriptor, writes buffer and length before it
//! hands a descriptor over (a DMB in between), and then writes `RDAR`/`TDAR` so the DMA looks
//! again. The last descriptor of each ring carries `W` (wrap). Rings and buffers are 16-byte
//! aligned, as the manual requires for receive buffers and recommends for the rest; buffers
//! are 1536 bytes, a multiple of 16 as `MRBR` requires and larger than the 1518-byte
//! maximum frame, so every frame fits one buffer (`L` is always set on a good frame).
//! The K64 has no data cache, so there is no cache maintenance.
//!
//! smoltcp gets a token pair from [`Device::receive`] only when a good frame is waiting and
//! a transmit descriptor is free; received frames with an error flag are given back to the
//! DMA and counted. Short frames are padded to 60 bytes before the MAC appends the FCS.
//!
//! MDIO (the PHY's management bus) goes through `MMFR`, one frame at a time, with MDC at
//! most 2.5 MHz from the module clock (the core clock on the K64).

use crate::board::Clocks;
use crate::claim::ClaimOnce;
use crate::regs::{enet, sim};
use core::cell::UnsafeCell;
use core::fmt;
use core::ptr;
pub use firmware_net::Counters;
use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::time::Instant;

/// Receive descriptors (and 1536-byte buffers). Four frames hold more than the 4 KiB receive
/// window the one TCP socket advertises (`firmware_net::net::TCP_RX_SIZE`: at most three
/// full segments in flight) plus an ARP or ICMP frame; a burst beyond that is dropped by the
/// MAC and TCP sends it again. Each buffer is 1.5 KiB of RAM (8 were 6 KiB more).
pub const RX_COUNT: usize = 4;
/// Transmit descriptors (and 1536-byte buffers). The socket's send buffer is one segment
/// (`firmware_net::net::TCP_TX_SIZE`), so two frames in the ring (a segment and an ACK or ARP
/// reply) is all the stack can have queued; a full ring makes smoltcp wait for the next poll.
pub const TX_COUNT: usize = 2;
/// Size of each DMA buffer.
pub const BUFFER_SIZE: usize = 1536;
/// Largest frame the MAC accepts, FCS included.
const MAX_FRAME_WITH_FCS: u32 = 1518;
/// Largest frame smoltcp may hand over: header and payload, without FCS.
const MTU: usize = 1514;
const FCS_LEN: usize = 4;
/// Ethernet minimum frame without FCS.
const MIN_FRAME: usize = 60;
/// MDIO polls before a management frame counts as lost (a frame takes 64 MDC cycles).
const MDIO_WAIT_POLLS: u32 = 100_000;
/// MAC reset polls.
const RESET_WAIT_POLLS: u32 = 10_000;

/// Receive descriptor control bits.
mod rx {
    /// Empty: the DMA owns the descriptor.
    pub const E: u16 = 0x8000;
    /// Wrap: last descriptor of the ring.
    pub const W: u16 = 0x2000;
    /// Last buffer of a frame.
    pub const L: u16 = 0x0800;
    /// Frame length violation, non-octet aligned, CRC error, FIFO overrun, truncated.
    pub const ERRORS: u16 = 0x0020 | 0x0010 | 0x0004 | 0x0002 | 0x0001;
}

/// Transmit descriptor control bits.
mod tx {
    /// Ready: the DMA owns the descriptor.
    pub const R: u16 = 0x8000;
    /// Wrap: last descriptor of the ring.
    pub const W: u16 = 0x2000;
    /// Last buffer of a frame.
    pub const L: u16 = 0x0800;
    /// Transmit CRC: the MAC appends the FCS.
    pub const TC: u16 = 0x0400;
}

/// A legacy buffer descriptor as the core sees it with `ECR.DBSWP` set.
#[repr(C)]
struct Descriptor {
    length: UnsafeCell<u16>,
    control: UnsafeCell<u16>,
    buffer: UnsafeCell<u32>,
}

impl Descriptor {
    const fn empty() -> Descriptor {
        Descriptor {
            length: UnsafeCell::new(0),
            control: UnsafeCell::new(0),
            buffer: UnsafeCell::new(0),
        }
    }

    fn control(&self) -> u16 {
        // SAFETY: a valid, aligned pointer into a live descriptor; volatile because the DMA
        // writes this field concurrently.
        unsafe { ptr::read_volatile(self.control.get()) }
    }

    fn set_control(&self, value: u16) {
        // SAFETY: as in `control`.
        unsafe { ptr::write_volatile(self.control.get(), value) }
    }

    fn length(&self) -> u16 {
        // SAFETY: as in `control`.
        unsafe { ptr::read_volatile(self.length.get()) }
    }

    fn set_length(&self, value: u16) {
        // SAFETY: as in `control`.
        unsafe { ptr::write_volatile(self.length.get(), value) }
    }

    fn set_buffer(&self, address: u32) {
        // SAFETY: as in `control`.
        unsafe { ptr::write_volatile(self.buffer.get(), address) }
    }
}

#[repr(C, align(16))]
struct DescriptorRing<const N: usize>([Descriptor; N]);

#[repr(C, align(16))]
struct FrameBuffer(UnsafeCell<[u8; BUFFER_SIZE]>);

impl FrameBuffer {
    const fn zeroed() -> FrameBuffer {
        FrameBuffer(UnsafeCell::new([0; BUFFER_SIZE]))
    }

    fn address(&self) -> u32 {
        self.0.get() as usize as u32
    }

    /// The first `len` bytes (at most the buffer).
    ///
    /// # Safety
    ///
    /// The caller owns the buffer's descriptor (the DMA does not write the buffer) for as long
    /// as the slice lives.
    unsafe fn bytes(&self, len: usize) -> &[u8] {
        // SAFETY: the caller guarantees no concurrent DMA write; the length is clamped.
        unsafe { core::slice::from_raw_parts(self.0.get().cast::<u8>(), len.min(BUFFER_SIZE)) }
    }

    /// The first `len` bytes (at most the buffer), writable.
    ///
    /// # Safety
    ///
    /// The caller owns the buffer's descriptor (the DMA does not read it) and holds no other
    /// reference to it for as long as the slice lives.
    #[allow(clippy::mut_from_ref)] // the exclusivity is the caller's obligation, see above
    unsafe fn bytes_mut(&self, len: usize) -> &mut [u8] {
        // SAFETY: as above.
        unsafe { core::slice::from_raw_parts_mut(self.0.get().cast::<u8>(), len.min(BUFFER_SIZE)) }
    }
}

/// The memory the ENET DMA reads and writes: both rings and their buffers (18 KiB).
struct DmaMemory {
    rx_ring: DescriptorRing<RX_COUNT>,
    tx_ring: DescriptorRing<TX_COUNT>,
    rx_buffers: [FrameBuffer; RX_COUNT],
    tx_buffers: [FrameBuffer; TX_COUNT],
}

static DMA_MEMORY: ClaimOnce<DmaMemory> = ClaimOnce::new(DmaMemory {
    rx_ring: DescriptorRing([const { Descriptor::empty() }; RX_COUNT]),
    tx_ring: DescriptorRing([const { Descriptor::empty() }; TX_COUNT]),
    rx_buffers: [const { FrameBuffer::zeroed() }; RX_COUNT],
    tx_buffers: [const { FrameBuffer::zeroed() }; TX_COUNT],
});

/// Link speed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Speed {
    /// 10BASE-T.
    Mbps10,
    /// 100BASE-TX.
    Mbps100,
}

/// What the PHY negotiated, and what the MAC must be set to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Link {
    /// Speed.
    pub speed: Speed,
    /// Full (true) or half duplex.
    pub full_duplex: bool,
}

impl fmt::Display for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let speed = match self.speed {
            Speed::Mbps10 => 10,
            Speed::Mbps100 => 100,
        };
        let duplex = if self.full_duplex { "full" } else { "half" };
        write!(f, "{speed} Mb/s {duplex} duplex")
    }
}

/// An MDIO management frame did not complete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MdioTimeout {
    /// PHY address.
    pub phy: u8,
    /// PHY register.
    pub register: u8,
}

impl fmt::Display for MdioTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "MDIO access to PHY {} register {:#04x} did not complete",
            self.phy, self.register
        )
    }
}

impl core::error::Error for MdioTimeout {}

/// Why the MAC could not be set up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnetError {
    /// The DMA memory was handed out already: there is only one ENET.
    AlreadyInUse,
    /// `ECR.RESET` did not clear.
    ResetStuck,
}

impl fmt::Display for EnetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EnetError::AlreadyInUse => f.write_str("the ENET is already in use"),
            EnetError::ResetStuck => f.write_str("the ENET MAC did not come out of reset"),
        }
    }
}

impl core::error::Error for EnetError {}

struct RxRing {
    ring: &'static DescriptorRing<RX_COUNT>,
    buffers: &'static [FrameBuffer; RX_COUNT],
    next: usize,
    received: u32,
    errors: u32,
}

struct TxRing {
    ring: &'static DescriptorRing<TX_COUNT>,
    buffers: &'static [FrameBuffer; TX_COUNT],
    next: usize,
    sent: u32,
}

/// The ENET MAC, enabled, with its DMA rings.
pub struct Enet {
    rx: RxRing,
    tx: TxRing,
    mac: [u8; 6],
}

/// `MSCR.MII_SPEED` for MDC <= 2.5 MHz: MDC = clock / ((MII_SPEED + 1) * 2).
fn mii_speed(module_hz: u32) -> u32 {
    module_hz
        .div_ceil(2 * 2_500_000)
        .saturating_sub(1)
        .clamp(1, 0x3F)
}

/// `MSCR.HOLDTIME` for at least 10 ns MDIO hold: HOLDTIME + 1 module clock cycles.
fn hold_time(module_hz: u32) -> u32 {
    module_hz.div_ceil(100_000_000).saturating_sub(1).min(7)
}

/// A locally administered unicast MAC address derived from the MCU's unique id (the board
/// has no MAC address EEPROM): `02` followed by 40 bits of an FNV-1a hash of the id.
pub fn mac_from_unique_id(uid: [u32; 4]) -> [u8; 6] {
    let hash = uid
        .iter()
        .flat_map(|word| word.to_be_bytes())
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
        });
    let [_, _, _, a, b, c, d, e] = hash.to_be_bytes();
    [0x02, a, b, c, d, e]
}

impl Enet {
    /// Resets and configures the MAC for RMII with the given MAC address, sets up the rings
    /// and starts receiving, assuming 100 Mb/s full duplex until [`Enet::set_link`] says
    /// otherwise. MDIO works from here on.
    pub fn new(clocks: &Clocks, mac: [u8; 6]) -> Result<Enet, EnetError> {
        let memory = DMA_MEMORY.claim().ok_or(EnetError::AlreadyInUse)?;
        let memory: &'static DmaMemory = memory;
        sim::SCGC2.set_bits(sim::SCGC2_ENET);

        enet::ECR.set_bits(enet::ECR_RESET);
        if !(0..RESET_WAIT_POLLS).any(|_| enet::ECR.read() & enet::ECR_RESET == 0) {
            return Err(EnetError::ResetStuck);
        }
        enet::MSCR.write(
            mii_speed(clocks.core_hz) << enet::MSCR_MII_SPEED_SHIFT
                | hold_time(clocks.core_hz) << enet::MSCR_HOLDTIME_SHIFT,
        );
        enet::EIMR.write(0); // polled, no interrupts
        enet::EIR.write(u32::MAX);
        for hash in [enet::IAUR, enet::IALR, enet::GAUR, enet::GALR] {
            hash.write(0); // no multicast, no hash-matched unicast
        }
        let [m0, m1, m2, m3, m4, m5] = mac;
        enet::PALR.write(u32::from_be_bytes([m0, m1, m2, m3]));
        enet::PAUR.write(u32::from_be_bytes([m4, m5, 0x88, 0x08])); // TYPE 0x8808 (pause)
        enet::TFWR.write(enet::TFWR_STRFWD);
        enet::MRBR.write(BUFFER_SIZE as u32);

        let mut enet = Enet {
            rx: RxRing {
                ring: &memory.rx_ring,
                buffers: &memory.rx_buffers,
                next: 0,
                received: 0,
                errors: 0,
            },
            tx: TxRing {
                ring: &memory.tx_ring,
                buffers: &memory.tx_buffers,
                next: 0,
                sent: 0,
            },
            mac,
        };
        // SAFETY: both rings live in a `static` claimed once (by this `Enet`), are 16-byte
        // aligned and hold the number of descriptors the `W` bits below delimit; nothing
        // else touches them except through the descriptor protocol.
        unsafe {
            enet::RDSR.write(memory.rx_ring.0.as_ptr() as usize as u32);
            enet::TDSR.write(memory.tx_ring.0.as_ptr() as usize as u32);
        }
        enet.set_link(Link {
            speed: Speed::Mbps100,
            full_duplex: true,
        });
        Ok(enet)
    }

    /// Sets the MAC to the PHY's link speed and duplex. The MAC is stopped meanwhile (the
    /// manual allows changing `TCR.FDEN` and `RCR.RMII_10T` only then) and both rings start
    /// over; frames in flight are lost, as they would be on a link change anyway.
    pub fn set_link(&mut self, link: Link) {
        // Stopped, and EN1588 clear: legacy 8-byte descriptors.
        enet::ECR.clear_bits(enet::ECR_ETHEREN | enet::ECR_EN1588);
        let speed = match link.speed {
            Speed::Mbps10 => enet::RCR_RMII_10T,
            Speed::Mbps100 => 0,
        };
        enet::RCR.write(
            MAX_FRAME_WITH_FCS << enet::RCR_MAX_FL_SHIFT
                | enet::RCR_RMII_MODE
                | enet::RCR_MII_MODE
                | speed,
        );
        enet::TCR.write(if link.full_duplex { enet::TCR_FDEN } else { 0 });
        self.reset_rings();
        cortex_m::asm::dmb();
        enet::ECR.set_bits(enet::ECR_DBSWP | enet::ECR_ETHEREN);
        enet::RDAR.write(enet::RDAR_RDAR);
    }

    fn reset_rings(&mut self) {
        for (index, (descriptor, buffer)) in self.rx.ring.0.iter().zip(self.rx.buffers).enumerate()
        {
            let wrap = if index == RX_COUNT - 1 { rx::W } else { 0 };
            descriptor.set_buffer(buffer.address());
            descriptor.set_length(0);
            descriptor.set_control(rx::E | wrap);
        }
        for (index, (descriptor, buffer)) in self.tx.ring.0.iter().zip(self.tx.buffers).enumerate()
        {
            let wrap = if index == TX_COUNT - 1 { tx::W } else { 0 };
            descriptor.set_buffer(buffer.address());
            descriptor.set_length(0);
            descriptor.set_control(wrap);
        }
        self.rx.next = 0;
        self.tx.next = 0;
    }

    /// The MAC address the MAC filters on and sends from.
    pub fn mac_address(&self) -> [u8; 6] {
        self.mac
    }

    /// Frame counters since boot.
    pub fn counters(&self) -> Counters {
        Counters {
            received: self.rx.received,
            receive_errors: self.rx.errors,
            sent: self.tx.sent,
        }
    }

    /// Reads PHY register `register` of the PHY at `phy`.
    pub fn mdio_read(&self, phy: u8, register: u8) -> Result<u16, MdioTimeout> {
        self.mdio_frame(phy, register, 0b10, 0)
    }

    /// Writes `value` to PHY register `register` of the PHY at `phy`.
    pub fn mdio_write(&self, phy: u8, register: u8, value: u16) -> Result<(), MdioTimeout> {
        self.mdio_frame(phy, register, 0b01, value).map(|_| ())
    }

    fn mdio_frame(&self, phy: u8, register: u8, op: u32, data: u16) -> Result<u16, MdioTimeout> {
        enet::EIR.write(enet::EIR_MII); // write 1 to clear
        enet::MMFR.write(
            0b01 << enet::MMFR_ST_SHIFT
                | op << enet::MMFR_OP_SHIFT
                | u32::from(phy & 0x1F) << enet::MMFR_PA_SHIFT
                | u32::from(register & 0x1F) << enet::MMFR_RA_SHIFT
                | 0b10 << enet::MMFR_TA_SHIFT
                | u32::from(data),
        );
        if !(0..MDIO_WAIT_POLLS).any(|_| enet::EIR.read() & enet::EIR_MII != 0) {
            return Err(MdioTimeout { phy, register });
        }
        enet::EIR.write(enet::EIR_MII);
        // DATA is 16 bits wide.
        Ok((enet::MMFR.read() & enet::MMFR_DATA_MASK) as u16)
    }
}

impl RxRing {
    fn current(&self) -> (&'static Descriptor, &'static FrameBuffer) {
        let index = self.next % RX_COUNT;
        (&self.ring.0[index], &self.buffers[index])
    }

    /// Gives errored frames back to the DMA; true when a good frame is waiting.
    fn has_good_frame(&mut self) -> bool {
        for _ in 0..RX_COUNT {
            let control = self.current().0.control();
            if control & rx::E != 0 {
                return false;
            }
            if control & rx::L != 0 && control & rx::ERRORS == 0 {
                return true;
            }
            self.errors = self.errors.wrapping_add(1);
            self.release();
        }
        false
    }

    /// Hands the current descriptor back to the DMA and moves on.
    fn release(&mut self) {
        let index = self.next % RX_COUNT;
        let wrap = if index == RX_COUNT - 1 { rx::W } else { 0 };
        cortex_m::asm::dmb(); // our reads of the buffer are done
        self.current().0.set_control(rx::E | wrap);
        cortex_m::asm::dmb();
        enet::RDAR.write(enet::RDAR_RDAR);
        self.next = (index + 1) % RX_COUNT;
    }
}

impl TxRing {
    fn current(&self) -> (&'static Descriptor, &'static FrameBuffer) {
        let index = self.next % TX_COUNT;
        (&self.ring.0[index], &self.buffers[index])
    }

    fn has_free_descriptor(&self) -> bool {
        self.current().0.control() & tx::R == 0
    }
}

/// smoltcp's receive token: one good frame in the receive ring.
pub struct EnetRxToken<'a> {
    ring: &'a mut RxRing,
}

/// smoltcp's transmit token: one free transmit descriptor.
pub struct EnetTxToken<'a> {
    ring: &'a mut TxRing,
}

impl phy::RxToken for EnetRxToken<'_> {
    fn consume<R, F>(self, f: F) -> R
    where
        F: FnOnce(&[u8]) -> R,
    {
        let (descriptor, buffer) = self.ring.current();
        cortex_m::asm::dmb(); // E was seen clear: read length and data after it
        let length = usize::from(descriptor.length()).saturating_sub(FCS_LEN);
        // SAFETY: `E` is clear (checked by `has_good_frame` before this token was made), so
        // the DMA leaves the buffer alone until `release` below; the slice dies before that.
        let result = f(unsafe { buffer.bytes(length) });
        self.ring.received = self.ring.received.wrapping_add(1);
        self.ring.release();
        result
    }
}

impl phy::TxToken for EnetTxToken<'_> {
    fn consume<R, F>(self, len: usize, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        let (descriptor, buffer) = self.ring.current();
        let len = len.min(MTU); // smoltcp never asks for more than the MTU
        let padded = len.max(MIN_FRAME);
        // SAFETY: `R` is clear (checked before this token was made), so the DMA does not read
        // the buffer until `R` is set below; the slice dies before that.
        let bytes = unsafe { buffer.bytes_mut(padded) };
        let (frame, padding) = bytes.split_at_mut(len); // len <= padded == bytes.len()
        let result = f(frame);
        padding.fill(0);
        // At most 1514: fits u16.
        descriptor.set_length(padded as u16);
        let index = self.ring.next % TX_COUNT;
        let wrap = if index == TX_COUNT - 1 { tx::W } else { 0 };
        cortex_m::asm::dmb(); // frame and length before ownership
        descriptor.set_control(tx::R | tx::L | tx::TC | wrap);
        cortex_m::asm::dmb();
        enet::TDAR.write(enet::TDAR_TDAR);
        self.ring.next = (index + 1) % TX_COUNT;
        self.ring.sent = self.ring.sent.wrapping_add(1);
        result
    }
}

impl Device for Enet {
    type RxToken<'a> = EnetRxToken<'a>;
    type TxToken<'a> = EnetTxToken<'a>;

    fn receive(&mut self, _timestamp: Instant) -> Option<(EnetRxToken<'_>, EnetTxToken<'_>)> {
        if !self.rx.has_good_frame() || !self.tx.has_free_descriptor() {
            return None;
        }
        Some((
            EnetRxToken { ring: &mut self.rx },
            EnetTxToken { ring: &mut self.tx },
        ))
    }

    fn transmit(&mut self, _timestamp: Instant) -> Option<EnetTxToken<'_>> {
        if !self.tx.has_free_descriptor() {
            return None;
        }
        Some(EnetTxToken { ring: &mut self.tx })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut capabilities = DeviceCapabilities::default();
        capabilities.medium = Medium::Ethernet;
        capabilities.max_transmission_unit = MTU;
        // At most this many frames fit the receive ring before the stack drains it.
        capabilities.max_burst_size = Some(RX_COUNT);
        capabilities
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mdc_stays_at_or_below_2_5_mhz_and_hold_time_at_or_above_10_ns() {
        for module_hz in [20_971_520, 50_000_000, 120_000_000] {
            let speed = mii_speed(module_hz);
            let mdc = module_hz / ((speed + 1) * 2);
            assert!(mdc <= 2_500_000, "{module_hz} Hz: MDC {mdc}");
            assert!(mdc > 2_000_000, "{module_hz} Hz: MDC {mdc} needlessly slow");
            let hold_ns = (hold_time(module_hz) + 1) as u64 * 1_000_000_000 / module_hz as u64;
            assert!(hold_ns >= 10, "{module_hz} Hz: hold {hold_ns} ns");
        }
        assert_eq!(mii_speed(120_000_000), 23, "NXP's value for 120 MHz");
        assert_eq!(hold_time(120_000_000), 1);
    }

    #[test]
    fn mac_address_is_local_unicast_and_depends_on_the_whole_id() {
        let uid = [0x0000_0000, 0x0018_FFFF, 0x4E45_2714, 0x4003_F014];
        let mac = mac_from_unique_id(uid);
        assert_eq!(mac[0] & 0b11, 0b10, "locally administered, unicast");
        assert_eq!(mac, mac_from_unique_id(uid), "stable");
        for word in 0..4 {
            let mut other = uid;
            other[word] ^= 1;
            assert_ne!(mac_from_unique_id(other), mac, "word {word} matters");
        }
    }

    #[test]
    fn buffers_and_rings_meet_the_dma_alignment() {
        assert_eq!(core::mem::size_of::<Descriptor>(), 8);
        assert_eq!(core::mem::align_of::<DescriptorRing<RX_COUNT>>(), 16);
        assert_eq!(core::mem::align_of::<FrameBuffer>(), 16);
        assert_eq!(BUFFER_SIZE % 16, 0, "MRBR needs a multiple of 16");
        assert!(BUFFER_SIZE >= MAX_FRAME_WITH_FCS as usize);
        let length_offset = core::mem::offset_of!(Descriptor, length);
        let control_offset = core::mem::offset_of!(Descriptor, control);
        let buffer_offset = core::mem::offset_of!(Descriptor, buffer);
        assert_eq!((length_offset, control_offset, buffer_offset), (0, 2, 4));
    }
}
