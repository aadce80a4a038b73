//! What an identity call can fail with, and the one place that turns it into a gRPC status.
//!
//! Business errors carry a `google.rpc.ErrorInfo` in identity's own domain,
//! "bazaar.identity", with the reasons the contract names; a store fault is UNAVAILABLE (a
//! retry may cure it) and our own faults are INTERNAL. Nothing here ever holds a password or
//! a token, so logging an error is always safe.

use std::time::Duration;

use chassis::error::FieldViolation;
use tonic::{Code, Status};

/// The ErrorInfo domain of identity's errors, as the contract names it.
pub const DOMAIN: &str = "bazaar.identity";

/// What an identity call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// Fields the caller must fix.
    #[error("invalid request")]
    Invalid(Vec<FieldViolation>),
    /// SignUp with an email that has an account.
    #[error("email taken")]
    EmailTaken,
    /// Unknown email or wrong password (deliberately the same).
    #[error("invalid credentials")]
    InvalidCredentials,
    /// The session was logged out or has expired.
    #[error("session ended")]
    SessionEnded,
    /// ClaimAdmin by a guest.
    #[error("a guest cannot be admin")]
    GuestCannotBeAdmin,
    /// ClaimAdmin with a wrong, used or expired code (deliberately the same).
    #[error("invalid admin code")]
    InvalidAdminCode,
    /// Too many attempts; try again after this long.
    #[error("too many attempts")]
    Throttled(Duration),
    /// The store and keys are still loading.
    #[error("not ready")]
    NotReady,
    /// Every password-hashing permit is taken until too close to the call's deadline.
    #[error("busy hashing passwords")]
    Busy,
    /// The store failed.
    #[error("store failed")]
    Store(#[from] sqlx::Error),
    /// A fault of our own (randomness, hashing).
    #[error("{0}")]
    Internal(String),
}

impl From<crate::password::HashError> for IdentityError {
    fn from(error: crate::password::HashError) -> Self {
        match error {
            crate::password::HashError::Busy => IdentityError::Busy,
            crate::password::HashError::Failed(message) => IdentityError::Internal(message),
        }
    }
}

impl From<FieldViolation> for IdentityError {
    fn from(violation: FieldViolation) -> Self {
        IdentityError::Invalid(vec![violation])
    }
}

impl From<IdentityError> for Status {
    fn from(error: IdentityError) -> Self {
        use chassis::error::with_reason;
        match error {
            IdentityError::Invalid(violations) => chassis::error::invalid_argument(violations),
            IdentityError::EmailTaken => with_reason(
                Code::AlreadyExists,
                DOMAIN,
                "EMAIL_TAKEN",
                "an account with this email exists; log in instead",
                [],
            ),
            IdentityError::InvalidCredentials => with_reason(
                Code::Unauthenticated,
                DOMAIN,
                "INVALID_CREDENTIALS",
                "unknown email or wrong password",
                [],
            ),
            IdentityError::SessionEnded => with_reason(
                Code::Unauthenticated,
                DOMAIN,
                "SESSION_ENDED",
                "the session has ended; log in again",
                [],
            ),
            IdentityError::GuestCannotBeAdmin => with_reason(
                Code::FailedPrecondition,
                DOMAIN,
                "GUEST_CANNOT_BE_ADMIN",
                "a guest cannot be admin; sign up, then redeem the code",
                [],
            ),
            IdentityError::InvalidAdminCode => with_reason(
                Code::PermissionDenied,
                DOMAIN,
                "INVALID_ADMIN_CODE",
                "the admin code is wrong, used or expired; the operator can issue a new one \
                 with `bazaar admin code`",
                [],
            ),
            IdentityError::Throttled(wait) => chassis::error::retry_later(
                DOMAIN,
                "TOO_MANY_ATTEMPTS",
                format!(
                    "too many attempts; retry in {} s",
                    wait.as_secs_f64().ceil().max(1.0)
                ),
                wait,
            ),
            IdentityError::NotReady => Status::unavailable(
                "identity is starting: its store is not ready yet; retry shortly",
            ),
            IdentityError::Busy => Status::unavailable(
                "identity is busy checking passwords; retry shortly (or another replica)",
            ),
            IdentityError::Store(error) => chassis::error::unavailable("identity store", &error),
            IdentityError::Internal(message) => {
                tracing::error!(%message, "identity fault");
                Status::internal("identity: internal error")
            }
        }
    }
}
