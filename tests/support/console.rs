//! Reading a firmware's console (its semihosting output under QEMU), for the QEMU tests.

/// The reason the firmware gave for failing: the rest of the first line that starts with
/// `prefix` (its `FAIL: ` line).
pub fn failure<'a>(output: &'a str, prefix: &str) -> Option<&'a str> {
    output.lines().find_map(|line| line.strip_prefix(prefix))
}

/// The firmware's figures line (`... stack_peak=...`).
pub fn figures(output: &str) -> &str {
    output
        .lines()
        .find(|line| line.contains("stack_peak="))
        .unwrap_or("(no figures printed)")
}
