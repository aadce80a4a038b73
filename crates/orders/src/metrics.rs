//! orders' own numbers: how checkouts end and why, how long each saga step takes, how
//! often it is retried and undone, how far the event outbox has got, and how many event
//! streams are open. They answer "how many orders per minute are placed, how many fail and
//! why, which step is slow, how far behind is a consumer" without reading a log.
//!
//! Each fact is recorded where it becomes true, which for a saga is after its step is
//! stored: [`StepTimer::saved`] is called once per stored step, so an order counts in
//! `bazaar_orders_total` exactly once, when the write that made it PLACED or FAILED
//! commits, also when a saga resumed after a restart ends it; a retried step stores
//! nothing and counts only in `bazaar_saga_step_retries_total`. Label values come from the
//! fixed lists below (states, failure reasons, steps, compensations, streams), never from
//! an order, a user or a message.
//!
//! Recording goes through the `metrics` facade: until the chassis installs its recorder
//! (the admin listener does) it costs next to nothing, and it never fails a checkout.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use bazaar_contract::orders::v1::{FailureReason, OrderState};

use crate::domain::{OrderRecord, Step};

/// Orders that reached a final state, by `state`.
pub(crate) const ORDERS: &str = "bazaar_orders_total";
/// Failed orders, by `reason`.
pub(crate) const ORDER_FAILURES: &str = "bazaar_order_failures_total";
/// How long the saga spent on a step, by `step` (a histogram, see [`StepTimer`]).
pub(crate) const STEP_SECONDS: &str = "bazaar_saga_step_seconds";
/// Runs of a step that failed technically and will be tried again, by `step`.
pub(crate) const STEP_RETRIES: &str = "bazaar_saga_step_retries_total";
/// Compensations done, by `step`.
pub(crate) const COMPENSATIONS: &str = "bazaar_saga_compensations_total";
/// The highest sequence of the event outbox this process knows is written.
pub(crate) const OUTBOX_HEAD: &str = "bazaar_outbox_head";
/// Open event streams, by `stream`.
pub(crate) const SUBSCRIBERS: &str = "bazaar_event_stream_subscribers";

/// The values of `state` in `bazaar_orders_total`: the final states.
pub(crate) const FINAL_STATES: [&str; 2] = ["placed", "failed"];
/// The values of `reason` in `bazaar_order_failures_total`, one per `FailureReason`
/// (`other` for one this build does not know).
pub(crate) const FAILURE_REASONS: [&str; 4] = [
    "out_of_stock",
    "payment_declined",
    "payment_unavailable",
    "other",
];
/// The values of `step` in `bazaar_saga_compensations_total`: what can be undone.
pub(crate) const COMPENSATED: [&str; 3] = ["cancel_shipment", "refund", "release"];
/// The value of `stream` in `bazaar_event_stream_subscribers`: StreamOrderEvents.
pub(crate) const ORDER_EVENTS_STREAM: &str = "order_events";

/// Records what the stored step of a saga made true, going from `before` to `after`: a
/// final state (and why it failed), and a compensation that undid something.
fn step_saved(before: &OrderRecord, after: &OrderRecord) {
    if before.state == OrderState::Pending
        && let Some(state) = final_state(after.state)
    {
        ::metrics::counter!(ORDERS, "state" => state).increment(1);
        if after.state == OrderState::Failed {
            let reason = after
                .failure
                .as_ref()
                .map_or(FailureReason::Unspecified, |f| f.reason);
            ::metrics::counter!(ORDER_FAILURES, "reason" => failure_reason(reason)).increment(1);
        }
    }
    if let Some(step) = compensation(before, after) {
        ::metrics::counter!(COMPENSATIONS, "step" => step).increment(1);
    }
}

/// Records that a run of `step` failed technically and will be tried again.
pub(crate) fn step_retried(step: Step) {
    ::metrics::counter!(STEP_RETRIES, "step" => step.as_str()).increment(1);
}

/// Times the steps of one saga as this process runs it: a step's time runs from when the
/// saga reached it (or this process resumed the saga at it) until a stored outcome moves
/// the saga to another step, retries and their waits included. A step can take several
/// stored outcomes (charge first records that a charge may be sent, then charges), and a
/// step left unfinished (the process stopping) records nothing.
#[derive(Debug)]
pub(crate) struct StepTimer {
    started: Instant,
}

impl StepTimer {
    /// Starts timing the saga's current step.
    pub(crate) fn start() -> Self {
        Self {
            started: Instant::now(),
        }
    }

    /// The step of `before` stored `after`: records what that made true ([`step_saved`])
    /// and, if the saga moved to another step, how long the step took.
    pub(crate) fn saved(&mut self, before: &OrderRecord, after: &OrderRecord) {
        step_saved(before, after);
        if after.step != before.step {
            ::metrics::histogram!(STEP_SECONDS, "step" => before.step.as_str())
                .record(self.started.elapsed().as_secs_f64());
            self.started = Instant::now();
        }
    }
}

