//! The shipping service: prices the shipping of a parcel and creates shipments for placed
//! orders.
//!
//! It is a simulated carrier: a shipment gets a tracking id but no parcel moves. GetQuote
//! is public (the storefront shows estimates with it) and stores nothing; CreateShipment,
//! CancelShipment and GetShipment are internal, called by orders' checkout with no user
//! token. CreateShipment is idempotent on its `request_id` and an order has at most one
//! shipment that is not CANCELLED; both rest on unique constraints in the database, so
//! they hold across retries, races and replicas. CancelShipment is idempotent, as a
//! compensation must be.
//!
//! Layout: [`domain`] parses addresses and items and holds the price formula (no I/O),
//! [`shipments`] runs each call's steps, [`store`] keeps shipments in SQL (SQLite by
//! default, PostgreSQL for `postgres://` URLs), [`api`] is the gRPC face, [`error`] the one
//! error type and its mapping to gRPC, [`clock`] the time it reads, [`config`] the
//! settings. [`Shipping`] is run by the
//! chassis (`chassis::service`); tests run it the same way on port 0.
#![forbid(unsafe_code)]

pub mod api;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod shipments;
pub mod store;

use bazaar_contract::shipping::v1::shipping_service_server::ShippingServiceServer;
use chassis::service::{BoxError, Routes, Service, ServiceConfig, Setup};
use chassis::store::StoreCell;
use chassis::topology::{self, Spec};

pub use config::Config;

use crate::api::ShippingApi;
use crate::clock::Clock;
use crate::store::{MIGRATIONS, ShipmentStore};

/// The shipping service: quotes, and the shipments kept in its store.
#[derive(Debug)]
pub struct Shipping {
    store: StoreCell<ShipmentStore>,
    clock: std::sync::Arc<dyn Clock>,
    database_url: String,
}

impl ServiceConfig for Config {
    fn server(&self) -> &chassis::ServerArgs {
        &self.server
    }
}

impl Service for Shipping {
    const SPEC: &'static Spec = &topology::SHIPPING;
    type Config = Config;

    async fn build(config: &Config, setup: &mut Setup<'_>) -> Result<Self, BoxError> {
        setup.verify_with_identity(&config.identity)?;
        Ok(Self {
            store: StoreCell::new(),
            clock: setup.clock(),
            database_url: config.database_url(),
        })
    }

    fn routes(&self, routes: &mut Routes<'_>) {
        routes.add(ShippingServiceServer::new(ShippingApi::new(
            self.store.clone(),
            self.clock.clone(),
        )));
    }

    async fn open(&self) -> Result<(), BoxError> {
        let pool = chassis::store::open(&self.database_url, &MIGRATIONS).await?;
        self.store.set(ShipmentStore::new(pool));
        Ok(())
    }

    async fn check(&self) -> Result<(), BoxError> {
        Ok(chassis::store::check_cell(&self.store, ShipmentStore::pool).await?)
    }

    async fn close(&self) {
        if let Ok(store) = self.store.get() {
            store.pool().close().await;
        }
    }
}
