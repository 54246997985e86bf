//! The MK64FN1M0VLL12 registers this firmware touches, written by hand.
//!
//! Only the registers and bits actually used are listed. Addresses, register widths and bit
//! positions follow the K64 Sub-Family Reference Manual (K64P144M120SF5RM); every `Reg::at`
//! address and every `NAME_FIELD` / `NAME_FIELD_SHIFT` constant below is checked mechanically
//! against NXP's `MK64F12.svd` by `scripts/check-regs.py` (see the README). Names are the
//! manual's: module, register, field.
//!
//! A [`Reg`] can only be made inside this module, from the addresses written here, which is
//! what makes its volatile accesses sound: each is an aligned peripheral register of width
//! `T`. Registers that hand the ENET DMA a memory address are a separate type,
//! [`DmaAddressReg`], whose write is `unsafe`, because a wrong address lets the DMA write
//! anywhere.

use core::marker::PhantomData;
use core::ops::{BitAnd, BitOr, Not};

/// One peripheral register of width `T` (`u8`, `u16` or `u32`) at a fixed address.
#[derive(Clone, Copy)]
pub struct Reg<T> {
    address: usize,
    width: PhantomData<T>,
}

impl<T> Reg<T>
where
    T: Copy + BitOr<Output = T> + BitAnd<Output = T> + Not<Output = T>,
{
    const fn at(address: usize) -> Self {
        Reg {
            address,
            width: PhantomData,
        }
    }

    /// Reads the register.
    #[inline(always)]
    pub fn read(self) -> T {
        // SAFETY: `Reg` values exist only for the addresses in this module, each an aligned,
        // always-mapped peripheral register of width `T` (checked against the SVD).
        unsafe { core::ptr::read_volatile(self.address as *const T) }
    }

    /// Writes the register.
    #[inline(always)]
    pub fn write(self, value: T) {
        // SAFETY: as in `read`; writing these registers changes no memory the program owns
        // (DMA address registers are `DmaAddressReg`, not `Reg`).
        unsafe { core::ptr::write_volatile(self.address as *mut T, value) }
    }

    /// Read-modify-write: sets the bits in `bits`.
    #[inline(always)]
    pub fn set_bits(self, bits: T) {
        self.write(self.read() | bits);
    }

    /// Read-modify-write: clears the bits in `bits`.
    #[inline(always)]
    pub fn clear_bits(self, bits: T) {
        self.write(self.read() & !bits);
    }

    /// Read-modify-write: replaces the bits under `mask` by `value` (already shifted).
    #[inline(always)]
    pub fn write_field(self, mask: T, value: T) {
        self.write((self.read() & !mask) | (value & mask));
    }

    /// The register's address (for the watchdog's start-up assembly and diagnostics).
    pub const fn address(self) -> usize {
        self.address
    }
}

/// A 32-bit register that holds a memory address the ENET DMA reads or writes.
#[derive(Clone, Copy)]
pub struct DmaAddressReg(Reg<u32>);

impl DmaAddressReg {
    /// Hands the DMA the address `address`.
    ///
    /// # Safety
    ///
    /// `address` must point to memory laid out as the register's description requires, that
    /// nothing else reads or writes except through the ENET descriptor protocol, and that
    /// stays valid for as long as the ENET is enabled.
    pub unsafe fn write(self, address: u32) {
        self.0.write(address);
    }
}

/// SIM: system integration module (clock gates, dividers, unique id).
pub mod sim {
    use super::Reg;

