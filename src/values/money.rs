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

/// The result of checked arithmetic on nanos, as an amount: `Overflow` when there was none,
/// or when it is `i128::MIN`, the one count whose magnitude (and negation) an `i128` cannot
/// hold, so that every amount arithmetic makes has an exact [`Money::abs`].
fn in_range(nanos: Option<i128>) -> Result<i128, MoneyError> {
    nanos
        .filter(|&nanos| nanos != i128::MIN)
        .ok_or(MoneyError::Overflow)
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
        let nanos = in_range(self.nanos.checked_add(other.nanos))?;
        Ok(Self::from_nanos(self.currency, nanos))
    }

    /// `self - other`, both in one currency.
    pub fn checked_sub(&self, other: &Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let nanos = in_range(self.nanos.checked_sub(other.nanos))?;
        Ok(Self::from_nanos(self.currency, nanos))
    }

    /// This amount `quantity` times (a line total).
    pub fn times(&self, quantity: i64) -> Result<Money, MoneyError> {
        let nanos = in_range(self.nanos.checked_mul(i128::from(quantity)))?;
        Ok(Self::from_nanos(self.currency, nanos))
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

    /// The amount without its sign. (Arithmetic never makes the one count of nanos whose
    /// magnitude an `i128` cannot hold; given it through [`Money::from_nanos`], this is the
    /// largest amount instead of a panic.)
    pub fn abs(&self) -> Money {
        Self::from_nanos(self.currency, self.nanos.saturating_abs())
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
mod tests;
