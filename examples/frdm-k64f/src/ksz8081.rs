//! The board's Ethernet PHY, a Microchip KSZ8081RNA at MDIO address 0.
//!
//! Standard IEEE 802.3 clause 22 registers for reset, advertisement and status, plus three
//! of the chip's own: the operation-mode strap override (0x16, to force RMII and leave
//! factory/NAND-tree test modes), PHY control 2 (0x1F, bit 7 selects the RMII reference clock
//! mode) and PHY control 1 (0x1E, bits 2..0 tell the negotiated speed and duplex).
//!
//! On the FRDM-K64F the PHY runs from its own 25 MHz crystal and drives the 50 MHz RMII
//! reference clock out to the MCU ("25 MHz mode", control 2 bit 7 clear; Zephyr describes this
//! board's PHY as `rmii-25MHz`). That same clock feeds the MCU's EXTAL0, so the core itself
//! runs from it: a PHY reset keeps the clock running (NXP's SDK resets it the same way).

use crate::enet::{Enet, Link, MdioTimeout, Speed};
use crate::uptime;
use core::fmt;

/// The PHY's MDIO address on the FRDM-K64F.
pub const ADDRESS: u8 = 0;

const BMCR: u8 = 0x00;
const BMCR_RESET: u16 = 1 << 15;
const BMCR_AUTONEG_ENABLE: u16 = 1 << 12;
const BMCR_AUTONEG_RESTART: u16 = 1 << 9;
const BMSR: u8 = 0x01;
const BMSR_AUTONEG_COMPLETE: u16 = 1 << 5;
const BMSR_LINK_UP: u16 = 1 << 2;
const PHY_ID1: u8 = 0x02;
const PHY_ID2: u8 = 0x03;
const ANAR: u8 = 0x04;
/// 100BASE-TX full and half, 10BASE-T full and half, selector IEEE 802.3.
const ANAR_ALL_10_100: u16 = 0x01E1;
const OMSO: u8 = 0x16;
const OMSO_FACTORY_MODE: u16 = 1 << 15;
const OMSO_NAND_TREE: u16 = 1 << 5;
const OMSO_RMII_OVERRIDE: u16 = 1 << 1;
const OMSO_MII_OVERRIDE: u16 = 1 << 0;
const CONTROL1: u8 = 0x1E;
const CONTROL1_MODE_MASK: u16 = 0b111;
const CONTROL2: u8 = 0x1F;
const CONTROL2_RMII_50MHZ_MODE: u16 = 1 << 7;

/// The KSZ8081's organisationally unique identifier bits in PHY_ID1.
const KSZ8081_ID1: u16 = 0x0022;
/// PHY_ID2 with the revision nibble masked off.
const KSZ8081_ID2: u16 = 0x1560;
/// IEEE 802.3 22.2.4.1.1: a reset completes within 0.5 s.
const RESET_TIMEOUT_MS: u64 = 500;

/// Why the PHY could not be set up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PhyError {
    /// A management frame was lost.
    Mdio(MdioTimeout),
    /// Something else answers at address 0 (or nothing: all ones).
    UnexpectedId {
        /// PHY_ID1 as read.
        id1: u16,
        /// PHY_ID2 as read.
        id2: u16,
    },
    /// `BMCR.RESET` did not clear within 0.5 s.
    ResetStuck,
}

impl From<MdioTimeout> for PhyError {
    fn from(error: MdioTimeout) -> Self {
        PhyError::Mdio(error)
    }
}

impl fmt::Display for PhyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PhyError::Mdio(error) => write!(f, "{error}"),
            PhyError::UnexpectedId { id1, id2 } => write!(
                f,
                "PHY at MDIO address {ADDRESS} has id {id1:#06x}:{id2:#06x}, \
                 expected KSZ8081 {KSZ8081_ID1:#06x}:{KSZ8081_ID2:#06x}"
            ),
            PhyError::ResetStuck => f.write_str("PHY did not finish its reset within 0.5 s"),
        }
    }
}

impl core::error::Error for PhyError {}

/// Checks the PHY's identity, resets it, forces RMII with the 25 MHz-crystal clock mode,
/// advertises 10/100 full/half duplex and starts auto-negotiation. Does not wait for a link:
/// poll [`link`].
pub fn init(enet: &Enet) -> Result<(), PhyError> {
    let id1 = enet.mdio_read(ADDRESS, PHY_ID1)?;
    let id2 = enet.mdio_read(ADDRESS, PHY_ID2)?;
    if id1 != KSZ8081_ID1 || id2 & 0xFFF0 != KSZ8081_ID2 {
        return Err(PhyError::UnexpectedId { id1, id2 });
    }

    enet.mdio_write(ADDRESS, BMCR, BMCR_RESET)?;
    let deadline = uptime::millis() + RESET_TIMEOUT_MS;
    while enet.mdio_read(ADDRESS, BMCR)? & BMCR_RESET != 0 {
        if uptime::millis() > deadline {
            return Err(PhyError::ResetStuck);
        }
    }

    let omso = enet.mdio_read(ADDRESS, OMSO)?;
    let omso =
        (omso & !(OMSO_FACTORY_MODE | OMSO_NAND_TREE | OMSO_MII_OVERRIDE)) | OMSO_RMII_OVERRIDE;
    enet.mdio_write(ADDRESS, OMSO, omso)?;
    let control2 = enet.mdio_read(ADDRESS, CONTROL2)?;
    enet.mdio_write(ADDRESS, CONTROL2, control2 & !CONTROL2_RMII_50MHZ_MODE)?;

    enet.mdio_write(ADDRESS, ANAR, ANAR_ALL_10_100)?;
    enet.mdio_write(ADDRESS, BMCR, BMCR_AUTONEG_ENABLE | BMCR_AUTONEG_RESTART)?;
    Ok(())
}

/// The negotiated link, or `None` while the link is down or still negotiating.
pub fn link(enet: &Enet) -> Result<Option<Link>, MdioTimeout> {
    // The link bit latches low: the first read reports a drop since the last read, the
    // second the current state.
    let _ = enet.mdio_read(ADDRESS, BMSR)?;
    let status = enet.mdio_read(ADDRESS, BMSR)?;
    if status & BMSR_LINK_UP == 0 || status & BMSR_AUTONEG_COMPLETE == 0 {
        return Ok(None);
    }
    let mode = enet.mdio_read(ADDRESS, CONTROL1)? & CONTROL1_MODE_MASK;
    Ok(link_from_operation_mode(mode))
}

/// Decodes PHY control 1 bits 2..0 ("operation mode indication").
fn link_from_operation_mode(mode: u16) -> Option<Link> {
    let (speed, full_duplex) = match mode {
        0b001 => (Speed::Mbps10, false),
        0b010 => (Speed::Mbps100, false),
        0b101 => (Speed::Mbps10, true),
        0b110 => (Speed::Mbps100, true),
        _ => return None, // 0b000: still negotiating; others are reserved
    };
    Some(Link { speed, full_duplex })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_modes_decode_as_the_datasheet_lists_them() {
        let link = |speed, full_duplex| Some(Link { speed, full_duplex });
        assert_eq!(link_from_operation_mode(0b001), link(Speed::Mbps10, false));
        assert_eq!(link_from_operation_mode(0b010), link(Speed::Mbps100, false));
        assert_eq!(link_from_operation_mode(0b101), link(Speed::Mbps10, true));
        assert_eq!(link_from_operation_mode(0b110), link(Speed::Mbps100, true));
        for reserved in [0b000, 0b011, 0b100, 0b111] {
            assert_eq!(link_from_operation_mode(reserved), None, "{reserved:#05b}");
        }
    }
}
