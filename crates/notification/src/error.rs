//! Everything the notification service can fail with, and its one mapping to a gRPC status.

use chassis::error::FieldViolation;
use tonic::Status;

/// What a call, the event follower or the start of the service can fail with.
#[derive(Debug, thiserror::Error)]
pub enum NotificationError {
    /// Fields the caller must fix.
    #[error("invalid request")]
    Invalid(Vec<FieldViolation>),
    /// No notification has this id.
    #[error("notification not found: {0}")]
    NotFound(String),
    /// The store failed.
    #[error("store failed")]
    Store(#[from] sqlx::Error),
    /// The Maildir folder could not be written.
    #[error("cannot write to the Maildir folder {path}")]
    Maildir {
        /// The folder.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A blocking file task did not finish.
    #[error("a file task failed")]
    Task(#[from] tokio::task::JoinError),
    /// The order event stream could not be opened or broke.
    #[error("the order event stream failed")]
    Stream(#[from] tonic::Status),
}

impl From<FieldViolation> for NotificationError {
    fn from(violation: FieldViolation) -> Self {
        NotificationError::Invalid(vec![violation])
    }
}

impl From<NotificationError> for Status {
    fn from(error: NotificationError) -> Self {
        match error {
            NotificationError::Invalid(violations) => chassis::error::invalid_argument(violations),
            NotificationError::NotFound(id) => {
                chassis::error::not_found("bazaar.notification.v1.Notification", &id)
            }
            NotificationError::Store(error) => {
                chassis::error::unavailable("notification store", &error)
            }
            other => chassis::error::internal("notification", &other),
        }
    }
}
