//! The time identity reads: sessions, token lifetimes and throttling windows all depend on
//! it, so tests replace it with a clock they move by hand.

pub use chassis::clock::{Clock, ManualClock, SystemClock};
