//! Identifiers: of products (the contract's slugs), of client requests (the contract's
//! idempotency keys) and of reservations (made here).

use bazaar_contract::values::ids::{self, RESERVATION};
use bazaar_contract::values::{RandomnessError, ValueError};

pub use bazaar_contract::values::{ProductId, RequestId};

use super::MAX_ID_CHARS;

/// The id of a reservation as a caller names it: any non-empty text (ids this server
/// never generated are simply not found).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReservationId(String);

impl ReservationId {
    /// Parses a `reservation_id`.
    pub fn parse(text: &str) -> Result<Self, ValueError> {
        ids::lookup_id(text).map(Self)
    }

    /// A fresh id: `rsv-` and 32 hex digits of the operating system's randomness.
    pub fn generate() -> Result<Self, RandomnessError> {
        RESERVATION.generate().map(Self)
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
    fn reservation_ids() {
        let id = ReservationId::generate().unwrap();
        assert!(id.as_str().starts_with("rsv-") && id.could_exist());
        assert_eq!(ReservationId::parse(id.as_str()), Ok(id));
        assert_eq!(ReservationId::parse(""), Err(ValueError::required()));
        assert!(!ReservationId::parse(&"r".repeat(65)).unwrap().could_exist());
    }
}
