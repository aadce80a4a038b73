//! The rules of currency: codes, rates, exact conversion. No I/O here.

mod money;
mod table;

pub use money::{Amount, Currency, MoneyError, NANOS_PER_UNIT, Rate, convert};
pub use table::{RateTable, TableError};

/// An ISO 4217 currency code: three upper-case ASCII letters. Whether the table knows it is
/// a separate question, answered by [`RateTable::get`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CurrencyCode([u8; 3]);

impl CurrencyCode {
    /// Parses a code; `None` unless it is exactly three letters A–Z.
    pub fn parse(text: &str) -> Option<Self> {
        let bytes: [u8; 3] = text.as_bytes().try_into().ok()?;
        bytes
            .iter()
            .all(u8::is_ascii_uppercase)
            .then_some(Self(bytes))
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII upper-case letters get in through `parse`.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }
}

impl std::fmt::Display for CurrencyCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_three_upper_case_letters() {
        assert_eq!(CurrencyCode::parse("EUR").unwrap().as_str(), "EUR");
        for bad in ["", "eur", "EU", "EURO", "E1R", "ÉUR"] {
            assert!(CurrencyCode::parse(bad).is_none(), "{bad}");
        }
    }
}
