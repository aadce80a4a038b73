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
//! [`config`] the settings, `metrics` its payments by outcome. [`Payment`] is run by the
//! chassis (`chassis::service`); tests run it the same way on port 0.
#![forbid(unsafe_code)]

pub mod api;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod ledger;
mod metrics;
pub mod store;

use bazaar_contract::payment::v1::payment_service_server::PaymentServiceServer;
use chassis::service::{BoxError, Routes, Service, ServiceConfig, Setup};
use chassis::store::StoreCell;
use chassis::topology::{self, Spec};

pub use config::Config;

use crate::api::PaymentApi;
use crate::clock::Clock;
use crate::store::{ChargeStore, MIGRATIONS};

/// The payment service: the ledger of charges and refunds, kept in its store.
#[derive(Debug)]
pub struct Payment {
    store: StoreCell<ChargeStore>,
    clock: std::sync::Arc<dyn Clock>,
    database_url: String,
    lease_ms: i64,
}

impl ServiceConfig for Config {
    fn server(&self) -> &chassis::ServerArgs {
        &self.server
    }
}

impl Service for Payment {
    const SPEC: &'static Spec = &topology::PAYMENT;
    type Config = Config;

    async fn build(config: &Config, setup: &mut Setup<'_>) -> Result<Self, BoxError> {
        setup.verify_with_identity(&config.identity)?;
        Ok(Self {
            store: StoreCell::new(),
            clock: setup.clock(),
            database_url: config.database_url(),
            lease_ms: i64::try_from(config.claim_lease_secs.saturating_mul(1000))
                .unwrap_or(i64::MAX),
        })
    }

    fn routes(&self, routes: &mut Routes<'_>) {
        routes.add(PaymentServiceServer::new(PaymentApi::new(
            self.store.clone(),
            self.clock.clone(),
            self.lease_ms,
        )));
    }

    async fn open(&self) -> Result<(), BoxError> {
        let pool = chassis::store::open(&self.database_url, &MIGRATIONS).await?;
        self.store.set(ChargeStore::new(pool));
        Ok(())
    }

    async fn check(&self) -> Result<(), BoxError> {
        Ok(chassis::store::check_cell(&self.store, ChargeStore::pool).await?)
    }

    async fn close(&self) {
        if let Ok(store) = self.store.get() {
            store.pool().close().await;
        }
    }
}
