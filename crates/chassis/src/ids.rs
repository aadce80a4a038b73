//! Identifiers every service parses the same way.
//!
//! `request_id` is the contract's idempotency key (AIP-155) on every mutation that must not
//! happen twice; its shape is the same in every package, so it is parsed once, here.

use crate::error::FieldViolation;

/// A client-chosen idempotency key: 1..=64 characters of `[A-Za-z0-9_-]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RequestId(String);

impl RequestId {
    /// Parses the `request_id` field.
    pub fn parse(text: &str) -> Result<Self, FieldViolation> {
        if text.is_empty() {
            Err(FieldViolation::new("request_id", "is required"))
        } else if text.len() > 64
            || !text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            Err(FieldViolation::new(
                "request_id",
                "must be 1 to 64 characters of A-Z, a-z, 0-9, _ and -",
            ))
        } else {
            Ok(Self(text.to_owned()))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Parses a required id that is only looked up (a server-generated id such as
/// `charge_id`): anything but empty; an id that names nothing is NOT_FOUND later.
pub fn lookup_id(field: &str, text: &str) -> Result<String, FieldViolation> {
    if text.is_empty() {
        Err(FieldViolation::new(field, "is required"))
    } else {
        Ok(text.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_have_one_shape() {
        assert!(RequestId::parse("a-B_9").is_ok());
        assert!(RequestId::parse(&"x".repeat(64)).is_ok());
        for bad in ["", "has space", "é", &"x".repeat(65)] {
            assert_eq!(
                RequestId::parse(bad).unwrap_err().field,
                "request_id",
                "{bad}"
            );
        }
        assert!(lookup_id("charge_id", "").is_err());
        assert_eq!(lookup_id("charge_id", "ch_1").unwrap(), "ch_1");
    }
}
