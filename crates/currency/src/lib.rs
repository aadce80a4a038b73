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

use std::net::SocketAddr;

use bazaar_contract::currency::v1::currency_service_server::CurrencyServiceServer;
use chassis::server::ServeError;
use chassis::{Server, Shutdown};

pub use config::Config;

use crate::api::CurrencyApi;
use crate::domain::RateTable;

/// The service's name, as `bazaar serve` and the logs know it.
pub const NAME: &str = "currency";
/// The port it listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 50052;

/// A currency service bound to its address, not yet serving.
#[derive(Debug)]
pub struct CurrencyService {
    server: Server,
}

/// Why the service cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The shipped table is broken (a build that should never pass its tests).
    #[error("the shipped rate table is invalid")]
    Table(#[from] domain::TableError),
    /// The server could not be bound or run.
    #[error(transparent)]
    Serve(#[from] ServeError),
}

impl CurrencyService {
    /// Loads the shipped table and binds the listening socket.
    pub async fn bind(config: &Config) -> Result<Self, StartError> {
        let table = RateTable::shipped()?;
        tracing::info!(
            currencies = table.len(),
            date = table.date(),
            "rate table loaded"
        );
        let server = Server::bind(NAME, &config.server, DEFAULT_PORT)
            .await?
            .add_service(
                CurrencyServiceServer::new(CurrencyApi::new(table))
                    .max_decoding_message_size(config.server.max_message_bytes)
                    .max_encoding_message_size(config.server.max_message_bytes),
            );
        Ok(Self { server })
    }

    /// The address it is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// Serves until `shutdown`.
    pub async fn run(self, shutdown: Shutdown) -> Result<(), StartError> {
        Ok(self.server.serve(shutdown).await?)
    }
}

/// Runs the service as a process would: sets up logging, binds, serves until `shutdown`
/// (the binary passes one that fires on SIGINT or SIGTERM).
pub async fn serve(config: Config, shutdown: Shutdown) -> Result<(), StartError> {
    chassis::telemetry::init(&config.server);
    tracing::info!(service = NAME, ?config, "starting");
    let service = CurrencyService::bind(&config).await?;
    service.run(shutdown).await
}
