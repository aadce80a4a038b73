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
}

impl Config {
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
    }

    #[test]
    fn passwords_in_store_urls_are_not_logged() {
        let config = Config::parse_from(["cart", "--database-url", "redis://u:pw@h:1/2"]);
        let logged = format!("{config:?}");
        assert!(!logged.contains("pw"), "{logged}");
        assert!(logged.contains("redis://u:***@h:1/2"), "{logged}");
    }
}
