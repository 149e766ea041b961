//! The accounting (business) date of an event: `YYYY-MM-DD`, a real calendar date.

use std::fmt;

/// A calendar date in the proleptic Gregorian calendar, years 1000 to 9999.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BusinessDate {
    year: u16,
    month: u8,
    day: u8,
}

impl BusinessDate {
    /// Parses `YYYY-MM-DD` strictly: four, two and two ASCII digits, a month 1..=12 and a day
    /// that exists in that month (leap years included).
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        let bytes = text.as_bytes();
        if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
            return None;
        }
        let number = |range: std::ops::Range<usize>| -> Option<u16> {
            let part = &bytes[range];
            if !part.iter().all(u8::is_ascii_digit) {
                return None;
            }
            Some(part.iter().fold(0_u16, |n, b| n * 10 + u16::from(b - b'0')))
        };
        let year = number(0..4)?;
        let month = u8::try_from(number(5..7)?).ok()?;
        let day = u8::try_from(number(8..10)?).ok()?;
        Self::new(year, month, day)
    }

    /// A date from its parts, if it exists.
    #[must_use]
    pub fn new(year: u16, month: u8, day: u8) -> Option<Self> {
        if !(1000..=9999).contains(&year) || !(1..=12).contains(&month) || day == 0 {
            return None;
        }
        (day <= days_in_month(year, month)).then_some(Self { year, month, day })
    }

    /// The date as the number `YYYYMMDD` (2024-01-05 → 20240105), stored in transfers'
    /// `user_data_64` so that a transfer shows its business date without a lookup.
    #[must_use]
    pub fn as_yyyymmdd(self) -> u64 {
        u64::from(self.year) * 10_000 + u64::from(self.month) * 100 + u64::from(self.day)
    }

    /// The date `YYYYMMDD` stands for, if it is a real date (the inverse of `as_yyyymmdd`).
    #[must_use]
    pub fn from_yyyymmdd(yyyymmdd: u64) -> Option<Self> {
        let year = u16::try_from(yyyymmdd / 10_000).ok()?;
        let month = u8::try_from(yyyymmdd / 100 % 100).ok()?;
        let day = u8::try_from(yyyymmdd % 100).ok()?;
        Self::new(year, month, day)
    }
}

impl fmt::Display for BusinessDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_dates_parse_and_print_back() {
        for text in ["2024-01-01", "2024-02-29", "2000-02-29", "2023-12-31"] {
            let date = BusinessDate::parse(text).expect("a real date");
            assert_eq!(date.to_string(), text);
        }
        assert_eq!(BusinessDate::parse("2024-01-05").map(BusinessDate::as_yyyymmdd), Some(20_240_105));
    }

    #[test]
    fn impossible_or_malformed_dates_are_refused() {
        for text in [
            "2023-02-29",
            "1900-02-29",
            "2024-13-01",
            "2024-00-10",
            "2024-04-31",
            "2024-01-00",
            "2024-1-01",
            "20240101",
            "2024/01/01",
            "2024-01-01T00:00",
            "",
            "0999-01-01",
            "２０２４-01-01",
        ] {
            assert_eq!(BusinessDate::parse(text), None, "{text:?}");
        }
    }
}
