//! The outbox: every order event, written in the transaction that changes the order
//! ([`crate::store::OrdersStore::save`]), and read back in order by StreamOrderEvents.
//!
//! Each event gets a `sequence` from the database (SQLite AUTOINCREMENT, PostgreSQL
//! BIGSERIAL) and a random `event_id`, and keeps the order as it was right after it, encoded
//! as a `bazaar.orders.v1.Order`. A reader that has seen sequence N never misses a later
//! event below N: SQLite has one writer at a time, and on PostgreSQL writers lock the table
//! against each other (not against readers) before they insert, so sequences are handed out
//! in commit order.
//!
//! A stream sends what is stored after its position, then waits: for a commit of this
//! process (a `watch` poked by the store), or for the poll interval (events written by other
//! replicas), or for shutdown, which ends the stream cleanly.

use std::time::Duration;

use bazaar_contract::orders::v1::{OrderEvent, OrderEventType, StreamOrderEventsResponse};
use chassis::Shutdown;
use chassis::store::Backend;
use prost::Message;
use sqlx::{Any, Row, Transaction};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use crate::ids::random_id;
use crate::order::{OrderRecord, timestamp};
use crate::store::OrdersStore;

/// Events read from the store per query.
const BATCH: u32 = 100;

/// Writes one event for `order` (as it is now) in `tx`.
pub async fn append(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    order: &OrderRecord,
    event_type: OrderEventType,
) -> Result<(), sqlx::Error> {
    if backend == Backend::Postgres {
        sqlx::query("LOCK TABLE order_events IN SHARE ROW EXCLUSIVE MODE")
            .execute(&mut **tx)
            .await?;
    }
    sqlx::query(
        "INSERT INTO order_events (event_id, order_id, event_type, occur_time_ms, \
         order_snapshot) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(random_id("evt"))
    .bind(&order.id)
    .bind(event_type as i64)
    .bind(order.update_time_ms)
    .bind(order.to_pb().encode_to_vec())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Events after `after`, in order, at most `limit`.
pub async fn events_after(
    store: &OrdersStore,
    after: i64,
    limit: u32,
) -> Result<Vec<OrderEvent>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT sequence, event_id, order_id, event_type, occur_time_ms, order_snapshot \
         FROM order_events WHERE sequence > $1 ORDER BY sequence LIMIT $2",
    )
    .bind(after)
    .bind(i64::from(limit))
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|row| {
            let snapshot: Vec<u8> = row.try_get("order_snapshot")?;
            let order = bazaar_contract::orders::v1::Order::decode(snapshot.as_slice())
                .map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
            let event_type: i64 = row.try_get("event_type")?;
            Ok(OrderEvent {
                event_id: row.try_get("event_id")?,
                sequence: row.try_get("sequence")?,
                order_id: row.try_get("order_id")?,
                r#type: i32::try_from(event_type).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
                occur_time: Some(timestamp(row.try_get("occur_time_ms")?)),
                order: Some(order),
            })
        })
        .collect()
}

/// The response stream of StreamOrderEvents: events after `after`, then new ones as they
/// are committed, until the client goes away or `stop` fires.
pub fn follow(
    store: OrdersStore,
    after: i64,
    poll: Duration,
    stop: Shutdown,
) -> ReceiverStream<Result<StreamOrderEventsResponse, Status>> {
    let (sender, receiver) = mpsc::channel(BATCH as usize);
    let mut commits = store.event_commits();
    tokio::spawn(async move {
        let mut cursor = after;
        loop {
            // Seen before reading: a commit during the read wakes the wait below at once.
            commits.borrow_and_update();
            let events = match events_after(&store, cursor, BATCH).await {
                Ok(events) => events,
                Err(error) => {
                    let status = chassis::error::unavailable("orders event store", &error);
                    let _ = sender.send(Err(status)).await;
                    return;
                }
            };
            let full = events.len() == BATCH as usize;
            for event in events {
                cursor = event.sequence;
                let message = StreamOrderEventsResponse { event: Some(event) };
                tokio::select! {
                    sent = sender.send(Ok(message)) => if sent.is_err() { return },
                    () = stop.wait() => return,
                }
            }
            if full {
                continue;
            }
            tokio::select! {
                () = stop.wait() => return,
                () = sender.closed() => return,
                Ok(()) = commits.changed() => {}
                () = tokio::time::sleep(poll) => {}
            }
        }
    });
    ReceiverStream::new(receiver)
}
