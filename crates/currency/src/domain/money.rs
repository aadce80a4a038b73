//! Money as the contract carries it — whole units plus nanos — and exact conversion.
//!
//! An amount is held as one `i128` count of nanos (10⁻⁹ of a unit), so no float ever touches
//! a price. A rate is "how many units of a currency one US dollar buys", held exactly as
//! nanos too. Converting `a` from currency X to Y is `a × rate(Y) ÷ rate(X)`, a rational
//! number, rounded once, half to even, to Y's minor unit (cents, yen, fils, ...).

use super::CurrencyCode;

/// Nanos in one unit.
pub const NANOS_PER_UNIT: i128 = 1_000_000_000;

/// Why an amount cannot be taken or converted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// `nanos` is outside -999 999 999..=999 999 999.
    #[error("nanos must be between -999999999 and 999999999")]
    NanosOutOfRange,
    /// `units` and `nanos` have opposite signs.
    #[error("units and nanos must have the same sign")]
    SignMismatch,
    /// The result does not fit the contract's `int64` units.
    #[error("the converted amount is too large to represent")]
    Overflow,
}

/// An exact amount of some currency, in nanos.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Amount(i128);

impl Amount {
    /// Parses the contract's representation.
    pub fn from_parts(units: i64, nanos: i32) -> Result<Self, MoneyError> {
        if !(-999_999_999..=999_999_999).contains(&nanos) {
            return Err(MoneyError::NanosOutOfRange);
        }
        if (units > 0 && nanos < 0) || (units < 0 && nanos > 0) {
            return Err(MoneyError::SignMismatch);
        }
        Ok(Self(i128::from(units) * NANOS_PER_UNIT + i128::from(nanos)))
    }

    /// The amount as exactly this many nanos.
    pub fn from_nanos(nanos: i128) -> Self {
        Self(nanos)
    }

    /// Total nanos.
    pub fn nanos(self) -> i128 {
        self.0
    }

    /// Back to `(units, nanos)`, both with the amount's sign.
    pub fn to_parts(self) -> Result<(i64, i32), MoneyError> {
        let units = i64::try_from(self.0 / NANOS_PER_UNIT).map_err(|_| MoneyError::Overflow)?;
        // |remainder| < 10⁹, so it always fits an i32.
        let nanos = (self.0 % NANOS_PER_UNIT) as i32;
        Ok((units, nanos))
    }
}

/// An exchange rate: units of a currency per one US dollar, exactly, in nanos. Always > 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate(i128);

impl Rate {
    /// Parses a plain decimal (`"0.9213"`, `"151.42"`): digits, at most one point, at most
    /// nine fractional digits, greater than zero.
    pub fn parse(text: &str) -> Option<Self> {
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        if whole.is_empty()
            || fraction.len() > 9
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !fraction.bytes().all(|b| b.is_ascii_digit())
            || (text.contains('.') && fraction.is_empty())
            || whole.len() > 18
        {
            return None;
        }
        let whole: i128 = whole.parse().ok()?;
        let fraction_nanos: i128 = if fraction.is_empty() {
            0
        } else {
            format!("{fraction:0<9}").parse().ok()?
        };
        let nanos = whole * NANOS_PER_UNIT + fraction_nanos;
        (nanos > 0).then_some(Self(nanos))
    }

    /// The rate in nanos (units per dollar × 10⁹).
    pub fn nanos(self) -> i128 {
        self.0
    }

    /// The rate as a plain decimal string with no trailing zeros (`"0.9213"`, `"1"`).
    pub fn to_decimal_string(self) -> String {
        let whole = self.0 / NANOS_PER_UNIT;
        let fraction = self.0 % NANOS_PER_UNIT;
        if fraction == 0 {
            whole.to_string()
        } else {
            let digits = format!("{fraction:09}");
            format!("{whole}.{}", digits.trim_end_matches('0'))
        }
    }
}

/// One currency of the table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Currency {
    /// ISO 4217 code.
    pub code: CurrencyCode,
    /// English name.
    pub name: String,
    /// Symbol shown with amounts (`€`, `$`, `CHF`).
    pub symbol: String,
    /// Digits after the decimal point of its smallest coin or note (2 for cents, 0 for yen).
    pub minor_units: u32,
    /// Units of it one US dollar buys.
    pub per_usd: Rate,
}

impl Currency {
    /// The smallest amount of this currency, in nanos (10 000 000 for cents).
    pub fn quantum(&self) -> i128 {
        10_i128.pow(9 - self.minor_units.min(9))
    }
}

/// Converts `amount` of `from` into `to`, rounded half to even to `to`'s minor unit.
pub fn convert(amount: Amount, from: &Currency, to: &Currency) -> Result<Amount, MoneyError> {
    let magnitude = amount.0.unsigned_abs();
    let numerator = magnitude
        .checked_mul(to.per_usd.0.unsigned_abs())
        .ok_or(MoneyError::Overflow)?;
    let denominator = from
        .per_usd
        .0
        .unsigned_abs()
        .checked_mul(to.quantum().unsigned_abs())
        .ok_or(MoneyError::Overflow)?;
    let quanta = divide_half_even(numerator, denominator);
    let nanos = quanta
        .checked_mul(to.quantum().unsigned_abs())
        .and_then(|n| i128::try_from(n).ok())
        .ok_or(MoneyError::Overflow)?;
    let converted = Amount(if amount.0 < 0 { -nanos } else { nanos });
    // Refuse what the contract's int64 units cannot carry.
    converted.to_parts()?;
    Ok(converted)
}

