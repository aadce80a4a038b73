//! Money as shoppers read it, computed exactly.
//!
//! An [`Amount`] holds a `bazaar.type.v1.Money` as a whole number of nano-units (an `i128`,
//! so a line total of 99 × the largest price cannot overflow) and its currency code. It is
//! formatted from those integers alone, never through a float: `USD 1,234.50`, with the
//! currency's usual number of decimals (0 for JPY, 3 for KWD, 2 for most) and more only
//! when the amount has finer digits, so nothing is ever rounded away.

use bazaar_contract::types::v1::Money;

const NANOS_PER_UNIT: i128 = 1_000_000_000;

/// An exact amount of money in one currency.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Amount {
    currency: String,
    nanos: i128,
}

impl Amount {
    /// Reads a `Money`; `None` when it breaks the rules of `bazaar.type.v1.Money` (a
    /// currency code that is not three upper-case letters, nanos out of range or of the
    /// other sign than units).
    pub fn from_money(money: &Money) -> Option<Self> {
        let code = money.currency_code.as_bytes();
        if code.len() != 3 || !code.iter().all(u8::is_ascii_uppercase) {
            return None;
        }
        if !(-999_999_999..=999_999_999).contains(&money.nanos)
            || (money.units > 0 && money.nanos < 0)
            || (money.units < 0 && money.nanos > 0)
        {
            return None;
        }
        Some(Self {
            currency: money.currency_code.clone(),
            nanos: i128::from(money.units) * NANOS_PER_UNIT + i128::from(money.nanos),
        })
    }

    /// This amount `quantity` times (a line total).
    pub fn times(&self, quantity: i32) -> Self {
        Self {
            currency: self.currency.clone(),
            nanos: self.nanos * i128::from(quantity),
        }
    }

    /// The ISO 4217 code.
    pub fn currency(&self) -> &str {
        &self.currency
    }
}

impl std::fmt::Display for Amount {
    /// `USD 1,234.50`, `JPY 1,500`, `USD -0.75`, `USD 0.123456789`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.nanos < 0 { "-" } else { "" };
        let magnitude = self.nanos.unsigned_abs();
        let whole = magnitude / NANOS_PER_UNIT as u128;
        let fraction = format!("{:09}", magnitude % NANOS_PER_UNIT as u128);
        // Keep the currency's decimals, and any finer non-zero digit.
        let significant = fraction.trim_end_matches('0').len();
        let decimals = significant.max(minor_digits(&self.currency));
        write!(f, "{} {sign}{}", self.currency, group_thousands(whole))?;
        if decimals > 0 {
            write!(f, ".{}", &fraction[..decimals])?;
        }
        Ok(())
    }
}

/// Digits after the decimal point in the usual notation of a currency (ISO 4217 minor
/// units): 0 and 3 for the currencies listed, 2 for every other.
fn minor_digits(currency: &str) -> usize {
    const NONE: &[&str] = &[
        "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND",
        "VUV", "XAF", "XOF", "XPF",
    ];
    const THREE: &[&str] = &["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];
    if NONE.contains(&currency) {
        0
    } else if THREE.contains(&currency) {
        3
    } else {
        2
    }
}

/// `1234567` → `1,234,567`.
fn group_thousands(value: u128) -> String {
    let digits = value.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(code: &str, units: i64, nanos: i32) -> Money {
        Money {
            currency_code: code.to_owned(),
            units,
            nanos,
        }
    }

    fn text(code: &str, units: i64, nanos: i32) -> String {
        Amount::from_money(&money(code, units, nanos))
            .unwrap()
            .to_string()
    }

    #[test]
    fn formats_exactly_with_the_currency_decimals() {
        assert_eq!(text("USD", 12, 300_000_000), "USD 12.30");
        assert_eq!(text("USD", 0, 0), "USD 0.00");
        assert_eq!(text("USD", 1_234_567, 5_000_000), "USD 1,234,567.005");
        assert_eq!(text("EUR", 0, 990_000_000), "EUR 0.99");
        assert_eq!(text("USD", 0, 123_456_789), "USD 0.123456789");
        assert_eq!(text("JPY", 1500, 0), "JPY 1,500");
        assert_eq!(text("KWD", 2, 500_000_000), "KWD 2.500");
        assert_eq!(text("USD", -1, -750_000_000), "USD -1.75");
        assert_eq!(text("USD", 0, -750_000_000), "USD -0.75");
        assert_eq!(text("USD", 999, 0), "USD 999.00");
        assert_eq!(text("USD", 1000, 0), "USD 1,000.00");
    }

    #[test]
    fn line_totals_do_not_overflow() {
        let price = Amount::from_money(&money("USD", i64::MAX, 999_999_999)).unwrap();
        let total = price.times(99);
        assert!(total.to_string().starts_with("USD 913,"));
        let price = Amount::from_money(&money("USD", 19, 990_000_000)).unwrap();
        assert_eq!(price.times(3).to_string(), "USD 59.97");
    }

    #[test]
    fn rejects_money_that_breaks_the_rules() {
        assert!(Amount::from_money(&money("usd", 1, 0)).is_none());
        assert!(Amount::from_money(&money("US", 1, 0)).is_none());
        assert!(Amount::from_money(&money("USD", 1, -1)).is_none());
        assert!(Amount::from_money(&money("USD", -1, 1)).is_none());
        assert!(Amount::from_money(&money("USD", 0, 1_000_000_000)).is_none());
    }
}
