//! SMSC LAN9118 Ethernet controller, programmed I/O through its FIFOs (no DMA).
//!
//! Written from the datasheet facts in `../shared/boards.md` and checked against QEMU's model
//! (`hw/net/lan9118.c`), which is what the `mps2-an386` board has at [`MPS2_AN386_BASE`]. No
//! LAN9118 / LAN9220 / SMSC911x driver crate was found on crates.io (2026-12), hence this one.
//!
//! [`Lan9118`] is register-level, so that both network stacks can sit on it: the smoltcp
//! `phy::Device` in [`smoltcp`] and the `embassy_net_driver::Driver` in `embassy`. It:
//! - [`Lan9118::new`]: soft reset, checks BYTE_TEST (bus and byte order), reads the MAC address
//!   (ADDRH/ADDRL, loaded from the EEPROM at reset; QEMU's is 52:54:00:12:34:56), sets MAC_CR
//!   to transmit and receive (unicast to that address and broadcast; frames are dropped while
//!   receive is off) and TX_CFG to TX_ON | TXSAO (a full TX status FIFO does not stop sending);
//! - [`Lan9118::receive`]: pops one RX status word (length in bits 29:16, including the 4-byte
//!   CRC; bit 15 error summary), copies the frame out of the RX data FIFO as little-endian
//!   words and drops the CRC; frames with an error or too long for the buffer are read and
//!   dropped (counted in [`Counters::receive_errors`]);
//! - [`Lan9118::transmit`]: TX command A (first and last segment, buffer length), command B
//!   (a tag, frame length), then the frame as little-endian words (the last one zero-padded);
//!   the controller sends once the last word is in;
//! - interrupts ([`Lan9118::enable_interrupts`]): INT_EN bit 3 (a frame's RX status is
//!   waiting) and IRQ_CFG = 0x111 (enabled, active-high, push-pull). With the enable bit alone
//!   the line idles asserted (active-low open drain) and QEMU's board sees a permanent
//!   interrupt: the firmware hangs once the NVIC line is on.
//!
//! No method panics; every wait on the hardware is bounded by a number of reads.

#[cfg(feature = "embassy")]
pub mod embassy;
#[cfg(feature = "smoltcp")]
pub mod smoltcp;

use core::fmt;
use core::ptr::{read_volatile, write_volatile};
use core::sync::atomic::{AtomicBool, Ordering};

use crate::Counters;

/// Where QEMU's `mps2-an386` (and the AN386 FPGA image) maps the LAN9118.
pub const MPS2_AN386_BASE: usize = 0x4020_0000;
/// The LAN9118's interrupt line on `mps2-an386` (exception number 16 + 13 = 29).
pub const MPS2_AN386_IRQ: u16 = 13;
/// The longest frame sent or received, without the CRC: 14 header + 1500 payload bytes.
pub const MAX_FRAME: usize = 1514;

/// Register offsets from the base (32-bit registers, datasheet section 5).
mod reg {
    /// RX data FIFO port (reads pop a word).
    pub const RX_DATA_FIFO: usize = 0x00;
    /// TX data FIFO port (writes push a word).
    pub const TX_DATA_FIFO: usize = 0x20;
    /// RX status FIFO port (reads pop a frame's status).
    pub const RX_STATUS_FIFO: usize = 0x40;
    /// Chip id (upper 16 bits 0x0118) and revision.
    pub const ID_REV: usize = 0x50;
    /// Interrupt pin configuration.
    pub const IRQ_CFG: usize = 0x54;
    /// Interrupt status (write 1 to clear).
    pub const INT_STS: usize = 0x58;
    /// Interrupt enable.
    pub const INT_EN: usize = 0x5C;
    /// Reads 0x8765_4321 when the bus and byte order are right.
    pub const BYTE_TEST: usize = 0x64;
    /// Transmit configuration.
    pub const TX_CFG: usize = 0x70;
    /// Hardware configuration (bit 0: soft reset).
    pub const HW_CFG: usize = 0x74;
    /// RX FIFO information (bits 23:16: status words waiting, one per frame).
    pub const RX_FIFO_INF: usize = 0x7C;
    /// TX FIFO information (bits 15:0: free bytes in the TX data FIFO).
    pub const TX_FIFO_INF: usize = 0x80;
    /// Power management (bit 0: device ready).
    pub const PMT_CTRL: usize = 0x84;
    /// Indirect access to the MAC registers: command.
    pub const MAC_CSR_CMD: usize = 0xA4;
    /// Indirect access to the MAC registers: data.
    pub const MAC_CSR_DATA: usize = 0xA8;
}

