//! ReserveStock: all lines or none, once per request id.
//!
//! One transaction, in this order (the lock order of the module doc):
//!
//! 1. insert the reservation row; its unique `request_id` makes a concurrent call with the
//!    same id wait for this one (PostgreSQL) or come after it (SQLite), and then find the
//!    first call's reservation or recorded failure instead of reserving again;
//! 2. mark EXPIRED the overdue reservations that hold any of the requested products, so
//!    their units count as available;
//! 3. per product, in ascending id order: give back the expired units, then take the
//!    requested ones with the conditional update;
//! 4. if any line was short, undo the takes, drop the reservation row, record the failure
//!    (what a retry with the same id gets) and commit, keeping step 2; otherwise insert
//!    the lines and commit.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::{AnyConnection, Row};

use super::{InventoryStore, claim_expired, load_stored, placeholders, retry};
use crate::domain::{Reservation, ReservationId, ReservationState, ReserveRequest, Shortage};
use crate::error::InventoryError;
use crate::metrics;

impl InventoryStore {
    /// Reserves the lines of `request` at `now_ms` as a new reservation `new_id`, or
    /// returns what the first call with the same request id got.
    pub async fn reserve(
        &self,
        request: &ReserveRequest,
        new_id: &ReservationId,
        now_ms: i64,
    ) -> Result<Reservation, InventoryError> {
        let fingerprint = request.fingerprint();
        retry("reserve", || {
            self.try_reserve(request, new_id, &fingerprint, now_ms)
        })
        .await
    }

    async fn try_reserve(
        &self,
        request: &ReserveRequest,
        new_id: &ReservationId,
        fingerprint: &str,
        now_ms: i64,
    ) -> Result<Reservation, InventoryError> {
        let request_id = request.request_id.as_str();
        let expire_ms = now_ms + request.ttl_ms;
        let mut tx = self.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO reservations \
             (id, request_id, fingerprint, state, reference, create_ms, expire_ms, update_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (request_id) DO NOTHING",
        )
        .bind(new_id.as_str())
        .bind(request_id)
        .bind(fingerprint)
        .bind(ReservationState::Active.code())
        .bind(request.reference.as_str())
        .bind(now_ms)
        .bind(expire_ms)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            tx.rollback().await?;
            return self.replay(request_id, fingerprint, now_ms).await;
        }
        if let Some(row) = sqlx::query(
            "SELECT fingerprint, shortages FROM failed_reservations WHERE request_id = $1",
        )
        .bind(request_id)
        .fetch_optional(&mut *tx)
        .await?
        {
            tx.rollback().await?;
            let first: String = row.try_get("fingerprint")?;
            if first != fingerprint {
                return Err(InventoryError::RequestIdReused(request_id.to_owned()));
            }
            let shortages: String = row.try_get("shortages")?;
            return Err(InventoryError::InsufficientStock(
                serde_json::from_str(&shortages)
                    .map_err(|e| InventoryError::Corrupt(format!("shortages: {e}")))?,
            ));
        }

        let overdue = overdue_holding(&mut tx, request, now_ms).await?;
        let expired = claim_expired(&mut tx, &overdue, now_ms).await?;
        let freed = &expired.units;
        let wanted: BTreeMap<&str, i64> = request
            .lines
            .iter()
            .map(|l| (l.product_id.as_str(), l.quantity))
            .collect();
        let products: BTreeSet<&str> = freed
            .keys()
            .map(String::as_str)
            .chain(wanted.keys().copied())
            .collect();
        let mut taken = Vec::new();
        let mut short = BTreeSet::new();
        for product_id in products {
            if let Some(quantity) = freed.get(product_id) {
                sqlx::query("UPDATE stock SET reserved = reserved - $1 WHERE product_id = $2")
                    .bind(*quantity)
                    .bind(product_id)
                    .execute(&mut *tx)
                    .await?;
            }
            if let Some(&quantity) = wanted.get(product_id) {
                let took = sqlx::query(
                    "UPDATE stock SET reserved = reserved + $1 \
                     WHERE product_id = $2 AND received - reserved - sold >= $3",
                )
                .bind(quantity)
                .bind(product_id)
                .bind(quantity)
                .execute(&mut *tx)
                .await?;
                if took.rows_affected() == 1 {
                    taken.push((product_id, quantity));
                } else {
                    short.insert(product_id);
                }
            }
        }

