//! The order event follower: reads `OrdersService.StreamOrderEvents` into the [`Model`].
//!
//! The model lives in memory, so every start replays the stream from sequence 0; after that,
//! a reconnect resumes after the last event seen (the model's position), which is stored
//! only after the event was learnt. Delivery is at least once across reconnects: the model
//! de-duplicates by `event_id`. When the stream ends or fails (orders restarting, down,
//! unreachable) it waits and reconnects, 100 ms doubling up to
//! `--orders-reconnect-max-ms`; the wait starts over once events flow again. It stops on
//! shutdown.
//!
//! The stream is opened through the chassis [`Upstream`], whose outbound deadline layer
//! gives every call outside an inbound call the default deadline (5 s). That layer bounds
//! the wait for the response headers only, which the server sends at once, so it does not
//! cut the stream; still, to state the intent and keep the `grpc-timeout` header honest, the
//! call is made inside [`chassis::deadline::scope`] with a deadline a day away and the same
//! timeout on the request. A stream that lives that long is simply reopened.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use bazaar_contract::orders::v1::StreamOrderEventsRequest;
use bazaar_contract::orders::v1::orders_service_client::OrdersServiceClient;
use chassis::Shutdown;
use chassis::client::Upstream;
use tokio::time::Instant;

use crate::error::RecommendationError;
use crate::model::{Learnt, Model};

/// How long one stream may stay open before it is reopened.
pub const STREAM_DEADLINE: Duration = Duration::from_secs(24 * 60 * 60);
/// The first wait before reconnecting.
const FIRST_RETRY: Duration = Duration::from_millis(100);

/// Follows the order event stream into a shared model.
#[derive(Debug)]
pub struct Follower {
    orders: OrdersServiceClient<Upstream>,
    model: Arc<RwLock<Model>>,
    max_retry: Duration,
}

/// How one connection to the stream ended.
enum Ended {
    /// The server closed it after this many events.
    Closed(u64),
    /// Shutdown.
    Stopped,
}

impl Follower {
    /// A follower that teaches `model` what `orders` streams, waiting at most `max_retry`
    /// between reconnects.
    pub fn new(orders: Upstream, model: Arc<RwLock<Model>>, max_retry: Duration) -> Self {
        Self {
            orders: OrdersServiceClient::new(orders),
            model,
            max_retry: max_retry.max(FIRST_RETRY),
        }
    }

    /// Follows the stream until `shutdown`, reconnecting with backoff.
    pub async fn run(mut self, shutdown: Shutdown) {
        let mut delay = FIRST_RETRY;
        loop {
            match self.follow_once(&shutdown).await {
                Ok(Ended::Stopped) => return,
                Ok(Ended::Closed(received)) => {
                    if received > 0 {
                        delay = FIRST_RETRY;
                    }
                    tracing::info!(received, "order event stream ended; reconnecting");
                }
                Err(error) => tracing::warn!(
                    error = %chassis::error::chain(&error),
                    retry_in_ms = delay.as_millis() as u64,
                    "following order events failed; retrying"
                ),
            }
            tokio::select! {
                () = shutdown.wait() => return,
                () = tokio::time::sleep(delay) => {}
            }
            delay = (delay * 2).min(self.max_retry);
        }
    }

    async fn follow_once(&mut self, shutdown: &Shutdown) -> Result<Ended, RecommendationError> {
        let after = self.position();
        let mut request = tonic::Request::new(StreamOrderEventsRequest {
            after_sequence: after,
        });
        request.set_timeout(STREAM_DEADLINE);
        let opened = chassis::deadline::scope(
            Instant::now() + STREAM_DEADLINE,
            self.orders.stream_order_events(request),
        );
        let mut stream = tokio::select! {
            () = shutdown.wait() => return Ok(Ended::Stopped),
            opened = opened => opened?.into_inner(),
        };
        tracing::info!(after_sequence = after, "following order events");
        let mut received = 0;
        loop {
            let message = tokio::select! {
                () = shutdown.wait() => return Ok(Ended::Stopped),
                message = stream.message() => message?,
            };
            let Some(message) = message else {
                return Ok(Ended::Closed(received));
            };
            let Some(event) = message.event else {
                continue;
            };
            received += 1;
            let learnt = self.learn(&event);
            tracing::debug!(sequence = event.sequence, ?learnt, "order event");
        }
    }

    fn position(&self) -> i64 {
        // A poisoned lock means a panic while learning; the counts are still usable.
        match self.model.read() {
            Ok(model) => model.position(),
            Err(poisoned) => poisoned.into_inner().position(),
        }
    }

    fn learn(&self, event: &bazaar_contract::orders::v1::OrderEvent) -> Learnt {
        match self.model.write() {
            Ok(mut model) => model.learn(event),
            Err(poisoned) => poisoned.into_inner().learn(event),
        }
    }
}
