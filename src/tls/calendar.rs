//! Certificate times (RFC 5280 §4.1.2.5) to unix seconds and back, on the proleptic
//! Gregorian calendar in UTC.
//!
//! The rules are `der`'s (whose `UtcTime`, `GeneralizedTime` and `DateTime` this replaces,
//! for their size): `YYMMDDHHMMSSZ` with years 50..99 as 19xx, or `YYYYMMDDHHMMSSZ`; digits
//! only, no fractions, no other zone; each field in range (no second 60, no hour 24, a day
//! that exists in its month); the result from 1970-01-01 00:00:00 to 9999-12-31 23:59:59.
//! The unit tests compare both directions with `der` on many inputs.

use super::x509::Tag;

/// The last second that can be written: 9999-12-31 23:59:59 UTC.
const MAX_SECONDS: u64 = 253_402_300_799;

/// A time's fields: year, month (1..=12), day, hour, minute, second.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Civil {
    pub(crate) year: u32,
    pub(crate) month: u32,
    pub(crate) day: u32,
    pub(crate) hour: u32,
    pub(crate) minute: u32,
    pub(crate) second: u32,
}

/// The contents of a UTCTime or GeneralizedTime (by `tag`) as unix seconds.
pub(crate) fn unix_seconds(tag: Tag, contents: &[u8]) -> Option<u64> {
    let (digits, year_digits) = match (tag, contents) {
        (Tag::UTC_TIME, [digits @ .., b'Z']) if digits.len() == 12 => (digits, 2),
        (Tag::GENERALIZED_TIME, [digits @ .., b'Z']) if digits.len() == 14 => (digits, 4),
        _ => return None,
    };
    // Two-digit fields: [YY] YY MM DD HH MM SS (the last one unused for a UTCTime).
    let mut pairs = [0u32; 7];
    for (field, pair) in pairs.iter_mut().zip(digits.chunks(2)) {
        for d in pair {
            *field = *field * 10 + u32::from(d.is_ascii_digit().then(|| d - b'0')?);
        }
    }
    let (year, [month, day, hour, minute, second]) = match pairs {
        [high, low, rest @ ..] if year_digits == 4 => (high * 100 + low, rest),
        [yy, rest @ .., _] => (if yy >= 50 { 1900 + yy } else { 2000 + yy }, rest),
    };
    let civil = Civil {
        year,
        month,
        day,
        hour,
        minute,
        second,
    };
    seconds_of(civil)
}

fn is_leap(year: u32) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

