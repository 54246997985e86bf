//! FRDM-K64F bring-up: flash configuration, memory protection, clocks, pins and LEDs.
//!
//! The watchdog is switched off before this runs, by `__pre_init` in `main.rs` (it must
//! happen within the first second, before RAM is initialised).
//!
//! Clocks. On this board the Ethernet PHY (KSZ8081RNA, 25 MHz crystal) outputs the 50 MHz
//! RMII reference clock, which also drives the MCU's EXTAL0. [`init`] moves the MCG from its
//! reset mode (FEI, about 21 MHz from the internal 32 kHz reference) to PEE at 120 MHz the
//! way NXP's SDK does (`BOARD_BootClockRUN`): FEI -> FBE (external clock) -> PBE (PLL locked,
//! bypassed) -> PEE, with the PLL at 50 MHz / 20 * 48 = 120 MHz, and the system dividers at
//! core 120, bus 60, FlexBus 40 and flash 24 MHz, set first so that no clock is ever over
//! its limit. Each wait is bounded: if the 50 MHz clock is missing, the MCU falls back to
//! FEI and says so ([`ClockSource::InternalFallback`]); the console then still works.

use crate::regs::{gpio, mcg, osc, port, sim, sysmpu};

/// The flash configuration field, bytes 0x400..0x410 of the image (K64 RM 29.3.1).
///
/// | bytes | field | value |
/// |---|---|---|
/// | 0..8 | backdoor comparison key | all 0xFF (disabled by KEYEN below) |
/// | 8..12 | FPROT3..0 | 0xFF: no program flash region protected |
/// | 12 | FSEC | 0xFE: KEYEN = 0b11 (backdoor off), MEEN = 0b11 (mass erase allowed), FSLACC = 0b11 (factory access granted), SEC = 0b10 (unsecured) |
/// | 13 | FOPT | 0xFF: defaults (normal boot, EzPort and NMI pin as at reset) |
/// | 14 | FEPROT | 0xFF: no EEPROM protection |
/// | 15 | FDPROT | 0xFF: no data flash protection |
///
/// A wrong FSEC can secure the part and, with mass erase disabled, lock it for good; the
/// linker script places this at 0x400 and asserts its size (see `memory.x`), and
/// `scripts/check-image.sh` reads the bytes back from the built image.
pub const FLASH_CONFIGURATION: [u8; 16] = [
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, // backdoor key
    0xFF, 0xFF, 0xFF, 0xFF, // FPROT3, FPROT2, FPROT1, FPROT0
    0xFE, // FSEC
    0xFF, // FOPT
    0xFF, // FEPROT
    0xFF, // FDPROT
];

/// Where the core clock comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClockSource {
    /// PEE: the PLL at 120 MHz from the PHY's 50 MHz reference.
    Pll120MHz,
    /// FEI: the FLL at about 20.97 MHz from the internal reference, because the 50 MHz
    /// clock did not show up (the step that failed is named).
    InternalFallback(&'static str),
}

/// The clock frequencies the peripherals are set up with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Clocks {
    /// Core and system clock (also UART0, UART1 and the ENET module clock).
    pub core_hz: u32,
    /// Bus clock (PIT, most other peripherals).
    pub bus_hz: u32,
    /// How the core clock is made.
    pub source: ClockSource,
}

/// PLL reference divider: 50 MHz / 20 = 2.5 MHz (PRDIV0 = divider - 1; the PLL needs 2..4 MHz).
const PLL_PRDIV0: u8 = 20 - 1;
/// VCO multiplier: 2.5 MHz * 48 = 120 MHz (VDIV0 = multiplier - 24).
const PLL_VDIV0: u8 = 48 - 24;
/// FLL external reference divider while in FBE: with RANGE != 0, FRDIV = 7 divides by 1536,
/// giving 32.55 kHz, inside the FLL's 31.25..39.0625 kHz input range (the SDK leaves 0 here;
/// the FLL output is never used, the manual still asks for a valid reference).
const FBE_FRDIV: u8 = 7;
/// CLKDIV1: OUTDIV1 /1 (core 120), OUTDIV2 /2 (bus 60), OUTDIV3 /3 (FlexBus 40), OUTDIV4 /5
/// (flash 24, max 25). Equals NXP's 0x01240000.
const CLKDIV1_RUN: u32 = divide_by(1, sim::CLKDIV1_OUTDIV1_SHIFT)
    | divide_by(2, sim::CLKDIV1_OUTDIV2_SHIFT)
    | divide_by(3, sim::CLKDIV1_OUTDIV3_SHIFT)
    | divide_by(5, sim::CLKDIV1_OUTDIV4_SHIFT);

