//! The order event follower: reads `OrdersService.StreamOrderEvents` into the [`Model`].
//!
//! The model lives in memory, so every start replays the stream from sequence 0; after that,
//! a reconnect resumes after the last event seen (the model's position), which is stored
//! only after the event was learnt. Delivery is at least once across reconnects: the model
//! de-duplicates by `event_id`.
//!
//! The loop is the chassis's [`chassis::follow`]: when the stream ends or fails (orders
//! restarting, down, unreachable) it waits and reconnects, 100 ms doubling up to
//! `--orders-reconnect-max-ms`; the wait starts over once events flow again. It stops on
//! shutdown. What is this service's own is here: the model as the position and the handler,
//! and how the stream is opened (`OrderEvents`). The position is shown as
//! `bazaar_consumer_position` (see `metrics`).

use std::convert::Infallible;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use bazaar_contract::orders::v1::orders_service_client::OrdersServiceClient;
use bazaar_contract::orders::v1::{OrderEvent, StreamOrderEventsRequest};
use chassis::Shutdown;
use chassis::backoff::Backoff;
use chassis::client::Upstream;
use chassis::follow::{self, Handler, Items, Source};
use chassis::topology;

use crate::error::RecommendationError;
use crate::metrics;
use crate::model::{Learnt, Model};

/// The first wait before reconnecting.
const FIRST_RETRY: Duration = Duration::from_millis(100);

/// Follows the order event stream into a shared model.
#[derive(Debug)]
pub struct Follower {
    events: OrderEvents,
    model: Arc<RwLock<Model>>,
    max_retry: Duration,
}

impl Follower {
    /// A follower that teaches `model` what `orders` streams, waiting at most `max_retry`
    /// between reconnects.
    pub fn new(orders: Upstream, model: Arc<RwLock<Model>>, max_retry: Duration) -> Self {
        Self {
            events: OrderEvents(OrdersServiceClient::new(orders)),
            model,
            max_retry,
        }
    }

    /// Follows the stream until `shutdown`, reconnecting with backoff.
    pub async fn run(self, shutdown: Shutdown) {
        let mut learner = Learner(self.model);
        let backoff = Backoff::new(FIRST_RETRY, self.max_retry);
        follow::run(
            "order events",
            self.events,
            &mut learner,
            backoff,
            &shutdown,
        )
        .await;
    }
}

/// `OrdersService.StreamOrderEvents`, after a sequence: the events are the items, their
/// sequences the positions.
#[derive(Debug)]
struct OrderEvents(OrdersServiceClient<Upstream>);

impl Source for OrderEvents {
    type Item = OrderEvent;
    type Error = RecommendationError;

    async fn open(
        &mut self,
        after: i64,
    ) -> Result<Items<OrderEvent, RecommendationError>, RecommendationError> {
        let client = &mut self.0;
        let events = follow::open_stream(
            StreamOrderEventsRequest {
                after_sequence: after,
            },
            |request| client.stream_order_events(request),
            |message| message.event,
        )
        .await?;
        Ok(events)
    }

    fn position(event: &OrderEvent) -> i64 {
        event.sequence
    }
}

/// Teaches the model each event; the model's position is the stream position.
struct Learner(Arc<RwLock<Model>>);

impl Handler<OrderEvent> for Learner {
    type Error = Infallible;

    async fn position(&mut self) -> Result<i64, Infallible> {
        // A poisoned lock means a panic while learning; the counts are still usable.
        let position = match self.0.read() {
            Ok(model) => model.position(),
            Err(poisoned) => poisoned.into_inner().position(),
        };
        metrics::position(position);
        Ok(position)
    }

    /// Linked to the order's trace when traces are exported.
    async fn handle(&mut self, event: OrderEvent) -> Result<(), Infallible> {
        let span = chassis::trace::event_span(
            topology::RECOMMENDATION.name,
            "order events",
            &event.traceparent,
        );
        span.in_scope(|| {
            let learnt = self.learn(&event);
            tracing::debug!(sequence = event.sequence, ?learnt, "order event");
        });
        metrics::position(event.sequence);
        Ok(())
    }
}

impl Learner {
    fn learn(&self, event: &OrderEvent) -> Learnt {
        match self.0.write() {
            Ok(mut model) => model.learn(event),
            Err(poisoned) => poisoned.into_inner().learn(event),
        }
    }
}
