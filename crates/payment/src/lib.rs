//! The payment service: charges payment cards for orders, refunds them, and keeps the
//! ledger of every charge.
//!
//! It is a simulated provider (no money moves) that behaves like a real one for the
//! contract's test cards. It is internal: orders calls it on the private network, with no
//! user token. Its promises are about money, so they rest on the database rather than on
//! the process: a `request_id` is claimed by a unique insert, so a retry, even a
//! concurrent one, never charges twice; a partial unique index keeps at most one paid
//! charge per order; a refund is a conditional update that happens once.
//!
//! Card data: the full number and the CVV exist only while a Charge call runs, inside
//! types whose `Debug` redacts them; neither is stored, logged nor returned. The ledger
//! keeps the brand and the last four digits.
//!
//! Layout: [`domain`] parses requests and holds the rules and the simulated card network
//! (no I/O), [`ledger`] runs each call's steps, [`store`] keeps the ledger in SQL
//! (SQLite by default, PostgreSQL for `postgres://` URLs), [`api`] is the gRPC face,
//! [`error`] the one error type and its mapping to gRPC, [`clock`] the time it reads,
//! [`config`] the settings. [`Payment::bind`] then [`Payment::run`] is the
//! whole life of a process; tests do the same on port 0.
#![forbid(unsafe_code)]

pub mod api;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod ledger;
pub mod store;

use std::net::SocketAddr;
use std::sync::Arc;

use bazaar_contract::payment::v1::payment_service_server::PaymentServiceServer;
use chassis::server::ServeError;
use chassis::store::StoreCell;
use chassis::{Readiness, Server, Shutdown};

pub use config::Config;

use crate::api::PaymentApi;
use crate::clock::{Clock, SystemClock};
use crate::store::{ChargeStore, MIGRATIONS};

/// The service's name, as `bazaar serve` and the logs know it.
pub const NAME: &str = "payment";
/// The port it listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 50056;

/// A payment service bound to its address, not yet serving.
#[derive(Debug)]
pub struct Payment {
    server: Server,
    readiness: Readiness,
    store: StoreCell<ChargeStore>,
    database_url: String,
}

impl Payment {
    /// Binds the listening socket; the store is opened when [`Payment::run`] starts.
    pub async fn bind(config: &Config) -> Result<Self, ServeError> {
        Self::bind_with(config, Arc::new(SystemClock)).await
    }

    /// Binds with a given clock (tests use one they set and move).
    pub async fn bind_with(config: &Config, clock: Arc<dyn Clock>) -> Result<Self, ServeError> {
        let store = StoreCell::new();
        let lease_ms =
            i64::try_from(config.claim_lease_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
        let mut server = Server::bind(NAME, &config.server, DEFAULT_PORT)
            .await?
            .add_service(
                PaymentServiceServer::new(PaymentApi::new(store.clone(), clock, lease_ms))
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
            |pool| async move { Ok(ChargeStore::new(pool)) },
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
    let payment = Payment::bind(&config).await?;
    payment.run(shutdown).await
}
