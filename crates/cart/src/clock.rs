//! The time the cart reads: update times and how long AddItem request ids are remembered.
//! Tests replace it with a clock they move by hand.

pub use chassis::clock::{Clock, ManualClock, SystemClock};
