//! recommendation's own number: where it is in the order event stream
//! (`bazaar_consumer_position{consumer="recommendation"}`), the sequence of the last event
//! its model has learnt. Its model lives in memory, so the position is 0 at every start
//! and climbs as the stream is replayed; with orders' `bazaar_outbox_head` it gives the lag
//! (head minus position, the recording rule `bazaar:consumer_lag:events`). A lag that stays
//! high means recommendations are built from old orders.
//!
//! It is set from the model each time the follower (re)connects, which is also at start,
//! and after each event the model has learnt.

/// The sequence of the last order event handled, by `consumer` (a gauge).
pub(crate) const CONSUMER_POSITION: &str = "bazaar_consumer_position";

/// The value of `consumer`: this service.
pub(crate) const CONSUMER: &str = "recommendation";

/// Events up to `sequence` are learnt.
pub(crate) fn position(sequence: i64) {
    ::metrics::gauge!(CONSUMER_POSITION, "consumer" => CONSUMER).set(sequence as f64);
}
