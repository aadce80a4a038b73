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
//! Replicas share nothing: each follows the whole stream (from any replica of orders) into
//! a model of its own and counts each event once in it, whatever the stream redelivers, so
//! replicas that have read the stream as far answer alike; one that has just started ranks
//! from less until it has caught up.
//!
//! Layout: [`domain`] (ids, context, reasons, cursors; no I/O), [`model`], [`ranking`],
//! [`catalog`], [`follower`], [`api`], [`error`], [`config`], `metrics` (its stream
//! position). [`Recommender`] is run by the chassis (`chassis::service`); tests run it the same way on port 0.
#![forbid(unsafe_code)]

pub mod api;
pub mod catalog;
pub mod config;
pub mod domain;
pub mod error;
pub mod follower;
mod metrics;
pub mod model;
pub mod ranking;

use std::sync::{Arc, Mutex, RwLock};

use bazaar_contract::recommendation::v1::recommendation_service_server::RecommendationServiceServer;
use chassis::Shutdown;
use chassis::service::{BoxError, Routes, Service, ServiceConfig, Setup};
use chassis::topology::{self, Spec};

pub use config::Config;
pub use error::RecommendationError;

use crate::api::RecommendationApi;
use crate::catalog::Catalog;
use crate::follower::Follower;
use crate::model::Model;

/// The recommendation service: a model rebuilt from the order event stream, in memory.
#[derive(Debug)]
pub struct Recommender {
    api: RecommendationApi,
    /// Taken by the background work when it starts.
    follower: Mutex<Option<Follower>>,
}

impl ServiceConfig for Config {
    fn server(&self) -> &chassis::ServerArgs {
        &self.server
    }
}

impl Service for Recommender {
    const SPEC: &'static Spec = &topology::RECOMMENDATION;
    type Config = Config;

    /// The channels to orders and catalog connect lazily: it starts while they are down.
    async fn build(config: &Config, setup: &mut Setup<'_>) -> Result<Self, BoxError> {
        let orders = setup.upstream("orders", &config.orders_addr)?;
        let catalog = setup.upstream("catalog", &config.catalog_addr)?;
        let model = Arc::new(RwLock::new(Model::new()));
        let api = RecommendationApi::new(
            model.clone(),
            Catalog::new(catalog, config.catalog_timeout()),
        );
        let follower = Follower::new(orders, model, config.orders_reconnect_max());
        Ok(Self {
            api,
            follower: Mutex::new(Some(follower)),
        })
    }

    fn routes(&self, routes: &mut Routes<'_>) {
        routes.add(RecommendationServiceServer::new(self.api.clone()));
    }

    /// Follows the order event stream into the model.
    async fn background(self: Arc<Self>, stop: Shutdown) {
        let follower = self.follower.lock().ok().and_then(|mut f| f.take());
        if let Some(follower) = follower {
            // Each event is an order already placed: following it continues accepted work.
            chassis::priority::continuation(follower.run(stop)).await;
        }
    }
}
