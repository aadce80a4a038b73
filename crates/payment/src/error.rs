//! Everything a payment call can fail with, and its one mapping to a gRPC status.

use bazaar_contract::values::RandomnessError;
use chassis::error::{ErrorDomain, FieldViolation};
use tonic::{Code, Status};

use crate::domain::DeclineReason;

/// The `ErrorInfo` domain of payment's errors, as the contract names it.
pub const ERROR_DOMAIN: ErrorDomain = ErrorDomain("bazaar.payment");

/// What a payment call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    /// Fields the caller must fix.
    #[error("invalid request")]
    Invalid(Vec<FieldViolation>),
    /// The card was declined; the DECLINED charge is in the ledger.
    #[error("card declined ({reason:?}), charge {charge_id}")]
    Declined {
        /// The DECLINED charge.
        charge_id: String,
        /// Why.
        reason: DeclineReason,
    },
    /// The order already has a SUCCEEDED or REFUNDED charge.
    #[error("order already charged by {charge_id}")]
    OrderAlreadyCharged {
        /// The existing charge.
        charge_id: String,
    },
    /// The `request_id` was used before with other parameters.
    #[error("request_id was already used with different parameters")]
    RequestIdReused,
    /// A call with the same `request_id` is still running.
    #[error("a call with this request_id is in progress")]
    InProgress,
    /// The simulated network failed; nothing was charged or recorded.
    #[error("transient card processing error")]
    ProcessingError,
    /// No charge has this id.
    #[error("charge {0} not found")]
    ChargeNotFound(String),
    /// A DECLINED charge cannot be refunded.
    #[error("charge {0} was declined and cannot be refunded")]
    NotRefundable(String),
    /// No random bytes for a new id.
    #[error("no new charge id could be made")]
    Random(#[from] RandomnessError),
    /// A stored row holds a value this program never writes.
    #[error("stored charge is not valid: {0}")]
    Corrupt(String),
    /// The store failed.
    #[error("store failed")]
    Store(#[from] sqlx::Error),
}

impl From<FieldViolation> for PaymentError {
    fn from(violation: FieldViolation) -> Self {
        PaymentError::Invalid(vec![violation])
    }
}

impl From<PaymentError> for Status {
    fn from(error: PaymentError) -> Self {
        match error {
            PaymentError::Invalid(violations) => chassis::error::invalid_argument(violations),
            PaymentError::Declined {
                charge_id,
                reason: why,
            } => ERROR_DOMAIN.reason(
                Code::FailedPrecondition,
                "CARD_DECLINED",
                why.message(),
                vec![
                    ("charge_id", charge_id),
                    ("decline_reason", why.to_pb().as_str_name().to_owned()),
                ],
            ),
            PaymentError::OrderAlreadyCharged { charge_id } => ERROR_DOMAIN.reason(
                Code::AlreadyExists,
                "ORDER_ALREADY_CHARGED",
                "the order has already been charged",
                [("charge_id", charge_id)],
            ),
            PaymentError::RequestIdReused => ERROR_DOMAIN.request_id_reused([]),
            PaymentError::InProgress => chassis::error::in_progress(),
            PaymentError::ProcessingError => Status::unavailable(
                "the card could not be processed right now; nothing was charged; retry with \
                 the same request_id",
            ),
            PaymentError::ChargeNotFound(id) => {
                chassis::error::not_found("bazaar.payment.v1.Charge", &id)
            }
            PaymentError::NotRefundable(_) => ERROR_DOMAIN.reason(
                Code::FailedPrecondition,
                "CHARGE_NOT_REFUNDABLE",
                "the charge was declined: there is nothing to refund",
                [],
            ),
            error @ PaymentError::Random(_) => chassis::error::internal("charge id", &error),
            error @ PaymentError::Corrupt(_) => chassis::error::internal("payment store", &error),
            PaymentError::Store(error) => chassis::error::unavailable("payment store", &error),
        }
    }
}
