//! The contract's own value types, written by hand beside the generated code.
//!
//! The proto files say what a `request_id`, a product id, a `Money` or a card number must be;
//! the generated messages only carry strings and integers. These types are those rules, once:
//! every service parses a request field into one of them at its edge, so a value that exists
//! past the edge is valid, and the same bad field reads the same in every service.
//!
//! - [`money`]: [`Money`] (a currency code and an exact count of nanos) with checked
//!   arithmetic, rounding to a currency's minor unit and display; [`CurrencyCode`];
//! - [`ids`]: [`RequestId`] (the AIP-155 idempotency key), [`OrderId`], looked-up ids, and
//!   the formats of every id a service makes ([`IdFormat`]);
//! - [`slug`]: [`Slug`], the id of products and categories;
//! - [`card`]: payment cards as typed, with the Luhn check, never shown;
//! - [`calendar`]: civil dates of the proleptic Gregorian calendar, RFC 5322 dates and
//!   `google.protobuf.Timestamp`s, without a date library.
//!
//! Parsing fails with one small error, [`ValueError`]: a description of what is wrong, and
//! for a message (a `Money`, a `Card`) the sub-field at fault. The caller adds the path of the
//! field in its request (`amount` + `nanos` = `amount.nanos`); the chassis turns it into a
//! `google.rpc.BadRequest` field violation in one call. Nothing here does I/O, except the id
//! generators, which read the operating system's randomness.

pub mod calendar;
pub mod card;
pub mod ids;
pub mod money;
pub mod slug;

use std::borrow::Cow;

pub use card::{Card, CardNumber, Cvv, Expiry, luhn_valid};
pub use ids::{IdFormat, OrderId, RandomnessError, RequestId, lookup_id};
pub use money::{CurrencyCode, Money, MoneyError, Rounding};
pub use slug::{ProductId, Slug};

/// Why a value does not follow the contract's rules: what is wrong, and which sub-field of
/// the value is at fault (empty for the value itself).
///
/// It names no request field: the caller knows where the value came from and adds that
/// path ([`ValueError::path`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValueError {
    sub_field: &'static str,
    description: Cow<'static, str>,
}

impl ValueError {
    /// A problem of the value itself.
    pub const fn new(description: &'static str) -> Self {
        Self {
            sub_field: "",
            description: Cow::Borrowed(description),
        }
    }

    /// A problem of the value itself, with a description made at run time.
    pub fn described(description: impl Into<Cow<'static, str>>) -> Self {
        Self {
            sub_field: "",
            description: description.into(),
        }
    }

    /// A problem of one sub-field of the value (`nanos` of a Money, `cvv` of a card).
    pub const fn in_sub_field(sub_field: &'static str, description: &'static str) -> Self {
        Self {
            sub_field,
            description: Cow::Borrowed(description),
        }
    }

    /// The value was required and is missing or empty.
    pub const fn required() -> Self {
        Self::new("is required")
    }

    /// The same problem, blamed on another sub-field (for a contract that documents the
    /// problem there).
    pub fn blaming(self, sub_field: &'static str) -> Self {
        Self { sub_field, ..self }
    }

    /// The sub-field at fault, empty for the value itself.
    pub fn sub_field(&self) -> &str {
        self.sub_field
    }

    /// What is wrong, for the person who wrote the call ("must be 1 to 64 characters ...").
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The path of the field at fault, for a value found at `field` of a request:
    /// `amount.nanos` for the `nanos` of the Money at `amount`, `field` itself otherwise.
    pub fn path(&self, field: &str) -> String {
        if self.sub_field.is_empty() {
            field.to_owned()
        } else {
            format!("{field}.{}", self.sub_field)
        }
    }
}

impl std::fmt::Display for ValueError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.sub_field.is_empty() {
            f.write_str(&self.description)
        } else {
            write!(f, "{}: {}", self.sub_field, self.description)
        }
    }
}

impl std::error::Error for ValueError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_join_the_request_field_and_the_sub_field() {
        let whole = ValueError::required();
        assert_eq!(whole.path("request_id"), "request_id");
        assert_eq!(whole.to_string(), "is required");
        let part = ValueError::in_sub_field("nanos", "must be small");
        assert_eq!(part.path("amount"), "amount.nanos");
        assert_eq!(part.to_string(), "nanos: must be small");
        assert_eq!(part.clone().blaming("units").path("amount"), "amount.units");
        assert_eq!(part.blaming("units").description(), "must be small");
        assert_eq!(
            ValueError::described(format!("at most {}", 3)).description(),
            "at most 3"
        );
    }
}
