//! The orders service: checkout, the orders it produces, and the stream of their events.
//!
//! PlaceOrder runs the checkout as a saga, keyed by the caller's request id so a retry
//! never orders or charges twice: read the cart and price it ([`checkout`], [`pricing`]),
//! record the order PENDING, then, step by step in the background ([`saga`], [`saga::steps`]):
//! reserve the stock, charge the card, create the shipment, commit the reservation, empty
//! the cart, and mark the order PLACED with its event in the outbox in one transaction. A
//! business failure undoes what was done, in reverse, and marks the order FAILED with its
//! event. What a resumed saga could not make again is stored before the saga goes on
//! (every call carries a request id, so the rest is made again unchanged), and sagas are
//! leased to one
//! process at a time, so a process that stops or dies mid-checkout leaves nothing behind
//! that another (or itself, restarted) does not finish.
//!
//! It calls cart, catalog, currency, inventory, payment and shipping through their
//! generated clients only ([`clients`]); it keeps orders, saga state and the event outbox in
//! SQL ([`store`], [`outbox`]: SQLite by default, PostgreSQL when given a `postgres://`
//! URL). Callers are verified with identity's keys (`chassis::auth`).
//!
//! Orders trusts nothing it did not ask for: a charge or shipment that payment or shipping
//! reports for an order is checked against the order before the saga builds on it
//! ([`domain::Mismatch`]). And it bounds what one caller can make it hold: a few PENDING
//! orders each, reservations no longer than the charge may take, and a capped number of
//! event streams that share one reader of the outbox ([`outbox::EventHub`]).
//!
//! Layout: [`domain`] (an order and its saga position, and request fields, parsed; no I/O),
//! [`pricing`], [`checkout`], [`saga`] (the engine, its steps and compensations), [`store`]
//! (with the outbox), [`outbox`] (the event stream), [`ids`], [`clients`], [`api`],
//! [`error`], [`clock`], [`config`], and `metrics` (its own numbers on `/metrics`).
//! [`Orders`] is run by the chassis (`chassis::service`); tests run it the same way on
//! port 0.
#![forbid(unsafe_code)]

pub mod api;
pub mod checkout;
pub mod clients;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod ids;
mod metrics;
pub mod outbox;
pub mod pricing;
pub mod saga;
pub mod store;

use std::sync::Arc;
use std::time::Duration;

use bazaar_contract::orders::v1::orders_service_server::OrdersServiceServer;
use chassis::Shutdown;
use chassis::service::{BoxError, Routes, Service, ServiceConfig, Setup};
use chassis::store::{Backend, StoreCell};
use chassis::topology::{self, Spec};

pub use config::Config;
pub use error::OrdersError;

use crate::api::OrdersApi;
use crate::clients::Clients;
use crate::outbox::EventHub;
use crate::saga::Sagas;
use crate::store::{MIGRATIONS, OrdersStore};

/// The orders service: orders, their sagas and the event outbox in its store.
#[derive(Debug)]
pub struct Orders {
    store: StoreCell<OrdersStore>,
    sagas: Sagas,
    events: EventHub,
    database_url: String,
    grace: Duration,
}

impl Orders {
    /// The event stream's one reader of the outbox (tests count its queries).
    pub fn events(&self) -> &EventHub {
        &self.events
    }
}

impl ServiceConfig for Config {
    fn server(&self) -> &chassis::ServerArgs {
        &self.server
    }
}

impl Service for Orders {
    const SPEC: &'static Spec = &topology::ORDERS;
    type Config = Config;

    /// Callers' tokens are checked with identity's keys; sagas stop between two steps when
    /// the service stops.
    async fn build(config: &Config, setup: &mut Setup<'_>) -> Result<Self, BoxError> {
        setup.verify_with_identity(&config.identity)?;
        let store = StoreCell::new();
        let clients = Clients::connect(config, setup)?;
        let sagas = Sagas::new(
            store.clone(),
            clients,
            setup.clock(),
            config.timing(),
            config.limits(),
            setup.stop(),
        );
        let events = EventHub::new(
            config.limits().max_event_streams,
            config.timing().event_poll,
            setup.stop(),
        );
        Ok(Self {
            store,
            sagas,
            events,
            database_url: config.database_url(),
            grace: config.server.shutdown_grace(),
        })
    }

    fn routes(&self, routes: &mut Routes<'_>) {
        routes.add(OrdersServiceServer::new(OrdersApi::new(
            self.sagas.clone(),
            self.events.clone(),
        )));
    }

    async fn open(&self) -> Result<(), BoxError> {
        let backend = Backend::of(&self.database_url)?;
        let pool = chassis::store::open(&self.database_url, &MIGRATIONS).await?;
        let store = OrdersStore::new(pool, backend);
        store.show_outbox_head().await?;
        self.store.set(store);
        Ok(())
    }

    /// Resumes the sagas that a stopped or crashed process left unfinished.
    async fn background(self: Arc<Self>, _stop: Shutdown) {
        self.sagas.clone().recover().await;
    }

    /// Lets running sagas pause at a step boundary (they resume at the next start), then
    /// closes the store.
    async fn check(&self) -> Result<(), BoxError> {
        Ok(chassis::store::check_cell(&self.store, OrdersStore::pool).await?)
    }

    async fn close(&self) {
        self.sagas.drain(self.grace).await;
        if let Ok(store) = self.store.get() {
            store.pool().close().await;
        }
    }
}
