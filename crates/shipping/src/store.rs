//! Shipments in SQL: one schema, one set of queries, on SQLite or PostgreSQL.
//!
//! Creation is a single insert that either writes the shipment or, having touched no row,
//! says a uniqueness rule stopped it: the `request_id` was used already, the order already
//! has a shipment that is not CANCELLED (a partial unique index), or (very rarely) the
//! random tracking id was taken. [`crate::shipments`] tells which and decides.
//!
//! The address and the items are kept in the contract's own protobuf encoding
//! ([`domain::encode_address`], [`domain::encode_items`]) and parsed again when read; the
//! state is the text `CREATED` or `CANCELLED`.

use sqlx::{AnyPool, Row};

use crate::domain::{self, Address, Items, Quote, ShipmentState};
use crate::error::ShippingError;

/// The migrations, both backends, same versions.
pub const MIGRATIONS: chassis::store::Migrations =
    chassis::migrations![1 => "shipping", "0001_shipping"];

const CREATED: &str = "CREATED";
const CANCELLED: &str = "CANCELLED";

/// A shipment as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShipmentRecord {
    pub id: String,
    /// The order shipped.
    pub order_id: String,
    /// Tracking id for the shopper.
    pub tracking_id: String,
    pub state: ShipmentState,
    /// Where to.
    pub address: Address,
    /// What.
    pub items: Items,
    /// The quote computed at creation.
    pub quote: Quote,
    /// When it was created, in milliseconds since the Unix epoch.
    pub create_time_ms: i64,
    /// When its state last changed.
    pub update_time_ms: i64,
}

/// A shipment to create.
#[derive(Debug)]
pub struct NewShipment<'a> {
    /// The new shipment, CREATED.
    pub record: &'a ShipmentRecord,
    /// The CreateShipment call's `request_id`.
    pub request_id: &'a str,
    /// Its parameters' fingerprint.
    pub fingerprint: &'a str,
}

/// A shipment found by the `request_id` of the call that created it.
#[derive(Debug)]
pub struct ByRequest {
    /// The shipment.
    pub record: ShipmentRecord,
    /// The creating call's fingerprint.
    pub fingerprint: String,
}

/// The shipping service's store.
#[derive(Clone, Debug)]
pub struct ShipmentStore {
    pool: AnyPool,
}

const COLUMNS: &str = "id, order_id, tracking_id, state, address, items, cost_cents, \
                       delivery_days, create_ms, update_ms";

impl ShipmentStore {
    /// A store on a connected, migrated pool.
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    /// The pool, for closing.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Inserts a shipment unless a uniqueness rule stops it (then `false`, nothing
    /// written).
    pub async fn insert(&self, new: &NewShipment<'_>) -> Result<bool, ShippingError> {
        let record = new.record;
        let state = match record.state {
            ShipmentState::Created => CREATED,
            ShipmentState::Cancelled => CANCELLED,
        };
        let inserted = sqlx::query(
            "INSERT INTO shipments (id, request_id, fingerprint, order_id, tracking_id, state, \
             address, items, cost_cents, delivery_days, create_ms, update_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             ON CONFLICT DO NOTHING",
        )
        .bind(&record.id)
        .bind(new.request_id)
        .bind(new.fingerprint)
        .bind(&record.order_id)
        .bind(&record.tracking_id)
        .bind(state)
        .bind(domain::encode_address(&record.address))
        .bind(domain::encode_items(&record.items))
        .bind(record.quote.cost_cents)
        .bind(i64::from(record.quote.estimated_delivery_days))
        .bind(record.create_time_ms)
        .bind(record.update_time_ms)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(inserted == 1)
    }

    /// The shipment created by the call with `request_id`, with that call's fingerprint.
    pub async fn by_request(&self, request_id: &str) -> Result<Option<ByRequest>, ShippingError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS}, fingerprint FROM shipments WHERE request_id = $1"
        ))
        .bind(request_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(ByRequest {
            record: record_from_row(&row)?,
            fingerprint: row.try_get("fingerprint")?,
        }))
    }

    /// The id of the order's shipment that is not CANCELLED, if any.
    pub async fn active_of(&self, order_id: &str) -> Result<Option<String>, ShippingError> {
        let row = sqlx::query("SELECT id FROM shipments WHERE order_id = $1 AND state = $2")
            .bind(order_id)
            .bind(CREATED)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|row| row.try_get("id")).transpose()?)
    }

    /// A shipment.
    pub async fn get(&self, id: &str) -> Result<Option<ShipmentRecord>, ShippingError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM shipments WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(record_from_row).transpose()
    }

    /// Cancels a CREATED shipment at `now_ms`; a CANCELLED one stays as it is. `None` when
    /// no shipment has this id.
    pub async fn cancel(
        &self,
        id: &str,
        now_ms: i64,
    ) -> Result<Option<ShipmentRecord>, ShippingError> {
        sqlx::query("UPDATE shipments SET state = $1, update_ms = $2 WHERE id = $3 AND state = $4")
            .bind(CANCELLED)
            .bind(now_ms)
            .bind(id)
            .bind(CREATED)
            .execute(&self.pool)
            .await?;
        self.get(id).await
    }
}

fn record_from_row(row: &sqlx::any::AnyRow) -> Result<ShipmentRecord, ShippingError> {
    let corrupt = |what: &str| ShippingError::Corrupt(what.to_owned());
    let state = match row.try_get::<String, _>("state")?.as_str() {
        CREATED => ShipmentState::Created,
        CANCELLED => ShipmentState::Cancelled,
        _ => return Err(corrupt("state")),
    };
    let address: Vec<u8> = row.try_get("address")?;
    let items: Vec<u8> = row.try_get("items")?;
    let days: i64 = row.try_get("delivery_days")?;
    Ok(ShipmentRecord {
        id: row.try_get("id")?,
        order_id: row.try_get("order_id")?,
        tracking_id: row.try_get("tracking_id")?,
        state,
        address: domain::decode_address(&address).ok_or_else(|| corrupt("address"))?,
        items: domain::decode_items(&items).ok_or_else(|| corrupt("items"))?,
        quote: Quote {
            cost_cents: row.try_get("cost_cents")?,
            estimated_delivery_days: i32::try_from(days).map_err(|_| corrupt("delivery_days"))?,
        },
        create_time_ms: row.try_get("create_ms")?,
        update_time_ms: row.try_get("update_ms")?,
    })
}