/// Unix seconds of a checked time, or `None` when a field is out of range.
fn seconds_of(t: Civil) -> Option<u64> {
    let month_days = match t.month {
        2 if is_leap(t.year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        1..=12 => 31,
        _ => return None,
    };
    if !(1970..=9999).contains(&t.year)
        || !(1..=month_days).contains(&t.day)
        || t.hour > 23
        || t.minute > 59
        || t.second > 59
    {
        return None;
    }
    // Days since 1970-01-01 (a year counted from March, so that February is last).
    let (y, m) = if t.month <= 2 {
        (t.year - 1, t.month + 9)
    } else {
        (t.year, t.month - 3)
    };
    let day_of_year = (153 * m + 2) / 5 + t.day - 1;
    let days = u64::from(365 * y + y / 4 - y / 100 + y / 400 + day_of_year) - 719_468;
    let seconds = u64::from(t.hour * 3600 + t.minute * 60 + t.second);
    Some(days * 86_400 + seconds)
}

/// The fields of unix seconds `seconds`, or `None` after 9999-12-31 23:59:59.
pub(crate) fn civil(seconds: u64) -> Option<Civil> {
    if seconds > MAX_SECONDS {
        return None;
    }
    // Fits: at most 3,652,424 days and 86,399 seconds.
    let days = u32::try_from(seconds / 86_400).ok()? + 719_468;
    let second_of_day = u32::try_from(seconds % 86_400).ok()?;
    let era = days / 146_097;
    let day_of_era = days % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let m = (5 * day_of_year + 2) / 153;
    let month = if m < 10 { m + 3 } else { m - 9 };
    Some(Civil {
        year: era * 400 + year_of_era + u32::from(month <= 2),
        month,
        day: day_of_year - (153 * m + 2) / 5 + 1,
        hour: second_of_day / 3600,
        minute: second_of_day / 60 % 60,
        second: second_of_day % 60,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::asn1::{GeneralizedTime, UtcTime};
    use der::{DateTime, Decode};

    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
    }

    fn der_seconds(tag: Tag, contents: &[u8]) -> Option<u64> {
        let element = [&[tag.0, contents.len() as u8], contents].concat();
        let duration = match tag {
            Tag::UTC_TIME => UtcTime::from_der(&element).ok()?.to_unix_duration(),
            _ => GeneralizedTime::from_der(&element).ok()?.to_unix_duration(),
        };
        Some(duration.as_secs())
    }

    #[test]
    fn reads_the_times_der_reads() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut accepted = 0;
        for _ in 0..300_000 {
            let tag = [Tag::UTC_TIME, Tag::GENERALIZED_TIME][rng.below(2) as usize];
            let mut text = std::string::String::new();
            if tag == Tag::GENERALIZED_TIME {
                // Years around 1970 and 9999 and in between.
                let year = [1969, 1970, 2000, 2024, 2100, 9999][rng.below(6) as usize];
                text += &std::format!("{year:04}");
            } else {
                text += &std::format!("{:02}", rng.below(100));
            }
            // Month, day, hour, minute, second near and past their limits.
            for limit in [13, 32, 25, 61, 61] {
                let value = match rng.below(3) {
                    0 => limit - 1 - rng.below(2),
                    _ => rng.below(limit),
                };
                text += &std::format!("{value:02}");
            }
            match rng.below(16) {
                0 => text.push_str(".5Z"),
                1 => text.push_str("+0000"),
                2 => text.replace_range(3..4, "a"),
                3 => text.truncate(text.len() - 1),
                4 => text.push_str("0Z"),
                _ => text.push('Z'),
            }
            let ours = unix_seconds(tag, text.as_bytes());
            assert_eq!(ours, der_seconds(tag, text.as_bytes()), "{tag:?} {text}");
            accepted += usize::from(ours.is_some());
        }
        assert!(accepted > 50_000, "{accepted}");
        assert_eq!(unix_seconds(Tag::UTC_TIME, b"700101000000Z"), Some(0));
        assert_eq!(
            unix_seconds(Tag::UTC_TIME, b"491231235959Z"),
            Some(2_524_607_999)
        );
        assert_eq!(unix_seconds(Tag::UTF8_STRING, b"700101000000Z"), None);
        assert_eq!(
            unix_seconds(Tag::GENERALIZED_TIME, b"99991231235959Z"),
            Some(MAX_SECONDS)
        );
    }

    #[test]
    fn writes_the_dates_der_writes() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        for i in 0..300_000u64 {
            let seconds = match i % 3 {
                0 => rng.below(MAX_SECONDS + 10),
                1 => rng.below(5_000_000_000),
                _ => MAX_SECONDS - 5 + i % 300 / 3,
            };
            let theirs = DateTime::from_unix_duration(core::time::Duration::from_secs(seconds))
                .ok()
                .map(|t| Civil {
                    year: u32::from(t.year()),
                    month: u32::from(t.month()),
                    day: u32::from(t.day()),
                    hour: u32::from(t.hour()),
                    minute: u32::from(t.minutes()),
                    second: u32::from(t.seconds()),
                });
            let ours = civil(seconds);
            assert_eq!(ours, theirs, "{seconds}");
            if let Some(t) = ours {
                assert_eq!(seconds_of(t), Some(seconds));
            }
        }
    }
}