    /// System options 2: PLLFLLSEL, RMIISRC.
    pub const SOPT2: Reg<u32> = Reg::at(0x4004_8004);
    /// PLLFLLSEL field: selects the clock for peripherals that take MCGFLLCLK/MCGPLLCLK.
    pub const SOPT2_PLLFLLSEL_MASK: u32 = 0b11 << SOPT2_PLLFLLSEL_SHIFT;
    /// PLLFLLSEL position.
    pub const SOPT2_PLLFLLSEL_SHIFT: u32 = 16;
    /// RMIISRC: 0 = EXTAL clock, 1 = ENET_1588_CLKIN.
    pub const SOPT2_RMIISRC: u32 = 1 << 19;
    /// Clock gate 2.
    pub const SCGC2: Reg<u32> = Reg::at(0x4004_802C);
    /// ENET clock gate.
    pub const SCGC2_ENET: u32 = 1 << 0;
    /// Clock gate 4.
    pub const SCGC4: Reg<u32> = Reg::at(0x4004_8034);
    /// UART0 clock gate.
    pub const SCGC4_UART0: u32 = 1 << 10;
    /// Clock gate 5.
    pub const SCGC5: Reg<u32> = Reg::at(0x4004_8038);
    /// PORTA clock gate.
    pub const SCGC5_PORTA: u32 = 1 << 9;
    /// PORTB clock gate.
    pub const SCGC5_PORTB: u32 = 1 << 10;
    /// PORTE clock gate.
    pub const SCGC5_PORTE: u32 = 1 << 13;
    /// Clock gate 6.
    pub const SCGC6: Reg<u32> = Reg::at(0x4004_803C);
    /// RNGA clock gate.
    pub const SCGC6_RNGA: u32 = 1 << 9;
    /// PIT clock gate.
    pub const SCGC6_PIT: u32 = 1 << 23;
    /// RTC register access gate (the RTC itself runs from VBAT regardless).
    pub const SCGC6_RTC: u32 = 1 << 29;
    /// Clock divider 1: OUTDIV1 core/system, OUTDIV2 bus, OUTDIV3 FlexBus, OUTDIV4 flash.
    pub const CLKDIV1: Reg<u32> = Reg::at(0x4004_8044);
    /// OUTDIV1 position.
    pub const CLKDIV1_OUTDIV1_SHIFT: u32 = 28;
    /// OUTDIV2 position.
    pub const CLKDIV1_OUTDIV2_SHIFT: u32 = 24;
    /// OUTDIV3 position.
    pub const CLKDIV1_OUTDIV3_SHIFT: u32 = 20;
    /// OUTDIV4 position.
    pub const CLKDIV1_OUTDIV4_SHIFT: u32 = 16;
    /// Unique id, bits 127..96.
    pub const UIDH: Reg<u32> = Reg::at(0x4004_8054);
    /// Unique id, bits 95..64.
    pub const UIDMH: Reg<u32> = Reg::at(0x4004_8058);
    /// Unique id, bits 63..32.
    pub const UIDML: Reg<u32> = Reg::at(0x4004_805C);
    /// Unique id, bits 31..0.
    pub const UIDL: Reg<u32> = Reg::at(0x4004_8060);
}

/// WDOG: the watchdog (disabled by `__pre_init` in `main.rs`, which uses these addresses).
pub mod wdog {
    use super::Reg;

    /// Status and control high.
    pub const STCTRLH: Reg<u16> = Reg::at(0x4005_2000);
    /// WDOGEN: watchdog enable.
    pub const STCTRLH_WDOGEN: u16 = 1 << 0;
    /// ALLOWUPDATE: write-once registers may be unlocked again.
    pub const STCTRLH_ALLOWUPDATE: u16 = 1 << 4;
    /// Unlock register: write 0xC520 then 0xD928.
    pub const UNLOCK: Reg<u16> = Reg::at(0x4005_200E);
}

/// MCG: multipurpose clock generator (8-bit registers).
pub mod mcg {
    use super::Reg;

