//! The RNGA (random number generator accelerator) as a `rand_core` generator.
//!
//! What it is: two free-running ring oscillators clock a pair of shift registers (an LFSR
//! and a cellular automaton); their XOR is sampled into a 32-bit output register, one word
//! at a time. [`Rnga`] reads those words, waiting for `SR.OREG_LVL`.
//!
//! Caveats, for anyone relying on it for TLS keys:
//! - It is not a certified or documented entropy source. The shift registers whiten the
//!   output, so it passes statistical tests whatever the oscillator jitter really is; the
//!   reference manual gives no entropy estimate and there are no health tests beyond the
//!   high-assurance security-violation flag. NXP's later parts replaced it with a TRNG.
//! - NXP's own guidance is to seed it with extra entropy (`ER`) and use it to seed a
//!   deterministic generator rather than as the only source. This firmware uses its words
//!   directly (through `CryptoRng`), which is what the example needs and what the seed
//!   firmware did with mbedTLS; a product should add a DRBG and seed `ER` (for example with
//!   timing of Ethernet frames) before trusting it with long-term keys.
//! - The oscillators stop in low-power modes; this firmware never enters them.
//! - A failure is not silent: reading with the output empty sets `SR.ERRI`, and with high
//!   assurance on, a tamper with the oscillators sets `SR.SECV` and stops generation. Then
//!   [`Rnga::try_next_word`] returns an error, `try_fill_bytes` reports it, and the
//!   infallible `RngCore` methods panic: a TLS handshake must not go on with predictable
//!   bytes, and the panic handler prints the reason on the console.

use crate::regs::{rng, sim};
use core::fmt;
use core::num::NonZeroU32;
use rand_core::{CryptoRng, RngCore};

/// Polls of `SR` to wait for one word (a word takes a few hundred clock cycles).
const WORD_WAIT_POLLS: u32 = 100_000;

/// Why the RNGA gave no word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RngError {
    /// `SR.SECV`: high-assurance mode saw a security violation; generation stopped until reset.
    SecurityViolation,
    /// No word within the wait; `SR` is given.
    NoOutput {
        /// The status register at the time.
        status: u32,
    },
}

impl fmt::Display for RngError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RngError::SecurityViolation => {
                f.write_str("RNGA security violation (SR.SECV): generator stopped until reset")
            }
            RngError::NoOutput { status } => {
                write!(f, "RNGA produced no word in time (SR = {status:#010x})")
            }
        }
    }
}

impl core::error::Error for RngError {}

impl From<RngError> for rand_core::Error {
    fn from(error: RngError) -> Self {
        let offset = match error {
            RngError::SecurityViolation => 1,
            RngError::NoOutput { .. } => 2,
        };
        // CUSTOM_START is non-zero, so the sum is too; MAX is never used.
        let code = NonZeroU32::new(rand_core::Error::CUSTOM_START + offset);
        rand_core::Error::from(code.unwrap_or(NonZeroU32::MAX))
    }
}

/// The RNGA, running.
pub struct Rnga {
    words: u32,
}

impl Rnga {
    /// Clocks and starts the RNGA (high assurance on, interrupt masked).
    pub fn new() -> Rnga {
        sim::SCGC6.set_bits(sim::SCGC6_RNGA);
        rng::CR.write(rng::CR_GO | rng::CR_HA | rng::CR_INTM);
        Rnga { words: 0 }
    }

    /// One 32-bit word from the output register.
    pub fn try_next_word(&mut self) -> Result<u32, RngError> {
        for _ in 0..WORD_WAIT_POLLS {
            let status = rng::SR.read();
            if status & rng::SR_SECV != 0 {
                return Err(RngError::SecurityViolation);
            }
            if status & rng::SR_OREG_LVL_MASK != 0 {
                self.words = self.words.wrapping_add(1);
                return Ok(rng::OR.read());
            }
        }
        Err(RngError::NoOutput {
            status: rng::SR.read(),
        })
    }

    /// Words read so far (for the status command).
    pub fn words_read(&self) -> u32 {
        self.words
    }

    /// Whether the RNGA has flagged an error (`SECV` or `ERRI`).
    pub fn has_failed(&self) -> bool {
        rng::SR.read() & (rng::SR_SECV | rng::SR_ERRI) != 0
    }
}

impl Default for Rnga {
    fn default() -> Self {
        Self::new()
    }
}

impl RngCore for Rnga {
    fn next_u32(&mut self) -> u32 {
        match self.try_next_word() {
            Ok(word) => word,
            Err(error) => panic!("{error}"),
        }
    }

    fn next_u64(&mut self) -> u64 {
        u64::from(self.next_u32()) << 32 | u64::from(self.next_u32())
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        if let Err(error) = self.try_fill_bytes(dest) {
            panic!("{error}");
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        for chunk in dest.chunks_mut(4) {
            let word = self.try_next_word()?.to_le_bytes();
            chunk
                .iter_mut()
                .zip(word)
                .for_each(|(byte, random)| *byte = random);
        }
        Ok(())
    }
}

/// The RNGA is the hardware generator the TLS handshake draws from; see the module caveats.
impl CryptoRng for Rnga {}
