//! The one suite every backend must pass, by topic.

pub(crate) mod charges;
pub(crate) mod idempotency;
pub(crate) mod ledger;
pub(crate) mod refunds;
