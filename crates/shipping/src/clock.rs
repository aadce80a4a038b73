//! The time shipping reads: when shipments are created and change state. Tests replace it
//! with a clock they move by hand.

pub use chassis::clock::{Clock, ManualClock, SystemClock};
