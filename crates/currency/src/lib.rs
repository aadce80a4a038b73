//! The currency service: exchange rates and exact conversion of money.
//!
//! Its "store" is a dated rate table shipped inside the binary (`data/rates.json`), so it
//! has nothing to wait for and is ready as soon as it listens. It calls no other service.
//! Currency is an optional feature of the shop: callers fall back to US dollars without it.
//!
//! Layout: [`domain`] holds the arithmetic (integers only, no floats), [`api`] the gRPC
//! face, [`config`] the settings.
#![forbid(unsafe_code)]

pub mod api;
pub mod config;
pub mod domain;

use bazaar_contract::currency::v1::currency_service_server::CurrencyServiceServer;
use chassis::service::{BoxError, Routes, Service, ServiceConfig, Setup};
use chassis::topology::{self, Spec};

pub use config::Config;

use crate::api::CurrencyApi;
use crate::domain::RateTable;

/// The currency service: its rate table, loaded once, behind the gRPC API.
#[derive(Debug)]
pub struct Currency {
    table: RateTable,
}

impl ServiceConfig for Config {
    fn server(&self) -> &chassis::ServerArgs {
        &self.server
    }
}

impl Service for Currency {
    const SPEC: &'static Spec = &topology::CURRENCY;
    type Config = Config;

    /// Loads the shipped table: a broken one fails the start (and every build's tests).
    async fn build(_config: &Config, _setup: &mut Setup<'_>) -> Result<Self, BoxError> {
        let table = RateTable::shipped()?;
        tracing::info!(
            currencies = table.len(),
            date = table.date(),
            "rate table loaded"
        );
        Ok(Self { table })
    }

    fn routes(&self, routes: &mut Routes<'_>) {
        routes.add(CurrencyServiceServer::new(CurrencyApi::new(
            self.table.clone(),
        )));
    }
}
