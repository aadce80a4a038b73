//! Restock: goods received, once per request id.
//!
//! The restock record is inserted first; its unique `request_id` makes a retry find the
//! first call's record (and the stock it left behind) instead of adding stock again.

use sqlx::Row;

use super::{InventoryStore, retry, stock_levels};
use crate::domain::{RestockRequest, StockLevel};
use crate::error::InventoryError;

impl InventoryStore {
    /// Adds the units of `request` to stock at `now_ms` and returns the stock right after,
    /// or what the first call with the same request id returned.
    pub async fn restock(
        &self,
        request: &RestockRequest,
        now_ms: i64,
    ) -> Result<StockLevel, InventoryError> {
        let fingerprint = request.fingerprint();
        retry("restock", || {
            self.try_restock(request, &fingerprint, now_ms)
        })
        .await
    }

    async fn try_restock(
        &self,
        request: &RestockRequest,
        fingerprint: &str,
        now_ms: i64,
    ) -> Result<StockLevel, InventoryError> {
        let request_id = request.request_id.as_str();
        let product_id = request.product_id.as_str();
        let mut tx = self.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO restocks \
             (request_id, fingerprint, product_id, quantity, available, reserved, create_ms) \
             VALUES ($1, $2, $3, $4, 0, 0, $5) ON CONFLICT (request_id) DO NOTHING",
        )
        .bind(request_id)
        .bind(fingerprint)
        .bind(product_id)
        .bind(request.quantity)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            tx.rollback().await?;
            return self.replay_restock(request_id, fingerprint).await;
        }
        sqlx::query(
            "INSERT INTO stock (product_id, received, reserved, sold) VALUES ($1, $2, 0, 0) \
             ON CONFLICT (product_id) DO UPDATE SET received = stock.received + excluded.received",
        )
        .bind(product_id)
        .bind(request.quantity)
        .execute(&mut *tx)
        .await?;
        let level = stock_levels(&mut tx, std::slice::from_ref(&request.product_id), now_ms)
            .await?
            .remove(product_id)
            .ok_or_else(|| InventoryError::Corrupt(format!("no stock row for {product_id}")))?;
        sqlx::query("UPDATE restocks SET available = $1, reserved = $2 WHERE request_id = $3")
            .bind(level.available)
            .bind(level.reserved)
            .bind(request_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(level)
    }

    async fn replay_restock(
        &self,
        request_id: &str,
        fingerprint: &str,
    ) -> Result<StockLevel, InventoryError> {
        let row = sqlx::query(
            "SELECT fingerprint, product_id, available, reserved FROM restocks \
             WHERE request_id = $1",
        )
        .bind(request_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Err(InventoryError::InProgress(request_id.to_owned()));
        };
        let first: String = row.try_get("fingerprint")?;
        if first != fingerprint {
            return Err(InventoryError::RequestIdReused(request_id.to_owned()));
        }
        Ok(StockLevel {
            product_id: row.try_get("product_id")?,
            available: row.try_get("available")?,
            reserved: row.try_get("reserved")?,
        })
    }
}