        if !short.is_empty() {
            let mut shortages = Vec::with_capacity(short.len());
            for line in request
                .lines
                .iter()
                .filter(|l| short.contains(l.product_id.as_str()))
            {
                shortages.push(Shortage {
                    product_id: line.product_id.as_str().to_owned(),
                    requested: line.quantity,
                    available: available(&mut tx, line.product_id.as_str()).await?,
                });
            }
            for (product_id, quantity) in taken {
                sqlx::query("UPDATE stock SET reserved = reserved - $1 WHERE product_id = $2")
                    .bind(quantity)
                    .bind(product_id)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query("DELETE FROM reservations WHERE id = $1")
                .bind(new_id.as_str())
                .execute(&mut *tx)
                .await?;
            let encoded = serde_json::to_string(&shortages)
                .map_err(|e| InventoryError::Corrupt(format!("shortages: {e}")))?;
            sqlx::query(
                "INSERT INTO failed_reservations (request_id, fingerprint, shortages, create_ms) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (request_id) DO NOTHING",
            )
            .bind(request_id)
            .bind(fingerprint)
            .bind(encoded)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            metrics::reservations_expired(expired.reservations);
            return Err(InventoryError::InsufficientStock(shortages));
        }

        for (position, line) in request.lines.iter().enumerate() {
            sqlx::query(
                "INSERT INTO reservation_lines (reservation_id, position, product_id, quantity) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(new_id.as_str())
            .bind(position as i64)
            .bind(line.product_id.as_str())
            .bind(line.quantity)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        metrics::reservations_expired(expired.reservations);
        Ok(Reservation {
            id: new_id.as_str().to_owned(),
            lines: request.lines.clone(),
            state: ReservationState::Active,
            reference: request.reference.clone(),
            create_ms: now_ms,
            expire_ms,
            update_ms: now_ms,
        })
    }

    /// What the first call with `request_id` got: its reservation in its current state,
    /// if the parameters are the same.
    async fn replay(
        &self,
        request_id: &str,
        fingerprint: &str,
        now_ms: i64,
    ) -> Result<Reservation, InventoryError> {
        let mut conn = self.pool.acquire().await?;
        match load_stored(&mut conn, "request_id", request_id).await? {
            Some(stored) if stored.fingerprint == fingerprint => {
                Ok(stored.reservation.as_of(now_ms))
            }
            Some(_) => Err(InventoryError::RequestIdReused(request_id.to_owned())),
            // Reservations are never deleted once committed, so the conflicting row was
            // still being written: the first call has not finished.
            None => Err(InventoryError::InProgress(request_id.to_owned())),
        }
    }
}

/// Ids of the ACTIVE reservations past their expiry that hold any product of `request`.
async fn overdue_holding(
    conn: &mut AnyConnection,
    request: &ReserveRequest,
    now_ms: i64,
) -> Result<Vec<String>, sqlx::Error> {
    let sql = format!(
        "SELECT DISTINCT r.id FROM reservations r \
         JOIN reservation_lines l ON l.reservation_id = r.id \
         WHERE r.state = $1 AND r.expire_ms <= $2 AND l.product_id IN ({})",
        placeholders(3, request.lines.len())
    );
    let mut query = sqlx::query(&sql)
        .bind(ReservationState::Active.code())
        .bind(now_ms);
    for line in &request.lines {
        query = query.bind(line.product_id.as_str());
    }
    query
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|row| row.try_get("id"))
        .collect()
}

/// Units of `product_id` that can be reserved now, as this transaction sees them.
async fn available(conn: &mut AnyConnection, product_id: &str) -> Result<i64, sqlx::Error> {
    let row = sqlx::query(
        "SELECT received - reserved - sold AS available FROM stock WHERE product_id = $1",
    )
    .bind(product_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(match row {
        Some(row) => row.try_get::<i64, _>("available")?.max(0),
        None => 0,
    })
}