/// MAC registers, reached through MAC_CSR_CMD/DATA.
mod mac_reg {
    /// MAC control.
    pub const MAC_CR: u32 = 1;
    /// MAC address, bytes 4 and 5.
    pub const ADDRH: u32 = 2;
    /// MAC address, bytes 0 to 3.
    pub const ADDRL: u32 = 3;
    /// MII (PHY) access: PHY address, register, write flag, busy.
    pub const MII_ACC: u32 = 6;
    /// MII (PHY) data.
    pub const MII_DATA: u32 = 7;
}

const BYTE_TEST_VALUE: u32 = 0x8765_4321;
const CHIP_ID: u32 = 0x0118;
const HW_CFG_SRST: u32 = 1;
const PMT_CTRL_READY: u32 = 1;
const MAC_CSR_BUSY: u32 = 1 << 31;
const MAC_CSR_READ: u32 = 1 << 30;
const MAC_CR_TXEN: u32 = 1 << 3;
const MAC_CR_RXEN: u32 = 1 << 2;
const TX_CFG_TX_ON: u32 = 1 << 1;
const TX_CFG_TXSAO: u32 = 1 << 2;
const TX_CMD_A_FIRST_SEGMENT: u32 = 1 << 13;
const TX_CMD_A_LAST_SEGMENT: u32 = 1 << 12;
const RX_STATUS_ERROR: u32 = 1 << 15;
const CRC_LEN: usize = 4;
const MIN_FRAME: usize = 14;
/// INT_STS/INT_EN bit 3: the RX status FIFO holds more than its threshold (0) of frames.
const INT_RX_STATUS_LEVEL: u32 = 1 << 3;
/// IRQ_CFG: IRQ_EN (bit 8) | IRQ_POL active-high (bit 4) | IRQ_TYPE push-pull (bit 0).
const IRQ_CFG_ENABLED_ACTIVE_HIGH_PUSH_PULL: u32 = 0x111;
/// MII_ACC: bit 0 busy, bit 1 write.
const MII_BUSY: u32 = 1;
const MII_WRITE: u32 = 1 << 1;
/// The internal PHY's address on the MII bus.
const INTERNAL_PHY: u32 = 1;
/// PHY basic status register, and its link-up bit.
const PHY_BASIC_STATUS: u32 = 1;
const PHY_LINK_UP: u16 = 1 << 2;
/// How many register reads a wait on the hardware may take before it is an error
/// (the datasheet's waits are microseconds; this is milliseconds on any bus).
const WAIT_READS: u32 = 100_000;

/// Why the controller could not be set up or reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// [`Lan9118::mps2_an386`] was called before: there is one controller.
    AlreadyTaken,
    /// BYTE_TEST read something other than 0x8765_4321: no LAN9118 at this address, or the
    /// bus swaps bytes.
    ByteTest {
        /// What it read.
        read: u32,
    },
    /// ID_REV names another chip.
    UnknownChip {
        /// What ID_REV read.
        id_rev: u32,
    },
    /// HW_CFG's soft-reset bit or PMT_CTRL's ready bit did not settle.
    ResetTimeout,
    /// An indirect MAC register access stayed busy.
    MacCsrTimeout {
        /// The MAC register.
        register: u32,
    },
    /// A PHY register access over MII stayed busy.
    MiiTimeout {
        /// The PHY register.
        register: u32,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::AlreadyTaken => f.write_str("the LAN9118 is already in use"),
            Error::ByteTest { read } => write!(
                f,
                "LAN9118 BYTE_TEST read {read:#010x}, not 0x87654321 (no chip, or bytes swapped)"
            ),
            Error::UnknownChip { id_rev } => {
                write!(f, "ID_REV {id_rev:#010x} is not a LAN9118")
            }
            Error::ResetTimeout => f.write_str("the LAN9118 did not come out of soft reset"),
            Error::MacCsrTimeout { register } => {
                write!(f, "LAN9118 MAC register {register} access stayed busy")
            }
            Error::MiiTimeout { register } => {
                write!(f, "LAN9118 PHY register {register} access stayed busy")
            }
        }
    }
}

impl core::error::Error for Error {}

