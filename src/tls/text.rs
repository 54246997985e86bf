//! Bounded text for refusals and summaries: names cut to a fixed capacity, dates and hashes
//! written without a heap.
//!
//! Every refusal carries its facts as text that fits a fixed buffer: a distinguished name in
//! a [`DnText`], a host name, address or OID in a [`NameText`]. What does not fit is cut on a
//! character boundary and ends with `...`.

use core::fmt;

/// A distinguished name as readable text, such as `CN=broker, O=Example`, cut to 96 bytes.
pub type DnText = heapless::String<96>;

/// A host name, IP address or OID as text, cut to 64 bytes.
pub type NameText = heapless::String<64>;

/// Copies `s` into a bounded string, cut on a character boundary and ended with `...` when it
/// does not fit.
pub(crate) fn bounded<const N: usize>(s: &str) -> heapless::String<N> {
    let mut out = heapless::String::new();
    fill(out.as_mut_view(), s);
    out
}

/// [`bounded`]'s work on an empty string of any capacity: one copy of the code for
/// [`DnText`] and [`NameText`].
fn fill(out: &mut heapless::string::StringView, s: &str) {
    if out.push_str(s).is_ok() {
        return;
    }
    let keep = out.capacity().saturating_sub(3);
    for c in s.chars() {
        if out.len() + c.len_utf8() > keep {
            break;
        }
        // Cannot fail: the length was checked above.
        let _ = out.push(c);
    }
    let _ = out.push_str("...");
}

/// Writes unix seconds as `YYYY-MM-DD HH:MM:SS UTC` (after year 9999: `unix time N`).
pub(crate) struct UnixTime(pub u64);

impl fmt::Display for UnixTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match super::calendar::civil(self.0) {
            Some(t) => write!(
                f,
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
                t.year, t.month, t.day, t.hour, t.minute, t.second
            ),
            None => write!(f, "unix time {}", self.0),
        }
    }
}

/// Writes bytes as lowercase hex.
pub(crate) struct Hex<'a>(pub &'a [u8]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    #[test]
    fn bounded_cuts_on_char_boundary() {
        let s: heapless::String<8> = bounded("abcdefghijkl");
        assert_eq!(s.as_str(), "abcde...");
        let s: heapless::String<8> = bounded("ääääää");
        assert_eq!(s.as_str(), "ää...");
        let s: heapless::String<8> = bounded("short");
        assert_eq!(s.as_str(), "short");
    }

    #[test]
    fn dates_display_in_utc() {
        assert_eq!(UnixTime(0).to_string(), "1970-01-01 00:00:00 UTC");
        assert_eq!(
            UnixTime(1_709_251_199).to_string(),
            "2024-02-29 23:59:59 UTC"
        );
    }

    #[test]
    fn hex_is_lowercase_without_separators() {
        assert_eq!(Hex(&[0x0f, 0xa0]).to_string(), "0fa0");
    }
}
