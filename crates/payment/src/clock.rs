//! The time payment reads: whether a card has expired, and when charges happen. Tests
//! replace it with a clock they set and move by hand.

pub use chassis::clock::{Clock, ManualClock, SystemClock};

/// A manual clock at midnight UTC of a calendar day.
pub fn at_date(year: i32, month: u32, day: u32) -> ManualClock {
    ManualClock::at(days_from_civil(year, month, day) * MS_PER_DAY)
}

const MS_PER_DAY: i64 = 86_400_000;

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

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i32, month: u32, day: u32) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (the inverse of
/// [`days_from_civil`]).
fn civil_from_days(days: i64) -> (i32, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // Month and day are within 1..=12 and 1..=31 by construction; years of any i64 of
    // milliseconds fit in an i32.
    (
        i32::try_from(year).unwrap_or(i32::MAX),
        month as u32,
        day as u32,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_round_trips() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn months_turn_at_midnight_utc() {
        let clock = at_date(2030, 6, 30);
        assert_eq!(
            YearMonth::of_ms(clock.now_ms()),
            YearMonth {
                year: 2030,
                month: 6
            }
        );
        clock.advance(std::time::Duration::from_millis(MS_PER_DAY as u64 - 1));
        assert_eq!(YearMonth::of_ms(clock.now_ms()).month, 6);
        clock.advance(std::time::Duration::from_millis(1));
        assert_eq!(
            YearMonth::of_ms(clock.now_ms()),
            YearMonth {
                year: 2030,
                month: 7
            }
        );
        // 2024 is a leap year: March starts after February 29th.
        let leap = at_date(2024, 2, 29);
        assert_eq!(YearMonth::of_ms(leap.now_ms()).month, 2);
    }
}
