//! Where orders keeps its orders, their saga state and the idempotency keys of PlaceOrder:
//! one SQL schema on SQLite or PostgreSQL, through sqlx's `Any` driver.
//!
//! Every change of a saga is one transaction that is conditional on the saga's lease
//! (`lease_owner` is this process): a process that lost its lease (it stalled, another took
//! the saga over) can change nothing. A change that ends the saga writes its event into the
//! outbox ([`outbox`]) in the same transaction, so no state change is without its event and
//! no event without its change; StreamOrderEvents reads it back ([`crate::outbox`]).

use bazaar_contract::orders::v1::{OrderEventType, OrderState};
use chassis::store::{Backend, placeholders};
use sqlx::{AnyPool, Row};
use tokio::sync::watch;

use crate::domain::OrderRecord;
use crate::metrics::OutboxHead;

mod claims;
mod outbox;
mod read;

pub use claims::Claim;

/// orders' migrations, both backends, same versions.
pub const MIGRATIONS: chassis::store::Migrations = chassis::migrations![
    1 => "orders", "0001_orders",
    2 => "order traces", "0002_traces",
];

/// The outcome of a saga's write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Saved {
    /// Written.
    Saved,
    /// Not written: this process no longer owns the saga.
    LeaseLost,
}

/// The outcome of recording a new order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Created {
    /// Recorded, bound to its request id, leased.
    Created,
    /// Not recorded: the claim on the request id was lost meanwhile.
    ClaimLost,
    /// Not recorded: the caller already has this many PENDING orders (the cap).
    TooManyPending(u32),
}

/// Orders, their sagas, PlaceOrder claims and the event outbox, on SQLite or PostgreSQL;
/// clones share the pool.
#[derive(Clone, Debug)]
pub struct OrdersStore {
    pool: AnyPool,
    backend: Backend,
    events: watch::Sender<u64>,
    head: OutboxHead,
}

pub(crate) const ORDER_COLUMNS: &str = "id, user_id, state, step, failure_reason, failure_message, \
    failure_product_ids, currency_code, subtotal_units, subtotal_nanos, shipping_units, \
    shipping_nanos, total_units, total_nanos, reservation_attempt, reservation_id, \
    charge_status, charge_started_ms, charge_id, shipment_id, tracking_id, recipient_name, \
    street_lines, city, region, postal_code, country_code, email, estimated_delivery_days, \
    cart_etag, create_time_ms, update_time_ms";

impl OrdersStore {
    /// Wraps a migrated pool.
    pub fn new(pool: AnyPool, backend: Backend) -> Self {
        let (events, _) = watch::channel(0);
        Self {
            pool,
            backend,
            events,
            head: OutboxHead::default(),
        }
    }

    /// The pool, for closing.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Changes (a counter) each time this process commits events; streams wait on it.
    pub fn event_commits(&self) -> watch::Receiver<u64> {
        self.events.subscribe()
    }

    /// How many orders of `user_id` are PENDING (their checkout still runs).
    pub async fn pending_orders(&self, user_id: &str) -> Result<u32, sqlx::Error> {
        let count: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE user_id = $1 AND state = $2")
                .bind(user_id)
                .bind(OrderState::Pending as i64)
                .fetch_one(&self.pool)
                .await?;
        Ok(u32::try_from(count).unwrap_or(u32::MAX))
    }

