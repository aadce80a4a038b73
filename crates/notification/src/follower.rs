//! The order event follower: reads `OrdersService.StreamOrderEvents` and sends an order
//! confirmation for every placed order, exactly once.
//!
//! The loop: connect from the stored cursor, handle each event in order, and when the stream
//! ends or fails (orders restarting, down, unreachable), wait and reconnect, 100 ms doubling
//! up to `--orders-reconnect-max-ms`; the wait starts over once events flow again. It stops
//! on shutdown, between two events, never in the middle of one.
//!
//! Exactly once, across duplicate deliveries and crashes. Handling a placed event is:
//!
//! 1. already recorded for (event_id, email)? then only move the cursor;
//! 2. otherwise render the message and, in ONE transaction, record the notification (with
//!    the message, `delivered = 0`; a unique constraint on (event_id, channel) makes a racing
//!    duplicate insert nothing) and move the cursor to the event's sequence;
//! 3. write the file into the Maildir (`tmp/` then rename into `new/`) under a name derived
//!    from the notification id, which itself derives from the event id;
//! 4. mark the notification delivered.
//!
//! Recording before writing, rather than the reverse, means a crash can never leave a sent
//! message that is not recorded and would be sent again under another name. A crash after
//! 2 leaves a recorded, undelivered row: every (re)connect first delivers those (step 3 and
//! 4 again). A crash between 3 and 4 makes that redelivery find the file already in `new/`
//! (or in `cur/`, if a mail reader took it), or overwrite its own half-written copy in `tmp/`,
//! so the Maildir never holds a message twice. Other event types only move the cursor.
//!
//! The stream is opened through the chassis [`Upstream`], whose outbound deadline layer
//! gives every call the default deadline (5 s) when it is not made inside an inbound call.
//! A stream is not cut by it (the layer bounds the wait for the response headers, which the
//! server sends at once), but to state the intent and keep the header honest, the call is
//! made inside [`chassis::deadline::scope`] with a deadline a day away and the same
//! `grpc-timeout` on the request; a stream that lives that long is simply reopened.

use std::time::Duration;

use bazaar_contract::orders::v1::orders_service_client::OrdersServiceClient;
use bazaar_contract::orders::v1::{OrderEvent, OrderEventType, StreamOrderEventsRequest};
use chassis::Shutdown;
use chassis::client::Upstream;
use tokio::time::Instant;

use crate::domain::{CONFIRMATION_SUBJECT, Channel, Confirmation, MailFrom, NotificationId};
use crate::error::NotificationError;
use crate::maildir::{Delivery, Maildir};
use crate::mime::Message;
use crate::render;
use crate::store::{NewNotification, NotificationRecord, NotificationStore};

/// How long one stream may stay open before it is reopened.
pub const STREAM_DEADLINE: Duration = Duration::from_secs(24 * 60 * 60);
/// The first wait before reconnecting.
const FIRST_RETRY: Duration = Duration::from_millis(100);
/// Undelivered notifications handled per store query.
const DELIVERY_BATCH: u32 = 50;

/// Follows the order event stream and sends confirmations.
#[derive(Debug)]
pub struct Follower {
    orders: OrdersServiceClient<Upstream>,
    maildir: Maildir,
    from: MailFrom,
    max_retry: Duration,
}

/// How one connection to the stream ended.
enum Ended {
    /// The server closed it (or it broke) after this many events were handled.
    Closed(u64),
    /// Shutdown.
    Stopped,
}

impl Follower {
    /// A follower that reads events from `orders` and writes emails from `from` into
    /// `maildir`, waiting at most `max_retry` between reconnects.
    pub fn new(orders: Upstream, maildir: Maildir, from: MailFrom, max_retry: Duration) -> Self {
        Self {
            orders: OrdersServiceClient::new(orders),
            maildir,
            from,
            max_retry: max_retry.max(FIRST_RETRY),
        }
    }

