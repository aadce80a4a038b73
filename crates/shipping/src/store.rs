//! Shipments in SQL (SQLite by default, PostgreSQL at scale). The database enforces the two
//! rules that must hold under concurrency: one shipment per `request_id`, and at most one
//! shipment per order that is not cancelled.

use sqlx::{AnyPool, Row};

/// The migrations, both backends, same versions.
pub const MIGRATIONS: chassis::store::Migrations = chassis::store::Migrations {
    sqlite: &[chassis::store::Migration {
        version: 1,
        description: "shipping",
        sql: include_str!("../migrations/sqlite/0001_shipping.sql"),
    }],
    postgres: &[chassis::store::Migration {
        version: 1,
        description: "shipping",
        sql: include_str!("../migrations/postgres/0001_shipping.sql"),
    }],
};

/// A shipment as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShipmentRecord {
    /// Opaque id.
    pub id: String,
    /// The idempotency key it was created with.
    pub request_id: String,
    /// SHA-256 of the creating request's parameters.
    pub fingerprint: String,
    /// The order shipped.
    pub order_id: String,
    /// Tracking id.
    pub tracking_id: String,
    /// "CREATED" or "CANCELLED".
    pub state: String,
    /// Encoded `bazaar.type.v1.Address`.
    pub address: Vec<u8>,
    /// Encoded items (a `GetQuoteRequest` holding only them).
    pub items: Vec<u8>,
    /// Cost in US cents.
    pub cost_cents: i64,
    /// Delivery days.
    pub delivery_days: i64,
    /// Created, ms.
    pub create_ms: i64,
    /// Last state change, ms.
    pub update_ms: i64,
}

/// How inserting a shipment went.
#[derive(Debug)]
pub enum Inserted {
    /// Stored.
    Created,
    /// Another shipment has this request id (it is returned).
    SameRequest(ShipmentRecord),
    /// The order already has an active shipment (it is returned).
    OrderShipped(ShipmentRecord),
}

/// The shipping store.
#[derive(Clone, Debug)]
pub struct ShippingStore {
    pool: AnyPool,
}

const COLUMNS: &str = "id, request_id, fingerprint, order_id, tracking_id, state, address, items, \
                       cost_cents, delivery_days, create_ms, update_ms";

impl ShippingStore {
    /// Wraps a migrated pool.
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    /// The pool, for closing.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Inserts a shipment unless its request id or its order is taken.
    pub async fn insert(&self, shipment: &ShipmentRecord) -> Result<Inserted, sqlx::Error> {
        let result = sqlx::query(&format!(
            "INSERT INTO shipments ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        ))
        .bind(&shipment.id)
        .bind(&shipment.request_id)
        .bind(&shipment.fingerprint)
        .bind(&shipment.order_id)
        .bind(&shipment.tracking_id)
        .bind(&shipment.state)
        .bind(shipment.address.clone())
        .bind(shipment.items.clone())
        .bind(shipment.cost_cents)
        .bind(shipment.delivery_days)
        .bind(shipment.create_ms)
        .bind(shipment.update_ms)
        .execute(&self.pool)
        .await;
        match result {
            Ok(_) => Ok(Inserted::Created),
            Err(sqlx::Error::Database(error)) if error.is_unique_violation() => {
                if let Some(same) = self.by_request(&shipment.request_id).await? {
                    return Ok(Inserted::SameRequest(same));
                }
                if let Some(active) = self.active_for_order(&shipment.order_id).await? {
                    return Ok(Inserted::OrderShipped(active));
                }
                // A tracking id collision: the caller draws another.
                Err(sqlx::Error::Database(error))
            }
            Err(error) => Err(error),
        }
    }

    /// A shipment by id.
    pub async fn get(&self, id: &str) -> Result<Option<ShipmentRecord>, sqlx::Error> {
        self.one("id = $1", id).await
    }

    /// The shipment created with this request id.
    pub async fn by_request(
        &self,
        request_id: &str,
    ) -> Result<Option<ShipmentRecord>, sqlx::Error> {
        self.one("request_id = $1", request_id).await
    }

    /// The order's shipment that is not cancelled.
    pub async fn active_for_order(
        &self,
        order_id: &str,
    ) -> Result<Option<ShipmentRecord>, sqlx::Error> {
        self.one("order_id = $1 AND state = 'CREATED'", order_id)
            .await
    }

    /// Cancels a shipment (no-op when it is cancelled already).
    pub async fn cancel(&self, id: &str, now_ms: i64) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE shipments SET state = 'CANCELLED', update_ms = $1 WHERE id = $2 AND state = 'CREATED'",
        )
        .bind(now_ms)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn one(
        &self,
        condition: &str,
        value: &str,
    ) -> Result<Option<ShipmentRecord>, sqlx::Error> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM shipments WHERE {condition}"
        ))
        .bind(value)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(ShipmentRecord {
                id: row.try_get("id")?,
                request_id: row.try_get("request_id")?,
                fingerprint: row.try_get("fingerprint")?,
                order_id: row.try_get("order_id")?,
                tracking_id: row.try_get("tracking_id")?,
                state: row.try_get("state")?,
                address: row.try_get("address")?,
                items: row.try_get("items")?,
                cost_cents: row.try_get("cost_cents")?,
                delivery_days: row.try_get("delivery_days")?,
                create_ms: row.try_get("create_ms")?,
                update_ms: row.try_get("update_ms")?,
            })
        })
        .transpose()
    }
}
