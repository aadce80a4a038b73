//! Exact conversion: a rate is "how many units of a currency one US dollar buys", held
//! exactly as nanos, like every amount ([`Money`]), so no float ever touches a price.
//! Converting `a` from currency X to Y is `a × rate(Y) ÷ rate(X)`, a rational number,
//! rounded once, half to even, to Y's minor unit (cents, yen, fils, ...).

use bazaar_contract::values::money::Rounding;

use super::{CurrencyCode, Money, MoneyError, NANOS_PER_UNIT};

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

/// Converts `amount` (in `from`) into `to`, rounded half to even to `to`'s minor unit.
pub fn convert(amount: Money, from: &Currency, to: &Currency) -> Result<Money, MoneyError> {
    let amount = amount.in_currency(from.code)?;
    let numerator = amount
        .nanos()
        .unsigned_abs()
        .checked_mul(to.per_usd.0.unsigned_abs())
        .ok_or(MoneyError::Overflow)?;
    let denominator = from
        .per_usd
        .0
        .unsigned_abs()
        .checked_mul(to.quantum().unsigned_abs())
        .ok_or(MoneyError::Overflow)?;
    let quanta = Rounding::HalfEven.divide(numerator, denominator);
    let nanos = quanta
        .checked_mul(to.quantum().unsigned_abs())
        .and_then(|n| i128::try_from(n).ok())
        .ok_or(MoneyError::Overflow)?;
    let converted = Money::from_nanos(to.code, if amount.is_negative() { -nanos } else { nanos });
    // Refuse what the contract's int64 units cannot carry.
    converted.parts()?;
    Ok(converted)
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

    /// `units` and `nanos` of `from` converted into `to`, as the contract's parts.
    fn convert_parts(
        units: i64,
        nanos: i32,
        from: &Currency,
        to: &Currency,
    ) -> Result<(i64, i32), MoneyError> {
        let amount = Money::new(from.code, units, nanos).unwrap();
        convert(amount, from, to).and_then(|m| {
            assert_eq!(m.currency(), to.code);
            m.parts()
        })
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
        assert_eq!(
            convert_parts(12, 340_000_000, &usd(), &usd()),
            Ok((12, 340_000_000))
        );
        let eur = currency("EUR", 2, "0.9");
        assert!(matches!(
            convert(Money::zero(eur.code), &usd(), &eur),
            Err(MoneyError::CurrencyMismatch { .. })
        ));
    }

    #[test]
    fn converts_and_rounds_to_the_target_minor_unit() {
        let eur = currency("EUR", 2, "0.9213");
        // 10.00 USD × 0.9213 = 9.213 EUR → 9.21
        assert_eq!(convert_parts(10, 0, &usd(), &eur), Ok((9, 210_000_000)));
        let jpy = currency("JPY", 0, "151.42");
        // 1.99 USD × 151.42 = 301.3258 JPY → 301
        assert_eq!(convert_parts(1, 990_000_000, &usd(), &jpy), Ok((301, 0)));
        let kwd = currency("KWD", 3, "0.3075");
        // 12.34 USD × 0.3075 = 3.79455 KWD → 3.795 (above half)
        assert_eq!(
            convert_parts(12, 340_000_000, &usd(), &kwd),
            Ok((3, 795_000_000))
        );
    }

    #[test]
    fn ties_round_to_even() {
        let half = currency("XHF", 2, "0.5");
        // 0.01 USD × 0.5 = 0.005 → 0.00 (0 is even)
        assert_eq!(convert_parts(0, 10_000_000, &usd(), &half), Ok((0, 0)));
        // 0.03 USD × 0.5 = 0.015 → 0.02 (2 is even)
        assert_eq!(
            convert_parts(0, 30_000_000, &usd(), &half),
            Ok((0, 20_000_000))
        );
        // 0.05 USD × 0.5 = 0.025 → 0.02
        assert_eq!(
            convert_parts(0, 50_000_000, &usd(), &half),
            Ok((0, 20_000_000))
        );
        // 0.07 USD × 0.5 = 0.035 → 0.04
        assert_eq!(
            convert_parts(0, 70_000_000, &usd(), &half),
            Ok((0, 40_000_000))
        );
        // Negative amounts mirror positive ones.
        assert_eq!(
            convert_parts(0, -30_000_000, &usd(), &half),
            Ok((0, -20_000_000))
        );
        assert_eq!(
            convert_parts(0, -50_000_000, &usd(), &half),
            Ok((0, -20_000_000))
        );
    }

    #[test]
    fn cross_rates_go_through_the_dollar_exactly() {
        let eur = currency("EUR", 2, "0.8");
        let gbp = currency("GBP", 2, "0.6");
        // 1.00 EUR = 1.25 USD = 0.75 GBP exactly.
        assert_eq!(convert_parts(1, 0, &eur, &gbp), Ok((0, 750_000_000)));
        // 1.00 GBP = 1.3333... EUR → 1.33
        assert_eq!(convert_parts(1, 0, &gbp, &eur), Ok((1, 330_000_000)));
    }

    #[test]
    fn overflow_is_an_error_not_a_wrap() {
        let vnd = currency("VND", 0, "26000");
        assert_eq!(
            convert_parts(i64::MAX, 0, &usd(), &vnd),
            Err(MoneyError::Overflow)
        );
        // Still fine far below the limit.
        assert!(convert_parts(1_000_000_000, 0, &usd(), &vnd).is_ok());
    }
}
