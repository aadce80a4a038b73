//! identity's settings: the shared server settings, where the data lives, who is an
//! admin, and how fast one client may sign up or log in.

use chassis::ServerArgs;
use clap::Parser;

use crate::domain::Admins;

/// Settings of the identity service.
#[derive(Clone, Parser)]
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
        self.database_url
            .clone()
            .unwrap_or_else(|| chassis::store::sqlite_url(&self.server.data_dir, "identity.db"))
    }

    /// The users who get the admin role.
    pub fn admins(&self) -> Admins {
        Admins::from_list(&self.admin_emails)
    }
}

/// The settings as logged at start: a password in the database URL is masked.
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("server", &self.server)
            .field("database_url", &mask_password(&self.database_url()))
            .field("admin_emails", &self.admin_emails)
            .field(
                "client_attempts_per_minute",
                &self.client_attempts_per_minute,
            )
            .finish()
    }
}

/// `scheme://user:secret@host/db` as `scheme://user:***@host/db`.
fn mask_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_owned();
    };
    match rest[..at].split_once(':') {
        Some((user, _secret)) => format!("{scheme}://{user}:***{}", &rest[at..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_passwords_are_not_logged() {
        assert_eq!(
            mask_password("postgres://bazaar:hunter2@db:5432/identity"),
            "postgres://bazaar:***@db:5432/identity"
        );
        assert_eq!(
            mask_password("postgres://bazaar@db/identity"),
            "postgres://bazaar@db/identity"
        );
        assert_eq!(
            mask_password("sqlite://data/identity.db"),
            "sqlite://data/identity.db"
        );
        let config =
            Config::parse_from(["identity", "--database-url", "postgres://u:hunter2@h/db"]);
        assert!(!format!("{config:?}").contains("hunter2"));
    }
}
