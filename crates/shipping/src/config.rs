//! The shipping service's settings: the shared server flags plus its store.
//!
//! Every RPC of shipping is public (GetQuote) or internal (the rest): none reads a caller
//! token, so it needs no identity address.

use chassis::ServerArgs;
use clap::Parser;

/// Settings of the shipping service.
#[derive(Clone, Parser)]
#[command(
    name = "shipping",
    about = "The bazaar shipping service: shipping quotes and shipments."
)]
pub struct Config {
    /// Settings shared by every service.
    #[command(flatten)]
    pub server: ServerArgs,

    /// Database URL: `sqlite://FILE` or `postgres://USER@HOST:PORT/DB`. Defaults to
    /// `shipping.db` in the data directory.
    #[arg(long, env = "BAZAAR_SHIPPING_DATABASE_URL")]
    pub database_url: Option<String>,
}

impl Config {
    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| chassis::store::sqlite_url(&self.server.data_dir, "shipping.db"))
    }

    /// The settings a test wants: port 0, data in `data_dir`, defaults elsewhere.
    pub fn for_tests(
        data_dir: impl Into<std::path::PathBuf>,
        database_url: Option<String>,
    ) -> Self {
        Self {
            server: ServerArgs::for_tests(data_dir),
            database_url,
        }
    }
}

// By hand: the effective configuration is logged at start, and a database URL may carry
// a password.
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("server", &self.server)
            .field("database_url", &redacted(&self.database_url()))
            .finish()
    }
}

/// `url` with the password of its user info, if any, replaced by `***`.
fn redacted(url: &str) -> String {
    let Some(start) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let end = url[start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| start + i);
    let authority = &url[start..end];
    match (authority.rfind('@'), authority.find(':')) {
        (Some(at), Some(colon)) if colon < at => {
            format!("{}***{}", &url[..start + colon + 1], &url[start + at..])
        }
        _ => url.to_owned(),
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
        for (url, shown) in [
            (
                "postgres://ship:secret@db/ship",
                "postgres://ship:***@db/ship",
            ),
            (
                "postgres://ship@db:5432/ship",
                "postgres://ship@db:5432/ship",
            ),
            ("sqlite://data/shipping.db", "sqlite://data/shipping.db"),
        ] {
            assert_eq!(redacted(url), shown);
        }
        let config = Config::parse_from(["shipping", "--database-url", "postgres://u:pw@h:1/s"]);
        let logged = format!("{config:?}");
        assert!(!logged.contains("pw"), "{logged}");
        assert!(logged.contains("postgres://u:***@h:1/s"), "{logged}");
    }
}
