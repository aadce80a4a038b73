//! Where the inventory keeps stock and reservations: one SQL schema, on SQLite or
//! PostgreSQL, through sqlx's `Any` driver.
//!
//! # No oversell
//!
//! Units are taken with one conditional statement per product,
//! `UPDATE stock SET reserved = reserved + q WHERE product_id = p AND received - reserved -
//! sold >= q`, and a line is short when it changes no row. The condition is checked by the
//! database on the row it writes: PostgreSQL locks the row and re-checks the condition on
//! its newest version (READ COMMITTED), SQLite has one writer at a time. A CHECK constraint
//! on `stock` refuses any state with more reserved and sold than received, whatever the
//! code does.
//!
//! # Transactions, locks and retries
//!
//! Every write runs in a transaction (`begin_write`): `BEGIN IMMEDIATE`
//! on SQLite, so the write lock is taken up front and waits under `busy_timeout` instead of
//! failing when a read transaction tries to upgrade. On PostgreSQL every transaction takes
//! row locks in one global order, so none can deadlock: first the reservation rows it
//! changes, in ascending id order, then the stock rows, in ascending product id order.
//! Whatever still fails transiently (SQLite busy, PostgreSQL serialization failure or
//! deadlock) is retried a few times as a whole by `retry`.
//!
//! # Expiry
//!
//! Expiry needs no background job to be right: a reservation past its `expire_ms` is
//! EXPIRED the moment its time passes. Reads count it out ([`crate::domain::StockCounts`],
//! [`crate::domain::Reservation::as_of`]); writes that depend on it (reserving the same
//! products, committing or releasing it) first mark it EXPIRED and return its units, in the
//! same transaction. The sweeper ([`InventoryStore::sweep`]) marks the rest, so that
//! `stock.reserved` stays close to the truth.

mod reserve;
mod restock;
mod settle;

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::time::Duration;

use chassis::backoff::{Backoff, Jitter};
use chassis::store::{Backend, placeholders};
use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, AnyPool, Row, Transaction};

use crate::domain::{Line, ProductId, Reservation, ReservationState, StockCounts, StockLevel};
use crate::error::{InventoryError, is_contention};

/// The inventory's migrations, both backends, same versions.
pub const MIGRATIONS: chassis::store::Migrations =
    chassis::migrations![1 => "inventory", "0001_inventory"];

/// How many times a transaction that failed transiently is tried in all.
const ATTEMPTS: u32 = 8;

/// Stock and reservations, on SQLite or PostgreSQL; clones share the pool.
#[derive(Clone, Debug)]
pub struct InventoryStore {
    pool: AnyPool,
    backend: Backend,
}

impl InventoryStore {
    /// Wraps a migrated pool of `backend`.
    pub fn new(pool: AnyPool, backend: Backend) -> Self {
        Self { pool, backend }
    }

    /// The pool, for closing.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Starts a transaction that will write.
    async fn begin_write(&self) -> Result<Transaction<'static, Any>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
    }

    /// The stock of each product in `ids` at `now_ms`; products never stocked are absent.
    pub async fn stock_levels(
        &self,
        ids: &[ProductId],
        now_ms: i64,
    ) -> Result<HashMap<String, StockLevel>, InventoryError> {
        let mut conn = self.pool.acquire().await?;
        Ok(stock_levels(&mut conn, ids, now_ms).await?)
    }

    /// A reservation as it is at `now_ms`, if it exists.
    pub async fn reservation(
        &self,
        id: &str,
        now_ms: i64,
    ) -> Result<Option<Reservation>, InventoryError> {
        let mut conn = self.pool.acquire().await?;
        Ok(load_reservation(&mut conn, "id", id)
            .await?
            .map(|r| r.as_of(now_ms)))
    }
}

