//! Civil date and time (UTC, proleptic Gregorian) and UNIX seconds, both ways.
//!
//! The RTC counts UNIX seconds in a 32-bit register, so the range here is 1970-01-01 00:00:00
//! to 2106-02-07 06:28:15 ([`MAX_UNIX`]). The console's `time`, `date`, `dateToSec` and
//! `secToDate` commands use these conversions and the parsers for `hh:mm:ss` and
//! `dd.mm.yyyy`. Days are counted with the usual "era of 400 years" arithmetic, so there is
//! no table and no loop over years.

use core::fmt;

/// The last second the 32-bit RTC seconds register can hold.
pub const MAX_UNIX: u64 = u32::MAX as u64;

const SECONDS_PER_DAY: u64 = 86_400;

/// A calendar date, checked: the day exists in that month of that year.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Date {
    /// Year, 1970 ..= 2106.
    pub year: u16,
    /// Month, 1 ..= 12.
    pub month: u8,
    /// Day of the month, 1 ..= 28/29/30/31.
    pub day: u8,
}

/// A time of day, checked: hour < 24, minute < 60, second < 60 (no leap seconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeOfDay {
    /// Hour, 0 ..= 23.
    pub hour: u8,
    /// Minute, 0 ..= 59.
    pub minute: u8,
    /// Second, 0 ..= 59.
    pub second: u8,
}

/// A date and a time of day, UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateTime {
    /// The date.
    pub date: Date,
    /// The time of day.
    pub time: TimeOfDay,
}

/// Why a date, a time or a second count was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CalendarError {
    /// The text is not `dd.mm.yyyy`.
    DateSyntax,
    /// The text is not `hh:mm:ss` (optionally followed by `,z` hundredths, which are ignored).
    TimeSyntax,
    /// The date does not exist (such as 31.04 or 29.02 in a common year).
    NoSuchDate {
        /// Day as given.
        day: u8,
        /// Month as given.
        month: u8,
        /// Year as given.
        year: u16,
    },
    /// A field of the time is out of range.
    NoSuchTime {
        /// Hour as given.
        hour: u8,
        /// Minute as given.
        minute: u8,
        /// Second as given.
        second: u8,
    },
    /// Outside 1970-01-01 .. 2106-02-07 06:28:15, what the 32-bit RTC can hold.
    OutOfRange,
}

impl fmt::Display for CalendarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            CalendarError::DateSyntax => f.write_str("date must be dd.mm.yyyy"),
            CalendarError::TimeSyntax => f.write_str("time must be hh:mm:ss"),
            CalendarError::NoSuchDate { day, month, year } => {
                write!(f, "there is no date {day:02}.{month:02}.{year:04}")
            }
            CalendarError::NoSuchTime {
                hour,
                minute,
                second,
            } => write!(f, "there is no time {hour:02}:{minute:02}:{second:02}"),
            CalendarError::OutOfRange => {
                f.write_str("outside 01.01.1970 00:00:00 .. 07.02.2106 06:28:15 (32-bit RTC)")
            }
        }
    }
}

impl core::error::Error for CalendarError {}

/// Whether `year` is a Gregorian leap year.
pub const fn is_leap_year(year: u16) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

/// Number of days in `month` (1 ..= 12) of `year`; 0 for a month that does not exist.
pub const fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

impl Date {
    /// Checks that the date exists and is not before 1970 nor after 2106.
    pub fn new(year: u16, month: u8, day: u8) -> Result<Date, CalendarError> {
        if day == 0 || day > days_in_month(year, month) {
            return Err(CalendarError::NoSuchDate { day, month, year });
        }
        if !(1970..=2106).contains(&year) {
            return Err(CalendarError::OutOfRange);
        }
        Ok(Date { year, month, day })
    }

    /// Parses `dd.mm.yyyy` (one or two digits for day and month, four for the year).
    pub fn parse(text: &str) -> Result<Date, CalendarError> {
        let mut parts = text.trim().split('.');
        let (Some(day), Some(month), Some(year), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(CalendarError::DateSyntax);
        };
        let day = parse_digits(day, 1, 2).ok_or(CalendarError::DateSyntax)?;
        let month = parse_digits(month, 1, 2).ok_or(CalendarError::DateSyntax)?;
        let year = parse_digits(year, 4, 4).ok_or(CalendarError::DateSyntax)?;
        // Each value has at most two (day, month) or four (year) digits: the casts are exact.
        Date::new(year as u16, month as u8, day as u8)
    }

    /// Days since 1970-01-01 (day 0).
    pub fn days_since_epoch(self) -> u64 {
        // March-based year: the leap day is the last day of the year, which makes the day
        // of the year a linear function of the month.
        let year = u64::from(self.year) - u64::from(self.month <= 2);
        let era = year / 400;
        let year_of_era = year % 400;
        let shifted_month = (u64::from(self.month) + 9) % 12; // March = 0
        let day_of_year = (153 * shifted_month + 2) / 5 + u64::from(self.day) - 1;
        let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
        // 719_468 = days from 0000-03-01 to 1970-01-01. `year` >= 1969, so no underflow.
        era * 146_097 + day_of_era - 719_468
    }

