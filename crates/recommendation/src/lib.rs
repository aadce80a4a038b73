//! The recommendation service: products to show next to a product page or a cart.
//!
//! It learns which products are bought together, and which sell best, from the placed
//! orders of `bazaar.orders.v1.OrdersService.StreamOrderEvents` ([`follower`] into
//! [`model`], in memory, rebuilt from the stream on every start), reads categories from the
//! catalog ([`catalog`]), and ranks ([`ranking`]): bought together, then same category, then
//! best sellers.
//!
//! It is an optional feature of the shop and depends on nothing to answer: with orders down
//! it ranks from what it has learnt (or from the catalog alone), with the catalog down it
//! ranks without categories. It keeps no store, so it reports `SERVING` as soon as it
//! listens.
//!
//! Layout: [`domain`] (ids, context, reasons, cursors; no I/O), [`model`], [`ranking`],
//! [`catalog`], [`follower`], [`api`], [`error`], [`config`]. [`Recommender::bind`] then
//! [`Recommender::run`] is the whole life of a process; tests do the same on port 0.
#![forbid(unsafe_code)]

pub mod api;
pub mod catalog;
pub mod config;
pub mod domain;
pub mod error;
pub mod follower;
pub mod model;
pub mod ranking;

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use bazaar_contract::recommendation::v1::recommendation_service_server::RecommendationServiceServer;
use chassis::client::Upstream;
use chassis::config::split_addresses;
use chassis::{Server, Shutdown};

pub use config::Config;
pub use error::RecommendationError;

use crate::api::RecommendationApi;
use crate::catalog::Catalog;
use crate::follower::Follower;
use crate::model::Model;

/// The service's name, as `bazaar serve` and the logs know it.
pub const NAME: &str = "recommendation";
/// The port it listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 50060;

/// A recommendation service bound to its address, not yet serving.
#[derive(Debug)]
pub struct Recommender {
    server: Server,
    follower: Follower,
}

impl Recommender {
    /// Binds the listening socket and prepares the (lazy) channels to orders and catalog.
    pub async fn bind(config: &Config) -> Result<Self, RecommendationError> {
        let deadline = config.server.default_deadline();
        let orders = Upstream::connect("orders", &split_addresses(&config.orders_addr), deadline)?;
        let catalog =
            Upstream::connect("catalog", &split_addresses(&config.catalog_addr), deadline)?;
        let model = Arc::new(RwLock::new(Model::new()));
        let api = RecommendationApi::new(
            model.clone(),
            Catalog::new(catalog, config.catalog_timeout()),
        );
        let server = Server::bind(NAME, &config.server, DEFAULT_PORT)
            .await?
            .add_service(
                RecommendationServiceServer::new(api)
                    .max_decoding_message_size(config.server.max_message_bytes)
                    .max_encoding_message_size(config.server.max_message_bytes),
            );
        let follower = Follower::new(orders, model, config.orders_reconnect_max());
        Ok(Self { server, follower })
    }

    /// The address it is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// Follows the order event stream and serves until `shutdown`.
    pub async fn run(self, shutdown: Shutdown) -> Result<(), RecommendationError> {
        let following = tokio::spawn(self.follower.run(shutdown.clone()));
        let result = self.server.serve(shutdown).await;
        if let Err(error) = following.await {
            tracing::error!(%error, "the event follower panicked");
        }
        Ok(result?)
    }
}

/// Runs the service as a process would: sets up logging, binds, serves until `shutdown`
/// (the binary passes one that fires on SIGINT or SIGTERM).
pub async fn serve(config: Config, shutdown: Shutdown) -> Result<(), RecommendationError> {
    chassis::telemetry::init(&config.server);
    tracing::info!(service = NAME, ?config, "starting");
    let recommender = Recommender::bind(&config).await?;
    recommender.run(shutdown).await
}
