//! Everything a shipping call can fail with, and its one mapping to a gRPC status.
//!
//! The contract's "SHIPMENT_DISPATCHED" has no variant: no state defined today means a
//! parcel has left, so a cancel never meets it.

use bazaar_contract::values::RandomnessError;
use chassis::error::{ErrorDomain, FieldViolation};
use tonic::{Code, Status};

/// The `ErrorInfo` domain of shipping's errors, as the contract names it.
pub const ERROR_DOMAIN: ErrorDomain = ErrorDomain("bazaar.shipping");

/// What a shipping call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ShippingError {
    /// Fields the caller must fix.
    #[error("invalid request")]
    Invalid(Vec<FieldViolation>),
    /// The order already has a shipment that is not CANCELLED.
    #[error("order already shipped by {shipment_id}")]
    OrderAlreadyShipped {
        /// The existing shipment.
        shipment_id: String,
    },
    /// The `request_id` was used before with other parameters.
    #[error("request_id was already used with different parameters")]
    RequestIdReused,
    /// Concurrent calls kept getting in the way; the call may be retried.
    #[error("a conflicting call is in progress")]
    InProgress,
    /// No shipment has this id.
    #[error("shipment {0} not found")]
    ShipmentNotFound(String),
    /// No random bytes for new ids.
    #[error("no new shipment id could be made")]
    Random(#[from] RandomnessError),
    /// A stored row holds a value this program never writes.
    #[error("stored shipment is not valid: {0}")]
    Corrupt(String),
    /// The store failed.
    #[error("store failed")]
    Store(#[from] sqlx::Error),
}

impl From<FieldViolation> for ShippingError {
    fn from(violation: FieldViolation) -> Self {
        ShippingError::Invalid(vec![violation])
    }
}

impl From<ShippingError> for Status {
    fn from(error: ShippingError) -> Self {
        match error {
            ShippingError::Invalid(violations) => chassis::error::invalid_argument(violations),
            ShippingError::OrderAlreadyShipped { shipment_id } => ERROR_DOMAIN.reason(
                Code::AlreadyExists,
                "ORDER_ALREADY_SHIPPED",
                "the order already has a shipment",
                [("shipment_id", shipment_id)],
            ),
            ShippingError::RequestIdReused => ERROR_DOMAIN.request_id_reused([]),
            ShippingError::InProgress => Status::aborted(
                "a conflicting call with this request_id or order is in progress; retry it later",
            ),
            ShippingError::ShipmentNotFound(id) => {
                chassis::error::not_found("bazaar.shipping.v1.Shipment", &id)
            }
            error @ (ShippingError::Random(_) | ShippingError::Corrupt(_)) => {
                chassis::error::internal("shipping store", &error)
            }
            ShippingError::Store(error) => chassis::error::unavailable("shipping store", &error),
        }
    }
}
