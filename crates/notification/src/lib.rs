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
//! [`error`], [`config`]. [`Notifier::bind`] then [`Notifier::run`] is the whole life of a
//! process; tests do the same on port 0.
#![forbid(unsafe_code)]

pub mod api;
pub mod config;
pub mod domain;
pub mod error;
pub mod follower;
pub mod maildir;
pub mod mime;
pub mod render;
pub mod store;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bazaar_contract::notification::v1::notification_service_server::NotificationServiceServer;
use chassis::client::Upstream;
use chassis::store::StoreCell;
use chassis::{Readiness, Server, Shutdown};

pub use config::Config;
pub use error::NotificationError;

use crate::api::NotificationApi;
use crate::follower::Follower;
use crate::maildir::Maildir;
use crate::store::{MIGRATIONS, NotificationStore};

/// The service's name, as `bazaar serve` and the logs know it.
pub const NAME: &str = "notification";
/// The port it listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 50059;

/// A notification service bound to its address, not yet serving.
#[derive(Debug)]
pub struct Notifier {
    server: Server,
    readiness: Readiness,
    store: StoreCell<NotificationStore>,
    database_url: String,
    follower: Follower,
}

impl Notifier {
    /// Binds the listening socket and prepares the (lazy) channel to orders; the store is
    /// opened and the event stream followed when [`Notifier::run`] starts.
    pub async fn bind(config: &Config) -> Result<Self, NotificationError> {
        let store = StoreCell::new();
        let mut server = Server::bind(NAME, &config.server, DEFAULT_PORT)
            .await?
            .add_service(
                NotificationServiceServer::new(NotificationApi::new(store.clone()))
                    .max_decoding_message_size(config.server.max_message_bytes)
                    .max_encoding_message_size(config.server.max_message_bytes),
            );
        let readiness = server.readiness();
        let orders = Upstream::connect(
            "orders",
            &chassis::config::split_addresses(&config.orders_addr),
            config.server.default_deadline(),
        )?;
        let follower = Follower::new(
            orders,
            Maildir::new(config.maildir()),
            config.mail_from.clone(),
            config.orders_reconnect_max(),
        );
        Ok(Self {
            server,
            readiness,
            store,
            database_url: config.database_url(),
            follower,
        })
    }

    /// The address it is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// Opens the store in the background (reporting `SERVING` once it is open), then follows
    /// the order event stream, and serves until `shutdown`.
    pub async fn run(self, shutdown: Shutdown) -> Result<(), NotificationError> {
        // The opener hands the store to the follower once, when it is ready.
        let (ready, opened) = tokio::sync::oneshot::channel::<NotificationStore>();
        let ready = Arc::new(Mutex::new(Some(ready)));
        let opener = chassis::store::open_in_background(
            self.database_url,
            MIGRATIONS,
            shutdown.clone(),
            self.readiness,
            self.store.clone(),
            move |pool| {
                let ready = ready.clone();
                async move {
                    let store = NotificationStore::new(pool);
                    if let Some(ready) = ready.lock().ok().and_then(|mut r| r.take()) {
                        let _ = ready.send(store.clone());
                    }
                    Ok(store)
                }
            },
        );
        let follower = self.follower;
        let stop = shutdown.clone();
        let following = tokio::spawn(async move {
            if let Ok(store) = opened.await {
                follower.run(store, stop).await;
            }
        });
        let result = self.server.serve(shutdown).await;
        opener.abort();
        // The follower stops between two events on shutdown; wait for it so that its last
        // write is done before the pool closes.
        if let Err(error) = following.await {
            tracing::error!(%error, "the event follower panicked");
        }
        if let Ok(store) = self.store.get() {
            store.pool().close().await;
        }
        Ok(result?)
    }
}

/// Runs the service as a process would: sets up logging, binds, serves until `shutdown`
/// (the binary passes one that fires on SIGINT or SIGTERM).
pub async fn serve(config: Config, shutdown: Shutdown) -> Result<(), NotificationError> {
    chassis::telemetry::init(&config.server);
    tracing::info!(service = NAME, ?config, "starting");
    let notifier = Notifier::bind(&config).await?;
    notifier.run(shutdown).await
}