    /// The date `days` days after 1970-01-01.
    fn from_days_since_epoch(days: u64) -> Date {
        let days = days + 719_468;
        let era = days / 146_097;
        let day_of_era = days % 146_097;
        let year_of_era =
            (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let shifted_month = (5 * day_of_year + 2) / 153; // March = 0
        let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
        let month = if shifted_month < 10 {
            shifted_month + 3
        } else {
            shifted_month - 9
        };
        let year = era * 400 + year_of_era + u64::from(month <= 2);
        // Callers pass at most MAX_UNIX / 86_400 days: year <= 2106, month <= 12, day <= 31.
        Date {
            year: year as u16,
            month: month as u8,
            day: day as u8,
        }
    }
}

impl TimeOfDay {
    /// Checks the ranges.
    pub fn new(hour: u8, minute: u8, second: u8) -> Result<TimeOfDay, CalendarError> {
        if hour > 23 || minute > 59 || second > 59 {
            return Err(CalendarError::NoSuchTime {
                hour,
                minute,
                second,
            });
        }
        Ok(TimeOfDay {
            hour,
            minute,
            second,
        })
    }

    /// Parses `hh:mm:ss`, as the seed firmware's `time` command did, also `hh:mm:ss,z` (the
    /// hundredths are accepted and dropped: the RTC counts whole seconds) and `hh:mm`.
    pub fn parse(text: &str) -> Result<TimeOfDay, CalendarError> {
        let text = text.trim();
        let whole = text.split_once(',').map_or(text, |(whole, hundredths)| {
            if parse_digits(hundredths, 1, 2).is_some() {
                whole
            } else {
                "" // fails below
            }
        });
        let mut parts = whole.split(':');
        let (Some(hour), Some(minute), second, None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(CalendarError::TimeSyntax);
        };
        let field = |text: &str| parse_digits(text, 1, 2).ok_or(CalendarError::TimeSyntax);
        let second = match second {
            Some(text) => field(text)?,
            None => 0,
        };
        // At most two digits each: the casts are exact.
        TimeOfDay::new(field(hour)? as u8, field(minute)? as u8, second as u8)
    }

    /// Seconds since midnight.
    pub fn seconds_of_day(self) -> u64 {
        u64::from(self.hour) * 3600 + u64::from(self.minute) * 60 + u64::from(self.second)
    }
}

impl DateTime {
    /// The date and time of the UNIX second `unix`; `OutOfRange` past [`MAX_UNIX`].
    pub fn from_unix(unix: u64) -> Result<DateTime, CalendarError> {
        if unix > MAX_UNIX {
            return Err(CalendarError::OutOfRange);
        }
        let seconds = unix % SECONDS_PER_DAY;
        Ok(DateTime {
            date: Date::from_days_since_epoch(unix / SECONDS_PER_DAY),
            // Below 86_400: hour < 24, minute < 60, second < 60.
            time: TimeOfDay {
                hour: (seconds / 3600) as u8,
                minute: (seconds / 60 % 60) as u8,
                second: (seconds % 60) as u8,
            },
        })
    }

    /// The UNIX second; `OutOfRange` past [`MAX_UNIX`] (a time on 07.02.2106 after 06:28:15).
    pub fn to_unix(self) -> Result<u64, CalendarError> {
        let unix = self.date.days_since_epoch() * SECONDS_PER_DAY + self.time.seconds_of_day();
        if unix > MAX_UNIX {
            return Err(CalendarError::OutOfRange);
        }
        Ok(unix)
    }

    /// Parses `dd.mm.yyyy` or `dd.mm.yyyy hh:mm:ss` (midnight when the time is left out).
    pub fn parse(text: &str) -> Result<DateTime, CalendarError> {
        let mut words = text.split_whitespace();
        let date = Date::parse(words.next().unwrap_or(""))?;
        let time = match words.next() {
            Some(time) => TimeOfDay::parse(time)?,
            None => TimeOfDay::new(0, 0, 0)?,
        };
        if words.next().is_some() {
            return Err(CalendarError::TimeSyntax);
        }
        Ok(DateTime { date, time })
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}.{:02}.{:04}", self.day, self.month, self.year)
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}:{:02}", self.hour, self.minute, self.second)
    }
}

impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} UTC", self.date, self.time)
    }
}

