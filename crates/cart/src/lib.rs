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
//! [`clock`] the time it reads, [`config`] the settings. [`Carts`] is run by the
//! chassis (`chassis::service`); tests run it the same way on port 0.
//!
//! AddItem request ids are remembered for `--request-retention-secs` (24 hours by default,
//! never less: the contract promises it). A background sweep deletes older records from a
//! SQL store; in Redis each record is a key that expires by itself.
#![forbid(unsafe_code)]

pub mod api;
pub mod carts;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod store;

use bazaar_contract::cart::v1::cart_service_server::CartServiceServer;
use chassis::service::{BoxError, Routes, Service, ServiceConfig, Setup};
use chassis::store::StoreCell;
use chassis::topology::{self, Spec};

pub use config::Config;

use crate::api::CartApi;
use crate::store::{Location, SharedStore};

/// The cart service: carts kept in SQL or Redis, as its store URL says.
#[derive(Debug)]
pub struct Carts {
    api: CartApi,
    store: StoreCell<SharedStore>,
    location: Location,
    clock: std::sync::Arc<dyn chassis::clock::Clock>,
    sweep_every: std::time::Duration,
}

impl ServiceConfig for Config {
    fn server(&self) -> &chassis::ServerArgs {
        &self.server
    }
}

impl Service for Carts {
    const SPEC: &'static Spec = &topology::CART;
    type Config = Config;

    /// A store URL that names no store fails the start here, rather than leaving the
    /// service `NOT_SERVING` for ever. Callers' tokens are checked with identity's keys; the
    /// API keeps a clone of the verifier for MergeGuestCart's guest tokens.
    async fn build(config: &Config, setup: &mut Setup<'_>) -> Result<Self, BoxError> {
        let location = Location::parse(&config.database_url(), &config.redis_key_prefix)?;
        let verifier = setup.verify_with_identity(&config.identity)?;
        let store = StoreCell::new();
        let api = CartApi::new(
            store.clone(),
            setup.clock(),
            verifier,
            config.request_retention_ms(),
        );
        Ok(Self {
            api,
            store,
            location,
            clock: setup.clock(),
            sweep_every: config.request_sweep_interval(),
        })
    }

    fn routes(&self, routes: &mut Routes<'_>) {
        routes.add(CartServiceServer::new(self.api.clone()));
    }

    async fn open(&self) -> Result<(), BoxError> {
        self.store.set(self.location.open().await?);
        Ok(())
    }

    /// Sweeps AddItem records past their retention from the store, every sweep interval,
    /// so that callers who never come back leave nothing behind for ever.
    async fn background(self: std::sync::Arc<Self>, stop: chassis::Shutdown) {
        loop {
            tokio::select! {
                () = stop.wait() => return,
                () = tokio::time::sleep(self.sweep_every) => {}
            }
            let Ok(store) = self.store.get() else {
                continue;
            };
            match sweep(store.as_ref(), self.clock.now_ms()).await {
                Ok(0) => {}
                Ok(deleted) => tracing::info!(deleted, "expired AddItem records swept"),
                Err(error) => tracing::warn!(error = %chassis::error::chain(&error),
                    "cannot sweep expired AddItem records; trying again later"),
            }
        }
    }

    async fn check(&self) -> Result<(), BoxError> {
        match self.store.get() {
            Ok(store) => store.check().await,
            // Not open yet: the opener's business.
            Err(_) => Ok(()),
        }
    }

    async fn close(&self) {
        if let Ok(store) = self.store.get() {
            store.close().await;
        }
    }
}

/// Records deleted per statement of a sweep, so that one sweep never holds the store long.
const SWEEP_BATCH: u32 = 500;

/// Deletes every AddItem record that expired before `now_ms`, a batch at a time.
async fn sweep(store: &dyn store::CartStore, now_ms: i64) -> Result<u64, error::CartError> {
    let mut total = 0;
    loop {
        let deleted = store.sweep_requests(now_ms, SWEEP_BATCH).await?;
        total += deleted;
        if deleted < u64::from(SWEEP_BATCH) {
            return Ok(total);
        }
    }
}
