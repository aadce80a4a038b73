//! The shipping service: a simulated carrier that quotes parcels and creates shipments.
//!
//! Quotes follow the formula documented in the contract (integer cents, no floats).
//! Shipments are idempotent on `request_id` and an order has at most one that is not
//! cancelled; the database enforces both, so concurrent retries cannot create two.
//! Cancelling is idempotent, as a compensation step must be.
//!
//! Layout: [`domain`] (addresses, items, the formula; no I/O), [`store`] (SQL), [`api`].
#![forbid(unsafe_code)]

pub mod api;
pub mod config;
pub mod domain;
pub mod store;

use std::net::SocketAddr;

use bazaar_contract::shipping::v1::shipping_service_server::ShippingServiceServer;
use chassis::server::ServeError;
use chassis::store::StoreCell;
use chassis::{Readiness, Server, Shutdown};

pub use config::Config;

use crate::api::ShippingApi;
use crate::store::{MIGRATIONS, ShippingStore};

/// The service's name, as `bazaar serve` and the logs know it.
pub const NAME: &str = "shipping";
/// The port it listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 50057;

/// shipping bound to its address, not yet serving.
#[derive(Debug)]
pub struct Shipping {
    server: Server,
    readiness: Readiness,
    store: StoreCell<ShippingStore>,
    database_url: String,
}

impl Shipping {
    /// Binds the listening socket; the store is opened when [`Shipping::run`] starts.
    pub async fn bind(config: &Config) -> Result<Self, ServeError> {
        let store = StoreCell::new();
        let mut server = Server::bind(NAME, &config.server, DEFAULT_PORT)
            .await?
            .add_service(
                ShippingServiceServer::new(ShippingApi::new(store.clone()))
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

    /// Opens the store in the background and serves until `shutdown`.
    pub async fn run(self, shutdown: Shutdown) -> Result<(), ServeError> {
        let opener = chassis::store::open_in_background(
            self.database_url,
            MIGRATIONS,
            shutdown.clone(),
            self.readiness,
            self.store.clone(),
            |pool| async move { Ok(ShippingStore::new(pool)) },
        );
        let result = self.server.serve(shutdown).await;
        opener.abort();
        if let Ok(store) = self.store.get() {
            store.pool().close().await;
        }
        result
    }
}

/// Runs shipping as a process would: sets up logging, binds, serves until `shutdown`.
pub async fn serve(config: Config, shutdown: Shutdown) -> Result<(), ServeError> {
    chassis::telemetry::init(&config.server);
    tracing::info!(service = NAME, ?config, "starting");
    let shipping = Shipping::bind(&config).await?;
    shipping.run(shutdown).await
}
