//! The inventory service: how many units of each product the shop has, and reservations
//! that hold units for a checkout until it is paid or their time runs out.
//!
//! It owns stock and reservations (SQLite by default, PostgreSQL when given a
//! `postgres://` URL) and calls no other service. The one rule that matters most is that
//! it never sells what it does not have, however many checkouts reserve at once: see
//! [`store`] for how each reservation is made atomic on both databases. Reservations
//! expire at their time without any job having to run ([`store`] again), and a
//! [`sweeper`] marks them EXPIRED in the background.
//!
//! Layout: [`domain`] parses requests and does the stock arithmetic (no I/O), [`store`]
//! keeps stock and reservations in SQL, [`api`] is the gRPC face, [`error`] the one error
//! type and its mapping to gRPC, [`clock`] the time it reads, [`sweeper`] the background
//! expiry, [`config`] the settings, `metrics` its reservations on `/metrics`. [`Inventory`]
//! is run by the chassis (`chassis::service`); tests run it the same way on port 0.
#![forbid(unsafe_code)]

pub mod api;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
mod metrics;
pub mod store;
pub mod sweeper;

use std::sync::Arc;
use std::time::Duration;

use bazaar_contract::inventory::v1::inventory_service_server::InventoryServiceServer;
use chassis::Shutdown;
use chassis::service::{BoxError, Routes, Service, ServiceConfig, Setup};
use chassis::store::{Backend, StoreCell};
use chassis::topology::{self, Spec};

pub use config::Config;

use crate::api::InventoryApi;
use crate::clock::Clock;
use crate::store::{InventoryStore, MIGRATIONS};

/// The inventory service: stock and reservations in its store, swept as they expire.
#[derive(Debug)]
pub struct Inventory {
    store: StoreCell<InventoryStore>,
    clock: Arc<dyn Clock>,
    database_url: String,
    sweep_every: Duration,
}

impl ServiceConfig for Config {
    fn server(&self) -> &chassis::ServerArgs {
        &self.server
    }
}

impl Service for Inventory {
    const SPEC: &'static Spec = &topology::INVENTORY;
    type Config = Config;

    /// Callers' tokens are checked with the keys identity publishes.
    async fn build(config: &Config, setup: &mut Setup<'_>) -> Result<Self, BoxError> {
        setup.verify_with_identity(&config.identity)?;
        Ok(Self {
            store: StoreCell::new(),
            clock: setup.clock(),
            database_url: config.database_url(),
            sweep_every: config.sweep_interval(),
        })
    }

    fn routes(&self, routes: &mut Routes<'_>) {
        routes.add(InventoryServiceServer::new(InventoryApi::new(
            self.store.clone(),
            self.clock.clone(),
        )));
    }

    async fn open(&self) -> Result<(), BoxError> {
        let backend = Backend::of(&self.database_url)?;
        let pool = chassis::store::open(&self.database_url, &MIGRATIONS).await?;
        let store = InventoryStore::new(pool, backend);
        sweeper::count_active(&store, self.clock.as_ref()).await;
        self.store.set(store);
        Ok(())
    }

    /// Sweeps expired reservations.
    async fn background(self: Arc<Self>, stop: Shutdown) {
        sweeper::run(
            self.store.clone(),
            self.clock.clone(),
            self.sweep_every,
            stop,
        )
        .await;
    }

    async fn check(&self) -> Result<(), BoxError> {
        Ok(chassis::store::check_cell(&self.store, InventoryStore::pool).await?)
    }

    async fn close(&self) {
        if let Ok(store) = self.store.get() {
            store.pool().close().await;
        }
    }
}