/// `numerator ÷ denominator`, rounded to the nearest integer, ties to the even one.
fn divide_half_even(numerator: u128, denominator: u128) -> u128 {
    let quotient = numerator / denominator;
    let remainder = numerator % denominator;
    // Compare 2 × remainder with the denominator without overflowing.
    let half_or_more = remainder >= denominator - remainder;
    let exactly_half = remainder == denominator - remainder;
    if exactly_half {
        quotient + (quotient & 1)
    } else if half_or_more {
        quotient + 1
    } else {
        quotient
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn currency(code: &str, minor_units: u32, per_usd: &str) -> Currency {
        Currency {
            code: CurrencyCode::parse(code).unwrap(),
            name: code.to_owned(),
            symbol: code.to_owned(),
            minor_units,
            per_usd: Rate::parse(per_usd).unwrap(),
        }
    }

    fn usd() -> Currency {
        currency("USD", 2, "1")
    }

    fn parts(units: i64, nanos: i32) -> Amount {
        Amount::from_parts(units, nanos).unwrap()
    }

    #[test]
    fn parts_are_validated() {
        assert_eq!(Amount::from_parts(1, -1), Err(MoneyError::SignMismatch));
        assert_eq!(Amount::from_parts(-1, 1), Err(MoneyError::SignMismatch));
        assert_eq!(
            Amount::from_parts(0, 1_000_000_000),
            Err(MoneyError::NanosOutOfRange)
        );
        assert_eq!(
            Amount::from_parts(0, -1_000_000_000),
            Err(MoneyError::NanosOutOfRange)
        );
        assert!(Amount::from_parts(0, -5).is_ok());
        assert!(Amount::from_parts(-3, -5).is_ok());
        assert_eq!(parts(-3, -5).to_parts(), Ok((-3, -5)));
        assert_eq!(
            parts(i64::MAX, 999_999_999).to_parts(),
            Ok((i64::MAX, 999_999_999))
        );
    }

    #[test]
    fn rates_parse_exactly() {
        assert_eq!(Rate::parse("1").unwrap().nanos(), 1_000_000_000);
        assert_eq!(Rate::parse("0.9213").unwrap().nanos(), 921_300_000);
        assert_eq!(Rate::parse("151.42").unwrap().to_decimal_string(), "151.42");
        assert_eq!(Rate::parse("0.000000001").unwrap().nanos(), 1);
        for bad in [
            "",
            "0",
            "0.0",
            "-1",
            "1.",
            ".5",
            "1e3",
            "0.0000000001",
            "1,5",
            "abc",
        ] {
            assert_eq!(Rate::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn same_currency_is_identity_at_its_precision() {
        let amount = parts(12, 340_000_000);
        assert_eq!(convert(amount, &usd(), &usd()), Ok(amount));
    }

    #[test]
    fn converts_and_rounds_to_the_target_minor_unit() {
        let eur = currency("EUR", 2, "0.9213");
        // 10.00 USD × 0.9213 = 9.213 EUR → 9.21
        assert_eq!(
            convert(parts(10, 0), &usd(), &eur),
            Ok(parts(9, 210_000_000))
        );
        let jpy = currency("JPY", 0, "151.42");
        // 1.99 USD × 151.42 = 301.3258 JPY → 301
        assert_eq!(
            convert(parts(1, 990_000_000), &usd(), &jpy),
            Ok(parts(301, 0))
        );
        let kwd = currency("KWD", 3, "0.3075");
        // 12.34 USD × 0.3075 = 3.79455 KWD → 3.795 (above half)
        assert_eq!(
            convert(parts(12, 340_000_000), &usd(), &kwd),
            Ok(parts(3, 795_000_000))
        );
    }

    #[test]
    fn ties_round_to_even() {
        let half = currency("XHF", 2, "0.5");
        // 0.01 USD × 0.5 = 0.005 → 0.00 (0 is even)
        assert_eq!(
            convert(parts(0, 10_000_000), &usd(), &half),
            Ok(parts(0, 0))
        );
        // 0.03 USD × 0.5 = 0.015 → 0.02 (2 is even)
        assert_eq!(
            convert(parts(0, 30_000_000), &usd(), &half),
            Ok(parts(0, 20_000_000))
        );
        // 0.05 USD × 0.5 = 0.025 → 0.02
        assert_eq!(
            convert(parts(0, 50_000_000), &usd(), &half),
            Ok(parts(0, 20_000_000))
        );
        // 0.07 USD × 0.5 = 0.035 → 0.04
        assert_eq!(
            convert(parts(0, 70_000_000), &usd(), &half),
            Ok(parts(0, 40_000_000))
        );
        // Negative amounts mirror positive ones.
        assert_eq!(
            convert(parts(0, -30_000_000), &usd(), &half),
            Ok(parts(0, -20_000_000))
        );
        assert_eq!(
            convert(parts(0, -50_000_000), &usd(), &half),
            Ok(parts(0, -20_000_000))
        );
    }

    #[test]
    fn cross_rates_go_through_the_dollar_exactly() {
        let eur = currency("EUR", 2, "0.8");
        let gbp = currency("GBP", 2, "0.6");
        // 1.00 EUR = 1.25 USD = 0.75 GBP exactly.
        assert_eq!(convert(parts(1, 0), &eur, &gbp), Ok(parts(0, 750_000_000)));
        // 1.00 GBP = 1.3333... EUR → 1.33
        assert_eq!(convert(parts(1, 0), &gbp, &eur), Ok(parts(1, 330_000_000)));
    }

    #[test]
    fn overflow_is_an_error_not_a_wrap() {
        let vnd = currency("VND", 0, "26000");
        assert_eq!(
            convert(parts(i64::MAX, 0), &usd(), &vnd),
            Err(MoneyError::Overflow)
        );
        // Still fine far below the limit.
        assert!(convert(parts(1_000_000_000, 0), &usd(), &vnd).is_ok());
    }
}
