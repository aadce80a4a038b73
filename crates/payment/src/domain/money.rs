//! Amounts to charge: a valid `bazaar.type.v1.Money` (the contract's rules, checked by
//! `bazaar_contract::values::money`), and payment's own limits on top: positive, and at most
//! the equivalent of [`MAX_USD_UNITS`] US dollars in whatever currency it is.
//!
//! The cap means the same value in every currency: payment's own risk table
//! ([`UNITS_PER_USD_MILLI`]) says, for each currency, how many units one US dollar is worth,
//! rounded *up* to two significant figures (so a rate that moves a little never refuses a
//! charge that the USD cap allows). It is payment's policy, not an exchange rate: it never
//! prices anything and changes only with a release. A currency it does not list is capped
//! at [`MAX_USD_UNITS`] of its own units, which is never more than the cap for the strong
//! currencies and only refuses large amounts in weak ones.

use bazaar_contract::types::v1::Money;
use bazaar_contract::values::ValueError;
use bazaar_contract::values::money::{CurrencyCode, NANOS_PER_UNIT, exact_nanos};
use chassis::error::{AtField, FieldViolation};

/// Largest amount charged in one call, in US dollars (or their equivalent).
pub const MAX_USD_UNITS: i64 = 1_000_000;

/// Units of each currency worth one US dollar, in thousandths, rounded up to two
/// significant figures; sorted by code.
pub const UNITS_PER_USD_MILLI: &[(&str, i64)] = &[
    ("AED", 3_700),
    ("ARS", 1_500_000),
    ("AUD", 1_600),
    ("BHD", 380),
    ("BRL", 5_400),
    ("CAD", 1_500),
    ("CHF", 810),
    ("CLP", 940_000),
    ("CNY", 7_100),
    ("COP", 3_800_000),
    ("CZK", 21_000),
    ("DKK", 6_500),
    ("EGP", 48_000),
    ("EUR", 870),
    ("GBP", 760),
    ("HKD", 7_800),
    ("HUF", 340_000),
    ("IDR", 17_000_000),
    ("ILS", 3_300),
    ("INR", 90_000),
    ("ISK", 130_000),
    ("JOD", 710),
    ("JPY", 160_000),
    ("KES", 130_000),
    ("KRW", 1_500_000),
    ("KWD", 310),
    ("MAD", 9_300),
    ("MXN", 19_000),
    ("MYR", 4_200),
    ("NGN", 1_500_000),
    ("NOK", 11_000),
    ("NZD", 1_800),
    ("OMR", 390),
    ("PEN", 3_400),
    ("PHP", 59_000),
    ("PLN", 3_700),
    ("QAR", 3_700),
    ("RON", 4_400),
    ("SAR", 3_800),
    ("SEK", 9_500),
    ("SGD", 1_400),
    ("THB", 33_000),
    ("TND", 3_000),
    ("TRY", 43_000),
    ("TWD", 32_000),
    ("USD", 1_000),
    ("UYU", 40_000),
    ("VND", 27_000_000),
    ("ZAR", 18_000),
];

/// The largest amount charged in one call in `currency_code`, in whole units: the
/// equivalent of [`MAX_USD_UNITS`] by [`UNITS_PER_USD_MILLI`], or [`MAX_USD_UNITS`] units
/// of a currency the table does not list.
pub fn max_units(currency_code: &str) -> i64 {
    UNITS_PER_USD_MILLI
        .binary_search_by(|(code, _)| (*code).cmp(currency_code))
        .map_or(MAX_USD_UNITS, |i| {
            MAX_USD_UNITS.saturating_mul(UNITS_PER_USD_MILLI[i].1) / 1_000
        })
}

/// A positive amount of money in one ISO 4217 currency, never more than [`max_units`] of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Amount {
    currency_code: String,
    units: i64,
    nanos: i32,
}

impl Amount {
    /// Parses the Money at `field` (`amount`); every problem is a violation of the
    /// sub-field at fault (`amount.currency_code`, `amount.nanos`, ...). The size is checked
    /// whenever the parts are well-formed, even when the currency is not.
    pub fn parse(field: &str, money: Option<&Money>) -> Result<Self, Vec<FieldViolation>> {
        let Some(money) = money else {
            return Err(vec![FieldViolation::of_value(
                field,
                &ValueError::required(),
            )]);
        };
        let mut violations = Vec::new();
        let currency = CurrencyCode::parse(&money.currency_code)
            .map_err(|e| e.blaming("currency_code"))
            .at(field)
            .map_err(|v| violations.push(v))
            .ok();
        let max = max_units(&money.currency_code);
        match exact_nanos(money.units, money.nanos).at(field) {
            Err(violation) => violations.push(violation),
            Ok(nanos) if nanos <= 0 => {
                violations.push(FieldViolation::new(field, "must be positive"));
            }
            Ok(nanos) if nanos > i128::from(max) * NANOS_PER_UNIT => {
                violations.push(FieldViolation::new(
                    format!("{field}.units"),
                    format!(
                        "must be at most {max} units of this currency (the equivalent of \
                         {MAX_USD_UNITS} US dollars, the most one charge takes)"
                    ),
                ));
            }
            Ok(_) => {}
        }
        match currency {
            Some(currency) if violations.is_empty() => Ok(Self {
                currency_code: currency.as_str().to_owned(),
                units: money.units,
                nanos: money.nanos,
            }),
            _ => Err(violations),
        }
    }