/// Why a frame was not sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransmitError {
    /// Empty, or longer than [`MAX_FRAME`].
    BadLength {
        /// The frame's length.
        len: usize,
    },
    /// The TX data FIFO has no room for it now ([`Lan9118::tx_space_available`]).
    NoSpace,
}

impl fmt::Display for TransmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransmitError::BadLength { len } => {
                write!(f, "a frame of {len} bytes cannot be sent (1..={MAX_FRAME})")
            }
            TransmitError::NoSpace => f.write_str("the LAN9118 TX FIFO is full"),
        }
    }
}

impl core::error::Error for TransmitError {}

/// The LAN9118, reset and enabled.
#[derive(Debug)]
pub struct Lan9118 {
    base: usize,
    mac: [u8; 6],
    counters: Counters,
}

impl Lan9118 {
    /// The controller of QEMU's `mps2-an386` board, at [`MPS2_AN386_BASE`], set up as
    /// [`Lan9118::new`] does. A second call gives [`Error::AlreadyTaken`].
    pub fn mps2_an386() -> Result<Lan9118, Error> {
        static TAKEN: AtomicBool = AtomicBool::new(false);
        if TAKEN.swap(true, Ordering::AcqRel) {
            return Err(Error::AlreadyTaken);
        }
        // SAFETY: the flag above lets this run once, so this is the only `Lan9118` for the
        // board's controller, which `mps2-an386` maps at this address.
        unsafe { Lan9118::new(MPS2_AN386_BASE) }
    }

    /// Resets the controller whose registers start at `base` and enables its transmitter
    /// and receiver (see the module documentation for the steps).
    ///
    /// # Safety
    ///
    /// `base` must be the address of a LAN9118's register block (256 bytes, 32-bit bus),
    /// and nothing else may access those registers while the returned value lives (apart
    /// from an [`InterruptControl`] made from it).
    pub unsafe fn new(base: usize) -> Result<Lan9118, Error> {
        let mut chip = Lan9118 {
            base,
            mac: [0; 6],
            counters: Counters::default(),
        };
        let byte_test = chip.read(reg::BYTE_TEST);
        if byte_test != BYTE_TEST_VALUE {
            return Err(Error::ByteTest { read: byte_test });
        }
        let id_rev = chip.read(reg::ID_REV);
        if id_rev >> 16 != CHIP_ID {
            return Err(Error::UnknownChip { id_rev });
        }
        chip.write(reg::HW_CFG, HW_CFG_SRST);
        chip.wait_until(|chip| {
            chip.read(reg::HW_CFG) & HW_CFG_SRST == 0
                && chip.read(reg::PMT_CTRL) & PMT_CTRL_READY != 0
        })
        .ok_or(Error::ResetTimeout)?;
        let low = chip.mac_read(mac_reg::ADDRL)?.to_le_bytes();
        let high = chip.mac_read(mac_reg::ADDRH)?.to_le_bytes();
        chip.mac = [low[0], low[1], low[2], low[3], high[0], high[1]];
        // Transmit and receive; promiscuous mode (on after reset) off: frames to this
        // address and broadcast only.
        chip.mac_write(mac_reg::MAC_CR, MAC_CR_TXEN | MAC_CR_RXEN)?;
        chip.write(reg::TX_CFG, TX_CFG_TX_ON | TX_CFG_TXSAO);
        Ok(chip)
    }

    /// The MAC address (from the EEPROM at reset).
    pub fn mac(&self) -> [u8; 6] {
        self.mac
    }

    /// Frames received, dropped and sent so far.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// Whether a received frame waits in the RX FIFO.
    pub fn rx_frame_waiting(&self) -> bool {
        (self.read(reg::RX_FIFO_INF) >> 16) & 0xFF != 0
    }

    /// Copies the next good received frame (without its CRC) to the start of `frame` and
    /// returns its length; `None` when no frame waits. Frames with an error flag, shorter
    /// than an Ethernet header, or longer than `frame` are dropped on the way and counted.
    pub fn receive(&mut self, frame: &mut [u8]) -> Option<usize> {
        while self.rx_frame_waiting() {
            let status = self.read(reg::RX_STATUS_FIFO);
            let len_with_crc = ((status >> 16) & 0x3FFF) as usize;
            let words = len_with_crc.div_ceil(4);
            let len = len_with_crc.saturating_sub(CRC_LEN);
            let good = status & RX_STATUS_ERROR == 0 && len >= MIN_FRAME;
            match frame.get_mut(..len) {
                Some(data) if good => {
                    let mut words_read = 0;
                    for chunk in data.chunks_mut(4) {
                        let word = self.read(reg::RX_DATA_FIFO).to_le_bytes();
                        chunk.iter_mut().zip(word).for_each(|(to, from)| *to = from);
                        words_read += 1;
                    }
                    self.discard_rx_words(words.saturating_sub(words_read));
                    self.counters.received = self.counters.received.wrapping_add(1);
                    return Some(len);
                }
                _ => {
                    self.discard_rx_words(words);
                    self.counters.receive_errors = self.counters.receive_errors.wrapping_add(1);
                }
            }
        }
        None
    }

