//! The outbox, as stored: every order event, written in the transaction that changes the
//! order ([`OrdersStore::save`]), and read back in order ([`OrdersStore::events_after`]).
//!
//! Each event gets a `sequence` from the database (SQLite AUTOINCREMENT, PostgreSQL
//! BIGSERIAL) and a random `event_id`, and keeps the order as it was right after it, encoded
//! as a `bazaar.orders.v1.Order`. A reader that has seen sequence N never misses a later
//! event below N: SQLite has one writer at a time, and on PostgreSQL writers lock the table
//! against each other (not against readers) before they insert, so sequences are handed out
//! in commit order.
//!
//! An event also keeps the W3C `traceparent` of the work that wrote it (the saga's span,
//! the current one when it is written; empty when it is not traced), so that consumers can
//! link their handling of it to the order's trace.

use bazaar_contract::orders::v1::{OrderEvent, OrderEventType};
use bazaar_contract::values::calendar::timestamp;
use chassis::store::Backend;
use prost::Message;
use sqlx::{Any, Row, Transaction};

use super::OrdersStore;
use crate::domain::OrderRecord;
use crate::ids::{ORDER_EVENT, new_id};

/// Writes one event for `order` (as it is now) in `tx`; its sequence.
pub(super) async fn append(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    order: &OrderRecord,
    event_type: OrderEventType,
) -> Result<i64, sqlx::Error> {
    if backend == Backend::Postgres {
        sqlx::query("LOCK TABLE order_events IN SHARE ROW EXCLUSIVE MODE")
            .execute(&mut **tx)
            .await?;
    }
    let traceparent = chassis::trace::traceparent(&tracing::Span::current()).unwrap_or_default();
    sqlx::query_scalar(
        "INSERT INTO order_events (event_id, order_id, event_type, occur_time_ms, \
         order_snapshot, traceparent) VALUES ($1, $2, $3, $4, $5, $6) RETURNING sequence",
    )
    .bind(new_id(&ORDER_EVENT))
    .bind(&order.id)
    .bind(event_type as i64)
    .bind(order.update_time_ms)
    .bind(order.to_pb().encode_to_vec())
    .bind(traceparent)
    .fetch_one(&mut **tx)
    .await
}

impl OrdersStore {
    /// Shows the newest event's sequence as the outbox head (`bazaar_outbox_head`), as
    /// the store holds it now: at open, so the head is right before anything is written.
    pub async fn show_outbox_head(&self) -> Result<(), sqlx::Error> {
        let head = self.last_event_sequence().await?;
        self.head.advance(head);
        Ok(())
    }

    /// Notes that the outbox holds `sequence` (an event read back, perhaps written by
    /// another replica), for the outbox head.
    pub fn saw_event(&self, sequence: i64) {
        self.head.advance(sequence);
    }

    /// The sequence of the newest event, 0 when there is none.
    pub async fn last_event_sequence(&self) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("SELECT COALESCE(MAX(sequence), 0) FROM order_events")
            .fetch_one(&self.pool)
            .await
    }

    /// Events after `after`, in order, at most `limit`.
    pub async fn events_after(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<OrderEvent>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT sequence, event_id, order_id, event_type, occur_time_ms, order_snapshot, \
             traceparent FROM order_events WHERE sequence > $1 ORDER BY sequence LIMIT $2",
        )
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
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
                    r#type: i32::try_from(event_type)
                        .map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
                    occur_time: Some(timestamp(row.try_get("occur_time_ms")?)),
                    order: Some(order),
                    traceparent: row.try_get("traceparent")?,
                })
            })
            .collect()
    }
}
