//! Money, exactly: `bazaar.type.v1.Money` held as its currency and one count of nanos.
//!
//! The contract carries an amount as whole `units` and `nanos` (10⁻⁹ of a unit) of the same
//! sign. [`Money`] holds `units × 10⁹ + nanos` in an `i128`, so a line of 99 units of the
//! largest price, or a sum of many lines, cannot overflow, and every operation is checked:
//! adding amounts of two currencies or leaving the range is a [`MoneyError`], never a wrong
//! number. No float ever touches an amount.
//!
//! Rounding to a currency's minor unit (cents, whole yen) is explicit, with the rule the
//! caller needs ([`Rounding`]): the currency service rounds conversions half to even, as its
//! contract says; the storefront rounds what it shows half away from zero. Display writes an
//! amount with the currency's usual decimals and more only when it has finer digits
//! (`USD 1,234.50`, `JPY 1,500`, `USD 0.123456789`), so nothing is rounded away.
//!
//! The free functions ([`exact_nanos`], [`total_nanos`], [`split_nanos`], [`decimal_text`])
//! are the same rules and arithmetic on bare parts, for a caller that checks an amount's size
//! apart from its currency, or shows whatever amount it was given.

use std::cmp::Ordering;

use super::ValueError;
use crate::types::v1 as pb;

/// 10^9: an amount in nanos is `units * NANOS_PER_UNIT + nanos`.
pub const NANOS_PER_UNIT: i128 = 1_000_000_000;

/// The largest `nanos` of a Money, in magnitude.
pub const MAX_NANOS: i32 = 999_999_999;

/// `nanos` outside -999,999,999..=999,999,999.
pub const NANOS_OUT_OF_RANGE: ValueError =
    ValueError::in_sub_field("nanos", "must be between -999999999 and 999999999");

/// `units` and `nanos` of opposite signs. Blamed on `nanos`, where the contract states the
/// rule.
pub const SIGNS_DISAGREE: ValueError =
    ValueError::in_sub_field("nanos", "units and nanos must have the same sign");

/// An ISO 4217 currency code: three upper-case ASCII letters. Whether a service supports it
/// is that service's question.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CurrencyCode([u8; 3]);

impl CurrencyCode {
    /// The US dollar, the currency of the catalog.
    pub const USD: CurrencyCode = CurrencyCode(*b"USD");

    /// Parses a code.
    pub fn parse(text: &str) -> Result<Self, ValueError> {
        let bytes: Option<[u8; 3]> = text.as_bytes().try_into().ok();
        match bytes {
            Some(bytes) if bytes.iter().all(u8::is_ascii_uppercase) => Ok(Self(bytes)),
            _ if text.is_empty() => Err(ValueError::required()),
            _ => Err(ValueError::new(
                "must be a three-letter ISO 4217 code in upper case, for example USD",
            )),
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII upper-case letters get in, through `parse` and the constants.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }

    /// Digits after the decimal point in the currency's usual notation (ISO 4217 minor
    /// units): 0 and 3 for the currencies listed, 2 for every other.
    pub fn minor_digits(self) -> u32 {
        const NONE: &[&str] = &[
            "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI",
            "VND", "VUV", "XAF", "XOF", "XPF",
        ];
        const THREE: &[&str] = &["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];
        if NONE.contains(&self.as_str()) {
            0
        } else if THREE.contains(&self.as_str()) {
            3
        } else {
            2
        }
    }
}

impl std::fmt::Display for CurrencyCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Debug for CurrencyCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CurrencyCode({})", self.as_str())
    }
}

/// Why arithmetic on money has no answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// Two amounts of different currencies were combined.
    #[error("amount in {found}, expected {expected}")]
    CurrencyMismatch {
        /// The currency of the first amount.
        expected: CurrencyCode,
        /// The currency of the other one.
        found: CurrencyCode,
    },
    /// The result does not fit a Money (`units` beyond the int64 range).
    #[error("the amount is too large to represent")]
    Overflow,
}

/// How an amount that falls between two steps is rounded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rounding {
    /// To the nearest step; a tie to the even one (banker's rounding).
    HalfEven,
    /// To the nearest step; a tie away from zero (as taught at school).
    HalfAwayFromZero,
}

