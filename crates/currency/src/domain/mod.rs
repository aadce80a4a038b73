//! The rules of currency: rates and exact conversion. No I/O here.
//!
//! Amounts and currency codes are the contract's own values
//! (`bazaar_contract::values::money`); what is the currency service's alone is the rate
//! table and the conversion through the dollar.

mod money;
mod table;

pub use bazaar_contract::values::money::{CurrencyCode, Money, MoneyError, NANOS_PER_UNIT};
pub use money::{Currency, Rate, convert};
pub use table::{RateTable, TableError};
