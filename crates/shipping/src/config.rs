//! shipping's settings.

use chassis::ServerArgs;
use clap::Parser;

/// Settings of the shipping service.
#[derive(Clone, Debug, Parser)]
#[command(
    name = "shipping",
    about = "The bazaar shipping service: quotes and shipments."
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
}