impl Rounding {
    /// `numerator ÷ denominator` rounded to an integer; `denominator` must not be zero.
    pub fn divide(self, numerator: u128, denominator: u128) -> u128 {
        let quotient = numerator / denominator;
        let remainder = numerator % denominator;
        // Compares 2 × remainder with the denominator without overflowing.
        let rest = denominator - remainder;
        if remainder > rest {
            quotient + 1
        } else if remainder < rest {
            quotient
        } else {
            match self {
                Rounding::HalfEven => quotient + (quotient & 1),
                Rounding::HalfAwayFromZero => quotient + 1,
            }
        }
    }

    /// `nanos` rounded to `digits` decimals (0..=9; more are none to round).
    pub fn round_nanos(self, nanos: i128, digits: u32) -> i128 {
        let step = 10_u128.pow(9 - digits.min(9));
        let magnitude = self.divide(nanos.unsigned_abs(), step) * step;
        // |nanos| < 2^127, and rounding adds less than one step (≤ 10^9) to it.
        let magnitude = i128::try_from(magnitude).unwrap_or(i128::MAX);
        if nanos < 0 { -magnitude } else { magnitude }
    }
}

/// `units × 10⁹ + nanos`, whatever the parts are.
pub fn total_nanos(units: i64, nanos: i32) -> i128 {
    i128::from(units) * NANOS_PER_UNIT + i128::from(nanos)
}

/// A count of nanos as the contract's `(units, nanos)`, both of its sign; `None` when
/// `units` would leave the int64 range.
pub fn split_nanos(total: i128) -> Option<(i64, i32)> {
    let units = i64::try_from(total / NANOS_PER_UNIT).ok()?;
    // |remainder| < 10⁹, which always fits an i32.
    let nanos = i32::try_from(total % NANOS_PER_UNIT).ok()?;
    Some((units, nanos))
}

/// A count of nanos as a decimal number: sign, thousands separated by commas, and at least
/// `min_decimals` decimals (more when it has finer non-zero digits): `-1,234.50`.
pub fn decimal_text(nanos: i128, min_decimals: u32) -> String {
    let sign = if nanos < 0 { "-" } else { "" };
    let magnitude = nanos.unsigned_abs();
    let whole = (magnitude / NANOS_PER_UNIT.unsigned_abs()).to_string();
    let fraction = format!("{:09}", magnitude % NANOS_PER_UNIT.unsigned_abs());
    let decimals = fraction
        .trim_end_matches('0')
        .len()
        .max(min_decimals.min(9) as usize);
    let mut text = String::with_capacity(whole.len() * 4 / 3 + decimals + 2);
    text.push_str(sign);
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            text.push(',');
        }
        text.push(digit);
    }
    if decimals > 0 {
        text.push('.');
        text.push_str(&fraction[..decimals]);
    }
    text
}

/// `units × 10⁹ + nanos`, once the contract's rules on the parts are checked: `nanos` in
/// range ([`NANOS_OUT_OF_RANGE`]) and of the sign of `units` ([`SIGNS_DISAGREE`]).
pub fn exact_nanos(units: i64, nanos: i32) -> Result<i128, ValueError> {
    if !(-MAX_NANOS..=MAX_NANOS).contains(&nanos) {
        Err(NANOS_OUT_OF_RANGE)
    } else if (units > 0 && nanos < 0) || (units < 0 && nanos > 0) {
        Err(SIGNS_DISAGREE)
    } else {
        Ok(total_nanos(units, nanos))
    }
}

/// An exact amount of money in one currency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Money {
    currency: CurrencyCode,
    nanos: i128,
}

impl Money {
    /// Zero in `currency`.
    pub fn zero(currency: CurrencyCode) -> Self {
        Self { currency, nanos: 0 }
    }

    /// An amount from its contract parts, checked: `nanos` in range and of the sign of
    /// `units` ([`NANOS_OUT_OF_RANGE`], [`SIGNS_DISAGREE`]).
    pub fn new(currency: CurrencyCode, units: i64, nanos: i32) -> Result<Self, ValueError> {
        Ok(Self {
            currency,
            nanos: exact_nanos(units, nanos)?,
        })
    }

    /// Exactly `nanos` nanos of `currency`.
    pub fn from_nanos(currency: CurrencyCode, nanos: i128) -> Self {
        Self { currency, nanos }
    }

