//! Everything a cart call can fail with, and its one mapping to a gRPC status.

use chassis::error::{ErrorDomain, FieldViolation};
use tonic::{Code, Status};

use crate::domain::{MAX_LINES, MAX_QUANTITY, Rejection};

/// The `ErrorInfo` domain of the cart's errors, as the contract names it.
pub const ERROR_DOMAIN: ErrorDomain = ErrorDomain("bazaar.cart");

/// What a cart call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum CartError {
    /// Fields the caller must fix.
    #[error("invalid request")]
    Invalid(Vec<FieldViolation>),
    /// A cart limit would be broken.
    #[error("cart limit reached: {0:?}")]
    Rejected(Rejection),
    /// An AddItem `request_id` was used before with other parameters.
    #[error("request_id was already used with different parameters")]
    RequestIdReused,
    /// EmptyCart's `etag` no longer matches the cart.
    #[error("the cart changed since it was read")]
    EtagMismatch,
    /// MergeGuestCart called by a guest.
    #[error("the caller is a guest")]
    CallerIsGuest,
    /// Concurrent changes to the same cart kept winning; the call may be retried.
    #[error("the cart is being changed concurrently")]
    Contended,
    /// The SQL store failed.
    #[error("SQL store failed")]
    Sql(#[from] sqlx::Error),
    /// The Redis store failed.
    #[error("Redis store failed")]
    Redis(#[from] redis::RedisError),
    /// A stored document could not be read or written.
    #[error("stored cart data is not valid")]
    Corrupt(#[from] serde_json::Error),
}

impl From<FieldViolation> for CartError {
    fn from(violation: FieldViolation) -> Self {
        CartError::Invalid(vec![violation])
    }
}

impl From<Rejection> for CartError {
    fn from(rejection: Rejection) -> Self {
        CartError::Rejected(rejection)
    }
}

impl From<CartError> for Status {
    fn from(error: CartError) -> Self {
        match error {
            CartError::Invalid(violations) => chassis::error::invalid_argument(violations),
            CartError::Rejected(Rejection::LineQuantityLimit) => ERROR_DOMAIN.reason(
                Code::FailedPrecondition,
                "LINE_QUANTITY_LIMIT",
                "a line holds at most 99 units; use SetItemQuantity to set an exact quantity",
                [("max_quantity", MAX_QUANTITY.to_string())],
            ),
            CartError::Rejected(Rejection::CartLineLimit) => ERROR_DOMAIN.reason(
                Code::FailedPrecondition,
                "CART_LINE_LIMIT",
                "a cart holds at most 100 lines",
                [("max_lines", MAX_LINES.to_string())],
            ),
            CartError::RequestIdReused => ERROR_DOMAIN.request_id_reused([]),
            CartError::EtagMismatch => ERROR_DOMAIN.reason(
                Code::Aborted,
                "ETAG_MISMATCH",
                "the cart changed since it was read: read it again",
                [],
            ),
            CartError::CallerIsGuest => ERROR_DOMAIN.reason(
                Code::FailedPrecondition,
                "CALLER_IS_GUEST",
                "only a registered user can merge a guest cart",
                [],
            ),
            CartError::Contended => {
                Status::aborted("the cart is being changed concurrently; retry")
            }
            CartError::Sql(error) => chassis::error::unavailable("cart store", &error),
            CartError::Redis(error) => chassis::error::unavailable("cart store", &error),
            CartError::Corrupt(error) => chassis::error::internal("cart store", &error),
        }
    }
}
