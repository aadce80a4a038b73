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
use std::time::Duration;

use bazaar_contract::cart::v1::cart_service_server::CartServiceServer;
use chassis::auth::Verifier;
use chassis::client::{Upstream, UpstreamError};
use chassis::server::ServeError;
use chassis::store::StoreCell;
use chassis::{Readiness, Server, Shutdown};

pub use config::Config;

use crate::api::CartApi;
use crate::clock::{Clock, SystemClock};
use crate::store::SharedStore;

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
}

/// A cart service bound to its address, not yet serving.
#[derive(Debug)]
pub struct CartServer {
    server: Server,
    readiness: Readiness,
    store: StoreCell<SharedStore>,
    database_url: String,
    redis_key_prefix: String,
    /// The verifier to keep refreshing from identity while serving, and how often.
    refresh: Option<(Verifier, Duration)>,
}

impl CartServer {
    /// Binds the listening socket, trusting the keys identity publishes; the store is
    /// opened when [`CartServer::run`] starts.
    pub async fn bind(config: &Config) -> Result<Self, StartError> {
        let identity = Upstream::connect(
            "identity",
            &chassis::config::split_addresses(&config.identity.identity_addr),
            config.server.default_deadline(),
        )?;
        let verifier = Verifier::from_identity(identity);
        let every = Duration::from_secs(config.identity.signing_keys_refresh_secs.max(1));
        let mut server = Self::bind_with(config, verifier.clone(), Arc::new(SystemClock)).await?;
        server.refresh = Some((verifier, every));
        Ok(server)
    }

    /// Binds with a given token verifier and clock (tests use a test issuer's verifier and
    /// a clock they move).
    pub async fn bind_with(
        config: &Config,
        verifier: Verifier,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ServeError> {
        let store = StoreCell::new();
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
            database_url: config.database_url(),
            redis_key_prefix: config.redis_key_prefix.clone(),
            refresh: None,
        })
    }

    /// The address it is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// Opens the store in the background (reporting `SERVING` once it is open) and serves
    /// until `shutdown`.
    pub async fn run(self, shutdown: Shutdown) -> Result<(), ServeError> {
        let refresher = self
            .refresh
            .map(|(verifier, every)| verifier.spawn_refresher(every, shutdown.clone()));
        let opener = store::open_in_background(
            self.database_url,
            self.redis_key_prefix,
            shutdown.clone(),
            self.readiness,
            self.store.clone(),
        );
        let result = self.server.serve(shutdown).await;
        opener.abort();
        if let Some(refresher) = refresher {
            refresher.abort();
        }
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