    /// Parses a `bazaar.type.v1.Money`; every rule it breaks is reported, each on its
    /// sub-field (`currency_code`, `nanos`).
    pub fn parse(money: &pb::Money) -> Result<Self, Vec<ValueError>> {
        let currency =
            CurrencyCode::parse(&money.currency_code).map_err(|e| e.blaming("currency_code"));
        let nanos = exact_nanos(money.units, money.nanos);
        match (currency, nanos) {
            (Ok(currency), Ok(nanos)) => Ok(Self { currency, nanos }),
            (currency, nanos) => Err(currency.err().into_iter().chain(nanos.err()).collect()),
        }
    }

    /// The same amount, refused unless it is in `currency`.
    pub fn in_currency(self, currency: CurrencyCode) -> Result<Self, MoneyError> {
        if self.currency == currency {
            Ok(self)
        } else {
            Err(MoneyError::CurrencyMismatch {
                expected: currency,
                found: self.currency,
            })
        }
    }

    /// The ISO 4217 code the amount is in.
    pub fn currency(&self) -> CurrencyCode {
        self.currency
    }

    /// The amount in nanos.
    pub fn nanos(&self) -> i128 {
        self.nanos
    }

    /// `(units, nanos)` as the contract wants them, or `Overflow` beyond the int64 range.
    pub fn parts(&self) -> Result<(i64, i32), MoneyError> {
        split_nanos(self.nanos).ok_or(MoneyError::Overflow)
    }

    /// As the contract's Money, or `Overflow` beyond its range.
    pub fn to_pb(&self) -> Result<pb::Money, MoneyError> {
        let (units, nanos) = self.parts()?;
        Ok(pb::Money {
            currency_code: self.currency.as_str().to_owned(),
            units,
            nanos,
        })
    }

    fn same_currency(&self, other: &Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch {
                expected: self.currency,
                found: other.currency,
            })
        }
    }

    /// `self + other`, both in one currency.
    pub fn checked_add(&self, other: &Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let nanos = self.nanos.checked_add(other.nanos);
        Ok(Self::from_nanos(
            self.currency,
            nanos.ok_or(MoneyError::Overflow)?,
        ))
    }

    /// `self - other`, both in one currency.
    pub fn checked_sub(&self, other: &Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let nanos = self.nanos.checked_sub(other.nanos);
        Ok(Self::from_nanos(
            self.currency,
            nanos.ok_or(MoneyError::Overflow)?,
        ))
    }

    /// This amount `quantity` times (a line total).
    pub fn times(&self, quantity: i64) -> Result<Money, MoneyError> {
        let nanos = self.nanos.checked_mul(i128::from(quantity));
        Ok(Self::from_nanos(
            self.currency,
            nanos.ok_or(MoneyError::Overflow)?,
        ))
    }

    /// The sum of `amounts`, each in `currency` (zero when there are none).
    pub fn sum<'a>(
        currency: CurrencyCode,
        amounts: impl IntoIterator<Item = &'a Money>,
    ) -> Result<Money, MoneyError> {
        amounts
            .into_iter()
            .try_fold(Money::zero(currency), |total, amount| {
                total.checked_add(amount)
            })
    }

    /// Whether the amount is above zero.
    pub fn is_positive(&self) -> bool {
        self.nanos > 0
    }

    /// Whether the amount is below zero.
    pub fn is_negative(&self) -> bool {
        self.nanos < 0
    }

    /// The amount without its sign.
    pub fn abs(&self) -> Money {
        Self::from_nanos(self.currency, self.nanos.abs())
    }

    /// The amount rounded to `digits` decimals (0..=9).
    pub fn rounded(&self, digits: u32, rounding: Rounding) -> Money {
        Self::from_nanos(self.currency, rounding.round_nanos(self.nanos, digits))
    }

    /// The amount rounded to its currency's minor unit (cents, whole yen).
    pub fn to_minor_unit(&self, rounding: Rounding) -> Money {
        self.rounded(self.currency.minor_digits(), rounding)
    }

    /// The number, without the currency: at least `min_decimals` decimals, thousands
    /// separated (`-1,234.50`).
    pub fn decimal_text(&self, min_decimals: u32) -> String {
        decimal_text(self.nanos, min_decimals)
    }
}

