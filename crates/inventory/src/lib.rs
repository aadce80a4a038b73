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
//! expiry, [`config`] the settings. [`Inventory::bind`] then [`Inventory::run`] is the whole
//! life of a process; tests do the same on port 0 with [`Inventory::bind_with`].
#![forbid(unsafe_code)]

pub mod api;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod store;
pub mod sweeper;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bazaar_contract::inventory::v1::inventory_service_server::InventoryServiceServer;
use chassis::auth::Verifier;
use chassis::client::{Upstream, UpstreamError};
use chassis::server::ServeError;
use chassis::store::{Backend, StoreCell};
use chassis::{Readiness, Server, Shutdown};

pub use config::Config;

use crate::api::InventoryApi;
use crate::clock::{Clock, SystemClock};
use crate::store::{InventoryStore, MIGRATIONS};

/// The service's name, as `bazaar serve` and the logs know it.
pub const NAME: &str = "inventory";
/// The port it listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 50055;

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

/// An inventory bound to its address, not yet serving.
#[derive(Debug)]
pub struct Inventory {
    server: Server,
    readiness: Readiness,
    store: StoreCell<InventoryStore>,
    clock: Arc<dyn Clock>,
    database_url: String,
    sweep_every: Duration,
    /// The verifier to keep refreshing from identity while serving, and how often.
    refresh: Option<(Verifier, Duration)>,
}

impl Inventory {
    /// Binds the listening socket, trusting the keys identity publishes and reading the
    /// system clock; the store is opened when [`Inventory::run`] starts.
    pub async fn bind(config: &Config) -> Result<Self, StartError> {
        let identity = Upstream::connect(
            "identity",
            &chassis::config::split_addresses(&config.identity.identity_addr),
            config.server.default_deadline(),
        )?;
        let verifier = Verifier::from_identity(identity);
        let every = Duration::from_secs(config.identity.signing_keys_refresh_secs.max(1));
        let mut inventory =
            Self::bind_with(config, verifier.clone(), Arc::new(SystemClock)).await?;
        inventory.refresh = Some((verifier, every));
        Ok(inventory)
    }

    /// Binds with a given token verifier and clock (tests use a test issuer's verifier and
    /// a clock they move).
    pub async fn bind_with(
        config: &Config,
        verifier: Verifier,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ServeError> {
        let store = StoreCell::new();
        let api = InventoryApi::new(store.clone(), clock.clone());
        let mut server = Server::bind(NAME, &config.server, DEFAULT_PORT)
            .await?
            .with_auth(verifier)
            .add_service(
                InventoryServiceServer::new(api)
                    .max_decoding_message_size(config.server.max_message_bytes)
                    .max_encoding_message_size(config.server.max_message_bytes),
            );
        let readiness = server.readiness();
        Ok(Self {
            server,
            readiness,
            store,
            clock,
            database_url: config.database_url(),
            sweep_every: config.sweep_interval(),
            refresh: None,
        })
    }

    /// The address it is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// Opens the store in the background (reporting `SERVING` once it is open), sweeps
    /// expired reservations, and serves until `shutdown`.
    pub async fn run(self, shutdown: Shutdown) -> Result<(), ServeError> {
        let refresher = self
            .refresh
            .map(|(verifier, every)| verifier.spawn_refresher(every, shutdown.clone()));
        let backend = Backend::of(&self.database_url);
        let opener = chassis::store::open_in_background(
            self.database_url,
            MIGRATIONS,
            shutdown.clone(),
            self.readiness,
            self.store.clone(),
            move |pool| {
                let backend = backend.as_ref().map(|b| *b).map_err(|e| e.to_string());
                async move { Ok(InventoryStore::new(pool, backend?)) }
            },
        );
        let sweeper = sweeper::spawn(
            self.store.clone(),
            self.clock,
            self.sweep_every,
            shutdown.clone(),
        );
        let result = self.server.serve(shutdown).await;
        opener.abort();
        sweeper.abort();
        if let Some(refresher) = refresher {
            refresher.abort();
        }
        if let Ok(store) = self.store.get() {
            store.pool().close().await;
        }
        result
    }
}

/// Runs the service as a process would: sets up logging, binds, serves until `shutdown`
/// (the binary passes one that fires on SIGINT or SIGTERM).
pub async fn serve(config: Config, shutdown: Shutdown) -> Result<(), StartError> {
    chassis::telemetry::init(&config.server);
    tracing::info!(service = NAME, ?config, "starting");
    let inventory = Inventory::bind(&config).await?;
    Ok(inventory.run(shutdown).await?)
}
