//! notification's own numbers: where it is in the order event stream
//! (`bazaar_consumer_position{consumer="notification"}`) and what it sent
//! (`bazaar_notifications_sent_total{kind}`).
//!
//! The position is the sequence of the last event it has handled, as its store holds it:
//! set from the stored cursor each time it (re)connects, which is also at start, and after
//! each event once the cursor has moved past it. With orders' `bazaar_outbox_head` it gives
//! the lag an operator watches: head minus position, in events (the recording rule
//! `bazaar:consumer_lag:events`). A lag that grows means confirmations are late.
//!
//! A notification counts as sent once, when the store records it delivered into the
//! Maildir, after the file is in place: a redelivery after a crash, which finds the file
//! already there, counts only if the first delivery was never recorded. `kind` is one of
//! [`KINDS`].

/// The sequence of the last order event handled, by `consumer` (a gauge).
pub(crate) const CONSUMER_POSITION: &str = "bazaar_consumer_position";
/// Notifications delivered, by `kind`.
pub(crate) const NOTIFICATIONS_SENT: &str = "bazaar_notifications_sent_total";

/// The value of `consumer`: this service.
pub(crate) const CONSUMER: &str = "notification";
/// The values of `kind`: what a notification is about (only order confirmations today).
pub(crate) const KINDS: [&str; 1] = ["order_confirmation"];

/// Events up to `sequence` are handled.
pub(crate) fn position(sequence: i64) {
    ::metrics::gauge!(CONSUMER_POSITION, "consumer" => CONSUMER).set(sequence as f64);
}

/// An order confirmation was delivered.
pub(crate) fn confirmation_sent() {
    ::metrics::counter!(NOTIFICATIONS_SENT, "kind" => KINDS[0]).increment(1);
}