/// An OUTDIVn field value: the divider minus one, in place.
const fn divide_by(divider: u32, shift: u32) -> u32 {
    (divider - 1) << shift
}
/// FEI core clock at reset: 32.768 kHz * 640 (DRST_DRS = 0, DMX32 = 0).
const FEI_CORE_HZ: u32 = 20_971_520;
/// How many status polls a clock switch may take before we give up (~10 ms at 21 MHz are
/// plenty: the PLL locks within about 1 ms).
const CLOCK_WAIT_POLLS: u32 = 1_000_000;

/// Pin mux alternatives (PCR.MUX) used on this board, from the K64 signal multiplexing table.
const MUX_GPIO: u32 = 1;
const MUX_UART0: u32 = 3;
const MUX_ENET: u32 = 4;

/// The three user LEDs (active low).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Led {
    /// Red, PTB22.
    Red,
    /// Green, PTE26.
    Green,
    /// Blue, PTB21.
    Blue,
}

/// Brings the board up: memory protection off for the ENET DMA, clocks to 120 MHz, pins for
/// UART0 and RMII, LEDs off. Call once, first thing in `main`.
pub fn init() -> Clocks {
    // The system MPU is enabled at reset and lets only the core through its default region;
    // the ENET's DMA master would fault on every descriptor fetch. NXP's ENET examples turn
    // it off the same way.
    sysmpu::CESR.clear_bits(sysmpu::CESR_VLD);

    sim::SCGC5.set_bits(sim::SCGC5_PORTA | sim::SCGC5_PORTB | sim::SCGC5_PORTE);
    let clocks = clocks_to_pee();
    init_pins();
    for led in [Led::Red, Led::Green, Led::Blue] {
        set_led(led, false);
    }
    clocks
}

fn wait_until(mut done: impl FnMut() -> bool) -> bool {
    (0..CLOCK_WAIT_POLLS).any(|_| done())
}

fn clock_status() -> u8 {
    (mcg::S.read() & mcg::S_CLKST_MASK) >> mcg::S_CLKST_SHIFT
}

fn clocks_to_pee() -> Clocks {
    sim::CLKDIV1.write(CLKDIV1_RUN);
    // OSC0 in external clock mode (EREFS = 0: no crystal, EXTAL0 is driven) at "very high"
    // range; OSCERCLK on, no load capacitors.
    osc::CR.write(osc::CR_ERCLKEN);
    mcg::C2.write(2 << mcg::C2_RANGE_SHIFT);

    // FEI -> FBE: MCGOUTCLK from the external reference, FLL referenced to it too.
    mcg::C1.write(2 << mcg::C1_CLKS_SHIFT | FBE_FRDIV << mcg::C1_FRDIV_SHIFT);
    if !wait_until(|| mcg::S.read() & mcg::S_IREFST == 0) {
        return fall_back_to_fei("FLL reference did not switch to EXTAL0");
    }
    if !wait_until(|| clock_status() == 2) {
        return fall_back_to_fei("no 50 MHz clock on EXTAL0");
    }

    // FBE -> PBE: configure and select the PLL, still bypassed.
    mcg::C5.write(PLL_PRDIV0 << mcg::C5_PRDIV0_SHIFT);
    mcg::C6.write(mcg::C6_PLLS | PLL_VDIV0 << mcg::C6_VDIV0_SHIFT);
    if !wait_until(|| mcg::S.read() & mcg::S_PLLST != 0) {
        return fall_back_to_fei("PLLS did not switch to the PLL");
    }
    if !wait_until(|| mcg::S.read() & mcg::S_LOCK0 != 0) {
        return fall_back_to_fei("PLL did not lock");
    }

    // PBE -> PEE: MCGOUTCLK from the PLL.
    mcg::C1.write(FBE_FRDIV << mcg::C1_FRDIV_SHIFT);
    if !wait_until(|| clock_status() == 3) {
        return fall_back_to_fei("MCGOUTCLK did not switch to the PLL");
    }

    // Peripherals that take "MCGFLLCLK or MCGPLLCLK" get the PLL; RMII clock from EXTAL0.
    sim::SOPT2.write_field(
        sim::SOPT2_PLLFLLSEL_MASK | sim::SOPT2_RMIISRC,
        1 << sim::SOPT2_PLLFLLSEL_SHIFT,
    );
    Clocks {
        core_hz: 120_000_000,
        bus_hz: 60_000_000,
        source: ClockSource::Pll120MHz,
    }
}

