//! IP addresses as text, read and written without core's `FromStr`/`Display` for `IpAddr`
//! (which link a general parser and an IPv6 formatter several times the size of these).
//!
//! [`parse`] accepts exactly what `str::parse::<IpAddr>()` accepts: dotted decimal with four
//! parts of at most three digits, no leading zeros and each at most 255; or IPv6 as eight
//! groups of one to four hexadecimal digits, at most one `::` standing for one or more zero
//! groups, and an optional dotted-decimal IPv4 address as the last two groups.
//! [`text`] writes what `Display` writes: dotted decimal, or RFC 5952 (lower case, no leading
//! zeros, the first longest run of two or more zero groups as `::`, an IPv4-mapped address as
//! `::ffff:a.b.c.d`). The unit tests compare both with core's on many inputs.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The longest text [`text`] writes: eight groups of four digits and seven colons.
pub(crate) type IpText = heapless::String<39>;

/// Reads an IP address written as `str::parse::<IpAddr>()` reads it.
pub(crate) fn parse(text: &str) -> Option<IpAddr> {
    let bytes = text.as_bytes();
    if let Some(v4) = parse_v4(bytes) {
        return Some(IpAddr::V4(v4));
    }
    parse_v6(bytes).map(IpAddr::V6)
}

/// Dotted decimal: four parts of one to three digits, no leading zero, each at most 255.
fn parse_v4(text: &[u8]) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut parts = text.split(|b| *b == b'.');
    for octet in &mut octets {
        let part = parts.next()?;
        let leading_zero = part.len() > 1 && part.first() == Some(&b'0');
        if part.is_empty() || part.len() > 3 || leading_zero {
            return None;
        }
        let mut value = 0u16;
        for b in part {
            value = value * 10 + u16::from(decimal_digit(*b)?);
        }
        *octet = u8::try_from(value).ok()?;
    }
    parts.next().is_none().then_some(Ipv4Addr::from(octets))
}

fn decimal_digit(b: u8) -> Option<u8> {
    b.is_ascii_digit().then(|| b - b'0')
}

/// Reads `:`-separated groups into `groups` (from the start); the last piece may be an IPv4
/// address (two groups) when `allow_v4`. Returns how many groups were read; an empty `text`
/// is no group.
fn read_groups(text: &[u8], groups: &mut [u16], allow_v4: bool) -> Option<usize> {
    if text.is_empty() {
        return Some(0);
    }
    let mut count = 0;
    let mut pieces = text.split(|b| *b == b':').peekable();
    while let Some(piece) = pieces.next() {
        let last = pieces.peek().is_none();
        if last && allow_v4 && piece.contains(&b'.') {
            let [a, b, c, d] = parse_v4(piece)?.octets();
            let pair = groups.get_mut(count..count + 2)?;
            pair.copy_from_slice(&[u16::from_be_bytes([a, b]), u16::from_be_bytes([c, d])]);
            return Some(count + 2);
        }
        if piece.is_empty() || piece.len() > 4 {
            return None;
        }
        let mut value = 0u16;
        for b in piece {
            value = value << 4 | u16::from(hex_digit(*b)?);
        }
        *groups.get_mut(count)? = value;
        count += 1;
    }
    Some(count)
}

fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// IPv6 text: eight groups, or fewer around one `::` standing for at least one zero group.
fn parse_v6(text: &[u8]) -> Option<Ipv6Addr> {
    let mut groups = [0u16; 8];
    let gap = text.windows(2).position(|w| w == b"::");
    let Some(gap) = gap else {
        return (read_groups(text, &mut groups, true)? == 8).then_some(Ipv6Addr::from(groups));
    };
    let (head, tail) = (text.get(..gap)?, text.get(gap + 2..)?);
    let head_len = read_groups(head, &mut groups, false)?;
    let mut tail_groups = [0u16; 7];
    let room = tail_groups.get_mut(..7usize.checked_sub(head_len)?)?;
    let tail_len = read_groups(tail, room, true)?;
    groups
        .get_mut(8 - tail_len..)?
        .copy_from_slice(tail_groups.get(..tail_len)?);
    Some(Ipv6Addr::from(groups))
}

/// `ip` as `Display` writes it.
pub(crate) fn text(ip: IpAddr) -> IpText {
    let mut out = IpText::new();
    match ip {
        IpAddr::V4(v4) => write_v4(&mut out, v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => {
                push(&mut out, b"::ffff:");
                write_v4(&mut out, v4);
            }
            None => write_v6(&mut out, v6.segments()),
        },
    }
    out
}

/// Appends ASCII bytes (the buffer is sized for the longest address).
fn push(out: &mut IpText, bytes: &[u8]) {
    for b in bytes {
        let _ = out.push(char::from(*b));
    }
}

/// Appends `value` in base `radix` (10 or 16, lower case), without leading zeros.
fn push_number(out: &mut IpText, value: u16, radix: u16) {
    let mut digits = [0u8; 5];
    let mut rest = value;
    let mut start = digits.len();
    for slot in digits.iter_mut().rev() {
        *slot = b"0123456789abcdef"
            .get(usize::from(rest % radix))
            .copied()
            .unwrap_or(b'?');
        start -= 1;
        rest /= radix;
        if rest == 0 {
            break;
        }
    }
    push(out, digits.get(start..).unwrap_or_default());
}

