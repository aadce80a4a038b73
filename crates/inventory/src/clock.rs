//! The time the inventory reads: when reservations are made and when they expire. Tests
//! replace it with a clock they move by hand, so expiry is tested without waiting.

pub use chassis::clock::{Clock, ManualClock, SystemClock};