    /// A stored amount, trusted as written by [`Amount::parse`].
    pub fn from_stored(currency_code: String, units: i64, nanos: i32) -> Self {
        Self {
            currency_code,
            units,
            nanos,
        }
    }

    /// ISO 4217 code.
    pub fn currency_code(&self) -> &str {
        &self.currency_code
    }

    /// Whole units.
    pub fn units(&self) -> i64 {
        self.units
    }

    /// Nano units, 0..=999,999,999.
    pub fn nanos(&self) -> i32 {
        self.nanos
    }

    /// As the contract's Money.
    pub fn to_money(&self) -> Money {
        Money {
            currency_code: self.currency_code.clone(),
            units: self.units,
            nanos: self.nanos,
        }
    }
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

    fn fields(result: Result<Amount, Vec<FieldViolation>>) -> Vec<String> {
        result.unwrap_err().into_iter().map(|v| v.field).collect()
    }

    #[test]
    fn the_table_is_sorted_and_every_cap_is_whole() {
        assert!(
            UNITS_PER_USD_MILLI.windows(2).all(|w| w[0].0 < w[1].0),
            "binary search needs the codes sorted"
        );
        assert_eq!(max_units("USD"), MAX_USD_UNITS);
        assert_eq!(max_units("VND"), 27_000_000_000);
        assert_eq!(max_units("KWD"), 310_000);
        assert_eq!(max_units("XAU"), MAX_USD_UNITS, "unlisted: its own units");
    }

    #[test]
    fn weak_currencies_take_as_much_as_strong_ones() {
        // 40 US dollars, in currencies where that is more than a million units.
        for (code, units) in [
            ("VND", 1_054_000),
            ("IDR", 666_000),
            ("KRW", 58_740),
            ("JPY", 6_233),
        ] {
            assert!(Amount::parse("amount", Some(&money(code, units, 0))).is_ok());
        }
        // Just above the cap, and far above it, in each.
        for code in ["VND", "JPY", "USD", "KWD"] {
            let max = max_units(code);
            assert_eq!(
                fields(Amount::parse("amount", Some(&money(code, max, 1)))),
                ["amount.units"]
            );
            assert_eq!(
                fields(Amount::parse("amount", Some(&money(code, i64::MAX, 0)))),
                ["amount.units"]
            );
            assert!(Amount::parse("amount", Some(&money(code, max, 0))).is_ok());
        }
    }

    #[test]
    fn good_amounts() {
        for (units, nanos) in [(0, 1), (1, 0), (12, 990_000_000), (MAX_USD_UNITS, 0)] {
            let amount = Amount::parse("amount", Some(&money("USD", units, nanos))).unwrap();
            assert_eq!((amount.units(), amount.nanos()), (units, nanos));
        }
    }

    #[test]
    fn bad_amounts_name_their_field() {
        assert_eq!(fields(Amount::parse("amount", None)), ["amount"]);
        for (code, units, nanos, expected) in [
            ("usd", 1, 0, vec!["amount.currency_code"]),
            ("US", 1, 0, vec!["amount.currency_code"]),
            ("USD", 0, 0, vec!["amount"]),
            ("USD", -1, 0, vec!["amount"]),
            ("USD", 0, -5, vec!["amount"]),
            ("USD", 1, -5, vec!["amount.nanos"]),
            ("USD", -1, 5, vec!["amount.nanos"]),
            ("USD", 1, 1_000_000_000, vec!["amount.nanos"]),
            ("USD", MAX_USD_UNITS, 1, vec!["amount.units"]),
            ("USD", MAX_USD_UNITS + 1, 0, vec!["amount.units"]),
            ("", 0, 0, vec!["amount.currency_code", "amount"]),
        ] {
            assert_eq!(
                fields(Amount::parse("amount", Some(&money(code, units, nanos)))),
                expected,
                "{code} {units} {nanos}"
            );
        }
    }
}
