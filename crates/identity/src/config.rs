//! identity's settings.

use chassis::ServerArgs;
use clap::Parser;

/// Settings of the identity service.
#[derive(Clone, Debug, Parser)]
#[command(
    name = "identity",
    about = "The bazaar identity service: users, sessions and tokens."
)]
pub struct Config {
    /// Settings shared by every service.
    #[command(flatten)]
    pub server: ServerArgs,

    /// Database URL: `sqlite://FILE` or `postgres://USER@HOST:PORT/DB`. Defaults to
    /// `identity.db` in the data directory.
    #[arg(long, env = "BAZAAR_IDENTITY_DATABASE_URL")]
    pub database_url: Option<String>,

    /// Emails of the users who get the admin role, comma-separated.
    #[arg(long, env = "BAZAAR_IDENTITY_ADMIN_EMAILS", default_value = "")]
    pub admin_emails: String,

    /// Sign-ups, log-ins and guest sessions allowed per client address per minute.
    #[arg(
        long,
        env = "BAZAAR_IDENTITY_CLIENT_ATTEMPTS_PER_MINUTE",
        default_value_t = 600
    )]
    pub client_attempts_per_minute: u32,
}

impl Config {
    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| chassis::store::sqlite_url(&self.server.data_dir, "identity.db"))
    }

    /// The admin emails, normalized.
    pub fn admins(&self) -> Vec<String> {
        chassis::config::split_addresses(&self.admin_emails)
            .into_iter()
            .map(|email| email.to_lowercase())
            .collect()
    }
}
