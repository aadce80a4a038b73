//! Creating, cancelling and reading shipments: the steps of each call, over the store.
//!
//! CreateShipment is one insert guarded by the database's uniqueness rules, so a retry
//! (even a concurrent one) never creates a second shipment and an order never has two
//! that are not CANCELLED. When the insert is stopped, the call learns why, in this order:
//! its `request_id` was used (a retry gets that shipment, in its current state; other
//! parameters are REQUEST_ID_REUSED), or the order already has a live shipment
//! (ORDER_ALREADY_SHIPPED). If neither, the tracking id collided or a conflicting row
//! changed under it: it tries again with new ids, a few times, then answers ABORTED.

use std::sync::Arc;

use crate::clock::Clock;
use crate::domain::{self, Quote, ShipmentOrder, ShipmentState};
use crate::error::ShippingError;
use crate::store::{NewShipment, ShipmentRecord, ShipmentStore};

/// How many inserts a CreateShipment tries before it gives up with ABORTED.
const CREATE_ATTEMPTS: usize = 4;

/// Shipment operations, with the clock they read.
#[derive(Clone, Debug)]
pub struct Shipments {
    store: ShipmentStore,
    clock: Arc<dyn Clock>,
}

impl Shipments {
    /// Operations on `store`, at the time of `clock`.
    pub fn new(store: ShipmentStore, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// Creates the shipment of `order`, at most once per `request_id` and one live
    /// shipment per order.
    pub async fn create(&self, order: &ShipmentOrder) -> Result<ShipmentRecord, ShippingError> {
        let fingerprint = order.fingerprint();
        let quote = Quote::of(&order.address, &order.items);
        for _ in 0..CREATE_ATTEMPTS {
            let now = self.clock.now_ms();
            let (id, tracking_id) = domain::new_ids()?;
            let record = ShipmentRecord {
                id,
                order_id: order.order_id.as_str().to_owned(),
                tracking_id,
                state: ShipmentState::Created,
                address: order.address.clone(),
                items: order.items.clone(),
                quote,
                create_time_ms: now,
                update_time_ms: now,
            };
            let new = NewShipment {
                record: &record,
                request_id: order.request_id.as_str(),
                fingerprint: &fingerprint,
            };
            if self.store.insert(&new).await? {
                tracing::info!(
                    shipment_id = %record.id,
                    tracking_id = %record.tracking_id,
                    "shipment created"
                );
                return Ok(record);
            }
            if let Some(found) = self.store.by_request(order.request_id.as_str()).await? {
                return if found.fingerprint == fingerprint {
                    Ok(found.record)
                } else {
                    Err(ShippingError::RequestIdReused)
                };
            }
            if let Some(shipment_id) = self.store.active_of(order.order_id.as_str()).await? {
                return Err(ShippingError::OrderAlreadyShipped { shipment_id });
            }
        }
        Err(ShippingError::InProgress)
    }

    /// Cancels a shipment; cancelling a CANCELLED one returns it unchanged.
    pub async fn cancel(&self, id: &str) -> Result<ShipmentRecord, ShippingError> {
        let record = self
            .store
            .cancel(id, self.clock.now_ms())
            .await?
            .ok_or_else(|| ShippingError::ShipmentNotFound(id.to_owned()))?;
        tracing::info!(shipment_id = id, state = ?record.state, "shipment cancelled");
        Ok(record)
    }

    /// A shipment.
    pub async fn get(&self, id: &str) -> Result<ShipmentRecord, ShippingError> {
        self.store
            .get(id)
            .await?
            .ok_or_else(|| ShippingError::ShipmentNotFound(id.to_owned()))
    }
}