/// Amounts compare within one currency only; amounts of two currencies are unordered.
impl PartialOrd for Money {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        (self.currency == other.currency).then(|| self.nanos.cmp(&other.nanos))
    }
}

impl std::fmt::Display for Money {
    /// `USD 1,234.50`, `JPY 1,500`, `USD -0.75`, `USD 0.123456789`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}",
            self.currency,
            self.decimal_text(self.currency.minor_digits())
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const USD: CurrencyCode = CurrencyCode::USD;

    fn code(text: &str) -> CurrencyCode {
        CurrencyCode::parse(text).unwrap()
    }

    fn usd(units: i64, nanos: i32) -> Money {
        Money::new(USD, units, nanos).unwrap()
    }

    fn pb_money(code: &str, units: i64, nanos: i32) -> pb::Money {
        pb::Money {
            currency_code: code.to_owned(),
            units,
            nanos,
        }
    }

    fn sub_fields(result: Result<Money, Vec<ValueError>>) -> Vec<String> {
        result
            .unwrap_err()
            .iter()
            .map(|e| e.sub_field().to_owned())
            .collect()
    }

    #[test]
    fn codes_are_three_upper_case_letters() {
        assert_eq!(code("EUR").as_str(), "EUR");
        assert_eq!(CurrencyCode::parse(""), Err(ValueError::required()));
        for bad in ["eur", "EU", "EURO", "E1R", "ÉUR", "<b>"] {
            assert!(CurrencyCode::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(code("JPY").minor_digits(), 0);
        assert_eq!(code("KWD").minor_digits(), 3);
        assert_eq!(code("EUR").minor_digits(), 2);
    }

    #[test]
    fn parsing_reports_every_broken_rule_on_its_sub_field() {
        let money = Money::parse(&pb_money("USD", -3, -5)).unwrap();
        assert_eq!(money.parts(), Ok((-3, -5)));
        assert_eq!(
            sub_fields(Money::parse(&pb_money("usd", 1, 0))),
            ["currency_code"]
        );
        assert_eq!(sub_fields(Money::parse(&pb_money("USD", 1, -1))), ["nanos"]);
        assert_eq!(
            Money::parse(&pb_money("USD", 0, 1_000_000_000)),
            Err(vec![NANOS_OUT_OF_RANGE])
        );
        assert_eq!(
            Money::parse(&pb_money("USD", -1, 5)),
            Err(vec![SIGNS_DISAGREE])
        );
        assert_eq!(
            sub_fields(Money::parse(&pb_money("", 1, -1))),
            ["currency_code", "nanos"]
        );
        assert!(Money::parse(&pb_money("USD", 0, -5)).is_ok());
        assert!(Money::parse(&pb_money("USD", i64::MAX, 999_999_999)).is_ok());
    }

    #[test]
    fn sums_and_products_are_exact() {
        let price = usd(19, 990_000_000);
        let line = price.times(3).unwrap();
        assert_eq!(line.parts(), Ok((59, 970_000_000)));
        let total = line.checked_add(&usd(6, 970_000_000)).unwrap();
        assert_eq!(total.parts(), Ok((66, 940_000_000)));
        assert_eq!(
            total.checked_sub(&usd(66, 950_000_000)).unwrap().parts(),
            Ok((0, -10_000_000))
        );
        assert_eq!(Money::parse(&total.to_pb().unwrap()), Ok(total));
        assert_eq!(
            Money::sum(USD, [&price, &usd(0, 20_000_000)]),
            Ok(usd(20, 10_000_000))
        );
        assert_eq!(Money::sum(USD, []), Ok(Money::zero(USD)));
        // 99 units of the largest price still fit; only the contract's units overflow.
        let largest = usd(i64::MAX, 999_999_999).times(99).unwrap();
        assert_eq!(largest.parts(), Err(MoneyError::Overflow));
        assert_eq!(
            Money::from_nanos(USD, i128::MAX).times(2),
            Err(MoneyError::Overflow)
        );
    }

    #[test]
    fn currencies_do_not_mix() {
        let eur = Money::zero(code("EUR"));
        assert!(matches!(
            usd(1, 0).checked_add(&eur),
            Err(MoneyError::CurrencyMismatch { .. })
        ));
        assert!(usd(1, 0).checked_sub(&eur).is_err());
        assert!(usd(1, 0).in_currency(code("EUR")).is_err());
        assert_eq!(usd(1, 0).in_currency(USD), Ok(usd(1, 0)));
        assert_eq!(usd(1, 0).partial_cmp(&eur), None);
        assert!(usd(1, 0) > usd(0, 999_999_999));
        assert!(usd(-1, 0) < Money::zero(USD));
        assert!(usd(0, 1).is_positive() && usd(0, -1).is_negative());
        assert_eq!(usd(-2, -500_000_000).abs(), usd(2, 500_000_000));
    }

    #[test]
    fn rounding_rules() {
        let even = Rounding::HalfEven;
        let away = Rounding::HalfAwayFromZero;
        for (numerator, denominator, half_even, half_away) in [
            (5, 10, 0, 1),
            (15, 10, 2, 2),
            (25, 10, 2, 3),
            (35, 10, 4, 4),
            (14, 10, 1, 1),
            (16, 10, 2, 2),
            (7, 1, 7, 7),
        ] {
            assert_eq!(even.divide(numerator, denominator), half_even);
            assert_eq!(away.divide(numerator, denominator), half_away);
        }
        // To cents: 0.125 → 0.12 (even) or 0.13 (away); negatives mirror positives.
        assert_eq!(usd(0, 125_000_000).rounded(2, even), usd(0, 120_000_000));
        assert_eq!(usd(0, 125_000_000).rounded(2, away), usd(0, 130_000_000));
        assert_eq!(usd(0, -125_000_000).rounded(2, away), usd(0, -130_000_000));
        assert_eq!(
            Money::new(code("JPY"), 301, 325_800_000)
                .unwrap()
                .to_minor_unit(even),
            Money::new(code("JPY"), 301, 0).unwrap()
        );
        assert_eq!(usd(3, 0).rounded(9, away), usd(3, 0));
    }

    #[test]
    fn rounding_agrees_with_exact_fractions() {
        // A property loop: for many amounts and every number of digits, the rounded amount
        // is a whole number of steps, less than one step away, and within half a step.
        let mut nanos: i128 = -2_000_000_001;
        while nanos < 2_000_000_000 {
            for digits in 0..=9 {
                let step = 10_i128.pow(9 - digits);
                for rounding in [Rounding::HalfEven, Rounding::HalfAwayFromZero] {
                    let rounded = rounding.round_nanos(nanos, digits);
                    assert_eq!(rounded % step, 0, "{nanos} {digits}");
                    assert!(2 * (rounded - nanos).abs() <= step, "{nanos} {digits}");
                    assert_eq!(rounding.round_nanos(-nanos, digits), -rounded);
                }
            }
            nanos += 9_876_543;
        }
    }

    #[test]
    fn display_keeps_the_currency_decimals_and_every_finer_digit() {
        let text = |currency: &str, units, nanos| {
            Money::new(code(currency), units, nanos)
                .unwrap()
                .to_string()
        };
        assert_eq!(text("USD", 12, 300_000_000), "USD 12.30");
        assert_eq!(text("USD", 0, 0), "USD 0.00");
        assert_eq!(text("USD", 1_234_567, 5_000_000), "USD 1,234,567.005");
        assert_eq!(text("USD", 0, 123_456_789), "USD 0.123456789");
        assert_eq!(text("JPY", 1500, 0), "JPY 1,500");
        assert_eq!(text("KWD", 2, 500_000_000), "KWD 2.500");
        assert_eq!(text("USD", -1, -750_000_000), "USD -1.75");
        assert_eq!(text("USD", 0, -750_000_000), "USD -0.75");
        assert_eq!(text("USD", 999, 0), "USD 999.00");
        assert_eq!(text("USD", 1000, 0), "USD 1,000.00");
        // A line of 99 units of the largest price is still shown exactly.
        let largest = usd(i64::MAX, 999_999_999).times(99).unwrap();
        assert!(largest.to_string().starts_with("USD 913,"));
        assert_eq!(
            usd(19, 990_000_000).times(3).unwrap().to_string(),
            "USD 59.97"
        );
        assert_eq!(decimal_text(1_234_500_000_000, 2), "1,234.50");
        assert_eq!(decimal_text(7, 0), "0.000000007");
        assert_eq!(split_nanos(total_nanos(-3, -5)), Some((-3, -5)));
        assert_eq!(split_nanos(i128::MAX), None);
    }
}
