//! The one suite every backend must pass, by topic.

pub(crate) mod callers;
pub(crate) mod calls;
pub(crate) mod changes;
pub(crate) mod idempotency;
