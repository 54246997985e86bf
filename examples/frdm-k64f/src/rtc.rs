//! The RTC seconds counter as the firmware's UNIX clock (UTC).
//!
//! The K64's RTC counts seconds in `TSR` (32 bits) from its own 32.768 kHz oscillator, in the
//! VBAT domain: on the FRDM-K64F VBAT is fed from the board's 3.3 V, so the time survives a
//! reset or a reflash but not a power cycle. After power-on `SR.TIF` (time invalid) is set and
//! the counter stands still until the time is written; [`Rtc::now`] returns `None` until then,
//! so that certificate validity is never checked against 1970 by accident.
//!
//! [`Rtc::init`] starts the oscillator (with the 10 pF load NXP's clock tool selects for this
//! board) if it is not running yet; it needs up to about a second to start, during which the
//! counter does not advance. Setting the time follows the manual: stop the counter (`TCE`),
//! write the prescaler and then the seconds (which clears `TIF`), start the counter.

use crate::calendar::MAX_UNIX;
use crate::regs::{rtc, sim};
use core::fmt;

/// Why the time was not set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RtcError {
    /// The time is past what the 32-bit seconds register holds (2106-02-07 06:28:15).
    OutOfRange {
        /// The UNIX time asked for.
        unix: u64,
    },
}

impl fmt::Display for RtcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RtcError::OutOfRange { unix } => {
                write!(
                    f,
                    "UNIX time {unix} does not fit the RTC's 32-bit seconds register"
                )
            }
        }
    }
}

impl core::error::Error for RtcError {}

/// The RTC, with register access enabled.
pub struct Rtc {
    oscillator_was_running: bool,
}

impl Rtc {
    /// Opens register access and starts the 32.768 kHz oscillator if it is off.
    pub fn init() -> Rtc {
        sim::SCGC6.set_bits(sim::SCGC6_RTC);
        let running = rtc::CR.read() & rtc::CR_OSCE != 0;
        if !running {
            rtc::CR.set_bits(rtc::CR_SC8P | rtc::CR_SC2P);
            rtc::CR.set_bits(rtc::CR_OSCE);
        }
        Rtc {
            oscillator_was_running: running,
        }
    }

    /// Whether the oscillator was already running at boot (the time may have survived a reset).
    pub fn oscillator_was_running(&self) -> bool {
        self.oscillator_was_running
    }

    /// UNIX seconds, or `None` while the time is invalid (never set since power-on) or the
    /// counter overflowed.
    pub fn now(&self) -> Option<u64> {
        let status = rtc::SR.read();
        if status & (rtc::SR_TIF | rtc::SR_TOF) != 0 || status & rtc::SR_TCE == 0 {
            return None;
        }
        // TSR can change between bus accesses: take a value read twice in a row.
        let mut previous = rtc::TSR.read();
        for _ in 0..3 {
            let current = rtc::TSR.read();
            if current == previous {
                break;
            }
            previous = current;
        }
        Some(u64::from(previous))
    }

    /// Sets the clock to `unix` seconds (UTC) and starts it.
    pub fn set(&mut self, unix: u64) -> Result<(), RtcError> {
        let seconds = u32::try_from(unix)
            .ok()
            .filter(|_| unix <= MAX_UNIX)
            .ok_or(RtcError::OutOfRange { unix })?;
        rtc::SR.write(0); // TCE = 0: counter stopped, TSR and TPR writable
        rtc::TPR.write(0);
        rtc::TSR.write(seconds); // also clears TIF and TOF
        rtc::SR.write(rtc::SR_TCE);
        Ok(())
    }
}
