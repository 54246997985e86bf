//! The console UART: UART0 on PTB16 (RX) / PTB17 (TX), the OpenSDA virtual COM port.
//!
//! 8N1 at the requested baud rate from the core clock (UART0 and UART1 are clocked from the
//! core/system clock on the K64, the others from the bus clock). Baud = clock / (16 × (SBR +
//! BRFA/32)); [`baud_divisor`] rounds to the nearest 1/32. The receiver uses the 8-byte
//! FIFO so that a few typed characters survive a long TLS computation; the transmitter
//! writes one byte at a time and blocks.
//!
//! Line errors (overrun, framing, noise, parity) drop the byte concerned and are counted
//! ([`Uart0::line_errors`]); a console has no better use for them, so the `embedded_io`
//! error type is `Infallible`.

use crate::board::Clocks;
use crate::regs::{sim, uart0};
use core::convert::Infallible;
use core::fmt;

/// Baud rate divisor: `(SBR, BRFA)` for `clock_hz` and `baud`, or `None` when SBR would not
/// fit its 13 bits or be zero.
pub fn baud_divisor(clock_hz: u32, baud: u32) -> Option<(u16, u8)> {
    if baud == 0 {
        return None;
    }
    // Divisor in 1/32 steps: clock / (16 * baud) * 32 = clock * 2 / baud, rounded.
    let thirty_seconds = (u64::from(clock_hz) * 2 + u64::from(baud) / 2) / u64::from(baud);
    let sbr = thirty_seconds / 32;
    let brfa = (thirty_seconds % 32) as u8; // < 32
    if sbr == 0 || sbr > 0x1FFF {
        return None;
    }
    Some((sbr as u16, brfa))
}

/// UART0, set up and enabled.
pub struct Uart0 {
    line_errors: u32,
}

impl Uart0 {
    /// Enables UART0 at `baud` (8N1). The pins must already be muxed (`board::init`).
    /// Falls back to the slowest rate the clock allows if `baud` is out of reach (this
    /// cannot happen with the board's clocks and 115200).
    pub fn new(clocks: &Clocks, baud: u32) -> Uart0 {
        sim::SCGC4.set_bits(sim::SCGC4_UART0);
        uart0::C2.write(0); // TE and RE off while configuring
        let (sbr, brfa) = baud_divisor(clocks.core_hz, baud).unwrap_or((0x1FFF, 0));
        let [high, low] = sbr.to_be_bytes();
        uart0::BDH.write(high & 0x1F);
        uart0::BDL.write(low); // latches SBR
        uart0::C4.write_field(uart0::C4_BRFA_MASK, brfa);
        uart0::C1.write(0); // 8 data bits, no parity
        uart0::PFIFO.set_bits(uart0::PFIFO_RXFE);
        uart0::CFIFO.set_bits(uart0::CFIFO_RXFLUSH);
        uart0::C2.write(uart0::C2_TE | uart0::C2_RE);
        Uart0 { line_errors: 0 }
    }

    /// A received byte, if one is waiting.
    pub fn try_read_byte(&mut self) -> Option<u8> {
        loop {
            let status = uart0::S1.read();
            if status & uart0::S1_RDRF == 0 {
                if status & uart0::S1_OR != 0 {
                    // Reading S1 then D clears OR; D is empty here, which the FIFO reports
                    // as an underflow: flush it to start clean.
                    let _ = uart0::D.read();
                    uart0::CFIFO.set_bits(uart0::CFIFO_RXFLUSH);
                    self.line_errors = self.line_errors.wrapping_add(1);
                }
                return None;
            }
            // Reading S1 then D clears RDRF and the error flags. OR means later bytes were
            // lost, not this one; NF, FE and PF are about this byte.
            let byte = uart0::D.read();
            if status & uart0::S1_OR != 0 {
                self.line_errors = self.line_errors.wrapping_add(1);
            }
            if status & (uart0::S1_NF | uart0::S1_FE | uart0::S1_PF) == 0 {
                return Some(byte);
            }
            self.line_errors = self.line_errors.wrapping_add(1);
        }
    }

    /// Sends one byte, waiting for room in the transmitter.
    pub fn write_byte(&mut self, byte: u8) {
        send_byte(byte);
    }

    /// How many received bytes were dropped for overrun, framing, noise or parity errors.
    pub fn line_errors(&self) -> u32 {
        self.line_errors
    }
}

fn send_byte(byte: u8) {
    while uart0::S1.read() & uart0::S1_TDRE == 0 {
        core::hint::spin_loop();
    }
    uart0::D.write(byte);
}

/// Writes to UART0 without an owner, for the panic and fault handlers: only if UART0 was
/// enabled (clock gate on, transmitter on), else the text is dropped.
pub fn write_when_enabled(text: &str) {
    if sim::SCGC4.read() & sim::SCGC4_UART0 == 0 || uart0::C2.read() & uart0::C2_TE == 0 {
        return;
    }
    text.bytes().for_each(send_byte);
}

/// A `core::fmt::Write` over [`write_when_enabled`].
pub struct EmergencyWriter;

impl fmt::Write for EmergencyWriter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        write_when_enabled(s);
        Ok(())
    }
}

impl fmt::Write for Uart0 {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        s.bytes().for_each(send_byte);
        Ok(())
    }
}

impl embedded_io::ErrorType for Uart0 {
    type Error = Infallible;
}

impl embedded_io::Read for Uart0 {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Infallible> {
        let Some(first) = buf.first_mut() else {
            return Ok(0);
        };
        *first = loop {
            if let Some(byte) = self.try_read_byte() {
                break byte;
            }
        };
        let mut count = 1;
        for slot in buf.iter_mut().skip(1) {
            match self.try_read_byte() {
                Some(byte) => *slot = byte,
                None => break,
            }
            count += 1;
        }
        Ok(count)
    }
}

impl embedded_io::ReadReady for Uart0 {
    fn read_ready(&mut self) -> Result<bool, Infallible> {
        Ok(uart0::S1.read() & uart0::S1_RDRF != 0)
    }
}

impl embedded_io::Write for Uart0 {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
        buf.iter().copied().for_each(send_byte);
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<(), Infallible> {
        // TC: the last bit has left the shifter.
        while uart0::S1.read() & uart0::S1_TC == 0 {
            core::hint::spin_loop();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::baud_divisor;

    fn actual_baud(clock: u32, (sbr, brfa): (u16, u8)) -> f64 {
        f64::from(clock) / (16.0 * (f64::from(sbr) + f64::from(brfa) / 32.0))
    }

    #[test]
    fn divisor_for_115200_at_120_mhz_matches_the_manual_formula() {
        let divisor = baud_divisor(120_000_000, 115_200).unwrap();
        assert_eq!(divisor, (65, 3));
        let error = (actual_baud(120_000_000, divisor) - 115_200.0).abs() / 115_200.0;
        assert!(error < 0.0005, "error {error}");
    }

    #[test]
    fn divisor_for_the_fei_fallback_clock_is_within_half_a_percent() {
        let divisor = baud_divisor(20_971_520, 115_200).unwrap();
        let error = (actual_baud(20_971_520, divisor) - 115_200.0).abs() / 115_200.0;
        assert!(error < 0.005, "error {error}");
    }

    #[test]
    fn impossible_rates_are_refused() {
        assert_eq!(baud_divisor(120_000_000, 0), None);
        assert_eq!(baud_divisor(1_000, 115_200), None, "SBR would be 0");
        assert_eq!(
            baud_divisor(120_000_000, 100),
            None,
            "SBR would exceed 13 bits"
        );
    }
}
