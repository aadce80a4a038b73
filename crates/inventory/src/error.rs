//! What an inventory call can fail with, and the one mapping of it to a gRPC status.
//!
//! Business errors carry a `google.rpc.ErrorInfo` with domain [`DOMAIN`] and the reason the
//! contract names; a shortage also carries a `google.rpc.PreconditionFailure` with one
//! violation per short line. Store failures are told apart here too: those that pass by
//! themselves (contention, which the store retries; a connection lost) are UNAVAILABLE,
//! the rest INTERNAL.

use bazaar_contract::values::RandomnessError;
use chassis::error::{ErrorDomain, FieldViolation};
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::domain::Shortage;

/// The `ErrorInfo` domain of the inventory's errors, as the contract names it.
pub const DOMAIN: &str = "bazaar.inventory";

/// What an inventory call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    /// Fields the caller must fix.
    #[error("invalid request")]
    Invalid(Vec<FieldViolation>),
    /// The request id was used before with other parameters.
    #[error("request id {0:?} was used with other parameters")]
    RequestIdReused(String),
    /// A call with the same request id has not finished yet.
    #[error("a call with request id {0:?} is still in progress")]
    InProgress(String),
    /// Some lines ask for more than is available.
    #[error("insufficient stock for {} line(s)", .0.len())]
    InsufficientStock(Vec<Shortage>),
    /// No reservation has this id.
    #[error("reservation {0:?} not found")]
    ReservationNotFound(String),
    /// The reservation expired: its units are no longer held.
    #[error("reservation {0:?} has expired")]
    ReservationExpired(String),
    /// The reservation was released: its units are no longer held.
    #[error("reservation {0:?} was released")]
    ReservationReleased(String),
    /// The reservation was committed: sold goods do not return to stock.
    #[error("reservation {0:?} was committed")]
    ReservationCommitted(String),
    /// The operating system's randomness failed (no reservation id could be made).
    #[error("no reservation id could be made")]
    Randomness(#[source] RandomnessError),
    /// The store holds something this program cannot read.
    #[error("corrupt store data: {0}")]
    Corrupt(String),
    /// The store failed.
    #[error("store failed")]
    Store(#[from] sqlx::Error),
}

impl From<FieldViolation> for InventoryError {
    fn from(violation: FieldViolation) -> Self {
        InventoryError::Invalid(vec![violation])
    }
}

impl From<Vec<FieldViolation>> for InventoryError {
    fn from(violations: Vec<FieldViolation>) -> Self {
        InventoryError::Invalid(violations)
    }
}

impl From<InventoryError> for Status {
    fn from(error: InventoryError) -> Self {
        let message = error.to_string();
        let id_metadata = |key: &str, id: String| [(key.to_owned(), id)];
        match error {
            InventoryError::Invalid(violations) => chassis::error::invalid_argument(violations),
            InventoryError::RequestIdReused(id) => {
                ErrorDomain(DOMAIN).request_id_reused([("request_id", id)])
            }
            InventoryError::InProgress(_) => Status::aborted(format!("{message}; retry later")),
            InventoryError::InsufficientStock(shortages) => insufficient_stock(&shortages),
            InventoryError::ReservationNotFound(id) => {
                chassis::error::not_found("bazaar.inventory.v1.Reservation", &id)
            }
            InventoryError::ReservationExpired(id) => chassis::error::with_reason(
                Code::FailedPrecondition,
                DOMAIN,
                "RESERVATION_EXPIRED",
                message,
                id_metadata("reservation_id", id),
            ),
            InventoryError::ReservationReleased(id) => chassis::error::with_reason(
                Code::FailedPrecondition,
                DOMAIN,
                "RESERVATION_RELEASED",
                message,
                id_metadata("reservation_id", id),
            ),
            InventoryError::ReservationCommitted(id) => chassis::error::with_reason(
                Code::FailedPrecondition,
                DOMAIN,
                "RESERVATION_COMMITTED",
                message,
                id_metadata("reservation_id", id),
            ),
            InventoryError::Randomness(_) => chassis::error::internal("inventory", &error),
            InventoryError::Corrupt(_) => chassis::error::internal("inventory store", &error),
            InventoryError::Store(ref cause) => {
                if is_transient(cause) {
                    chassis::error::unavailable("inventory store", cause)
                } else {
                    chassis::error::internal("inventory store", cause)
                }
            }
        }
    }
}

/// Whether a transaction failed only because of other transactions: SQLite busy or
/// locked, PostgreSQL serialization failure or deadlock.
pub(crate) fn is_contention(error: &sqlx::Error) -> bool {
    let sqlx::Error::Database(db) = error else {
        return false;
    };
    match db.code().as_deref() {
        Some("40001") | Some("40P01") => true,
        Some(code) => code
            .parse::<i64>()
            .is_ok_and(|code| matches!(code & 0xff, 5 | 6)),
        None => false,
    }
}

/// Whether a store error may go away by itself (the caller should retry later), as opposed
/// to a fault of ours.
fn is_transient(error: &sqlx::Error) -> bool {
    matches!(
        error,
        sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::Protocol(_)
    ) || is_contention(error)
}

/// The most short lines the message names.
const NAMED_SHORTAGES: usize = 10;
/// The most short lines the `PreconditionFailure` has a violation for.
const MAX_SHORTAGE_VIOLATIONS: usize = 32;

/// `FAILED_PRECONDITION` "INSUFFICIENT_STOCK": an `ErrorInfo` and a `PreconditionFailure`
/// with one `STOCK` violation per short line, for the first [`MAX_SHORTAGE_VIOLATIONS`].
///
/// The status travels in HTTP/2 headers, which clients cap (16 KiB in hyper and tonic,
/// 8 KiB in some others), and its details repeat the message: a violation per line of a
/// hundred short lines with 63-character ids comes to 17 KiB. So the violations stop at
/// [`MAX_SHORTAGE_VIOLATIONS`], the message names the first [`NAMED_SHORTAGES`] and both
/// say how many lines are short in all; the `ErrorInfo`'s `product_ids` lists the ids the
/// message names.
fn insufficient_stock(shortages: &[Shortage]) -> Status {
    let named: Vec<&str> = shortages
        .iter()
        .take(NAMED_SHORTAGES)
        .map(|s| s.product_id.as_str())
        .collect();
    let more = match shortages.len().saturating_sub(named.len()) {
        0 => String::new(),
        more => format!(" and {more} more"),
    };
    let mut details = ErrorDetails::with_error_info(
        "INSUFFICIENT_STOCK",
        DOMAIN,
        [
            ("product_ids".to_owned(), named.join(",")),
            ("short_lines".to_owned(), shortages.len().to_string()),
        ],
    );
    for shortage in shortages.iter().take(MAX_SHORTAGE_VIOLATIONS) {
        details.add_precondition_failure_violation(
            "STOCK",
            shortage.product_id.clone(),
            format!(
                "requested {}, available {}",
                shortage.requested, shortage.available
            ),
        );
    }
    Status::with_error_details(
        Code::FailedPrecondition,
        format!("insufficient stock: {}{more}", named.join(", ")),
        details,
    )
}

#[cfg(test)]
mod tests {
    use tonic_types::StatusExt;

    use super::*;

    /// The size of `status`'s headers as HTTP/2 counts it against a peer's
    /// `SETTINGS_MAX_HEADER_LIST_SIZE`: name, value and 32 octets per field.
    fn header_list_size(status: Status) -> usize {
        status
            .into_http::<tonic::body::Body>()
            .headers()
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len() + 32)
            .sum()
    }

    #[test]
    fn the_longest_shortage_fits_in_the_headers_clients_accept() {
        let shortages: Vec<Shortage> = (0..crate::domain::MAX_LINES)
            .map(|n| Shortage {
                product_id: format!("{n:03}-{}", "x".repeat(59)),
                requested: 10_000,
                available: i64::from(i32::MAX),
            })
            .collect();
        let status = insufficient_stock(&shortages);
        let violations = status
            .get_details_precondition_failure()
            .expect("a PreconditionFailure")
            .violations;
        assert_eq!(violations.len(), MAX_SHORTAGE_VIOLATIONS);
        assert_eq!(violations[0].subject, shortages[0].product_id);
        assert!(
            status.message().ends_with(" and 90 more"),
            "{}",
            status.message()
        );
        let size = header_list_size(status);
        assert!(size < 8 * 1024, "{size} octets of headers");
    }
}