    /// Follows the stream until `shutdown`, reconnecting with backoff.
    pub async fn run(mut self, store: NotificationStore, shutdown: Shutdown) {
        let mut delay = FIRST_RETRY;
        loop {
            match self.follow_once(&store, &shutdown).await {
                Ok(Ended::Stopped) => return,
                Ok(Ended::Closed(handled)) => {
                    if handled > 0 {
                        delay = FIRST_RETRY;
                    }
                    tracing::info!(handled, "order event stream ended; reconnecting");
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

    /// Delivers what a previous run left undelivered, then opens the stream at the cursor and
    /// handles events until it ends.
    async fn follow_once(
        &mut self,
        store: &NotificationStore,
        shutdown: &Shutdown,
    ) -> Result<Ended, NotificationError> {
        let maildir = self.maildir.clone();
        tokio::task::spawn_blocking(move || maildir.create())
            .await?
            .map_err(|source| self.maildir_error(source))?;
        self.deliver_pending(store).await?;
        let after = store.cursor().await?;
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
        let mut handled = 0;
        loop {
            let message = tokio::select! {
                () = shutdown.wait() => return Ok(Ended::Stopped),
                message = stream.message() => message?,
            };
            let Some(message) = message else {
                return Ok(Ended::Closed(handled));
            };
            if let Some(event) = message.event {
                self.handle(store, &event).await?;
                handled += 1;
            }
        }
    }

    /// Handles one event and moves the cursor past it.
    async fn handle(
        &self,
        store: &NotificationStore,
        event: &OrderEvent,
    ) -> Result<(), NotificationError> {
        match OrderEventType::try_from(event.r#type) {
            Ok(OrderEventType::Placed) => self.confirm(store, event).await,
            // Failed orders get no email today; unknown types are skipped, as the contract
            // asks.
            _ => {
                tracing::debug!(
                    sequence = event.sequence,
                    r#type = event.r#type,
                    "event skipped"
                );
                Ok(store.advance(event.sequence).await?)
            }
        }
    }

    async fn confirm(
        &self,
        store: &NotificationStore,
        event: &OrderEvent,
    ) -> Result<(), NotificationError> {
        let confirmation = match Confirmation::from_event(event) {
            Ok(confirmation) => confirmation,
            Err(why) => {
                tracing::warn!(
                    sequence = event.sequence,
                    order = %event.order_id,
                    reason = %why,
                    "placed order cannot be confirmed by email; skipped"
                );
                return Ok(store.advance(event.sequence).await?);
            }
        };
        let channel = Channel::Email;
        if store
            .is_recorded(&confirmation.event_id, channel.number())
            .await?
        {
            tracing::debug!(event = %confirmation.event_id, "duplicate event: already notified");
            return Ok(store.advance(event.sequence).await?);
        }
        let id = NotificationId::for_event(&confirmation.event_id, channel);
        let now = now_ms();
        let message = Message {
            date_ms: now,
            from: &self.from,
            to: &confirmation.recipient,
            subject: CONFIRMATION_SUBJECT,
            id: id.as_str(),
            text: &render::text(&confirmation),
            html: &render::html(&confirmation),
        }
        .render();
        let notification = NewNotification {
            record: NotificationRecord {
                id: id.as_str().to_owned(),
                order_id: confirmation.order_id.clone(),
                event_id: confirmation.event_id.clone(),
                channel: channel.number(),
                recipient: confirmation.recipient.as_str().to_owned(),
                subject: CONFIRMATION_SUBJECT.to_owned(),
                send_time_ms: now,
            },
            message,
        };
        if store.record(&notification, event.sequence).await? {
            tracing::info!(
                notification = id.as_str(),
                order = %confirmation.order_id,
                sequence = event.sequence,
                "order confirmation recorded"
            );
        }
        self.deliver_pending(store).await
    }

    /// Writes every recorded, undelivered notification into the Maildir.
    async fn deliver_pending(&self, store: &NotificationStore) -> Result<(), NotificationError> {
        loop {
            let batch = store.undelivered(DELIVERY_BATCH).await?;
            if batch.is_empty() {
                return Ok(());
            }
            for pending in batch {
                let maildir = self.maildir.clone();
                let name = Maildir::file_name(&pending.id, pending.send_time_ms);
                let delivery = tokio::task::spawn_blocking(move || {
                    maildir.deliver(&name, pending.message.as_bytes())
                })
                .await?
                .map_err(|source| self.maildir_error(source))?;
                store.mark_delivered(&pending.id).await?;
                tracing::info!(
                    notification = %pending.id,
                    already_there = delivery == Delivery::AlreadyThere,
                    "email delivered to the Maildir"
                );
            }
        }
    }

    fn maildir_error(&self, source: std::io::Error) -> NotificationError {
        NotificationError::Maildir {
            path: self.maildir.root().display().to_string(),
            source,
        }
    }
}

/// Milliseconds since the Unix epoch: the send time of a notification.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