    /// Records a new order, binds the claimed request id to it and leases its saga to
    /// `owner`, in one transaction, unless the claim was lost meanwhile or the user
    /// already has `max_pending` PENDING orders (nothing is written then). On PostgreSQL
    /// the user's checkouts take a transaction lock on the user first, so concurrent
    /// calls cannot both pass the count. `traceparent`, when the call is traced, is kept
    /// with the order so that its saga stays in the call's trace.
    pub async fn create_order(
        &self,
        order: &OrderRecord,
        request_id: &str,
        owner: &str,
        lease_until_ms: i64,
        max_pending: u32,
        traceparent: Option<&str>,
    ) -> Result<Created, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))::TEXT")
                .bind(format!("orders:checkout:{}", order.user_id))
                .execute(&mut *tx)
                .await?;
        }
        let bound = sqlx::query(
            "UPDATE checkout_requests SET order_id = $1 WHERE user_id = $2 AND request_id = $3 \
             AND order_id = ''",
        )
        .bind(&order.id)
        .bind(&order.user_id)
        .bind(request_id)
        .execute(&mut *tx)
        .await?;
        if bound.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(Created::ClaimLost);
        }
        let pending: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE user_id = $1 AND state = $2")
                .bind(&order.user_id)
                .bind(OrderState::Pending as i64)
                .fetch_one(&mut *tx)
                .await?;
        if pending >= i64::from(max_pending) {
            tx.rollback().await?;
            return Ok(Created::TooManyPending(max_pending));
        }
        let failure = order.failure.as_ref();
        sqlx::query(&format!(
            "INSERT INTO orders ({ORDER_COLUMNS}, lease_owner, lease_until_ms) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, \
             $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $34)"
        ))
        .bind(&order.id)
        .bind(&order.user_id)
        .bind(order.state as i64)
        .bind(order.step.as_str())
        .bind(failure.map_or(0, |f| f.reason as i64))
        .bind(failure.map_or("", |f| f.message.as_str()))
        .bind(json(failure.map_or(&[][..], |f| &f.product_ids)))
        .bind(&order.currency)
        .bind(order.subtotal.units)
        .bind(i64::from(order.subtotal.nanos))
        .bind(order.shipping_cost.units)
        .bind(i64::from(order.shipping_cost.nanos))
        .bind(order.total.units)
        .bind(i64::from(order.total.nanos))
        .bind(order.reservation_attempt)
        .bind(&order.reservation_id)
        .bind(order.charge_status.as_str())
        .bind(order.charge_started_ms)
        .bind(&order.charge_id)
        .bind(&order.shipment_id)
        .bind(&order.tracking_id)
        .bind(&order.address.recipient_name)
        .bind(json(&order.address.street_lines))
        .bind(&order.address.city)
        .bind(&order.address.region)
        .bind(&order.address.postal_code)
        .bind(&order.address.country_code)
        .bind(&order.email)
        .bind(i64::from(order.estimated_delivery_days))
        .bind(&order.cart_etag)
        .bind(order.create_time_ms)
        .bind(order.update_time_ms)
        .bind(owner)
        .bind(lease_until_ms)
        .execute(&mut *tx)
        .await?;
        // The lines in as few statements as the backends' limits on bound parameters allow
        // (a cart holds far fewer lines than one statement takes).
        for (chunk, lines) in order.items.chunks(ITEMS_PER_INSERT).enumerate() {
            let sql = items_insert(lines.len());
            let mut insert = sqlx::query(&sql);
            for (offset, item) in lines.iter().enumerate() {
                insert = insert
                    .bind(&order.id)
                    .bind((chunk * ITEMS_PER_INSERT + offset) as i64)
                    .bind(&item.product_id)
                    .bind(&item.name)
                    .bind(&item.picture_uri)
                    .bind(i64::from(item.quantity))
                    .bind(item.unit_price.units)
                    .bind(i64::from(item.unit_price.nanos));
            }
            insert.execute(&mut *tx).await?;
        }
        if let Some(traceparent) = traceparent {
            sqlx::query("INSERT INTO order_traces (order_id, traceparent) VALUES ($1, $2)")
                .bind(&order.id)
                .bind(traceparent)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(Created::Created)
    }

    /// The W3C `traceparent` of the call that created order `order_id`, when it was traced.
    pub async fn traceparent(&self, order_id: &str) -> Result<Option<String>, sqlx::Error> {
        sqlx::query_scalar("SELECT traceparent FROM order_traces WHERE order_id = $1")
            .bind(order_id)
            .fetch_optional(&self.pool)
            .await
    }

    /// Writes the saga state of `order` and renews the lease, if `owner` still holds it;
    /// with `event`, also writes that event (with the order as it now is) to the outbox, in
    /// the same transaction.
    pub async fn save(
        &self,
        order: &OrderRecord,
        owner: &str,
        lease_until_ms: i64,
        event: Option<OrderEventType>,
    ) -> Result<Saved, sqlx::Error> {
        let failure = order.failure.as_ref();
        let update = sqlx::query(
            "UPDATE orders SET state = $1, step = $2, failure_reason = $3, failure_message = $4, \
             failure_product_ids = $5, reservation_attempt = $6, reservation_id = $7, \
             charge_status = $8, charge_started_ms = $9, charge_id = $10, shipment_id = $11, \
             tracking_id = $12, update_time_ms = $13, lease_until_ms = $14 \
             WHERE id = $15 AND lease_owner = $16",
        )
        .bind(order.state as i64)
        .bind(order.step.as_str())
        .bind(failure.map_or(0, |f| f.reason as i64))
        .bind(failure.map_or("", |f| f.message.as_str()))
        .bind(json(failure.map_or(&[][..], |f| &f.product_ids)))
        .bind(order.reservation_attempt)
        .bind(&order.reservation_id)
        .bind(order.charge_status.as_str())
        .bind(order.charge_started_ms)
        .bind(&order.charge_id)
        .bind(&order.shipment_id)
        .bind(&order.tracking_id)
        .bind(order.update_time_ms)
        .bind(lease_until_ms)
        .bind(&order.id)
        .bind(owner);
        let Some(event) = event else {
            // One statement: no transaction around it, one round trip to the store.
            let updated = update.execute(&self.pool).await?;
            return Ok(if updated.rows_affected() == 1 {
                Saved::Saved
            } else {
                Saved::LeaseLost
            });
        };
        let mut tx = self.pool.begin().await?;
        if update.execute(&mut *tx).await?.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(Saved::LeaseLost);
        }
        let sequence = outbox::append(&mut tx, self.backend, order, event).await?;
        tx.commit().await?;
        self.head.advance(sequence);
        self.events.send_modify(|n| *n = n.wrapping_add(1));
        Ok(Saved::Saved)
    }

    /// Extends the lease of a saga `owner` holds; `false` if it no longer does.
    pub async fn renew_lease(
        &self,
        order_id: &str,
        owner: &str,
        lease_until_ms: i64,
    ) -> Result<bool, sqlx::Error> {
        let updated =
            sqlx::query("UPDATE orders SET lease_until_ms = $1 WHERE id = $2 AND lease_owner = $3")
                .bind(lease_until_ms)
                .bind(order_id)
                .bind(owner)
                .execute(&self.pool)
                .await?;
        Ok(updated.rows_affected() == 1)
    }

    /// Gives a saga up at once (on shutdown), so the next process need not wait for the
    /// lease to run out.
    pub async fn release_lease(&self, order_id: &str, owner: &str) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE orders SET lease_owner = '', lease_until_ms = 0 \
             WHERE id = $1 AND lease_owner = $2",
        )
        .bind(order_id)
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Ids of unfinished sagas whose lease has run out, oldest first, at most `limit`.
    pub async fn orphaned_sagas(
        &self,
        now_ms: i64,
        limit: u32,
    ) -> Result<Vec<String>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT id FROM orders WHERE step <> 'done' AND lease_until_ms < $1 \
             ORDER BY create_time_ms, id LIMIT $2",
        )
        .bind(now_ms)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|row| row.try_get("id")).collect()
    }

    /// Takes over an unfinished saga whose lease has run out; `false` if another process
    /// was faster (or it has finished).
    pub async fn take_over(
        &self,
        order_id: &str,
        owner: &str,
        now_ms: i64,
        lease_until_ms: i64,
    ) -> Result<bool, sqlx::Error> {
        let updated = sqlx::query(
            "UPDATE orders SET lease_owner = $1, lease_until_ms = $2 \
             WHERE id = $3 AND step <> 'done' AND lease_until_ms < $4",
        )
        .bind(owner)
        .bind(lease_until_ms)
        .bind(order_id)
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(updated.rows_affected() == 1)
    }
}

/// How many order lines one INSERT writes: 8 parameters each, far below SQLite's 32,766
/// and PostgreSQL's 65,535 bound parameters a statement.
const ITEMS_PER_INSERT: usize = 500;

/// `INSERT INTO order_items ... VALUES (...), (...)` for `lines` lines.
fn items_insert(lines: usize) -> String {
    let rows: Vec<String> = (0..lines)
        .map(|line| format!("({})", placeholders(line * 8 + 1, 8)))
        .collect();
    format!(
        "INSERT INTO order_items (order_id, position, product_id, name, picture_uri, \
         quantity, unit_units, unit_nanos) VALUES {}",
        rows.join(", ")
    )
}

pub(crate) fn json(values: &[String]) -> String {
    // A list of strings always serializes.
    serde_json::to_string(values).unwrap_or_else(|_| "[]".to_owned())
}
