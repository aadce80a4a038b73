//! The catalog service: what is for sale, at what price, in which categories, and search.
//!
//! It owns products and categories (SQLite by default, PostgreSQL when given a
//! `postgres://` URL) and calls no other service. On its first start against an empty
//! database it loads the product data shipped in `data/products.json`.
//!
//! Layout: [`domain`] parses ids and queries (no I/O), [`store`] keeps products in SQL,
//! [`seed`] reads the shipped data, [`api`] is the gRPC face, [`config`] the settings.
//! [`Catalog`] is run by the
//! chassis (`chassis::service`); tests run it the same way on port 0.
#![forbid(unsafe_code)]

pub mod api;
pub mod config;
pub mod domain;
pub mod seed;
pub mod store;

use bazaar_contract::catalog::v1::catalog_service_server::CatalogServiceServer;
use chassis::service::{BoxError, Routes, Service, ServiceConfig, Setup};
use chassis::store::StoreCell;
use chassis::topology::{self, Spec};

pub use config::Config;

use crate::api::CatalogApi;
use crate::seed::Seed;
use crate::store::{CatalogStore, MIGRATIONS};

/// The catalog service: its store, opened (and seeded on first start) before it serves.
#[derive(Debug)]
pub struct Catalog {
    store: StoreCell<CatalogStore>,
    database_url: String,
}

impl ServiceConfig for Config {
    fn server(&self) -> &chassis::ServerArgs {
        &self.server
    }
}

impl Service for Catalog {
    const SPEC: &'static Spec = &topology::CATALOG;
    type Config = Config;

    async fn build(config: &Config, _setup: &mut Setup<'_>) -> Result<Self, BoxError> {
        Ok(Self {
            store: StoreCell::new(),
            database_url: config.database_url(),
        })
    }

    fn routes(&self, routes: &mut Routes<'_>) {
        routes.add(CatalogServiceServer::new(CatalogApi::new(
            self.store.clone(),
        )));
    }

    /// Connects, migrates, and loads the shipped products into an empty database.
    async fn open(&self) -> Result<(), BoxError> {
        let pool = chassis::store::open(&self.database_url, &MIGRATIONS).await?;
        let seed = Seed::embedded()?;
        self.store.set(CatalogStore::open(pool, &seed).await?);
        Ok(())
    }

    async fn check(&self) -> Result<(), BoxError> {
        Ok(chassis::store::check_cell(&self.store, CatalogStore::pool).await?)
    }

    async fn close(&self) {
        if let Ok(store) = self.store.get() {
            store.pool().close().await;
        }
    }
}