    /// Control 1: CLKS, FRDIV, IREFS.
    pub const C1: Reg<u8> = Reg::at(0x4006_4000);
    /// CLKS position (0 = FLL/PLL output, 1 = internal ref, 2 = external ref).
    pub const C1_CLKS_SHIFT: u8 = 6;
    /// FRDIV position (FLL external reference divider).
    pub const C1_FRDIV_SHIFT: u8 = 3;
    /// IREFS: FLL reference is the slow internal clock.
    pub const C1_IREFS: u8 = 1 << 2;
    /// Control 2: RANGE, HGO, EREFS.
    pub const C2: Reg<u8> = Reg::at(0x4006_4001);
    /// RANGE0 position (2 = very high frequency, for 50 MHz).
    pub const C2_RANGE_SHIFT: u8 = 4;
    /// EREFS0: 1 = crystal oscillator, 0 = external clock on EXTAL0.
    pub const C2_EREFS: u8 = 1 << 2;
    /// Control 5: PRDIV0 (PLL reference divider = PRDIV0 + 1).
    pub const C5: Reg<u8> = Reg::at(0x4006_4004);
    /// PRDIV0 position.
    pub const C5_PRDIV0_SHIFT: u8 = 0;
    /// Control 6: PLLS, VDIV0 (VCO multiplier = VDIV0 + 24).
    pub const C6: Reg<u8> = Reg::at(0x4006_4005);
    /// VDIV0 position.
    pub const C6_VDIV0_SHIFT: u8 = 0;
    /// PLLS: the PLL (not the FLL) drives the FLL/PLL output.
    pub const C6_PLLS: u8 = 1 << 6;
    /// Status.
    pub const S: Reg<u8> = Reg::at(0x4006_4006);
    /// CLKST field: which clock drives MCGOUTCLK (3 = PLL, 2 = external, 0 = FLL).
    pub const S_CLKST_MASK: u8 = 0b11 << S_CLKST_SHIFT;
    /// CLKST position.
    pub const S_CLKST_SHIFT: u8 = 2;
    /// IREFST: the FLL reference is the internal clock.
    pub const S_IREFST: u8 = 1 << 4;
    /// PLLST: the PLLS mux has switched to the PLL.
    pub const S_PLLST: u8 = 1 << 5;
    /// LOCK0: the PLL has locked.
    pub const S_LOCK0: u8 = 1 << 6;
}

/// OSC: the system oscillator's control (8-bit).
pub mod osc {
    use super::Reg;

    /// Control register.
    pub const CR: Reg<u8> = Reg::at(0x4006_5000);
    /// ERCLKEN: OSCERCLK enabled.
    pub const CR_ERCLKEN: u8 = 1 << 7;
}

/// SYSMPU: the system memory protection unit, which by default blocks the ENET DMA.
pub mod sysmpu {
    use super::Reg;

    /// Control/error status.
    pub const CESR: Reg<u32> = Reg::at(0x4000_D000);
    /// VLD: the MPU checks accesses.
    pub const CESR_VLD: u32 = 1 << 0;
}

/// PORTx: pin control registers.
pub mod port {
    use super::Reg;

    /// PORTA base.
    pub const PORTA: usize = 0x4004_9000;
    /// PORTB base.
    pub const PORTB: usize = 0x4004_A000;
    /// PORTE base.
    pub const PORTE: usize = 0x4004_D000;

    /// Pin control register `pin` (0..=31) of the port at `base` (one of the constants above).
    pub const fn pcr(base: usize, pin: u32) -> Reg<u32> {
        let base = match base {
            PORTA | PORTB | PORTE => base,
            _ => PORTA,
        };
        Reg::at(base + 4 * (pin & 31) as usize)
    }

    /// PS: pull-up (1) or pull-down (0), when PE is set.
    pub const PCR_PS: u32 = 1 << 0;
    /// PE: pull enable.
    pub const PCR_PE: u32 = 1 << 1;
    /// ODE: open-drain output.
    pub const PCR_ODE: u32 = 1 << 5;
    /// MUX position: the alternative function number.
    pub const PCR_MUX_SHIFT: u32 = 8;
}

/// GPIO ports B and E (the LEDs).
pub mod gpio {
    use super::Reg;

