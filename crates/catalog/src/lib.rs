//! The catalog service: what is for sale, at what price, in which categories, and search.
//!
//! It owns products and categories (SQLite by default, PostgreSQL when given a
//! `postgres://` URL) and calls no other service. On its first start against an empty
//! database it loads the product data shipped in `data/products.json`.
//!
//! Layout: [`domain`] parses ids and queries (no I/O), [`store`] keeps products in SQL,
//! [`seed`] reads the shipped data, [`api`] is the gRPC face, [`config`] the settings.
//! [`Catalog::bind`] then [`Catalog::run`] is the whole life of a process; tests do the same
//! on port 0.
#![forbid(unsafe_code)]

pub mod api;
pub mod config;
pub mod domain;
pub mod seed;
pub mod store;

use std::net::SocketAddr;

use bazaar_contract::catalog::v1::catalog_service_server::CatalogServiceServer;
use chassis::server::ServeError;
use chassis::store::StoreCell;
use chassis::{Readiness, Server, Shutdown};

pub use config::Config;

use crate::api::CatalogApi;
use crate::seed::Seed;
use crate::store::{CatalogStore, MIGRATIONS};

/// The service's name, as `bazaar serve` and the logs know it.
pub const NAME: &str = "catalog";
/// The port it listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 50051;

/// A catalog bound to its address, not yet serving.
#[derive(Debug)]
pub struct Catalog {
    server: Server,
    readiness: Readiness,
    store: StoreCell<CatalogStore>,
    database_url: String,
}

impl Catalog {
    /// Binds the listening socket; the store is opened when [`Catalog::run`] starts.
    pub async fn bind(config: &Config) -> Result<Self, ServeError> {
        let store = StoreCell::new();
        let mut server = Server::bind(NAME, &config.server, DEFAULT_PORT)
            .await?
            .add_service(
                CatalogServiceServer::new(CatalogApi::new(store.clone()))
                    .max_decoding_message_size(config.server.max_message_bytes)
                    .max_encoding_message_size(config.server.max_message_bytes),
            );
        let readiness = server.readiness();
        Ok(Self {
            server,
            readiness,
            store,
            database_url: config.database_url(),
        })
    }

    /// The address it is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// Opens the store in the background (reporting `SERVING` once it is open and seeded)
    /// and serves until `shutdown`.
    pub async fn run(self, shutdown: Shutdown) -> Result<(), ServeError> {
        let opener = chassis::store::open_in_background(
            self.database_url,
            MIGRATIONS,
            shutdown.clone(),
            self.readiness,
            self.store.clone(),
            |pool| async move {
                let seed = Seed::embedded()?;
                Ok(CatalogStore::open(pool, &seed).await?)
            },
        );
        let result = self.server.serve(shutdown).await;
        opener.abort();
        if let Ok(store) = self.store.get() {
            store.pool().close().await;
        }
        result
    }
}

/// Runs the service as a process would: sets up logging, binds, serves until `shutdown`
/// (the binary passes one that fires on SIGINT or SIGTERM).
pub async fn serve(config: Config, shutdown: Shutdown) -> Result<(), ServeError> {
    chassis::telemetry::init(&config.server);
    tracing::info!(service = NAME, ?config, "starting");
    let catalog = Catalog::bind(&config).await?;
    catalog.run(shutdown).await
}