fn fall_back_to_fei(step: &'static str) -> Clocks {
    mcg::C6.write(0);
    // CLKS = 0 (FLL), the FLL referenced to the slow internal clock. Best effort: if even
    // this does not happen, the core runs from whatever it has.
    mcg::C1.write(mcg::C1_IREFS);
    wait_until(|| clock_status() == 0);
    Clocks {
        core_hz: FEI_CORE_HZ,
        bus_hz: FEI_CORE_HZ / 2, // CLKDIV1_RUN is already in place
        source: ClockSource::InternalFallback(step),
    }
}

fn init_pins() {
    let mux = |alternative: u32| alternative << port::PCR_MUX_SHIFT;
    // Console, the OpenSDA virtual COM port: PTB16 UART0_RX, PTB17 UART0_TX.
    port::pcr(port::PORTB, 16).write(mux(MUX_UART0));
    port::pcr(port::PORTB, 17).write(mux(MUX_UART0));
    // RMII to the KSZ8081RNA: PTA5 RXER, PTA12 RXD1, PTA13 RXD0, PTA14 CRS_DV, PTA15 TXEN,
    // PTA16 TXD0, PTA17 TXD1; PTB1 MDC; PTB0 MDIO, open drain with pull-up.
    for pin in [5, 12, 13, 14, 15, 16, 17] {
        port::pcr(port::PORTA, pin).write(mux(MUX_ENET));
    }
    port::pcr(port::PORTB, 1).write(mux(MUX_ENET));
    port::pcr(port::PORTB, 0).write(mux(MUX_ENET) | port::PCR_ODE | port::PCR_PE | port::PCR_PS);
    // LEDs as GPIO outputs.
    port::pcr(port::PORTB, 21).write(mux(MUX_GPIO));
    port::pcr(port::PORTB, 22).write(mux(MUX_GPIO));
    port::pcr(port::PORTE, 26).write(mux(MUX_GPIO));
    // Off (high) before they become outputs.
    gpio::GPIOB_PSOR.write(1 << 21 | 1 << 22);
    gpio::GPIOE_PSOR.write(1 << 26);
    gpio::GPIOB_PDDR.set_bits(1 << 21 | 1 << 22);
    gpio::GPIOE_PDDR.set_bits(1 << 26);
}

/// Switches an LED on or off.
pub fn set_led(led: Led, on: bool) {
    let (set, clear, bit) = match led {
        Led::Red => (gpio::GPIOB_PSOR, gpio::GPIOB_PCOR, 22),
        Led::Blue => (gpio::GPIOB_PSOR, gpio::GPIOB_PCOR, 21),
        Led::Green => (gpio::GPIOE_PSOR, gpio::GPIOE_PCOR, 26),
    };
    // Active low: clearing the output lights the LED.
    if on { clear } else { set }.write(1 << bit);
}

/// The MCU's 128-bit unique identification (UIDH, UIDMH, UIDML, UIDL).
pub fn unique_id() -> [u32; 4] {
    [
        sim::UIDH.read(),
        sim::UIDMH.read(),
        sim::UIDML.read(),
        sim::UIDL.read(),
    ]
}

// Checked when compiling: the flash configuration leaves the part unsecured (SEC = 0b10)
// with mass erase enabled (MEEN != 0b10), and the clock settings stay within the limits.
const _: () = {
    let fsec = FLASH_CONFIGURATION[12];
    assert!(fsec & 0b11 == 0b10, "FSEC.SEC must be 0b10 (unsecured)");
    assert!(
        fsec >> 4 & 0b11 != 0b10,
        "FSEC.MEEN = 0b10 would disable mass erase"
    );
    assert!(fsec == 0xFE && FLASH_CONFIGURATION[13] == 0xFF);
    assert!(
        CLKDIV1_RUN == 0x0124_0000,
        "NXP's SIM_CLKDIV1 for 120/60/40/24 MHz"
    );
    let pll_reference = 50_000_000 / (PLL_PRDIV0 as u32 + 1);
    assert!(pll_reference >= 2_000_000 && pll_reference <= 4_000_000);
    assert!(pll_reference * (PLL_VDIV0 as u32 + 24) == 120_000_000);
    let fll_reference = 50_000_000 / 1536; // FRDIV = 7 with RANGE != 0
    assert!(FBE_FRDIV == 7 && fll_reference >= 31_250 && fll_reference <= 39_062);
    assert!(
        120_000_000 / ((CLKDIV1_RUN >> 16 & 0xF) + 1) <= 25_000_000,
        "flash clock"
    );
    assert!(
        120_000_000 / ((CLKDIV1_RUN >> 24 & 0xF) + 1) <= 60_000_000,
        "bus clock"
    );
};
