//! The time orders reads for what depends on it: order timestamps, saga leases, claims on
//! request ids, and how long a failing charge is retried. Tests replace it with a clock they
//! move by hand. (Delays between retries are `tokio::time` sleeps, not readings of this
//! clock.)

pub use chassis::clock::{Clock, ManualClock, SystemClock};
