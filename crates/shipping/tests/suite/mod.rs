//! The one suite every backend must pass, by topic.

pub(crate) mod quotes;
pub(crate) mod shipments;