fn final_state(state: OrderState) -> Option<&'static str> {
    match state {
        OrderState::Placed => Some(FINAL_STATES[0]),
        OrderState::Failed => Some(FINAL_STATES[1]),
        OrderState::Pending | OrderState::Unspecified => None,
    }
}

fn failure_reason(reason: FailureReason) -> &'static str {
    match reason {
        FailureReason::OutOfStock => FAILURE_REASONS[0],
        FailureReason::PaymentDeclined => FAILURE_REASONS[1],
        FailureReason::PaymentUnavailable => FAILURE_REASONS[2],
        FailureReason::Unspecified => FAILURE_REASONS[3],
    }
}

/// The compensation that the step from `before` to `after` completed, if it undid
/// something: a shipment that existed was cancelled, a charge that existed was refunded, a
/// reservation that existed was released. A compensating step with nothing to undo (or
/// one that only looked for a charge) is no compensation.
fn compensation(before: &OrderRecord, after: &OrderRecord) -> Option<&'static str> {
    let undone = match before.step {
        Step::CancelShipment => !before.shipment_id.is_empty(),
        Step::Refund => !before.charge_id.is_empty() && after.step != Step::Refund,
        Step::Release => !before.reservation_id.is_empty(),
        _ => false,
    };
    if !undone {
        return None;
    }
    Some(match before.step {
        Step::CancelShipment => COMPENSATED[0],
        Step::Refund => COMPENSATED[1],
        _ => COMPENSATED[2],
    })
}

/// The highest outbox sequence this process has seen written (by itself, or by another
/// replica when its event stream reads it), shown as `bazaar_outbox_head`; clones share it.
/// It only moves up, so writes that commit out of order never show the head going back.
#[derive(Clone, Debug, Default)]
pub(crate) struct OutboxHead(Arc<Mutex<Option<i64>>>);

impl OutboxHead {
    /// Moves the head to `sequence` if that is further.
    pub(crate) fn advance(&self, sequence: i64) {
        // A panic while holding this lock leaves a plain number behind, still usable.
        let mut head = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if head.is_none_or(|head| sequence > head) {
            *head = Some(sequence);
            // Set under the lock, so that two advances never leave the smaller one shown.
            ::metrics::gauge!(OUTBOX_HEAD).set(sequence as f64);
        }
    }
}

/// One open StreamOrderEvents stream, counted in `bazaar_event_stream_subscribers` from
/// [`Subscriber::joined`] until it is dropped (the stream ended, the client went away or
/// the process stops).
#[derive(Debug)]
pub(crate) struct Subscriber(());

impl Subscriber {
    /// Counts a stream that opens now.
    pub(crate) fn joined() -> Self {
        ::metrics::gauge!(SUBSCRIBERS, "stream" => ORDER_EVENTS_STREAM).increment(1.0);
        Self(())
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        ::metrics::gauge!(SUBSCRIBERS, "stream" => ORDER_EVENTS_STREAM).decrement(1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Failure;

    fn order(step: Step) -> OrderRecord {
        OrderRecord {
            step,
            ..crate::domain::samples::order()
        }
    }

    #[test]
    fn every_failure_reason_has_a_label_of_the_list() {
        for reason in [
            FailureReason::Unspecified,
            FailureReason::OutOfStock,
            FailureReason::PaymentDeclined,
            FailureReason::PaymentUnavailable,
        ] {
            assert!(FAILURE_REASONS.contains(&failure_reason(reason)));
        }
    }

    #[test]
    fn a_compensation_counts_only_when_it_undid_something() {
        let mut release = order(Step::Release);
        let mut failed = release.clone();
        failed.state = OrderState::Failed;
        failed.step = Step::Done;
        assert_eq!(compensation(&release, &failed), Some("release"));
        release.reservation_id.clear();
        assert_eq!(compensation(&release, &failed), None);

        // Looking for a charge that may have been made is not a refund; the refund is.
        let mut looking = order(Step::Refund);
        let mut found = looking.clone();
        found.charge_id = "ch_1".to_owned();
        assert_eq!(compensation(&looking, &found), None);
        looking.charge_id = "ch_1".to_owned();
        let mut refunded = looking.clone();
        refunded.step = Step::Release;
        assert_eq!(compensation(&looking, &refunded), Some("refund"));

        let mut failing = order(Step::Charge);
        failing.fail(Failure::new(FailureReason::PaymentDeclined, "no", vec![]));
        assert_eq!(compensation(&order(Step::Charge), &failing), None);
    }
}
