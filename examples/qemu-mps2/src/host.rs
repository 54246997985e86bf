//! What the emulator's host gives the firmware over Arm semihosting
//! (`-semihosting-config enable=on,target=native`): the command line, the calendar time, and
//! random bytes.
//!
//! **For the emulator only.** A real device must not take its entropy or its time from a
//! debugger: there, the seed comes from a hardware generator (the K64F's RNGA, for example)
//! and the time from an RTC set by a trusted source. Here QEMU models no random generator and
//! no battery-backed clock, so the host's `/dev/urandom` (read through semihosting's file
//! calls) and its `time()` (SYS_TIME) stand in for them.

use core::fmt;

use cortex_m_semihosting::{nr, syscall, syscall1};

/// A semihosting call that failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostError {
    /// SYS_OPEN refused the file (the host has no such file, or semihosting is off).
    Open(&'static str),
    /// SYS_READ gave fewer bytes than asked.
    ShortRead {
        /// The file read.
        path: &'static str,
        /// Bytes asked for.
        wanted: usize,
        /// Bytes not read.
        missing: usize,
    },
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostError::Open(path) => write!(f, "semihosting could not open {path} on the host"),
            HostError::ShortRead {
                path,
                wanted,
                missing,
            } => write!(
                f,
                "semihosting read {} of {wanted} bytes from {path}",
                wanted - missing
            ),
        }
    }
}

/// Seconds since 1970-01-01 on the host (SYS_TIME), for certificate validity.
/// Emulator only: see the module documentation.
pub fn unix_time() -> u64 {
    // SAFETY: SYS_TIME takes no argument block (R1 = 0) and only returns a value.
    let seconds = unsafe { syscall!(TIME) };
    seconds as u64
}

/// The host's random file, NUL-terminated for SYS_OPEN.
const RANDOM_PATH: &[u8] = b"/dev/urandom\0";

/// A 32-byte seed from the host's `/dev/urandom`. Emulator only: see the module documentation.
pub fn random_seed() -> Result<[u8; 32], HostError> {
    let path = "/dev/urandom";
    // SAFETY: SYS_OPEN reads the NUL-terminated name (its length without the NUL is given)
    // and returns a handle or -1; the name is a static.
    let handle = unsafe {
        syscall!(
            OPEN,
            RANDOM_PATH.as_ptr(),
            nr::open::R_BINARY,
            RANDOM_PATH.len() - 1
        )
    };
    if handle as isize == -1 {
        return Err(HostError::Open(path));
    }
    let mut seed = [0u8; 32];
    // SAFETY: SYS_READ writes at most `seed.len()` bytes into `seed` and returns how many it
    // did not write; SYS_CLOSE releases the handle SYS_OPEN gave.
    let missing = unsafe {
        let missing = syscall!(READ, handle, seed.as_mut_ptr(), seed.len());
        syscall!(CLOSE, handle);
        missing
    };
    if missing != 0 {
        return Err(HostError::ShortRead {
            path,
            wanted: seed.len(),
            missing,
        });
    }
    Ok(seed)
}

/// The command line QEMU passes (the `-kernel` file name, then the `-append` words), or an
/// empty string if there is none or it does not fit `buf`.
pub fn command_line(buf: &mut [u8]) -> &str {
    // SYS_GET_CMDLINE's argument block: buffer address and size in; the host writes the
    // length of the NUL-terminated text back into the second word.
    let mut block = [buf.as_mut_ptr() as usize, buf.len()];
    // SAFETY: the host writes at most `buf.len()` bytes into `buf` and one word into `block`,
    // both alive and exclusively borrowed for the call; the asm clobbers memory, so the
    // compiler reads `block` again afterwards.
    let status = unsafe { syscall1(nr::GET_CMDLINE, block.as_mut_ptr() as usize) };
    if status != 0 {
        return "";
    }
    let len = block[1].min(buf.len());
    buf.get(..len)
        .and_then(|text| core::str::from_utf8(text).ok())
        .unwrap_or("")
}
