//! The saga's place in the order's trace. The call that placed the order kept its W3C
//! `traceparent` with the order; the saga's span is a child of it, so the steps that run
//! after the response, or in another process after a restart, show in the same trace as
//! the checkout. Without exported traces these are disabled spans and cost nothing.

use chassis::trace;
use tracing::Span;

use crate::domain::OrderRecord;
use crate::store::OrdersStore;

/// The span a saga runs in, a child of the span that placed order `order_id`.
pub(super) async fn saga_span(store: &OrdersStore, order_id: &str) -> Span {
    if !trace::enabled() {
        return Span::none();
    }
    let traceparent = match store.traceparent(order_id).await {
        Ok(traceparent) => traceparent,
        Err(error) => {
            tracing::debug!(%order_id, error = %chassis::error::chain(&error),
                "cannot read the order's trace; its saga starts a trace of its own");
            None
        }
    };
    let span = tracing::info_span!(parent: None, "saga", otel.name = "checkout saga", %order_id);
    trace::follow_traceparent(&span, traceparent.as_deref());
    span
}

/// The span of one attempt at the order's next step.
pub(super) fn step_span(order: &OrderRecord) -> Span {
    if !trace::enabled() {
        return Span::none();
    }
    tracing::info_span!(
        "saga step",
        otel.name = %format_args!("saga step {}", order.step.as_str()),
        step = order.step.as_str(),
    )
}