    /// Port B set output.
    pub const GPIOB_PSOR: Reg<u32> = Reg::at(0x400F_F044);
    /// Port B clear output.
    pub const GPIOB_PCOR: Reg<u32> = Reg::at(0x400F_F048);
    /// Port B data direction.
    pub const GPIOB_PDDR: Reg<u32> = Reg::at(0x400F_F054);
    /// Port E set output.
    pub const GPIOE_PSOR: Reg<u32> = Reg::at(0x400F_F104);
    /// Port E clear output.
    pub const GPIOE_PCOR: Reg<u32> = Reg::at(0x400F_F108);
    /// Port E data direction.
    pub const GPIOE_PDDR: Reg<u32> = Reg::at(0x400F_F114);
}

/// UART0 (8-bit registers). Clocked from the core/system clock.
pub mod uart0 {
    use super::Reg;

    /// Baud rate high: SBR[12:8].
    pub const BDH: Reg<u8> = Reg::at(0x4006_A000);
    /// Baud rate low: SBR[7:0]; writing it latches the new divisor.
    pub const BDL: Reg<u8> = Reg::at(0x4006_A001);
    /// Control 1: frame format (0 = 8N1).
    pub const C1: Reg<u8> = Reg::at(0x4006_A002);
    /// Control 2: TE, RE.
    pub const C2: Reg<u8> = Reg::at(0x4006_A003);
    /// RE: receiver enable.
    pub const C2_RE: u8 = 1 << 2;
    /// TE: transmitter enable.
    pub const C2_TE: u8 = 1 << 3;
    /// Status 1.
    pub const S1: Reg<u8> = Reg::at(0x4006_A004);
    /// PF: parity error.
    pub const S1_PF: u8 = 1 << 0;
    /// FE: framing error.
    pub const S1_FE: u8 = 1 << 1;
    /// NF: noise.
    pub const S1_NF: u8 = 1 << 2;
    /// OR: receiver overrun.
    pub const S1_OR: u8 = 1 << 3;
    /// RDRF: receive data available.
    pub const S1_RDRF: u8 = 1 << 5;
    /// TC: transmission complete (the shifter is idle).
    pub const S1_TC: u8 = 1 << 6;
    /// TDRE: room in the transmit buffer.
    pub const S1_TDRE: u8 = 1 << 7;
    /// Data.
    pub const D: Reg<u8> = Reg::at(0x4006_A007);
    /// Control 4: BRFA (baud rate fine adjust, in 1/32).
    pub const C4: Reg<u8> = Reg::at(0x4006_A00A);
    /// BRFA field.
    pub const C4_BRFA_MASK: u8 = 0b1_1111;
    /// FIFO parameters.
    pub const PFIFO: Reg<u8> = Reg::at(0x4006_A010);
    /// RXFE: receive FIFO enable (only while TE and RE are off).
    pub const PFIFO_RXFE: u8 = 1 << 3;
    /// FIFO control.
    pub const CFIFO: Reg<u8> = Reg::at(0x4006_A011);
    /// RXFLUSH: empty the receive FIFO.
    pub const CFIFO_RXFLUSH: u8 = 1 << 6;
}

/// ENET: the 10/100 Ethernet MAC.
pub mod enet {
    use super::{DmaAddressReg, Reg};

