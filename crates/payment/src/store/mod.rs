//! The ledger in SQL: one schema, one set of queries, on SQLite or PostgreSQL.
//!
//! Idempotency rests on the database, not on the process: `charges.request_id` is unique,
//! so of two concurrent Charge calls with the same id exactly one inserts its claim row
//! ([`ChargeStore::claim`]); the other reads that row and learns whether the call is still
//! running, finished (it replays the result) or was made with other parameters. A partial
//! unique index keeps at most one SUCCEEDED or REFUNDED charge per order even when two
//! calls with different ids race for it. Claim rows (status 0) are never shown.
//!
//! Here: the ledger's rows and reads; [`claims`] the Charge call's claim and its outcome,
//! [`refunds`] the refund.

use sqlx::{AnyPool, Row};

use crate::domain::{Amount, CardBrand, ChargeStatus, DeclineReason, brand};
use crate::error::PaymentError;

mod claims;
mod refunds;

pub use claims::{Claim, Finished, NewClaim, Settlement};
pub use refunds::Refunded;

/// The migrations, both backends, same versions.
pub const MIGRATIONS: chassis::store::Migrations =
    chassis::migrations![1 => "payment", "0001_payment"];

/// Stored status codes: the contract's numbers, and 0 for a claim.
pub(crate) const CLAIMED: i64 = 0;
pub(crate) const SUCCEEDED: i64 = 1;
pub(crate) const DECLINED: i64 = 2;
pub(crate) const REFUNDED: i64 = 3;

/// A charge of the ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChargeRecord {
    pub id: String,
    /// The order it pays for.
    pub order_id: String,
    /// How much.
    pub amount: Amount,
    pub status: ChargeStatus,
    pub card_brand: CardBrand,
    /// Last four digits of the card.
    pub card_last4: String,
    /// Why it was declined, when it was.
    pub decline_reason: Option<DeclineReason>,
    /// When it was attempted, in milliseconds since the Unix epoch.
    pub create_time_ms: i64,
    /// When it was refunded, when it was.
    pub refund_time_ms: Option<i64>,
}

/// The payment service's store.
#[derive(Clone, Debug)]
pub struct ChargeStore {
    pool: AnyPool,
}

pub(crate) const COLUMNS: &str = "id, order_id, currency_code, units, nanos, status, card_brand, \
                       card_last4, decline_reason, create_time_ms, refund_time_ms";

impl ChargeStore {
    /// A store on a connected, migrated pool.
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    /// The pool, for closing.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A charge of the ledger.
    pub async fn get(&self, charge_id: &str) -> Result<Option<ChargeRecord>, PaymentError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM charges WHERE id = $1 AND status <> $2"
        ))
        .bind(charge_id)
        .bind(CLAIMED)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(record_from_row).transpose()
    }

    /// Charges newest first (by attempt time, then id), after `after` (exclusive), at most
    /// `limit`, optionally only those of one order.
    pub async fn list(
        &self,
        order_id: Option<&str>,
        after: Option<(i64, &str)>,
        limit: u32,
    ) -> Result<Vec<ChargeRecord>, PaymentError> {
        let mut sql = format!("SELECT {COLUMNS} FROM charges WHERE status <> $1");
        let mut n = 1;
        if order_id.is_some() {
            n += 1;
            sql.push_str(&format!(" AND order_id = ${n}"));
        }
        if after.is_some() {
            sql.push_str(&format!(
                " AND (create_time_ms < ${} OR (create_time_ms = ${} AND id < ${}))",
                n + 1,
                n + 2,
                n + 3
            ));
            n += 3;
        }
        sql.push_str(&format!(
            " ORDER BY create_time_ms DESC, id DESC LIMIT ${}",
            n + 1
        ));
        let mut query = sqlx::query(&sql).bind(CLAIMED);
        if let Some(order_id) = order_id {
            query = query.bind(order_id);
        }
        if let Some((time, id)) = after {
            query = query.bind(time).bind(time).bind(id);
        }
        let rows = query.bind(i64::from(limit)).fetch_all(&self.pool).await?;
        rows.iter().map(record_from_row).collect()
    }
}

pub(crate) fn record_from_row(row: &sqlx::any::AnyRow) -> Result<ChargeRecord, PaymentError> {
    let corrupt = |what: &str| PaymentError::Corrupt(what.to_owned());
    let status = match row.try_get::<i64, _>("status")? {
        SUCCEEDED => ChargeStatus::Succeeded,
        DECLINED => ChargeStatus::Declined,
        REFUNDED => ChargeStatus::Refunded,
        _ => return Err(corrupt("status")),
    };
    let nanos: i64 = row.try_get("nanos")?;
    let refund_time_ms: i64 = row.try_get("refund_time_ms")?;
    Ok(ChargeRecord {
        id: row.try_get("id")?,
        order_id: row.try_get("order_id")?,
        amount: Amount::from_stored(
            row.try_get("currency_code")?,
            row.try_get("units")?,
            i32::try_from(nanos).map_err(|_| corrupt("nanos"))?,
        ),
        status,
        card_brand: brand::from_code(row.try_get("card_brand")?)
            .ok_or_else(|| corrupt("card_brand"))?,
        card_last4: row.try_get("card_last4")?,
        decline_reason: DeclineReason::from_code(row.try_get("decline_reason")?),
        create_time_ms: row.try_get("create_time_ms")?,
        refund_time_ms: (status == ChargeStatus::Refunded).then_some(refund_time_ms),
    })
}