    /// Whether a frame of `len` bytes fits the TX data FIFO now (with its two command words).
    pub fn tx_space_available(&self, len: usize) -> bool {
        let free = (self.read(reg::TX_FIFO_INF) & 0xFFFF) as usize;
        free >= len.div_ceil(4) * 4 + 8
    }

    /// A network stack's transmit token, for both adapters: let `fill` write a frame of `len`
    /// bytes into `buffer`, then send it. The stacks ask for at most [`MAX_FRAME`]; a longer
    /// request gets a shorter buffer and nothing is sent. Sending fails only for a full FIFO,
    /// which the adapters rule out before handing out a token (and a stack could not hear of
    /// a failure anyway: TCP re-sends).
    pub(crate) fn fill_and_transmit<R>(
        &mut self,
        buffer: &mut [u8; MAX_FRAME],
        len: usize,
        fill: impl FnOnce(&mut [u8]) -> R,
    ) -> R {
        let frame_len = len.min(MAX_FRAME);
        let result = fill(buffer.get_mut(..frame_len).unwrap_or_default());
        if len <= MAX_FRAME {
            let _ = self.transmit(buffer.get(..frame_len).unwrap_or_default());
        }
        result
    }

    /// Sends `frame` (destination MAC first, no CRC: the controller adds it).
    pub fn transmit(&mut self, frame: &[u8]) -> Result<(), TransmitError> {
        let len = frame.len();
        if len == 0 || len > MAX_FRAME {
            return Err(TransmitError::BadLength { len });
        }
        if !self.tx_space_available(len) {
            return Err(TransmitError::NoSpace);
        }
        // `len` <= 1514 fits the 11-bit length fields; the tag (bits 31:16 of command B) is
        // the frame's number, which the TX status would echo.
        let len_field = len as u32;
        let tag = self.counters.sent & 0xFFFF;
        self.write(
            reg::TX_DATA_FIFO,
            TX_CMD_A_FIRST_SEGMENT | TX_CMD_A_LAST_SEGMENT | len_field,
        );
        self.write(reg::TX_DATA_FIFO, tag << 16 | len_field);
        for chunk in frame.chunks(4) {
            let mut word = [0u8; 4];
            word.iter_mut()
                .zip(chunk)
                .for_each(|(to, from)| *to = *from);
            self.write(reg::TX_DATA_FIFO, u32::from_le_bytes(word));
        }
        self.counters.sent = self.counters.sent.wrapping_add(1);
        Ok(())
    }

    /// Whether the internal PHY reports a link (basic status register, bit 2).
    pub fn link_up(&mut self) -> Result<bool, Error> {
        Ok(self.phy_read(PHY_BASIC_STATUS)? & PHY_LINK_UP != 0)
    }

    /// Turns the interrupt on for received frames: clears pending causes, enables INT_EN
    /// bit 3 (RX status waiting) and sets IRQ_CFG to 0x111 (see the module documentation).
    /// The line stays asserted until [`InterruptControl::clear`] acknowledges it; enable the
    /// NVIC line ([`MPS2_AN386_IRQ`] on `mps2-an386`) after this.
    pub fn enable_interrupts(&mut self) {
        self.write(reg::INT_STS, u32::MAX);
        self.write(reg::INT_EN, INT_RX_STATUS_LEVEL);
        self.write(reg::IRQ_CFG, IRQ_CFG_ENABLED_ACTIVE_HIGH_PUSH_PULL);
    }

    /// Turns the interrupt off (INT_EN = 0): the line goes inactive.
    pub fn disable_interrupts(&mut self) {
        self.write(reg::INT_EN, 0);
    }