/// Parses `min..=max` ASCII digits as a number; `None` for anything else.
fn parse_digits(text: &str, min: usize, max: usize) -> Option<u32> {
    if text.len() < min || text.len() > max || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.bytes().try_fold(0u32, |n, b| {
        n.checked_mul(10)?.checked_add(u32::from(b - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(unix: u64) -> DateTime {
        DateTime::from_unix(unix).unwrap()
    }

    #[test]
    fn known_instants_convert_both_ways() {
        // (UNIX seconds, date, time), computed independently with Python's datetime.
        let cases = [
            (0, (1970, 1, 1), (0, 0, 0)),
            (951_782_400, (2000, 2, 29), (0, 0, 0)),
            (1_492_938_937, (2017, 4, 23), (9, 15, 37)), // the seed's Mosquitto start
            (4_102_444_800, (2100, 1, 1), (0, 0, 0)),    // 2100 is not a leap year
            (4_294_967_295, (2106, 2, 7), (6, 28, 15)),
        ];
        for (unix, (y, mo, d), (h, mi, s)) in cases {
            let expected = DateTime {
                date: Date::new(y, mo, d).unwrap(),
                time: TimeOfDay::new(h, mi, s).unwrap(),
            };
            assert_eq!(at(unix), expected, "from_unix({unix})");
            assert_eq!(expected.to_unix(), Ok(unix), "to_unix({expected})");
        }
    }

    #[test]
    fn every_day_round_trips_and_is_consecutive() {
        let mut previous: Option<Date> = None;
        for day in 0..=(MAX_UNIX / SECONDS_PER_DAY) {
            let date = Date::from_days_since_epoch(day);
            assert_eq!(date.days_since_epoch(), day);
            assert!(date.day >= 1 && date.day <= days_in_month(date.year, date.month));
            if let Some(p) = previous {
                let next_of_previous = if p.day < days_in_month(p.year, p.month) {
                    (p.year, p.month, p.day + 1)
                } else if p.month < 12 {
                    (p.year, p.month + 1, 1)
                } else {
                    (p.year + 1, 1, 1)
                };
                assert_eq!((date.year, date.month, date.day), next_of_previous);
            }
            previous = Some(date);
        }
    }

    #[test]
    fn leap_years_follow_the_gregorian_rule() {
        assert!(is_leap_year(2000));
        assert!(is_leap_year(2024));
        assert!(!is_leap_year(1900));
        assert!(!is_leap_year(2100));
        assert!(!is_leap_year(2023));
    }

    #[test]
    fn dates_parse_and_nonexistent_ones_are_refused() {
        assert_eq!(Date::parse("23.04.2017"), Date::new(2017, 4, 23));
        assert_eq!(Date::parse("1.2.2024"), Date::new(2024, 2, 1));
        assert_eq!(Date::parse("29.02.2024"), Date::new(2024, 2, 29));
        assert_eq!(
            Date::parse("29.02.2023"),
            Err(CalendarError::NoSuchDate {
                day: 29,
                month: 2,
                year: 2023
            })
        );
        assert!(matches!(
            Date::parse("31.04.2024"),
            Err(CalendarError::NoSuchDate { .. })
        ));
        assert!(matches!(
            Date::parse("01.13.2024"),
            Err(CalendarError::NoSuchDate { .. })
        ));
        assert_eq!(Date::parse("01.01.1969"), Err(CalendarError::OutOfRange));
        for bad in [
            "",
            "23.04",
            "23.04.17",
            "23-04-2017",
            "a.04.2017",
            "23.04.2017.1",
        ] {
            assert_eq!(Date::parse(bad), Err(CalendarError::DateSyntax), "{bad:?}");
        }
    }

    #[test]
    fn times_parse_with_optional_seconds_and_hundredths() {
        assert_eq!(TimeOfDay::parse("09:15:37"), TimeOfDay::new(9, 15, 37));
        assert_eq!(TimeOfDay::parse("9:15:37,5"), TimeOfDay::new(9, 15, 37));
        assert_eq!(TimeOfDay::parse("23:59"), TimeOfDay::new(23, 59, 0));
        assert!(matches!(
            TimeOfDay::parse("24:00:00"),
            Err(CalendarError::NoSuchTime { hour: 24, .. })
        ));
        assert!(matches!(
            TimeOfDay::parse("12:60:00"),
            Err(CalendarError::NoSuchTime { .. })
        ));
        for bad in [
            "",
            "12",
            "12:00:00:00",
            "12:00:00,",
            "12:00:00,abc",
            "x:00:00",
        ] {
            assert_eq!(
                TimeOfDay::parse(bad),
                Err(CalendarError::TimeSyntax),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn date_times_parse_and_respect_the_rtc_range() {
        let dt = DateTime::parse("23.04.2017 09:15:37").unwrap();
        assert_eq!(dt.to_unix(), Ok(1_492_938_937));
        assert_eq!(DateTime::parse("01.01.1970").unwrap().to_unix(), Ok(0));
        let last = DateTime::parse("07.02.2106 06:28:15").unwrap();
        assert_eq!(last.to_unix(), Ok(MAX_UNIX));
        let past = DateTime::parse("07.02.2106 06:28:16").unwrap();
        assert_eq!(past.to_unix(), Err(CalendarError::OutOfRange));
        assert_eq!(
            DateTime::from_unix(MAX_UNIX + 1),
            Err(CalendarError::OutOfRange)
        );
        assert!(DateTime::parse("01.01.2020 00:00:00 extra").is_err());
    }

    #[test]
    fn display_uses_the_consoles_formats() {
        let dt = at(1_492_938_937);
        let mut text = heapless::String::<32>::new();
        core::fmt::write(&mut text, format_args!("{dt}")).unwrap();
        assert_eq!(text.as_str(), "23.04.2017 09:15:37 UTC");
    }
}
