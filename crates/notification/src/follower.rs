//! The order event follower: reads `OrdersService.StreamOrderEvents` and sends an order
//! confirmation for every placed order, exactly once.
//!
//! The loop is the chassis's [`chassis::follow`]: connect after the stored cursor, handle
//! each event in order, and when the stream ends or fails (orders restarting, down,
//! unreachable), wait and reconnect, 100 ms doubling up to `--orders-reconnect-max-ms`; the
//! wait starts over once events flow again. It stops on shutdown, between two events, never
//! in the middle of one. What is this service's own is here: where the cursor is kept, what
//! is done with an event, and how the stream is opened (`OrderEvents`).
//!
//! Exactly once, across duplicate deliveries and crashes. Handling a placed event is:
//!
//! 1. render the message and, in ONE transaction, record the notification (with the
//!    message, `delivered = 0`; a unique constraint on (event_id, channel) makes a
//!    redelivered or racing duplicate insert nothing) and move the cursor to the event's
//!    sequence;
//! 2. mark the notification delivered in a transaction that holds its row, and while it is
//!    held write the file into the Maildir (`tmp/` then rename into `new/`) under a name
//!    derived from the notification id, which itself derives from the event id;
//! 3. commit.
//!
//! A notification recorded in step 1 is delivered at once (steps 2 and 3), without looking
//! for a copy in the Maildir: none can be there before it is recorded. A duplicate that
//! step 1 did not record delivers whatever is still undelivered instead, looking for copies
//! first.
//!
//! Recording before writing, rather than the reverse, means a crash can never leave a sent
//! message that is not recorded and would be sent again under another name. A crash after
//! 1 leaves a recorded, undelivered row: every (re)connect first delivers those (steps 2
//! and 3 again). A crash between 2 and 3 makes that redelivery find the file already in
//! `new/` (or in `cur/`, if a mail reader took it), or overwrite its own half-written copy
//! in `tmp/`, so the Maildir never holds a message twice. Other event types only move the
//! cursor.
//!
//! Replicas on one store (and one Maildir) all follow the stream and all handle every
//! event: the unique constraint lets one of them record a notification, and the row held
//! from 2 to 3 lets one of them write it, while the others wait and then find it delivered.
//! Without it two replicas could write one message at once, each truncating the other's
//! file in `tmp/`, and a mail reader could take a message from `new/` that was then
//! written there again.
//!
//! The stored cursor, once moved, is shown as `bazaar_consumer_position`, and each
//! notification recorded delivered counts in `bazaar_notifications_sent_total` (see
//! `metrics`).

use std::time::Duration;

use bazaar_contract::orders::v1::orders_service_client::OrdersServiceClient;
use bazaar_contract::orders::v1::{OrderEvent, OrderEventType, StreamOrderEventsRequest};
use chassis::Shutdown;
use chassis::backoff::Backoff;
use chassis::client::Upstream;
use chassis::follow::{self, Handler, Items, Source};
use chassis::topology;
use tracing::Instrument;

use crate::domain::{CONFIRMATION_SUBJECT, Channel, Confirmation, MailFrom, NotificationId};
use crate::error::NotificationError;
use crate::maildir::{Delivery, Maildir};
use crate::metrics;
use crate::mime::Message;
use crate::render;
use crate::store::{NewNotification, NotificationRecord, NotificationStore, Undelivered};

/// The first wait before reconnecting.
const FIRST_RETRY: Duration = Duration::from_millis(100);
/// Undelivered notifications handled per store query.
const DELIVERY_BATCH: u32 = 50;

/// Follows the order event stream and sends confirmations.
#[derive(Debug)]
pub struct Follower {
    events: OrderEvents,
    maildir: Maildir,
    from: MailFrom,
    max_retry: Duration,
}

impl Follower {
    /// A follower that reads events from `orders` and writes emails from `from` into
    /// `maildir`, waiting at most `max_retry` between reconnects.
    pub fn new(orders: Upstream, maildir: Maildir, from: MailFrom, max_retry: Duration) -> Self {
        Self {
            events: OrderEvents(OrdersServiceClient::new(orders)),
            maildir,
            from,
            max_retry,
        }
    }

