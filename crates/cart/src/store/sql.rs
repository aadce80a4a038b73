//! Carts in SQL through sqlx `Any` (SQLite or PostgreSQL): one row per cart with its
//! lines as JSON text, one row per remembered AddItem call.
//!
//! A commit is one transaction of conditional writes: `UPDATE ... WHERE version = $n` for
//! a row that exists, `INSERT ... ON CONFLICT DO NOTHING` for one that does not. A write
//! that touches no row means someone else got there first: the transaction is rolled back
//! and the caller reads again.

use sqlx::{AnyPool, Row};

use super::{CartStore, CartWrite, Commit, RequestRecord, RequestWrite};
use crate::domain::{Cart, Line};
use crate::error::CartError;

/// Carts in SQLite or PostgreSQL; clones share the pool.
#[derive(Clone, Debug)]
pub struct SqlCartStore {
    pool: AnyPool,
}

impl SqlCartStore {
    /// A store on a connected, migrated pool.
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }
}

type Tx = sqlx::Transaction<'static, sqlx::Any>;

async fn write_cart(tx: &mut Tx, write: &CartWrite) -> Result<bool, CartError> {
    let lines = serde_json::to_string(&write.cart.lines)?;
    let update_time_ms = write.cart.update_time_ms.unwrap_or(0);
    let query = if write.expected_version == 0 {
        sqlx::query(
            "INSERT INTO carts (owner, version, lines, update_time_ms) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (owner) DO NOTHING",
        )
        .bind(write.owner.as_str())
        .bind(write.cart.version)
        .bind(lines)
        .bind(update_time_ms)
    } else {
        sqlx::query(
            "UPDATE carts SET version = $2, lines = $3, update_time_ms = $4 \
             WHERE owner = $1 AND version = $5",
        )
        .bind(write.owner.as_str())
        .bind(write.cart.version)
        .bind(lines)
        .bind(update_time_ms)
        .bind(write.expected_version)
    };
    Ok(query.execute(&mut **tx).await?.rows_affected() == 1)
}

async fn write_request(tx: &mut Tx, write: &RequestWrite, now_ms: i64) -> Result<bool, CartError> {
    let outcome = serde_json::to_string(&write.record.outcome)?;
    let record = &write.record;
    let query = if write.expected_version == 0 {
        sqlx::query(
            "INSERT INTO add_item_requests \
             (owner, request_id, version, fingerprint, outcome, expires_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (owner, request_id) DO NOTHING",
        )
        .bind(write.owner.as_str())
        .bind(write.request_id.as_str())
        .bind(record.version)
        .bind(record.fingerprint.as_str())
        .bind(outcome)
        .bind(record.expires_at_ms)
    } else {
        sqlx::query(
            "UPDATE add_item_requests \
             SET version = $3, fingerprint = $4, outcome = $5, expires_at_ms = $6 \
             WHERE owner = $1 AND request_id = $2 AND version = $7",
        )
        .bind(write.owner.as_str())
        .bind(write.request_id.as_str())
        .bind(record.version)
        .bind(record.fingerprint.as_str())
        .bind(outcome)
        .bind(record.expires_at_ms)
        .bind(write.expected_version)
    };
    if query.execute(&mut **tx).await?.rows_affected() != 1 {
        return Ok(false);
    }
    // Forget this caller's expired calls while we are here.
    sqlx::query(
        "DELETE FROM add_item_requests WHERE owner = $1 AND expires_at_ms < $2 \
         AND request_id <> $3",
    )
    .bind(write.owner.as_str())
    .bind(now_ms)
    .bind(write.request_id.as_str())
    .execute(&mut **tx)
    .await?;
    Ok(true)
}

#[async_trait::async_trait]
impl CartStore for SqlCartStore {
    async fn cart(&self, owner: &str) -> Result<Cart, CartError> {
        let row = sqlx::query("SELECT version, lines, update_time_ms FROM carts WHERE owner = $1")
            .bind(owner)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else {
            return Ok(Cart::default());
        };
        let lines: String = row.try_get("lines")?;
        let lines: Vec<Line> = serde_json::from_str(&lines)?;
        let update_time_ms: i64 = row.try_get("update_time_ms")?;
        Ok(Cart {
            version: row.try_get("version")?,
            update_time_ms: (update_time_ms != 0).then_some(update_time_ms),
            lines,
        })
    }

    async fn request(
        &self,
        owner: &str,
        request_id: &str,
    ) -> Result<Option<RequestRecord>, CartError> {
        let row = sqlx::query(
            "SELECT version, fingerprint, outcome, expires_at_ms FROM add_item_requests \
             WHERE owner = $1 AND request_id = $2",
        )
        .bind(owner)
        .bind(request_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let outcome: String = row.try_get("outcome")?;
        Ok(Some(RequestRecord {
            version: row.try_get("version")?,
            fingerprint: row.try_get("fingerprint")?,
            outcome: serde_json::from_str(&outcome)?,
            expires_at_ms: row.try_get("expires_at_ms")?,
        }))
    }

    async fn commit(&self, commit: &Commit) -> Result<bool, CartError> {
        let mut tx = self.pool.begin().await?;
        for write in &commit.carts {
            if !write_cart(&mut tx, write).await? {
                tx.rollback().await?;
                return Ok(false);
            }
        }
        if let Some(write) = &commit.request
            && !write_request(&mut tx, write, commit.now_ms).await?
        {
            tx.rollback().await?;
            return Ok(false);
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn sweep_requests(&self, now_ms: i64, limit: u32) -> Result<u64, CartError> {
        let deleted = sqlx::query(
            "DELETE FROM add_item_requests WHERE (owner, request_id) IN \
             (SELECT owner, request_id FROM add_item_requests WHERE expires_at_ms < $1 LIMIT $2)",
        )
        .bind(now_ms)
        .bind(i64::from(limit))
        .execute(&self.pool)
        .await?;
        Ok(deleted.rows_affected())
    }

    async fn check(&self) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        Ok(chassis::store::check(&self.pool).await?)
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}
