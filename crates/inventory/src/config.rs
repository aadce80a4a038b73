//! The inventory's settings: the shared server flags, where identity is (for the keys that
//! verify an admin's token on Restock), the store, and how often expired reservations are
//! swept.

use std::time::Duration;

use chassis::ServerArgs;
use chassis::config::IdentityArgs;
use clap::Parser;

/// Settings of the inventory service.
#[derive(Clone, Debug, Parser)]
#[command(
    name = "inventory",
    about = "The bazaar inventory service: stock levels and reservations with expiry."
)]
pub struct Config {
    /// Settings shared by every service.
    #[command(flatten)]
    pub server: ServerArgs,

    /// Where identity is, for the keys that verify callers' tokens.
    #[command(flatten)]
    pub identity: IdentityArgs,

    /// Database URL: `sqlite://FILE` or `postgres://USER@HOST:PORT/DB`. Defaults to
    /// `inventory.db` in the data directory.
    #[arg(long, env = "BAZAAR_INVENTORY_DATABASE_URL")]
    pub database_url: Option<chassis::config::StoreUrl>,

    /// How often, in milliseconds, reservations past their expiry are marked EXPIRED and
    /// old failed-reservation records are forgotten. Correctness does not depend on it:
    /// expired reservations stop counting the moment they expire.
    #[arg(
        long,
        env = "BAZAAR_INVENTORY_SWEEP_INTERVAL_MS",
        default_value_t = 5_000
    )]
    pub sweep_interval_ms: u64,
}

impl Config {
    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        self.server
            .store_url(self.database_url.as_ref(), "inventory.db")
    }

    /// The time between two sweeps (at least 10 ms).
    pub fn sweep_interval(&self) -> Duration {
        Duration::from_millis(self.sweep_interval_ms.max(10))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_run_locally() {
        let config = Config::parse_from(["inventory", "--data-dir", "d"]);
        assert_eq!(config.database_url(), "sqlite://d/inventory.db");
        assert_eq!(config.sweep_interval(), Duration::from_secs(5));
        assert_eq!(config.identity.identity_addr, "127.0.0.1:50053");
    }
}
