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
//! settings. [`Shipping::bind`] then [`Shipping::run`] is the whole life of a
//! process; tests do the same on port 0.
#![forbid(unsafe_code)]

pub mod api;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod shipments;
pub mod store;

use std::net::SocketAddr;
use std::sync::Arc;

use bazaar_contract::shipping::v1::shipping_service_server::ShippingServiceServer;
use chassis::server::ServeError;
use chassis::store::StoreCell;
use chassis::{Readiness, Server, Shutdown};

pub use config::Config;

use crate::api::ShippingApi;
use crate::clock::{Clock, SystemClock};
use crate::store::{MIGRATIONS, ShipmentStore};

/// The service's name, as `bazaar serve` and the logs know it.
pub const NAME: &str = "shipping";
/// The port it listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 50057;

/// A shipping service bound to its address, not yet serving.
#[derive(Debug)]
pub struct Shipping {
    server: Server,
    readiness: Readiness,
    store: StoreCell<ShipmentStore>,
    database_url: String,
}

impl Shipping {
    /// Binds the listening socket; the store is opened when [`Shipping::run`] starts.
    pub async fn bind(config: &Config) -> Result<Self, ServeError> {
        Self::bind_with(config, Arc::new(SystemClock)).await
    }

    /// Binds with a given clock (tests use one they move).
    pub async fn bind_with(config: &Config, clock: Arc<dyn Clock>) -> Result<Self, ServeError> {
        let store = StoreCell::new();
        let mut server = Server::bind(NAME, &config.server, DEFAULT_PORT)
            .await?
            .add_service(
                ShippingServiceServer::new(ShippingApi::new(store.clone(), clock))
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

    /// Opens the store in the background (reporting `SERVING` once it is open) and serves
    /// until `shutdown`.
    pub async fn run(self, shutdown: Shutdown) -> Result<(), ServeError> {
        let opener = chassis::store::open_in_background(
            self.database_url,
            MIGRATIONS,
            shutdown.clone(),
            self.readiness,
            self.store.clone(),
            |pool| async move { Ok(ShipmentStore::new(pool)) },
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
    let shipping = Shipping::bind(&config).await?;
    shipping.run(shutdown).await
}
