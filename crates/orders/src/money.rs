//! Exact amounts of money: a currency code and a whole number of nanos (10^-9 units), in
//! 128-bit integers so sums of up to 100 lines of 99 units can never overflow. No floating
//! point anywhere. Amounts come in and go out as `bazaar.type.v1.Money`.

use bazaar_contract::types::v1::Money;

const NANOS_PER_UNIT: i128 = 1_000_000_000;

/// Why a Money from another service cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// `nanos` outside ±999,999,999, or `units` and `nanos` of different signs.
    #[error("malformed money amount")]
    Malformed,
    /// Not in the expected currency.
    #[error("amount in {found}, expected {expected}")]
    Currency {
        /// The currency expected.
        expected: String,
        /// The currency found.
        found: String,
    },
    /// Adding or multiplying left the range of Money.
    #[error("amount out of range")]
    Overflow,
}

/// An exact amount in one currency.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Amount {
    currency: String,
    nanos: i128,
}

impl Amount {
    /// Zero in `currency`.
    pub fn zero(currency: &str) -> Self {
        Self {
            currency: currency.to_owned(),
            nanos: 0,
        }
    }

    /// A Money, checked for shape and for being in `currency`.
    pub fn from_pb(money: &Money, currency: &str) -> Result<Self, MoneyError> {
        if money.currency_code != currency {
            return Err(MoneyError::Currency {
                expected: currency.to_owned(),
                found: money.currency_code.clone(),
            });
        }
        Self::from_parts(currency, money.units, money.nanos)
    }

    /// An amount from stored or received parts, checked for shape.
    pub fn from_parts(currency: &str, units: i64, nanos: i32) -> Result<Self, MoneyError> {
        let signs_agree = (units >= 0 && nanos >= 0) || (units <= 0 && nanos <= 0);
        if !(-999_999_999..=999_999_999).contains(&nanos) || !signs_agree {
            return Err(MoneyError::Malformed);
        }
        Ok(Self {
            currency: currency.to_owned(),
            nanos: i128::from(units) * NANOS_PER_UNIT + i128::from(nanos),
        })
    }

    /// The currency code.
    pub fn currency(&self) -> &str {
        &self.currency
    }

    /// This amount times `quantity`.
    pub fn times(&self, quantity: i32) -> Self {
        Self {
            currency: self.currency.clone(),
            nanos: self.nanos * i128::from(quantity),
        }
    }

    /// The sum of two amounts of the same currency.
    pub fn plus(&self, other: &Amount) -> Result<Self, MoneyError> {
        if other.currency != self.currency {
            return Err(MoneyError::Currency {
                expected: self.currency.clone(),
                found: other.currency.clone(),
            });
        }
        Ok(Self {
            currency: self.currency.clone(),
            nanos: self.nanos + other.nanos,
        })
    }

    /// Whether the amount is above zero.
    pub fn is_positive(&self) -> bool {
        self.nanos > 0
    }

    /// `(units, nanos)` as Money wants them, or `Overflow` beyond the range of `units`.
    pub fn parts(&self) -> Result<(i64, i32), MoneyError> {
        let units = i64::try_from(self.nanos / NANOS_PER_UNIT).map_err(|_| MoneyError::Overflow)?;
        // The remainder of a division by 10^9 always fits an i32.
        let nanos = i32::try_from(self.nanos % NANOS_PER_UNIT).map_err(|_| MoneyError::Overflow)?;
        Ok((units, nanos))
    }

    /// As a Money.
    pub fn to_pb(&self) -> Result<Money, MoneyError> {
        let (units, nanos) = self.parts()?;
        Ok(Money {
            currency_code: self.currency.clone(),
            units,
            nanos,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd(units: i64, nanos: i32) -> Amount {
        Amount::from_parts("USD", units, nanos).unwrap()
    }

    #[test]
    fn sums_and_products_are_exact() {
        let price = usd(19, 990_000_000);
        let line = price.times(3);
        assert_eq!(line.parts().unwrap(), (59, 970_000_000));
        let total = line.plus(&usd(6, 970_000_000)).unwrap();
        assert_eq!(total.parts().unwrap(), (66, 940_000_000));
        assert!(total.is_positive());
        let pb = total.to_pb().unwrap();
        assert_eq!(Amount::from_pb(&pb, "USD").unwrap(), total);
    }

    #[test]
    fn malformed_and_foreign_amounts_are_refused() {
        assert_eq!(Amount::from_parts("USD", 1, -1), Err(MoneyError::Malformed));
        assert_eq!(
            Amount::from_parts("USD", 0, 1_000_000_000),
            Err(MoneyError::Malformed)
        );
        let eur = Money {
            currency_code: "EUR".to_owned(),
            units: 1,
            nanos: 0,
        };
        assert!(matches!(
            Amount::from_pb(&eur, "USD"),
            Err(MoneyError::Currency { .. })
        ));
        assert!(usd(1, 0).plus(&Amount::zero("EUR")).is_err());
        assert_eq!(usd(i64::MAX, 0).times(2).parts(), Err(MoneyError::Overflow));
    }
}