    /// Acknowledges every pending interrupt cause and returns the causes (INT_STS bits).
    pub fn clear_interrupts(&mut self) -> u32 {
        self.interrupt_control().clear()
    }

    /// A handle that an interrupt handler can keep to acknowledge or mask the interrupt
    /// while the driver owns the [`Lan9118`].
    pub fn interrupt_control(&self) -> InterruptControl {
        InterruptControl { base: self.base }
    }

    fn discard_rx_words(&mut self, words: usize) {
        for _ in 0..words {
            let _ = self.read(reg::RX_DATA_FIFO);
        }
    }

    /// Repeats `done` until it holds, at most [`WAIT_READS`] times: `None` if it never did.
    fn wait_until(&self, mut done: impl FnMut(&Self) -> bool) -> Option<()> {
        (0..WAIT_READS).find(|_| done(self)).map(drop)
    }

    fn mac_read(&mut self, register: u32) -> Result<u32, Error> {
        self.write(reg::MAC_CSR_CMD, MAC_CSR_BUSY | MAC_CSR_READ | register);
        self.wait_until(|chip| chip.read(reg::MAC_CSR_CMD) & MAC_CSR_BUSY == 0)
            .ok_or(Error::MacCsrTimeout { register })?;
        Ok(self.read(reg::MAC_CSR_DATA))
    }

    fn mac_write(&mut self, register: u32, value: u32) -> Result<(), Error> {
        self.write(reg::MAC_CSR_DATA, value);
        self.write(reg::MAC_CSR_CMD, MAC_CSR_BUSY | register);
        self.wait_until(|chip| chip.read(reg::MAC_CSR_CMD) & MAC_CSR_BUSY == 0)
            .ok_or(Error::MacCsrTimeout { register })
    }

    fn phy_read(&mut self, register: u32) -> Result<u16, Error> {
        let idle = |chip: &mut Self| -> Result<bool, Error> {
            Ok(chip.mac_read(mac_reg::MII_ACC)? & MII_BUSY == 0)
        };
        let mut waited = 0;
        while !idle(self)? {
            waited += 1;
            if waited > WAIT_READS {
                return Err(Error::MiiTimeout { register });
            }
        }
        let command = INTERNAL_PHY << 11 | (register & 0x1F) << 6 | MII_BUSY;
        self.mac_write(mac_reg::MII_ACC, command & !MII_WRITE)?;
        let mut waited = 0;
        while !idle(self)? {
            waited += 1;
            if waited > WAIT_READS {
                return Err(Error::MiiTimeout { register });
            }
        }
        // The data register holds 16 bits.
        Ok(self.mac_read(mac_reg::MII_DATA)? as u16)
    }

    fn read(&self, offset: usize) -> u32 {
        // SAFETY: `base` is a LAN9118 register block (the contract of `new`) and `offset` is
        // one of the word-aligned register offsets in `reg`, all below its 256 bytes.
        unsafe { read_volatile((self.base + offset) as *const u32) }
    }

    fn write(&mut self, offset: usize, value: u32) {
        // SAFETY: as in `read`; `&mut self` keeps the FIFO protocol's sequences whole.
        unsafe { write_volatile((self.base + offset) as *mut u32, value) }
    }
}

/// Acknowledges and masks the LAN9118's interrupt, from an interrupt handler, while the
/// driver owns the [`Lan9118`]. It touches INT_STS and INT_EN only, which no FIFO sequence
/// of the driver uses.
#[derive(Clone, Copy, Debug)]
pub struct InterruptControl {
    base: usize,
}

impl InterruptControl {
    /// Acknowledges every pending cause (write 1 to clear) and returns them (INT_STS bits);
    /// the line goes inactive until the next cause (e.g. the next received frame).
    pub fn clear(&self) -> u32 {
        // SAFETY: INT_STS of the block `Lan9118::new` was given; reading has no side effect.
        let pending = unsafe { read_volatile((self.base + reg::INT_STS) as *const u32) };
        // SAFETY: writing 1s to INT_STS only clears those status bits.
        unsafe { write_volatile((self.base + reg::INT_STS) as *mut u32, pending) };
        pending
    }

    /// Masks the interrupt (INT_EN = 0); [`Lan9118::enable_interrupts`] unmasks it.
    pub fn mask(&self) {
        // SAFETY: INT_EN of the block `Lan9118::new` was given; 0 disables every cause.
        unsafe { write_volatile((self.base + reg::INT_EN) as *mut u32, 0) };
    }
}
