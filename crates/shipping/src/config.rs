//! The shipping service's settings: the shared server flags, where identity is, and its
//! store.
//!
//! GetQuote is public and shipments are for orders, but a shipment may also be read with
//! an admin's token, so shipping verifies tokens with identity's keys.

use chassis::ServerArgs;
use chassis::config::IdentityArgs;
use clap::Parser;

/// Settings of the shipping service.
#[derive(Clone, Debug, Parser)]
#[command(
    name = "shipping",
    about = "The bazaar shipping service: shipping quotes and shipments."
)]
pub struct Config {
    /// Settings shared by every service.
    #[command(flatten)]
    pub server: ServerArgs,

    /// Where identity is, for the keys that verify callers' tokens (an admin's, or a
    /// shopper's).
    #[command(flatten)]
    pub identity: IdentityArgs,

    /// Database URL: `sqlite://FILE` or `postgres://USER@HOST:PORT/DB`. Defaults to
    /// `shipping.db` in the data directory.
    #[arg(long, env = "BAZAAR_SHIPPING_DATABASE_URL")]
    pub database_url: Option<chassis::config::StoreUrl>,
}

impl Config {
    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        self.server
            .store_url(self.database_url.as_ref(), "shipping.db")
    }

    /// The settings a test wants: port 0, data in `data_dir`, defaults elsewhere.
    pub fn for_tests(
        data_dir: impl Into<std::path::PathBuf>,
        database_url: Option<String>,
    ) -> Self {
        Self {
            server: ServerArgs::for_tests(data_dir),
            identity: IdentityArgs {
                // Tests give the service a verifier of their own; nothing listens here.
                identity_addr: "127.0.0.1:1".to_owned(),
                signing_keys_refresh_secs: 600,
            },
            database_url: database_url.map(Into::into),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_run_locally() {
        let config = Config::parse_from(["shipping", "--data-dir", "d"]);
        assert_eq!(config.database_url(), "sqlite://d/shipping.db");
    }

    #[test]
    fn passwords_in_database_urls_are_not_logged() {
        let config = Config::parse_from(["shipping", "--database-url", "postgres://u:pw@h:1/s"]);
        let logged = format!("{config:?}");
        assert!(!logged.contains("pw"), "{logged}");
        assert!(logged.contains("postgres://u:***@h:1/s"), "{logged}");
    }
}
