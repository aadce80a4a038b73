//! Everything the recommendation service can fail with, and its one mapping to a gRPC
//! status. The catalog is not here: when it fails, answers degrade instead.

use chassis::error::FieldViolation;
use tonic::Status;

/// What a call, the event follower or the start of the service can fail with.
#[derive(Debug, thiserror::Error)]
pub enum RecommendationError {
    /// Fields the caller must fix.
    #[error("invalid request")]
    Invalid(Vec<FieldViolation>),
    /// The order event stream could not be opened or broke.
    #[error("the order event stream failed")]
    Stream(#[from] tonic::Status),
}

impl From<RecommendationError> for Status {
    fn from(error: RecommendationError) -> Self {
        match error {
            RecommendationError::Invalid(violations) => {
                chassis::error::invalid_argument(violations)
            }
            other => chassis::error::internal("recommendation", &other),
        }
    }
}
