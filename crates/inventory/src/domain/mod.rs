//! The inventory's rules, as types, with no I/O.
//!
//! Requests are parsed here once, at the edge, into values that cannot be invalid: a
//! [`ProductId`] is a slug, a [`ReserveRequest`] has 1..=100 distinct products with
//! quantities in bounds and a ttl of 1 s..=1 h. Every bad field becomes a
//! [`FieldViolation`](chassis::error::FieldViolation) naming its path in the request (`lines[2].quantity`), all of them
//! reported at once.
//!
//! Stock arithmetic lives here too ([`StockCounts::level`]): the store keeps, per product,
//! the units ever `received`, those `reserved` by reservations still marked ACTIVE, and
//! those `sold`; reservations past their expiry that nobody has marked EXPIRED yet
//! (`overdue`) are subtracted from `reserved` when stock is read, so expiry holds at the
//! instant it happens whether or not the sweeper has run.
//!
//! `ids` has the identifiers (product and request ids are the contract's own values),
//! `requests` the parsed requests, `stock` the stock arithmetic and the reservation's life.

mod ids;
mod requests;
mod stock;

use bazaar_contract::values::ids::Encoding;
use sha2::{Digest, Sha256};

pub use ids::{ProductId, RequestId, ReservationId};
pub use requests::{Line, ReserveRequest, RestockRequest, TtlField};
pub use stock::{Reservation, ReservationState, Shortage, StockCounts, StockLevel};

/// Most ids in one BatchGetStock call.
pub const MAX_BATCH: usize = 100;
/// Most lines in one reservation.
pub const MAX_LINES: usize = 100;
/// Most units of one product in one reservation line.
pub const MAX_RESERVE_QUANTITY: i32 = 10_000;
/// Most units in one restock.
pub const MAX_RESTOCK_QUANTITY: i32 = 1_000_000;
/// The ttl of a reservation that does not ask for one: 15 minutes.
pub const DEFAULT_TTL_MS: i64 = 15 * 60 * 1000;
/// The shortest ttl: 1 second.
pub const MIN_TTL_MS: i64 = 1000;
/// The longest ttl: 1 hour.
pub const MAX_TTL_MS: i64 = 60 * 60 * 1000;
/// Longest reservation reference, in characters.
pub const MAX_REFERENCE_CHARS: usize = 64;
/// Longest request id and reservation id, in characters.
pub const MAX_ID_CHARS: usize = 64;

/// The SHA-256 of `text`, in hex.
pub(crate) fn digest(text: &str) -> String {
    Encoding::Hex.encode(&Sha256::digest(text.as_bytes()))
}