/// Runs `attempt` until it succeeds, fails for good, or has failed transiently
/// [`ATTEMPTS`] times; waits a little, more each time, between tries.
async fn retry<T, F, Fut>(what: &str, mut attempt: F) -> Result<T, InventoryError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, InventoryError>>,
{
    let mut tries = 1;
    let mut backoff = contention_backoff();
    loop {
        match attempt().await {
            Err(InventoryError::Store(error)) if tries < ATTEMPTS && is_contention(&error) => {
                tracing::debug!(what, tries, error = %error, "transaction conflicted; retrying");
                tokio::time::sleep(backoff.next_delay()).await;
                tries += 1;
            }
            outcome => return outcome,
        }
    }
}

/// 10 ms, 20 ms, 40 ms, ... at most 200 ms, with up to half of it again as jitter so that
/// transactions that collided do not collide again.
fn contention_backoff() -> Backoff {
    Backoff::new(Duration::from_millis(10), Duration::from_millis(200))
        .with_jitter(Jitter::Added { percent: 50 })
}

/// Stock levels read in one statement, so the counts and the overdue units agree.
async fn stock_levels(
    conn: &mut AnyConnection,
    ids: &[ProductId],
    now_ms: i64,
) -> Result<HashMap<String, StockLevel>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!(
        "SELECT s.product_id, s.received, s.reserved, s.sold, \
         COALESCE(o.overdue, 0) AS overdue FROM stock s LEFT JOIN ( \
           SELECT l.product_id AS product_id, CAST(SUM(l.quantity) AS BIGINT) AS overdue \
           FROM reservations r JOIN reservation_lines l ON l.reservation_id = r.id \
           WHERE r.state = {active} AND r.expire_ms <= $1 GROUP BY l.product_id \
         ) o ON o.product_id = s.product_id \
         WHERE s.product_id IN ({})",
        placeholders(2, ids.len()),
        active = ReservationState::Active.code(),
    );
    let mut query = sqlx::query(&sql).bind(now_ms);
    for id in ids {
        query = query.bind(id.as_str());
    }
    let mut levels = HashMap::new();
    for row in query.fetch_all(&mut *conn).await? {
        let product_id: String = row.try_get("product_id")?;
        let counts = StockCounts {
            received: row.try_get("received")?,
            reserved: row.try_get("reserved")?,
            sold: row.try_get("sold")?,
            overdue: row.try_get("overdue")?,
        };
        levels.insert(product_id.clone(), counts.level(&product_id));
    }
    Ok(levels)
}

const RESERVATION_COLUMNS: &str =
    "id, request_id, fingerprint, state, reference, create_ms, expire_ms, update_ms";

/// A reservation row and the request that made it.
struct StoredReservation {
    reservation: Reservation,
    fingerprint: String,
}

/// The reservation whose `key` column (`id` or `request_id`) is `value`, as stored.
async fn load_reservation(
    conn: &mut AnyConnection,
    key: &str,
    value: &str,
) -> Result<Option<Reservation>, InventoryError> {
    Ok(load_stored(conn, key, value).await?.map(|s| s.reservation))
}

async fn load_stored(
    conn: &mut AnyConnection,
    key: &str,
    value: &str,
) -> Result<Option<StoredReservation>, InventoryError> {
    debug_assert!(matches!(key, "id" | "request_id"));
    let sql = format!("SELECT {RESERVATION_COLUMNS} FROM reservations WHERE {key} = $1");
    let Some(row) = sqlx::query(&sql)
        .bind(value)
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    let mut stored = reservation_from_row(&row)?;
    stored.reservation.lines = load_lines(conn, &stored.reservation.id).await?;
    Ok(Some(stored))
}

fn reservation_from_row(row: &AnyRow) -> Result<StoredReservation, InventoryError> {
    let code: i64 = row.try_get("state")?;
    let state = ReservationState::from_code(code)
        .ok_or_else(|| InventoryError::Corrupt(format!("reservation state {code}")))?;
    Ok(StoredReservation {
        reservation: Reservation {
            id: row.try_get("id")?,
            lines: Vec::new(),
            state,
            reference: row.try_get("reference")?,
            create_ms: row.try_get("create_ms")?,
            expire_ms: row.try_get("expire_ms")?,
            update_ms: row.try_get("update_ms")?,
        },
        fingerprint: row.try_get("fingerprint")?,
    })
}

