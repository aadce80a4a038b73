//! Refunds: a conditional update that turns a SUCCEEDED charge into REFUNDED once, in one
//! transaction with the refund's `request_id`.

use sqlx::Row;

use super::{CLAIMED, COLUMNS, ChargeRecord, ChargeStore, REFUNDED, SUCCEEDED, record_from_row};
use crate::domain::ChargeStatus;
use crate::error::PaymentError;

/// The outcome of [`ChargeStore::refund`].
#[derive(Debug)]
pub enum Refunded {
    /// The charge, REFUNDED now.
    Refunded(ChargeRecord),
    /// The charge, REFUNDED before (a retry, or another refund request).
    AlreadyRefunded(ChargeRecord),
    /// No charge has this id.
    NotFound,
    /// The charge was DECLINED.
    NotRefundable,
    /// The refund request id was used for another charge.
    Reused,
}

impl ChargeStore {
    /// Refunds a SUCCEEDED charge in full, once: a REFUNDED charge is returned unchanged.
    /// `request_id` is remembered with the charge it refunded.
    pub async fn refund(
        &self,
        request_id: &str,
        charge_id: &str,
        now_ms: i64,
    ) -> Result<Refunded, PaymentError> {
        // The first statement writes, so SQLite takes its write lock at once and waits
        // for a concurrent writer instead of failing on a stale read snapshot.
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO refund_requests (request_id, charge_id, create_time_ms) \
             VALUES ($1, $2, $3) ON CONFLICT (request_id) DO NOTHING",
        )
        .bind(request_id)
        .bind(charge_id)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            let earlier: String =
                sqlx::query("SELECT charge_id FROM refund_requests WHERE request_id = $1")
                    .bind(request_id)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get("charge_id")?;
            if earlier != charge_id {
                tx.rollback().await?;
                return Ok(Refunded::Reused);
            }
        }
        let refunded_now = sqlx::query(
            "UPDATE charges SET status = $1, refund_time_ms = $2 WHERE id = $3 AND status = $4",
        )
        .bind(REFUNDED)
        .bind(now_ms)
        .bind(charge_id)
        .bind(SUCCEEDED)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM charges WHERE id = $1 AND status <> $2"
        ))
        .bind(charge_id)
        .bind(CLAIMED)
        .fetch_optional(&mut *tx)
        .await?;
        let record = row.as_ref().map(record_from_row).transpose()?;
        match record {
            Some(record) if record.status == ChargeStatus::Refunded => {
                tx.commit().await?;
                Ok(if refunded_now {
                    Refunded::Refunded(record)
                } else {
                    Refunded::AlreadyRefunded(record)
                })
            }
            Some(_) => {
                tx.rollback().await?;
                Ok(Refunded::NotRefundable)
            }
            None => {
                tx.rollback().await?;
                Ok(Refunded::NotFound)
            }
        }
    }
}
