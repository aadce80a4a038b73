//! The orders service: checkout, the orders it produces, and the stream of their events.
//!
//! PlaceOrder runs the checkout as a saga, keyed by the caller's request id so a retry
//! never orders or charges twice: read the cart and price it ([`checkout`], [`pricing`]),
//! record the order PENDING, then, step by step in the background ([`saga`], [`steps`]):
//! reserve the stock, charge the card, create the shipment, commit the reservation, and mark
//! the order PLACED with its event in the outbox in one transaction; then empty the cart. A
//! business failure undoes what was done, in reverse, and marks the order FAILED with its
//! event. Each step's outcome is stored before the next starts, and sagas are leased to one
//! process at a time, so a process that stops or dies mid-checkout leaves nothing behind
//! that another (or itself, restarted) does not finish.
//!
//! It calls cart, catalog, currency, inventory, payment and shipping through their
//! generated clients only ([`clients`]); it keeps orders, saga state and the event outbox in
//! SQL ([`store`], [`outbox`]: SQLite by default, PostgreSQL when given a `postgres://`
//! URL). Callers are verified with identity's keys (`chassis::auth`).
//!
//! Layout: [`domain`] (an order and its saga position, and request fields, parsed; no I/O),
//! [`pricing`], [`checkout`], [`saga`] (the engine, its steps and compensations), [`store`]
//! (with the outbox), [`outbox`] (the event stream), [`ids`], [`clients`], [`api`],
//! [`error`], [`clock`], [`config`]. [`Orders::bind`] then
//! [`Orders::run`] is the whole life of a process; tests do the same on port 0.
#![forbid(unsafe_code)]

pub mod api;
pub mod checkout;
pub mod clients;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod ids;
pub mod outbox;
pub mod pricing;
pub mod saga;
pub mod store;

use std::net::SocketAddr;
use std::sync::Arc;

use bazaar_contract::orders::v1::orders_service_server::OrdersServiceServer;
use chassis::auth::Verifier;
use chassis::store::{Backend, StoreCell};
use chassis::{Readiness, Server, Shutdown};

pub use config::Config;
pub use error::{OrdersError, StartError};

use crate::api::OrdersApi;
use crate::clients::Clients;
use crate::clock::{Clock, SystemClock};
use crate::saga::Sagas;
use crate::store::{MIGRATIONS, OrdersStore};

/// The service's name, as `bazaar serve` and the logs know it.
pub const NAME: &str = "orders";
/// The port it listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 50058;

/// orders bound to its address, not yet serving.
#[derive(Debug)]
pub struct Orders {
    server: Server,
    readiness: Readiness,
    store: StoreCell<OrdersStore>,
    sagas: Sagas,
    /// Fired when the stop given to [`Orders::run`] fires: stops sagas, event streams, the
    /// key refresher.
    stop: Shutdown,
    database_url: String,
    grace: std::time::Duration,
}

impl Orders {
    /// Binds the listening socket; callers' tokens are verified with identity's keys.
    pub async fn bind(config: &Config) -> Result<Self, StartError> {
        let stop = Shutdown::new();
        let verifier = config.identity.verifier(&config.server, &stop)?;
        Self::bind_with(config, verifier, Arc::new(SystemClock), stop).await
    }

    /// Binds the listening socket, verifying tokens with `verifier` and reading time from
    /// `clock` (tests use a test issuer's verifier and a manual clock).
    pub async fn bind_with_verifier(
        config: &Config,
        verifier: Verifier,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StartError> {
        Self::bind_with(config, verifier, clock, Shutdown::new()).await
    }

    async fn bind_with(
        config: &Config,
        verifier: Verifier,
        clock: Arc<dyn Clock>,
        stop: Shutdown,
    ) -> Result<Self, StartError> {
        let store = StoreCell::new();
        let clients = Clients::connect(config)?;
        let sagas = Sagas::new(store.clone(), clients, clock, config.timing(), stop.clone());
        let mut server = Server::bind(NAME, &config.server, DEFAULT_PORT)
            .await?
            .with_auth(verifier)
            .add_service(
                OrdersServiceServer::new(OrdersApi::new(sagas.clone()))
                    .max_decoding_message_size(config.server.max_message_bytes)
                    .max_encoding_message_size(config.server.max_message_bytes),
            );
        let readiness = server.readiness();
        Ok(Self {
            server,
            readiness,
            store,
            sagas,
            stop,
            database_url: config.database_url(),
            grace: config.server.shutdown_grace(),
        })
    }

    /// The address it is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// Opens the store in the background (reporting `SERVING` once it is open), resumes
    /// unfinished sagas, and serves until `shutdown`; then lets running sagas pause (they
    /// resume at the next start) and closes the store.
    pub async fn run(self, shutdown: Shutdown) -> Result<(), StartError> {
        let stop = self.stop.clone();
        let forward = shutdown.clone();
        let forwarder = tokio::spawn(async move {
            forward.wait().await;
            stop.trigger();
        });
        // An unsupported URL is refused (and logged) by the opener itself; the backend
        // only matters once a pool exists.
        let backend = Backend::of(&self.database_url).unwrap_or(Backend::Sqlite);
        let opener = chassis::store::open_in_background(
            self.database_url,
            MIGRATIONS,
            shutdown.clone(),
            self.readiness,
            self.store.clone(),
            move |pool| async move { Ok(OrdersStore::new(pool, backend)) },
        );
        let recovery = tokio::spawn(self.sagas.clone().recover());
        let result = self.server.serve(shutdown).await;
        self.stop.trigger();
        forwarder.abort();
        opener.abort();
        if let Err(error) = recovery.await {
            tracing::error!(%error, "saga recovery ended abnormally");
        }
        self.sagas.drain(self.grace).await;
        if let Ok(store) = self.store.get() {
            store.pool().close().await;
        }
        Ok(result?)
    }
}

/// Runs orders as a process would: sets up logging, binds, serves until `shutdown` (the
/// binary passes one that fires on SIGINT or SIGTERM).
pub async fn serve(config: Config, shutdown: Shutdown) -> Result<(), StartError> {
    chassis::telemetry::init(&config.server);
    tracing::info!(service = NAME, ?config, "starting");
    let orders = Orders::bind(&config).await?;
    orders.run(shutdown).await
}
