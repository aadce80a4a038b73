//! identity's settings: the shared server settings, where the data lives, who is an
//! admin, how fast one client may sign up or log in, how many passwords are hashed at
//! once, and how long ended sessions and idle guests are kept.

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

    /// Passwords hashed at once (sign-ups and log-ins; each Argon2id hash takes 19 MiB and
    /// one core for a moment); the others queue within their deadline. 0 means the number
    /// of cores, at least 2, at most 16.
    #[arg(
        long,
        env = "BAZAAR_IDENTITY_PASSWORD_HASH_PERMITS",
        default_value_t = 0
    )]
    pub password_hash_permits: usize,

    /// Days a guest is kept after its last session ended (guests cannot log in again, so
    /// an idle guest is of no use); 0 keeps guests for ever.
    #[arg(
        long,
        env = "BAZAAR_IDENTITY_GUEST_RETENTION_DAYS",
        default_value_t = 30
    )]
    pub guest_retention_days: u32,

    /// Days a session is kept after it expired or was logged out; 0 keeps sessions for ever.
    #[arg(
        long,
        env = "BAZAAR_IDENTITY_SESSION_RETENTION_DAYS",
        default_value_t = 7
    )]
    pub session_retention_days: u32,

    /// Seconds between two retention sweeps.
    #[arg(long, env = "BAZAAR_IDENTITY_SWEEP_EVERY_SECS", default_value_t = 600)]
    pub sweep_every_secs: u64,
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
