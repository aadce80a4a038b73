//! identity's settings: the shared server settings, where the data lives, who is an
//! admin, and how fast one client may sign up or log in.

use chassis::ServerArgs;
use clap::Parser;

use crate::domain::Admins;

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
    pub database_url: Option<chassis::config::StoreUrl>,

    /// Emails of the users who get the admin role, comma-separated (compared
    /// case-insensitively). Admin is granted here only, never through the API.
    #[arg(long, env = "BAZAAR_IDENTITY_ADMIN_EMAILS", default_value = "")]
    pub admin_emails: String,

    /// Sign-ups, log-ins and guest sessions allowed per client IP address per minute, in
    /// bursts of up to this many (a token bucket per address, per replica); 0 means no limit.
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
        self.server
            .store_url(self.database_url.as_ref(), "identity.db")
    }

    /// The users who get the admin role.
    pub fn admins(&self) -> Admins {
        Admins::from_list(&self.admin_emails)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_passwords_are_not_logged() {
        let config =
            Config::parse_from(["identity", "--database-url", "postgres://u:hunter2@h/db"]);
        assert!(!format!("{config:?}").contains("hunter2"));
    }
}