async fn load_lines(conn: &mut AnyConnection, id: &str) -> Result<Vec<Line>, InventoryError> {
    let rows = sqlx::query(
        "SELECT product_id, quantity FROM reservation_lines WHERE reservation_id = $1 \
         ORDER BY position",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            let product_id: String = row.try_get("product_id")?;
            Ok(Line {
                product_id: ProductId::parse(&product_id).map_err(|e| {
                    InventoryError::Corrupt(format!("product_id {product_id:?}: {e}"))
                })?,
                quantity: row.try_get("quantity")?,
            })
        })
        .collect()
}

/// What [`claim_expired`] marked EXPIRED.
struct Expired {
    /// How many reservations; the caller counts them once its transaction commits.
    reservations: u64,
    /// The units they held, per product (in ascending product order, the order to lock
    /// stock in).
    units: BTreeMap<String, i64>,
}

/// Marks EXPIRED those of the reservations `ids` that are still ACTIVE and past their
/// expiry at `now_ms`, locking their rows in ascending id order, and returns how many and
/// the units they held.
async fn claim_expired(
    conn: &mut AnyConnection,
    ids: &[String],
    now_ms: i64,
) -> Result<Expired, sqlx::Error> {
    let mut sorted: Vec<&String> = ids.iter().collect();
    sorted.sort();
    sorted.dedup();
    let mut claimed = Vec::new();
    for id in sorted {
        let done = sqlx::query(
            "UPDATE reservations SET state = $1, update_ms = expire_ms \
             WHERE id = $2 AND state = $3 AND expire_ms <= $4",
        )
        .bind(ReservationState::Expired.code())
        .bind(id.as_str())
        .bind(ReservationState::Active.code())
        .bind(now_ms)
        .execute(&mut *conn)
        .await?;
        if done.rows_affected() == 1 {
            claimed.push(id.as_str());
        }
    }
    Ok(Expired {
        reservations: claimed.len() as u64,
        units: held_units(conn, &claimed).await?,
    })
}

/// The units the reservations `ids` hold, per product.
async fn held_units(
    conn: &mut AnyConnection,
    ids: &[&str],
) -> Result<BTreeMap<String, i64>, sqlx::Error> {
    let mut units = BTreeMap::new();
    if ids.is_empty() {
        return Ok(units);
    }
    let sql = format!(
        "SELECT product_id, quantity FROM reservation_lines WHERE reservation_id IN ({})",
        placeholders(1, ids.len())
    );
    let mut query = sqlx::query(&sql);
    for id in ids {
        query = query.bind(*id);
    }
    for row in query.fetch_all(&mut *conn).await? {
        let product_id: String = row.try_get("product_id")?;
        let quantity: i64 = row.try_get("quantity")?;
        *units.entry(product_id).or_insert(0) += quantity;
    }
    Ok(units)
}

/// Gives back units no longer held (`reserved -= q`), in ascending product order.
async fn unreserve(
    conn: &mut AnyConnection,
    units: &BTreeMap<String, i64>,
) -> Result<(), sqlx::Error> {
    for (product_id, quantity) in units {
        sqlx::query("UPDATE stock SET reserved = reserved - $1 WHERE product_id = $2")
            .bind(*quantity)
            .bind(product_id.as_str())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_count_from_first() {
        assert_eq!(placeholders(2, 3), "$2, $3, $4");
    }

    #[test]
    fn backoff_grows_and_stays_bounded() {
        let mut backoff = contention_backoff();
        assert!(backoff.next_delay() >= Duration::from_millis(10));
        for _ in 1..20 {
            backoff.next_delay();
        }
        assert!(backoff.next_delay() <= Duration::from_millis(300));
    }
}
