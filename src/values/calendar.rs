//! Dates and times in UTC, without a date library.
//!
//! Services keep time as milliseconds since the Unix epoch (what the chassis clock reads and
//! what stores keep). The contract sends it as `google.protobuf.Timestamp` ([`timestamp`]);
//! a card expires by calendar month ([`YearMonth`]); an email is dated as RFC 5322 says
//! ([`UtcDateTime::rfc5322`]). Days become dates with Howard Hinnant's `civil_from_days`
//! and back with `days_from_civil`, exact for the proleptic Gregorian calendar over the whole
//! range of an `i64` of milliseconds.

/// Milliseconds in a day (UTC has no leap seconds in Unix time).
pub const MS_PER_DAY: i64 = 86_400_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (`month` 1..=12, `day` 1..=31).
pub fn days_from_civil(year: i32, month: u32, day: u32) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date `(year, month 1..=12, day 1..=31)` of a day count since
/// 1970-01-01: the inverse of [`days_from_civil`].
pub fn civil_from_days(days: i64) -> (i32, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // Month and day are within 1..=12 and 1..=31 by construction; the years of any i64 of
    // milliseconds fit an i32.
    (
        i32::try_from(year).unwrap_or(i32::MAX),
        month as u32,
        day as u32,
    )
}

/// A calendar month, in UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct YearMonth {
    /// The year, for example 2030.
    pub year: i32,
    /// The month, 1..=12.
    pub month: u32,
}

impl YearMonth {
    /// The month (UTC) that contains `ms` milliseconds since the Unix epoch.
    pub fn of_ms(ms: i64) -> Self {
        let (year, month, _) = civil_from_days(ms.div_euclid(MS_PER_DAY));
        Self { year, month }
    }
}

/// A moment in UTC, to the second, broken down as a calendar shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UtcDateTime {
    /// The Gregorian year, such as 2025.
    pub year: i32,
    /// The month, 1..=12.
    pub month: u32,
    /// The day of the month, 1..=31.
    pub day: u32,
    /// The hour, 0..=23.
    pub hour: u32,
    /// The minute, 0..=59.
    pub minute: u32,
    /// The second, 0..=59.
    pub second: u32,
    /// The day of the week, 0 for Monday to 6 for Sunday.
    pub weekday: u32,
}

impl UtcDateTime {
    /// The moment `ms` milliseconds after the Unix epoch (before it when negative),
    /// rounded down to the second.
    pub fn of_ms(ms: i64) -> Self {
        let days = ms.div_euclid(MS_PER_DAY);
        // Both remainders are below a day, so they fit a u32.
        let of_day = (ms.rem_euclid(MS_PER_DAY) / 1000) as u32;
        let (year, month, day) = civil_from_days(days);
        Self {
            year,
            month,
            day,
            hour: of_day / 3600,
            minute: of_day % 3600 / 60,
            second: of_day % 60,
            // 1970-01-01 was a Thursday (3).
            weekday: (days + 3).rem_euclid(7) as u32,
        }
    }

    /// As RFC 5322 dates an email, in UTC: `Tue, 05 Mar 2024 14:03:07 +0000`.
    pub fn rfc5322(&self) -> String {
        const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        format!(
            "{}, {:02} {} {} {:02}:{:02}:{:02} +0000",
            DAYS[self.weekday as usize % 7],
            self.day,
            MONTHS[(self.month as usize + 11) % 12],
            self.year,
            self.hour,
            self.minute,
            self.second
        )
    }
}

/// A `google.protobuf.Timestamp` of `ms` milliseconds since the Unix epoch.
pub fn timestamp(ms: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: ms.div_euclid(1_000),
        // 0..=999 ms as nanos always fits an i32.
        nanos: (ms.rem_euclid(1_000) * 1_000_000) as i32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn every_day_follows_the_one_before() {
        // A property loop over 1600 years: each day is the next day of the calendar.
        let mut previous = civil_from_days(-200_000);
        for days in -199_999..400_000 {
            let (year, month, day) = civil_from_days(days);
            let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
            let (py, pm, pd) = previous;
            let month_length = match pm {
                2 if leap => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            let expected = if pd < month_length {
                (py, pm, pd + 1)
            } else if pm < 12 {
                (py, pm + 1, 1)
            } else {
                (py + 1, 1, 1)
            };
            assert_eq!((year, month, day), expected, "day {days}");
            previous = (year, month, day);
        }
    }

    #[test]
    fn months_turn_at_midnight_utc() {
        let june_30 = days_from_civil(2030, 6, 30) * MS_PER_DAY;
        assert_eq!(
            YearMonth::of_ms(june_30 + MS_PER_DAY - 1),
            YearMonth {
                year: 2030,
                month: 6
            }
        );
        assert_eq!(YearMonth::of_ms(june_30 + MS_PER_DAY).month, 7);
        assert_eq!(YearMonth::of_ms(-1).year, 1969);
    }

    #[test]
    fn dates_are_rfc5322() {
        let date = |ms| UtcDateTime::of_ms(ms).rfc5322();
        assert_eq!(date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
        assert_eq!(date(1_709_647_387_000), "Tue, 05 Mar 2024 14:03:07 +0000");
        assert_eq!(date(951_782_400_000), "Tue, 29 Feb 2000 00:00:00 +0000");
        assert_eq!(date(-1_000), "Wed, 31 Dec 1969 23:59:59 +0000");
        assert_eq!(date(-1), "Wed, 31 Dec 1969 23:59:59 +0000");
        let moment = UtcDateTime::of_ms(1_767_225_599_000);
        assert_eq!(
            (
                moment.year,
                moment.month,
                moment.day,
                moment.hour,
                moment.minute
            ),
            (2025, 12, 31, 23, 59)
        );
    }

    #[test]
    fn timestamps_split_milliseconds() {
        let t = timestamp(1_700_000_000_123);
        assert_eq!((t.seconds, t.nanos), (1_700_000_000, 123_000_000));
        let before = timestamp(-1);
        assert_eq!((before.seconds, before.nanos), (-1, 999_000_000));
    }
}
