//! The cart's settings: the shared server flags, where identity is (for its token keys),
//! and the store.

use chassis::ServerArgs;
use chassis::config::IdentityArgs;
use clap::Parser;

/// Settings of the cart service.
#[derive(Clone, Debug, Parser)]
#[command(
    name = "cart",
    about = "The bazaar cart service: the shopping carts of users and guests."
)]
pub struct Config {
    /// Settings shared by every service.
    #[command(flatten)]
    pub server: ServerArgs,

    /// Where identity is, for the keys that verify callers' tokens.
    #[command(flatten)]
    pub identity: IdentityArgs,

    /// Store URL: `sqlite://FILE`, `postgres://USER@HOST:PORT/DB` or
    /// `redis://HOST:PORT[/DB]`. Defaults to `cart.db` in the data directory.
    #[arg(long, env = "BAZAAR_CART_DATABASE_URL")]
    pub database_url: Option<chassis::config::StoreUrl>,

    /// Prefix of every Redis key the cart writes (when the store is Redis), so that several
    /// deployments or tests can share one Redis.
    #[arg(
        long,
        env = "BAZAAR_CART_REDIS_KEY_PREFIX",
        default_value = "bazaar:cart:"
    )]
    pub redis_key_prefix: String,

    /// How long, in seconds, an AddItem `request_id` is remembered (at least 86400: the
    /// contract promises 24 hours). Older records are deleted by a background sweep (SQL)
    /// or expire by themselves (Redis key expiry).
    #[arg(
        long,
        env = "BAZAAR_CART_REQUEST_RETENTION_SECS",
        default_value_t = 86_400
    )]
    pub request_retention_secs: u64,

    /// How often, in milliseconds, records older than the retention are swept from a SQL
    /// store.
    #[arg(
        long,
        env = "BAZAAR_CART_REQUEST_SWEEP_INTERVAL_MS",
        default_value_t = 600_000
    )]
    pub request_sweep_interval_ms: u64,
}

impl Config {
    /// How long AddItem request ids are remembered, in milliseconds: the setting, never
    /// less than the contract's 24 hours.
    pub fn request_retention_ms(&self) -> i64 {
        i64::try_from(self.request_retention_secs.saturating_mul(1_000))
            .unwrap_or(i64::MAX)
            .max(crate::domain::REQUEST_ID_RETENTION_MS)
    }

    /// How often expired request records are swept.
    pub fn request_sweep_interval(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.request_sweep_interval_ms.max(10))
    }

    /// The store URL in effect.
    pub fn database_url(&self) -> String {
        self.server.store_url(self.database_url.as_ref(), "cart.db")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_run_locally() {
        let config = Config::parse_from(["cart", "--data-dir", "d"]);
        assert_eq!(config.database_url(), "sqlite://d/cart.db");
        assert_eq!(config.redis_key_prefix, "bazaar:cart:");
        assert_eq!(config.identity.identity_addr, "127.0.0.1:50053");
        assert_eq!(config.request_retention_ms(), 86_400_000);
        let shorter = Config::parse_from(["cart", "--request-retention-secs", "60"]);
        assert_eq!(
            shorter.request_retention_ms(),
            86_400_000,
            "the contract's 24 h"
        );
    }

    #[test]
    fn passwords_in_store_urls_are_not_logged() {
        let config = Config::parse_from(["cart", "--database-url", "redis://u:pw@h:1/2"]);
        let logged = format!("{config:?}");
        assert!(!logged.contains("pw"), "{logged}");
        assert!(logged.contains("redis://u:***@h:1/2"), "{logged}");
    }
}
