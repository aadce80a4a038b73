//! Amounts to charge: a valid `bazaar.type.v1.Money` (the contract's rules, checked by
//! `bazaar_contract::values::money`), and payment's own limits on top: positive, at most
//! 1,000,000 units.

use bazaar_contract::types::v1::Money;
use bazaar_contract::values::ValueError;
use bazaar_contract::values::money::{CurrencyCode, NANOS_PER_UNIT, exact_nanos};
use chassis::error::{AtField, FieldViolation};

/// Largest amount charged in one call, in whole units of its currency.
pub const MAX_UNITS: i64 = 1_000_000;

/// A positive amount of money in one ISO 4217 currency, never more than [`MAX_UNITS`].
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
        match exact_nanos(money.units, money.nanos).at(field) {
            Err(violation) => violations.push(violation),
            Ok(nanos) if nanos <= 0 => {
                violations.push(FieldViolation::new(field, "must be positive"));
            }
            Ok(nanos) if nanos > i128::from(MAX_UNITS) * NANOS_PER_UNIT => {
                violations.push(FieldViolation::new(
                    format!("{field}.units"),
                    format!("must be at most {MAX_UNITS} units"),
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
    fn good_amounts() {
        for (units, nanos) in [(0, 1), (1, 0), (12, 990_000_000), (MAX_UNITS, 0)] {
            let amount = Amount::parse("amount", Some(&money("EUR", units, nanos))).unwrap();
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
            ("USD", MAX_UNITS, 1, vec!["amount.units"]),
            ("USD", MAX_UNITS + 1, 0, vec!["amount.units"]),
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
