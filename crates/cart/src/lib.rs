//! The cart service: the shopping carts of users and guests.
//!
//! Every call acts on the cart of the verified caller. A cart holds product ids and
//! quantities only (it calls no other service); its limits (1..=99 units a line, 100
//! lines) and the guest-to-user merge are the domain's rules. Carts live in a SQL
//! database (SQLite by default, PostgreSQL for `postgres://` URLs) or in Redis (`redis://`
//! URLs), behind the small [`store::CartStore`] trait with optimistic concurrency.
//!
//! Layout: [`domain`] parses ids and quantities and applies the cart's rules (no I/O),
//! [`carts`] runs each operation as read–decide–commit over a store, [`store`] keeps carts,
//! [`api`] is the gRPC face, [`error`] the one error type and its mapping to gRPC,
//! [`clock`] the time it reads, [`config`] the settings. [`CartServer::bind`] then
//! [`CartServer::run`] is the whole life of a process; tests do the same on port 0.
#![forbid(unsafe_code)]

pub mod api;
pub mod carts;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod store;

use std::net::SocketAddr;
use std::sync::Arc;

use bazaar_contract::cart::v1::cart_service_server::CartServiceServer;
use chassis::auth::Verifier;
use chassis::client::UpstreamError;
use chassis::server::ServeError;
use chassis::store::StoreCell;
use chassis::{Readiness, Server, Shutdown};

pub use config::Config;

use crate::api::CartApi;
use crate::clock::{Clock, SystemClock};
use crate::store::{BadStoreUrl, Location, SharedStore};

/// The service's name, as `bazaar serve` and the logs know it.
pub const NAME: &str = "cart";
/// The port it listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 50054;

/// Why the service could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The server could not bind or serve.
    #[error(transparent)]
    Serve(#[from] ServeError),
    /// The identity address is not usable.
    #[error("bad identity address")]
    Identity(#[from] UpstreamError),
    /// The store URL names no store the cart can use.
    #[error("bad --database-url")]
    Store(#[from] BadStoreUrl),
}

/// Triggers its [`Shutdown`] when dropped: stops what a bound cart started in the
/// background (the refresher of identity's keys) when [`CartServer::run`] ends, or when the
/// cart is dropped without running.
#[derive(Debug, Default)]
struct StopOnDrop(Shutdown);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.trigger();
    }
}

/// A cart service bound to its address, not yet serving.
#[derive(Debug)]
pub struct CartServer {
    server: Server,
    readiness: Readiness,
    store: StoreCell<SharedStore>,
    location: Location,
    stop: StopOnDrop,
}

impl CartServer {
    /// Binds the listening socket, trusting the keys identity publishes (fetched now and
    /// then refreshed in the background); the store is opened when [`CartServer::run`]
    /// starts.
    pub async fn bind(config: &Config) -> Result<Self, StartError> {
        let stop = StopOnDrop::default();
        let verifier = config.identity.verifier(&config.server, &stop.0)?;
        Self::bind_inner(config, verifier, Arc::new(SystemClock), stop).await
    }

    /// Binds with a given token verifier and clock (tests use a test issuer's verifier and
    /// a clock they move).
    pub async fn bind_with(
        config: &Config,
        verifier: Verifier,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StartError> {
        Self::bind_inner(config, verifier, clock, StopOnDrop::default()).await
    }

    async fn bind_inner(
        config: &Config,
        verifier: Verifier,
        clock: Arc<dyn Clock>,
        stop: StopOnDrop,
    ) -> Result<Self, StartError> {
        let location = Location::parse(&config.database_url(), &config.redis_key_prefix)?;
        let store = StoreCell::new();
        // The API keeps a clone of the server's verifier for MergeGuestCart's guest tokens.
        let api = CartApi::new(store.clone(), clock, verifier.clone());
        let mut server = Server::bind(NAME, &config.server, DEFAULT_PORT)
            .await?
            .with_auth(verifier)
            .add_service(
                CartServiceServer::new(api)
                    .max_decoding_message_size(config.server.max_message_bytes)
                    .max_encoding_message_size(config.server.max_message_bytes),
            );
        let readiness = server.readiness();
        Ok(Self {
            server,
            readiness,
            store,
            location,
            stop,
        })
    }

    /// The address it is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// Opens the store in the background (reporting `SERVING` once it is open) and serves
    /// until `shutdown`.
    pub async fn run(self, shutdown: Shutdown) -> Result<(), ServeError> {
        // Dropped when this returns: stops the key refresher.
        let _stop = self.stop;
        let opener = store::open_in_background(
            self.location,
            shutdown.clone(),
            self.readiness,
            self.store.clone(),
        );
        let result = self.server.serve(shutdown).await;
        opener.abort();
        if let Ok(store) = self.store.get() {
            store.close().await;
        }
        result
    }
}

/// Runs the service as a process would: sets up logging, binds, serves until `shutdown`
/// (the binary passes one that fires on SIGINT or SIGTERM).
pub async fn serve(config: Config, shutdown: Shutdown) -> Result<(), StartError> {
    chassis::telemetry::init(&config.server);
    tracing::info!(service = NAME, ?config, "starting");
    let cart = CartServer::bind(&config).await?;
    Ok(cart.run(shutdown).await?)
}
