//! The time payment reads: whether a card has expired, and when charges happen. Tests
//! replace it with a clock they set and move by hand.

use bazaar_contract::values::calendar::{MS_PER_DAY, days_from_civil};

pub use chassis::clock::{Clock, ManualClock, SystemClock};

/// A manual clock at midnight UTC of a calendar day.
pub fn at_date(year: i32, month: u32, day: u32) -> ManualClock {
    ManualClock::at(days_from_civil(year, month, day) * MS_PER_DAY)
}

#[cfg(test)]
mod tests {
    use bazaar_contract::values::calendar::YearMonth;

    use super::*;

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
