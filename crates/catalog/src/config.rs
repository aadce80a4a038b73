//! The catalog's settings: the shared server flags plus its store.

use chassis::ServerArgs;
use clap::Parser;

/// Settings of the catalog service.
#[derive(Clone, Debug, Parser)]
#[command(
    name = "catalog",
    about = "The bazaar catalog service: products, categories and search."
)]
pub struct Config {
    /// Settings shared by every service.
    #[command(flatten)]
    pub server: ServerArgs,

    /// Database URL: `sqlite://FILE` or `postgres://USER@HOST:PORT/DB`. Defaults to
    /// `catalog.db` in the data directory.
    #[arg(long, env = "BAZAAR_CATALOG_DATABASE_URL")]
    pub database_url: Option<chassis::config::StoreUrl>,
}

impl Config {
    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        self.server
            .store_url(self.database_url.as_ref(), "catalog.db")
    }
}
