//! The ends of a reservation: commit, release, and expiry (on demand and by the sweeper).
//!
//! Each is one transaction that first changes the reservation row with a conditional
//! update (`... WHERE state = ACTIVE AND expire_ms > now`), so of two concurrent calls on
//! the same reservation exactly one changes it and the other sees the outcome; only then
//! does it touch stock, in ascending product order. A reservation found ACTIVE but past its
//! expiry is marked EXPIRED and its units returned on the spot.

use sqlx::Row;

use super::{InventoryStore, claim_expired, held_units, load_reservation, retry, unreserve};
use crate::domain::{Reservation, ReservationId, ReservationState};
use crate::error::InventoryError;
use crate::metrics;

/// How long a failed ReserveStock call is remembered for its retries: a day.
const FAILURE_MEMORY_MS: i64 = 24 * 60 * 60 * 1000;
/// Most reservations expired in one sweep.
const SWEEP_BATCH: i64 = 500;

/// What is asked of a reservation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Settle {
    Commit,
    Release,
}

impl InventoryStore {
    /// Commits reservation `id` at `now_ms`: its units are sold. Committing a committed
    /// reservation returns it unchanged.
    pub async fn commit(
        &self,
        id: &ReservationId,
        now_ms: i64,
    ) -> Result<Reservation, InventoryError> {
        self.settle(id, Settle::Commit, now_ms).await
    }

    /// Releases reservation `id` at `now_ms`: its units are available again. Releasing a
    /// released or expired reservation returns it unchanged.
    pub async fn release(
        &self,
        id: &ReservationId,
        now_ms: i64,
    ) -> Result<Reservation, InventoryError> {
        self.settle(id, Settle::Release, now_ms).await
    }

    async fn settle(
        &self,
        id: &ReservationId,
        settle: Settle,
        now_ms: i64,
    ) -> Result<Reservation, InventoryError> {
        if !id.could_exist() {
            return Err(InventoryError::ReservationNotFound(id.as_str().to_owned()));
        }
        let reservation = retry("settle", || self.try_settle(id.as_str(), settle, now_ms))
            .await?
            .ok_or_else(|| InventoryError::ReservationNotFound(id.as_str().to_owned()))?;
        let id = reservation.id.clone();
        match (settle, reservation.state) {
            (Settle::Commit, ReservationState::Committed)
            | (Settle::Release, ReservationState::Released | ReservationState::Expired) => {
                Ok(reservation)
            }
            (Settle::Commit, ReservationState::Released) => {
                Err(InventoryError::ReservationReleased(id))
            }
            (Settle::Commit, ReservationState::Expired) => {
                Err(InventoryError::ReservationExpired(id))
            }
            (Settle::Release, ReservationState::Committed) => {
                Err(InventoryError::ReservationCommitted(id))
            }
            // Active and unexpired would have been settled; active and expired, expired.
            (_, ReservationState::Active) => Err(InventoryError::Corrupt(format!(
                "reservation {id} still active after settling"
            ))),
        }
    }

    /// Settles `id` if it is ACTIVE and unexpired, expires it if it is ACTIVE and overdue,
    /// and returns it as it then is (`None` if there is no such reservation).
    async fn try_settle(
        &self,
        id: &str,
        settle: Settle,
        now_ms: i64,
    ) -> Result<Option<Reservation>, InventoryError> {
        let target = match settle {
            Settle::Commit => ReservationState::Committed,
            Settle::Release => ReservationState::Released,
        };
        let mut tx = self.begin_write().await?;
        let mut expired = 0;
        let changed = sqlx::query(
            "UPDATE reservations SET state = $1, update_ms = $2 \
             WHERE id = $3 AND state = $4 AND expire_ms > $5",
        )
        .bind(target.code())
        .bind(now_ms)
        .bind(id)
        .bind(ReservationState::Active.code())
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        if changed.rows_affected() == 1 {
            let units = held_units(&mut tx, &[id]).await?;
            match settle {
                Settle::Commit => {
                    for (product_id, quantity) in &units {
                        sqlx::query(
                            "UPDATE stock SET reserved = reserved - $1, sold = sold + $2 \
                             WHERE product_id = $3",
                        )
                        .bind(*quantity)
                        .bind(*quantity)
                        .bind(product_id.as_str())
                        .execute(&mut *tx)
                        .await?;
                    }
                }
                Settle::Release => unreserve(&mut tx, &units).await?,
            }
        } else {
            let freed = claim_expired(&mut tx, &[id.to_owned()], now_ms).await?;
            unreserve(&mut tx, &freed.units).await?;
            expired = freed.reservations;
        }
        let reservation = load_reservation(&mut tx, "id", id).await?;
        tx.commit().await?;
        metrics::reservations_expired(expired);
        Ok(reservation)
    }

    /// Marks EXPIRED every ACTIVE reservation past its expiry at `now_ms` (up to a batch)
    /// and returns their units; forgets failed ReserveStock calls older than a day.
    /// Returns how many reservations it expired.
    pub async fn sweep(&self, now_ms: i64) -> Result<u64, InventoryError> {
        let rows = sqlx::query(
            "SELECT id FROM reservations WHERE state = $1 AND expire_ms <= $2 \
             ORDER BY expire_ms LIMIT $3",
        )
        .bind(ReservationState::Active.code())
        .bind(now_ms)
        .bind(SWEEP_BATCH)
        .fetch_all(&self.pool)
        .await?;
        let mut expired = 0;
        for row in rows {
            let id: String = row.try_get("id")?;
            if retry("expire", || self.try_expire(&id, now_ms)).await? {
                expired += 1;
            }
        }
        sqlx::query("DELETE FROM failed_reservations WHERE create_ms < $1")
            .bind(now_ms - FAILURE_MEMORY_MS)
            .execute(&self.pool)
            .await?;
        Ok(expired)
    }

    /// How many reservations are ACTIVE and not past their expiry at `now_ms`.
    pub async fn active_reservations(&self, now_ms: i64) -> Result<i64, InventoryError> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM reservations WHERE state = $1 AND expire_ms > $2",
        )
        .bind(ReservationState::Active.code())
        .bind(now_ms)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Expires one reservation if it is ACTIVE and overdue; says whether it did.
    async fn try_expire(&self, id: &str, now_ms: i64) -> Result<bool, InventoryError> {
        let mut tx = self.begin_write().await?;
        let freed = claim_expired(&mut tx, &[id.to_owned()], now_ms).await?;
        unreserve(&mut tx, &freed.units).await?;
        tx.commit().await?;
        metrics::reservations_expired(freed.reservations);
        Ok(freed.reservations > 0)
    }
}