    /// Interrupt event (write 1 to clear).
    pub const EIR: Reg<u32> = Reg::at(0x400C_0004);
    /// MII: an MDIO management frame completed.
    pub const EIR_MII: u32 = 1 << 23;
    /// Interrupt mask.
    pub const EIMR: Reg<u32> = Reg::at(0x400C_0008);
    /// Receive descriptor active.
    pub const RDAR: Reg<u32> = Reg::at(0x400C_0010);
    /// RDAR: there are empty receive descriptors.
    pub const RDAR_RDAR: u32 = 1 << 24;
    /// Transmit descriptor active.
    pub const TDAR: Reg<u32> = Reg::at(0x400C_0014);
    /// TDAR: there are ready transmit descriptors.
    pub const TDAR_TDAR: u32 = 1 << 24;
    /// Ethernet control.
    pub const ECR: Reg<u32> = Reg::at(0x400C_0024);
    /// RESET: MAC reset (self-clearing).
    pub const ECR_RESET: u32 = 1 << 0;
    /// ETHEREN: MAC enabled.
    pub const ECR_ETHEREN: u32 = 1 << 1;
    /// EN1588: enhanced descriptors (left clear: legacy 8-byte descriptors).
    pub const ECR_EN1588: u32 = 1 << 4;
    /// DBSWP: descriptor byte swapping, for a little-endian core.
    pub const ECR_DBSWP: u32 = 1 << 8;
    /// MII management frame.
    pub const MMFR: Reg<u32> = Reg::at(0x400C_0040);
    /// DATA field.
    pub const MMFR_DATA_MASK: u32 = 0xFFFF;
    /// TA position (turnaround, must be 0b10).
    pub const MMFR_TA_SHIFT: u32 = 16;
    /// RA position (PHY register address).
    pub const MMFR_RA_SHIFT: u32 = 18;
    /// PA position (PHY address).
    pub const MMFR_PA_SHIFT: u32 = 23;
    /// OP position (0b01 write, 0b10 read).
    pub const MMFR_OP_SHIFT: u32 = 28;
    /// ST position (start of frame, must be 0b01).
    pub const MMFR_ST_SHIFT: u32 = 30;
    /// MII speed control.
    pub const MSCR: Reg<u32> = Reg::at(0x400C_0044);
    /// MII_SPEED position: MDC = module clock / ((MII_SPEED + 1) * 2).
    pub const MSCR_MII_SPEED_SHIFT: u32 = 1;
    /// HOLDTIME position: MDIO hold = HOLDTIME + 1 module clock cycles.
    pub const MSCR_HOLDTIME_SHIFT: u32 = 8;
    /// Receive control.
    pub const RCR: Reg<u32> = Reg::at(0x400C_0084);
    /// MII_MODE: must be set (MII or RMII).
    pub const RCR_MII_MODE: u32 = 1 << 2;
    /// RMII_MODE: RMII rather than MII.
    pub const RCR_RMII_MODE: u32 = 1 << 8;
    /// RMII_10T: 10 Mb/s in RMII mode.
    pub const RCR_RMII_10T: u32 = 1 << 9;
    /// MAX_FL position: maximum frame length.
    pub const RCR_MAX_FL_SHIFT: u32 = 16;
    /// Transmit control.
    pub const TCR: Reg<u32> = Reg::at(0x400C_00C4);
    /// FDEN: full duplex.
    pub const TCR_FDEN: u32 = 1 << 2;
    /// Physical address lower (MAC bytes 0..4, byte 0 in bits 31:24).
    pub const PALR: Reg<u32> = Reg::at(0x400C_00E4);
    /// Physical address upper (MAC bytes 4..6 in bits 31:16) and pause TYPE.
    pub const PAUR: Reg<u32> = Reg::at(0x400C_00E8);
    /// Individual address hash, upper.
    pub const IAUR: Reg<u32> = Reg::at(0x400C_0118);
    /// Individual address hash, lower.
    pub const IALR: Reg<u32> = Reg::at(0x400C_011C);
    /// Group (multicast) address hash, upper.
    pub const GAUR: Reg<u32> = Reg::at(0x400C_0120);
    /// Group (multicast) address hash, lower.
    pub const GALR: Reg<u32> = Reg::at(0x400C_0124);
    /// Transmit FIFO watermark.
    pub const TFWR: Reg<u32> = Reg::at(0x400C_0144);
    /// STRFWD: store and forward (transmit starts once the whole frame is in the FIFO).
    pub const TFWR_STRFWD: u32 = 1 << 8;
    /// Receive descriptor ring start (16-byte aligned here; the manual asks for at least 8).
    pub const RDSR: DmaAddressReg = DmaAddressReg(Reg::at(0x400C_0180));
    /// Transmit descriptor ring start.
    pub const TDSR: DmaAddressReg = DmaAddressReg(Reg::at(0x400C_0184));
    /// Maximum receive buffer size (a multiple of 16).
    pub const MRBR: Reg<u32> = Reg::at(0x400C_0188);
}

