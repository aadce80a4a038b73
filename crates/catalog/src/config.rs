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
    pub database_url: Option<String>,
}

impl Config {
    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| chassis::store::sqlite_url(&self.server.data_dir, "catalog.db"))
    }
}
