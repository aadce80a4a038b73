//! The recommendation service's settings: the shared server flags, where orders and the
//! catalog are, and how patient to be with them. It keeps no store.

use std::path::PathBuf;
use std::time::Duration;

use chassis::ServerArgs;
use clap::Parser;

/// Settings of the recommendation service.
#[derive(Clone, Debug, Parser)]
#[command(
    name = "recommendation",
    about = "The bazaar recommendation service: products bought together, from the same category, and best sellers."
)]
pub struct Config {
    /// Settings shared by every service.
    #[command(flatten)]
    pub server: ServerArgs,

    /// Address(es) of the orders service, comma-separated, whose event stream it learns
    /// from.
    #[arg(long, env = "BAZAAR_ORDERS_ADDR", default_value = "127.0.0.1:50058")]
    pub orders_addr: String,

    /// Address(es) of the catalog service, comma-separated, for product categories.
    #[arg(long, env = "BAZAAR_CATALOG_ADDR", default_value = "127.0.0.1:50051")]
    pub catalog_addr: String,

    /// Time, in milliseconds, that one ListRecommendations call gives the catalog in all;
    /// past it the answer goes without same-category products.
    #[arg(
        long,
        env = "BAZAAR_RECOMMENDATION_CATALOG_TIMEOUT_MS",
        default_value_t = 1_000
    )]
    pub catalog_timeout_ms: u64,

    /// Longest wait, in milliseconds, between two attempts to reconnect to the order event
    /// stream (the wait starts at 100 ms and doubles up to this).
    #[arg(
        long,
        env = "BAZAAR_RECOMMENDATION_ORDERS_RECONNECT_MAX_MS",
        default_value_t = 5_000
    )]
    pub orders_reconnect_max_ms: u64,
}

impl Config {
    /// Settings for a test: port 0, orders and catalog at the given addresses, reconnects at
    /// most 200 ms apart, defaults for the rest.
    pub fn for_tests(orders_addr: impl Into<String>, catalog_addr: impl Into<String>) -> Self {
        Self {
            server: ServerArgs::for_tests(PathBuf::from("data")),
            orders_addr: orders_addr.into(),
            catalog_addr: catalog_addr.into(),
            catalog_timeout_ms: 1_000,
            orders_reconnect_max_ms: 200,
        }
    }

    /// The catalog's share of one call.
    pub fn catalog_timeout(&self) -> Duration {
        Duration::from_millis(self.catalog_timeout_ms.max(1))
    }

    /// The longest wait between two reconnects.
    pub fn orders_reconnect_max(&self) -> Duration {
        Duration::from_millis(self.orders_reconnect_max_ms.max(1))
    }
}