/// RNGA: random number generator accelerator (SVD name `RNG`).
pub mod rng {
    use super::Reg;

    /// Control.
    pub const CR: Reg<u32> = Reg::at(0x4002_9000);
    /// GO: generate.
    pub const CR_GO: u32 = 1 << 0;
    /// HA: high assurance (report security violations).
    pub const CR_HA: u32 = 1 << 1;
    /// INTM: mask the error interrupt.
    pub const CR_INTM: u32 = 1 << 2;
    /// Status.
    pub const SR: Reg<u32> = Reg::at(0x4002_9004);
    /// SECV: security violation (with HA set).
    pub const SR_SECV: u32 = 1 << 0;
    /// ERRI: error interrupt (output register read while empty).
    pub const SR_ERRI: u32 = 1 << 3;
    /// OREG_LVL field: words waiting in the output register.
    pub const SR_OREG_LVL_MASK: u32 = 0xFF << SR_OREG_LVL_SHIFT;
    /// OREG_LVL position.
    pub const SR_OREG_LVL_SHIFT: u32 = 8;
    /// Output (one 32-bit random word per read).
    pub const OR: Reg<u32> = Reg::at(0x4002_900C);
}

/// RTC: the real-time clock (VBAT domain).
pub mod rtc {
    use super::Reg;

    /// Time seconds.
    pub const TSR: Reg<u32> = Reg::at(0x4003_D000);
    /// Time prescaler (32.768 kHz ticks within the second).
    pub const TPR: Reg<u32> = Reg::at(0x4003_D004);
    /// Control.
    pub const CR: Reg<u32> = Reg::at(0x4003_D010);
    /// OSCE: 32.768 kHz oscillator enable.
    pub const CR_OSCE: u32 = 1 << 8;
    /// SC8P: 8 pF load.
    pub const CR_SC8P: u32 = 1 << 11;
    /// SC2P: 2 pF load.
    pub const CR_SC2P: u32 = 1 << 13;
    /// Status.
    pub const SR: Reg<u32> = Reg::at(0x4003_D014);
    /// TIF: time invalid (after VBAT power-on or a software reset of the RTC).
    pub const SR_TIF: u32 = 1 << 0;
    /// TOF: time overflow.
    pub const SR_TOF: u32 = 1 << 1;
    /// TCE: time counter enable.
    pub const SR_TCE: u32 = 1 << 4;
}

/// PIT: periodic interrupt timers, used here as a free-running 64-bit counter.
pub mod pit {
    use super::Reg;

    /// Module control.
    pub const MCR: Reg<u32> = Reg::at(0x4003_7000);
    /// MDIS: module disabled.
    pub const MCR_MDIS: u32 = 1 << 1;
    /// Channel 0 load value.
    pub const LDVAL0: Reg<u32> = Reg::at(0x4003_7100);
    /// Channel 0 current value.
    pub const CVAL0: Reg<u32> = Reg::at(0x4003_7104);
    /// Channel 0 control.
    pub const TCTRL0: Reg<u32> = Reg::at(0x4003_7108);
    /// Channel 1 load value.
    pub const LDVAL1: Reg<u32> = Reg::at(0x4003_7110);
    /// Channel 1 current value.
    pub const CVAL1: Reg<u32> = Reg::at(0x4003_7114);
    /// Channel 1 control.
    pub const TCTRL1: Reg<u32> = Reg::at(0x4003_7118);
    /// TEN: timer enable.
    pub const TCTRL_TEN: u32 = 1 << 0;
    /// CHN: chained to the previous channel.
    pub const TCTRL_CHN: u32 = 1 << 2;
}
