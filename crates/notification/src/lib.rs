//! The notification service: an order confirmation email for every placed order, exactly
//! once, and a record of every message sent.
//!
//! It follows `bazaar.orders.v1.OrdersService.StreamOrderEvents` ([`follower`]), renders a
//! confirmation in plain text and HTML ([`render`]), writes it as a MIME email ([`mime`])
//! into a Maildir folder ([`maildir`]) that any mail reader or delivery agent can pick up,
//! and keeps the notifications and its position in the stream in SQL ([`store`]: SQLite by
//! default, PostgreSQL when given a `postgres://` URL). [`api`] lists what was sent.
//!
//! It is an optional feature of the shop: it starts and answers while orders is down, and
//! catches up from its stored position when orders is back. It reports `SERVING` once its
//! own store is open, whatever the state of orders.
//!
//! Layout: [`domain`] (ids, addresses, what a confirmation says, with the contract's exact
//! `Money`; no I/O), [`render`], [`mime`], [`maildir`], [`store`], [`follower`], [`api`],
//! [`error`], [`config`], `metrics` (its position and what it sent). [`Notifier`] is run by
//! the chassis (`chassis::service`); tests run it the same way on port 0.
#![forbid(unsafe_code)]

pub mod api;
pub mod config;
pub mod domain;
pub mod error;
pub mod follower;
pub mod maildir;
mod metrics;
pub mod mime;
pub mod render;
pub mod store;

use std::sync::{Arc, Mutex};

use bazaar_contract::notification::v1::notification_service_server::NotificationServiceServer;
use chassis::Shutdown;
use chassis::service::{BoxError, Routes, Service, ServiceConfig, Setup};
use chassis::store::StoreCell;
use chassis::topology::{self, Spec};

pub use config::Config;
pub use error::NotificationError;

use crate::api::NotificationApi;
use crate::follower::Follower;
use crate::maildir::Maildir;
use crate::store::{MIGRATIONS, NotificationStore};

/// The notification service: follows the order event stream once its store is open, and
/// lists what it sent.
#[derive(Debug)]
pub struct Notifier {
    store: StoreCell<NotificationStore>,
    database_url: String,
    /// Taken by the background work when it starts.
    follower: Mutex<Option<Follower>>,
}

impl ServiceConfig for Config {
    fn server(&self) -> &chassis::ServerArgs {
        &self.server
    }
}

impl Service for Notifier {
    const SPEC: &'static Spec = &topology::NOTIFICATION;
    type Config = Config;

    /// The channel to orders connects lazily: notification starts while orders is down.
    async fn build(config: &Config, setup: &mut Setup<'_>) -> Result<Self, BoxError> {
        setup.verify_with_identity(&config.identity)?;
        let orders = setup.upstream("orders", &config.orders_addr)?;
        let follower = Follower::new(
            orders,
            Maildir::new(config.maildir()),
            config.mail_from.clone(),
            config.orders_reconnect_max(),
        );
        Ok(Self {
            store: StoreCell::new(),
            database_url: config.database_url(),
            follower: Mutex::new(Some(follower)),
        })
    }

    fn routes(&self, routes: &mut Routes<'_>) {
        routes.add(NotificationServiceServer::new(NotificationApi::new(
            self.store.clone(),
        )));
    }

    async fn open(&self) -> Result<(), BoxError> {
        let pool = chassis::store::open(&self.database_url, &MIGRATIONS).await?;
        self.store.set(NotificationStore::new(pool));
        Ok(())
    }

    /// Follows the order event stream from the stored position once the store is open; it
    /// stops between two events, so its last write is done before the store closes.
    async fn background(self: Arc<Self>, stop: Shutdown) {
        let Some(follower) = self.follower.lock().ok().and_then(|mut f| f.take()) else {
            return;
        };
        let store = tokio::select! {
            () = stop.wait() => return,
            store = self.store.opened() => store.clone(),
        };
        // Each event is an order already placed: following it continues accepted work.
        chassis::priority::continuation(follower.run(store, stop)).await;
    }

    async fn check(&self) -> Result<(), BoxError> {
        Ok(chassis::store::check_cell(&self.store, NotificationStore::pool).await?)
    }

    async fn close(&self) {
        if let Ok(store) = self.store.get() {
            store.pool().close().await;
        }
    }
}
