//! Reading orders back: one by id, or a caller's page, with their items.

use std::collections::HashMap;

use bazaar_contract::orders::v1::{FailureReason, OrderState};
use bazaar_contract::types::v1::{Address, Money};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{ORDER_COLUMNS, OrdersStore};
use crate::domain::{ChargeStatus, Failure, Item, OrderRecord, Step};

impl OrdersStore {
    /// One order, whoever owns it.
    pub async fn get_order(&self, order_id: &str) -> Result<Option<OrderRecord>, sqlx::Error> {
        let row = sqlx::query(&format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = $1"))
            .bind(order_id)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        Ok(self.with_items(vec![order_from_row(&row)?]).await?.pop())
    }

    /// The orders of `user_id`, newest first (by create time, then id), starting after
    /// `after` (a create time and an id), at most `limit`.
    pub async fn list_orders(
        &self,
        user_id: &str,
        after: Option<(i64, &str)>,
        limit: u32,
    ) -> Result<Vec<OrderRecord>, sqlx::Error> {
        let rows = match after {
            None => {
                sqlx::query(&format!(
                    "SELECT {ORDER_COLUMNS} FROM orders WHERE user_id = $1 \
                     ORDER BY create_time_ms DESC, id DESC LIMIT $2"
                ))
                .bind(user_id)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?
            }
            Some((time, id)) => {
                sqlx::query(&format!(
                    "SELECT {ORDER_COLUMNS} FROM orders WHERE user_id = $1 AND \
                     (create_time_ms < $2 OR (create_time_ms = $3 AND id < $4)) \
                     ORDER BY create_time_ms DESC, id DESC LIMIT $5"
                ))
                .bind(user_id)
                .bind(time)
                .bind(time)
                .bind(id)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?
            }
        };
        let orders = rows
            .iter()
            .map(order_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        self.with_items(orders).await
    }

    /// Reads the items of `orders` with one more query.
    async fn with_items(
        &self,
        mut orders: Vec<OrderRecord>,
    ) -> Result<Vec<OrderRecord>, sqlx::Error> {
        if orders.is_empty() {
            return Ok(orders);
        }
        let placeholders = (1..=orders.len())
            .map(|n| format!("${n}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT order_id, product_id, name, picture_uri, quantity, unit_units, unit_nanos \
             FROM order_items WHERE order_id IN ({placeholders}) ORDER BY order_id, position"
        );
        let mut query = sqlx::query(&sql);
        for order in &orders {
            query = query.bind(order.id.clone());
        }
        let rows = query.fetch_all(&self.pool).await?;
        let index: HashMap<String, usize> = orders
            .iter()
            .enumerate()
            .map(|(i, order)| (order.id.clone(), i))
            .collect();
        for row in &rows {
            let order_id: String = row.try_get("order_id")?;
            let Some(order) = index.get(&order_id).map(|&i| &mut orders[i]) else {
                continue;
            };
            order.items.push(Item {
                product_id: row.try_get("product_id")?,
                name: row.try_get("name")?,
                picture_uri: row.try_get("picture_uri")?,
                quantity: narrow(row.try_get("quantity")?)?,
                unit_price: Money {
                    currency_code: order.currency.clone(),
                    units: row.try_get("unit_units")?,
                    nanos: narrow(row.try_get("unit_nanos")?)?,
                },
            });
        }
        Ok(orders)
    }
}

fn unjson(text: &str) -> Result<Vec<String>, sqlx::Error> {
    serde_json::from_str(text).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

fn narrow(value: i64) -> Result<i32, sqlx::Error> {
    i32::try_from(value).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

fn corrupt(what: &str, value: &str) -> sqlx::Error {
    sqlx::Error::Decode(format!("unknown {what} {value:?} in the orders table").into())
}

fn order_from_row(row: &AnyRow) -> Result<OrderRecord, sqlx::Error> {
    let currency: String = row.try_get("currency_code")?;
    let money = |units: &str, nanos: &str| -> Result<Money, sqlx::Error> {
        Ok(Money {
            currency_code: currency.clone(),
            units: row.try_get(units)?,
            nanos: narrow(row.try_get(nanos)?)?,
        })
    };
    let state: i64 = row.try_get("state")?;
    let state =
        OrderState::try_from(narrow(state)?).map_err(|_| corrupt("state", &state.to_string()))?;
    let step: String = row.try_get("step")?;
    let step = Step::parse(&step).ok_or_else(|| corrupt("step", &step))?;
    let charge_status: String = row.try_get("charge_status")?;
    let charge_status = ChargeStatus::parse(&charge_status)
        .ok_or_else(|| corrupt("charge status", &charge_status))?;
    let reason: i64 = row.try_get("failure_reason")?;
    let reason = FailureReason::try_from(narrow(reason)?)
        .map_err(|_| corrupt("failure reason", &reason.to_string()))?;
    let failure = (reason != FailureReason::Unspecified)
        .then(|| -> Result<Failure, sqlx::Error> {
            Ok(Failure {
                reason,
                message: row.try_get("failure_message")?,
                product_ids: unjson(&row.try_get::<String, _>("failure_product_ids")?)?,
            })
        })
        .transpose()?;
    Ok(OrderRecord {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        state,
        step,
        failure,
        subtotal: money("subtotal_units", "subtotal_nanos")?,
        shipping_cost: money("shipping_units", "shipping_nanos")?,
        total: money("total_units", "total_nanos")?,
        items: Vec::new(),
        reservation_attempt: row.try_get("reservation_attempt")?,
        reservation_id: row.try_get("reservation_id")?,
        charge_status,
        charge_started_ms: row.try_get("charge_started_ms")?,
        charge_id: row.try_get("charge_id")?,
        shipment_id: row.try_get("shipment_id")?,
        tracking_id: row.try_get("tracking_id")?,
        address: Address {
            recipient_name: row.try_get("recipient_name")?,
            street_lines: unjson(&row.try_get::<String, _>("street_lines")?)?,
            city: row.try_get("city")?,
            region: row.try_get("region")?,
            postal_code: row.try_get("postal_code")?,
            country_code: row.try_get("country_code")?,
        },
        email: row.try_get("email")?,
        estimated_delivery_days: narrow(row.try_get("estimated_delivery_days")?)?,
        cart_etag: row.try_get("cart_etag")?,
        create_time_ms: row.try_get("create_time_ms")?,
        update_time_ms: row.try_get("update_time_ms")?,
        currency,
    })
}
