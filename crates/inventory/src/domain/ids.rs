//! Identifiers: of products (slugs), of client requests (idempotency keys) and of
//! reservations (made here).

use chassis::error::FieldViolation;

use super::{MAX_ID_CHARS, hex};

/// A product id: a slug matching `^[a-z0-9][a-z0-9-]{0,62}$`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProductId(String);

impl ProductId {
    /// Parses a product id; on failure, says why in terms of `field`.
    pub fn parse(field: &str, text: &str) -> Result<Self, FieldViolation> {
        let mut bytes = text.bytes();
        let valid = match bytes.next() {
            Some(first) if first.is_ascii_lowercase() || first.is_ascii_digit() => {
                bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            }
            _ => false,
        } && text.len() <= 63;
        if valid {
            Ok(Self(text.to_owned()))
        } else if text.is_empty() {
            Err(FieldViolation::new(field, "is required"))
        } else {
            Err(FieldViolation::new(
                field,
                "must match ^[a-z0-9][a-z0-9-]{0,62}$ (lower-case letters, digits and dashes)",
            ))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A client's idempotency key: 1..=64 characters of `[A-Za-z0-9_-]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestId(String);

impl RequestId {
    /// Parses the `request_id` field.
    pub fn parse(text: &str) -> Result<Self, FieldViolation> {
        if text.is_empty() {
            return Err(FieldViolation::new("request_id", "is required"));
        }
        if text.len() > MAX_ID_CHARS
            || !text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(FieldViolation::new(
                "request_id",
                "must be 1..=64 characters of A-Z, a-z, 0-9, '_' and '-' (a UUID is recommended)",
            ));
        }
        Ok(Self(text.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The id of a reservation as a caller names it: any non-empty text (ids this server
/// never generated are simply not found).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReservationId(String);

impl ReservationId {
    /// Parses the `reservation_id` field.
    pub fn parse(text: &str) -> Result<Self, FieldViolation> {
        if text.is_empty() {
            return Err(FieldViolation::new("reservation_id", "is required"));
        }
        Ok(Self(text.to_owned()))
    }

    /// A fresh id: `rsv-` and 32 hex digits of the operating system's randomness.
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut bytes = [0_u8; 16];
        getrandom::fill(&mut bytes)?;
        Ok(Self(format!("rsv-{}", hex(&bytes))))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this server could have generated it (longer ids cannot exist).
    pub fn could_exist(&self) -> bool {
        self.0.len() <= MAX_ID_CHARS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn product_ids_and_request_ids() {
        assert!(ProductId::parse("p", "brass-lamp").is_ok());
        for bad in ["", "-a", "A", "a_b", &"a".repeat(64)] {
            assert!(ProductId::parse("p", bad).is_err(), "{bad}");
        }
        assert!(RequestId::parse("Req_1-a").is_ok());
        assert!(RequestId::parse(&"x".repeat(64)).is_ok());
        for bad in ["", "a b", "é", &"x".repeat(65)] {
            assert!(RequestId::parse(bad).is_err(), "{bad}");
        }
    }
}