    /// Follows the stream until `shutdown`, reconnecting with backoff.
    pub async fn run(self, store: NotificationStore, shutdown: Shutdown) {
        let mut confirmations = Confirmations {
            store,
            maildir: self.maildir,
            from: self.from,
        };
        let backoff = Backoff::new(FIRST_RETRY, self.max_retry);
        follow::run(
            "order events",
            self.events,
            &mut confirmations,
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
    type Error = NotificationError;

    async fn open(
        &mut self,
        after: i64,
    ) -> Result<Items<OrderEvent, NotificationError>, NotificationError> {
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

/// Sends the confirmations; the cursor and the record of what was sent are in `store`.
struct Confirmations {
    store: NotificationStore,
    maildir: Maildir,
    from: MailFrom,
}

impl Handler<OrderEvent> for Confirmations {
    type Error = NotificationError;

    /// Delivers what a previous run left undelivered, then reads the cursor.
    async fn position(&mut self) -> Result<i64, NotificationError> {
        let maildir = self.maildir.clone();
        tokio::task::spawn_blocking(move || maildir.create())
            .await?
            .map_err(|source| self.maildir_error(source))?;
        self.deliver_pending().await?;
        let cursor = self.store.cursor().await?;
        metrics::position(cursor);
        Ok(cursor)
    }

    /// Handles one event and moves the cursor past it.
    /// Linked to the order's trace when traces are exported.
    async fn handle(&mut self, event: OrderEvent) -> Result<(), NotificationError> {
        let sequence = event.sequence;
        let span = chassis::trace::event_span(
            topology::NOTIFICATION.name,
            "order events",
            &event.traceparent,
        );
        let handled = async {
            match OrderEventType::try_from(event.r#type) {
                Ok(OrderEventType::Placed) => self.confirm(&event).await,
                // Failed orders get no email today; unknown types are skipped, as the
                // contract asks.
                _ => {
                    tracing::debug!(
                        sequence = event.sequence,
                        r#type = event.r#type,
                        "event skipped"
                    );
                    Ok(self.store.advance(event.sequence).await?)
                }
            }
        }
        .instrument(span)
        .await;
        if handled.is_ok() {
            metrics::position(sequence);
        }
        handled
    }
}

impl Confirmations {
    async fn confirm(&self, event: &OrderEvent) -> Result<(), NotificationError> {
        let store = &self.store;
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
                user_id: confirmation.user_id.clone(),
                event_id: confirmation.event_id.clone(),
                channel: channel.number(),
                recipient: confirmation.recipient.as_str().to_owned(),
                subject: CONFIRMATION_SUBJECT.to_owned(),
                send_time_ms: now,
            },
            message,
        };
        let record = &notification.record;
        let undelivered = Undelivered {
            id: record.id.clone(),
            send_time_ms: record.send_time_ms,
            message: notification.message.clone(),
        };
        if store.record(&notification, event.sequence).await? {
            tracing::info!(
                notification = id.as_str(),
                order = %confirmation.order_id,
                sequence = event.sequence,
                "order confirmation recorded"
            );
            // Recorded here: delivered now, and no copy of it can be in the Maildir yet.
            // What an earlier run left undelivered was delivered when this one connected.
            self.deliver(undelivered, Fresh::Yes).await
        } else {
            // A redelivered event, or one a replica recorded first: its notification is
            // delivered already, or is delivered here if that replica stopped short of it.
            tracing::debug!(event = %confirmation.event_id, "duplicate event: already recorded");
            self.deliver_pending().await
        }
    }

    /// Writes every recorded, undelivered notification into the Maildir.
    async fn deliver_pending(&self) -> Result<(), NotificationError> {
        loop {
            let batch = self.store.undelivered(DELIVERY_BATCH).await?;
            if batch.is_empty() {
                return Ok(());
            }
            for pending in batch {
                self.deliver(pending, Fresh::No).await?;
            }
        }
    }

    /// Writes one recorded notification into the Maildir, unless it is delivered already
    /// (or, unless `fresh`, already there).
    async fn deliver(&self, pending: Undelivered, fresh: Fresh) -> Result<(), NotificationError> {
        // Held until the file is written: a replica delivering it meanwhile is waited for,
        // and then finds it delivered.
        let Some(delivering) = self.store.start_delivery(&pending.id).await? else {
            tracing::debug!(notification = %pending.id, "delivered elsewhere");
            return Ok(());
        };
        let maildir = self.maildir.clone();
        let name = Maildir::file_name(&pending.id, pending.send_time_ms);
        let id = pending.id;
        let delivery = tokio::task::spawn_blocking(move || {
            let message = pending.message.as_bytes();
            match fresh {
                Fresh::Yes => maildir.deliver_new(&name, message),
                Fresh::No => maildir.deliver(&name, message),
            }
        })
        .await?
        .map_err(|source| self.maildir_error(source))?;
        delivering.done().await?;
        metrics::confirmation_sent();
        tracing::info!(
            notification = %id,
            already_there = delivery == Delivery::AlreadyThere,
            "email delivered to the Maildir"
        );
        Ok(())
    }

    fn maildir_error(&self, source: std::io::Error) -> NotificationError {
        NotificationError::Maildir {
            path: self.maildir.root().display().to_string(),
            source,
        }
    }
}

/// Whether a notification to deliver was recorded just now, by this process: then no copy
/// of it can be in the Maildir (its file is only written after it is recorded), and the
/// Maildir is not searched for one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fresh {
    Yes,
    No,
}

/// Milliseconds since the Unix epoch: the send time of a notification.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