fn write_v4(out: &mut IpText, v4: Ipv4Addr) {
    for (i, octet) in v4.octets().into_iter().enumerate() {
        if i > 0 {
            push(out, b".");
        }
        push_number(out, u16::from(octet), 10);
    }
}

fn write_v6(out: &mut IpText, groups: [u16; 8]) {
    // The first longest run of zero groups; compressed when it has two or more.
    let (mut best, mut best_len, mut run) = (0, 0, 0);
    for (i, group) in groups.into_iter().enumerate() {
        run = if group == 0 { run + 1 } else { 0 };
        if run > best_len {
            (best, best_len) = (i + 1 - run, run);
        }
    }
    if best_len < 2 {
        (best, best_len) = (usize::MAX, 0);
    }
    for (i, group) in groups.into_iter().enumerate() {
        if i == best {
            push(out, b"::");
        } else if (best..best + best_len).contains(&i) {
            continue;
        } else {
            if i > 0 && i != best + best_len {
                push(out, b":");
            }
            push_number(out, group, 16);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    /// Tiny deterministic generator (xorshift) for the differential tests.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    fn same_as_core(text: &str) {
        assert_eq!(parse(text), text.parse::<IpAddr>().ok(), "{text:?}");
    }

    #[test]
    fn parses_what_core_parses() {
        for text in [
            "0.0.0.0",
            "255.255.255.255",
            "256.0.0.1",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.",
            "1.2.3.4.5",
            "1..2.3",
            "1.2.3.0004",
            "::",
            ":::",
            "::1",
            "1::",
            "1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7:8:9",
            "1:2:3:4:5:6:7::",
            "1:2:3:4:5:6:7:8::",
            "::2:3:4:5:6:7:8",
            "::1:2:3:4:5:6:7:8",
            "1::2::3",
            "12345::",
            "0000:0000::00001",
            "::ffff:1.2.3.4",
            "::1.2.3.4",
            "1:2:3:4:5:6:1.2.3.4",
            "1:2:3:4:5:6:7:1.2.3.4",
            "1:2:3:4:5::1.2.3.4",
            "1:2:3:4:5:6::1.2.3.4",
            "1.2.3.4::",
            "1.2.3.4:1::",
            "::1.2.3.4:1",
            "::01.2.3.4",
            "2001:DB8::8A2E:370:7334",
            "fe80::1%eth0",
            "[::1]",
            " 1.2.3.4",
            "",
            ":",
            ".",
            "1:",
            ":1::",
            "::1:",
        ] {
            same_as_core(text);
        }
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for alphabet in ["0123456789.", "0129af:.", "01fF:.:", "0:", "25.1"] {
            let alphabet = alphabet.as_bytes();
            for _ in 0..100_000 {
                let len = rng.below(28);
                let text: std::string::String = (0..len)
                    .map(|_| char::from(alphabet[rng.below(alphabet.len())]))
                    .collect();
                same_as_core(&text);
            }
        }
        // Pieces near the limits of each rule, joined by colons.
        let pieces = [
            "",
            "",
            "0",
            "1",
            "ff",
            "FFFF",
            "0fff0",
            "1.2.3.4",
            "01.2.3.4",
            "255.255.255.256",
        ];
        let mut valid = 0;
        for _ in 0..100_000 {
            let count = 1 + rng.below(10);
            let text = (0..count)
                .map(|_| pieces[rng.below(pieces.len())])
                .collect::<std::vec::Vec<_>>()
                .join(":");
            same_as_core(&text);
            valid += usize::from(parse(&text).is_some());
        }
        assert!(valid > 1_000, "only {valid} valid addresses generated");
    }

    #[test]
    fn parses_every_text_core_writes() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        for _ in 0..100_000 {
            let ip = random_ip(&mut rng);
            assert_eq!(parse(&ip.to_string()), Some(ip), "{ip}");
            assert_eq!(text(ip).as_str(), ip.to_string(), "{ip:?}");
        }
    }

    /// Addresses with many zero groups and small numbers, where the text rules differ.
    fn random_ip(rng: &mut Rng) -> IpAddr {
        let value = |rng: &mut Rng| match rng.below(4) {
            0 | 1 => 0,
            2 => rng.below(20) as u16,
            _ => rng.next() as u16,
        };
        if rng.below(4) == 0 {
            return IpAddr::V4(Ipv4Addr::from(rng.next() as u32 >> rng.below(32)));
        }
        let mut groups = [0u16; 8].map(|_| value(rng));
        if rng.below(8) == 0 {
            groups[..5].fill(0);
            groups[5] = [0, 0xffff, 1][rng.below(3)];
        }
        IpAddr::V6(Ipv6Addr::from(groups))
    }

    #[test]
    fn writes_what_core_writes() {
        for text_in in [
            "0.0.0.0",
            "10.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "1::",
            "::ffff:192.0.2.1",
            "::1.2.3.4",
            "1:0:0:1:0:0:0:1",
            "1:0:0:1:0:0:1:1",
            "0:0:1:0:0:0:0:0",
            "1:0:1:0:1:0:1:0",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "2001:db8::8a2e:370:7334",
        ] {
            let ip: IpAddr = text_in.parse().unwrap();
            assert_eq!(text(ip).as_str(), ip.to_string(), "{text_in}");
        }
    }
}
