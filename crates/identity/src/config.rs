//! identity's settings: the shared server settings, where the data lives, the key that
//! seals the signing keys, how fast one client may sign up or log in, how many passwords
//! are hashed at once, and how long ended sessions and idle guests are kept.

use std::convert::Infallible;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use chassis::ServerArgs;
use clap::Parser;

use crate::seal::{KekError, KeyEncryptionKey};

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

    /// The key-encryption key that seals the signing keys at rest: the base64 of 32
    /// random bytes (`head -c 32 /dev/urandom | base64`). Prefer the environment variable
    /// or a file: a flag's value is visible to every user of the machine in the process
    /// list.
    #[arg(
        long,
        env = "BAZAAR_IDENTITY_KEY_ENCRYPTION_KEY",
        hide_env_values = true,
        conflicts_with = "key_encryption_key_file"
    )]
    pub key_encryption_key: Option<KekText>,

    /// A file holding the key-encryption key (base64 of 32 bytes), readable and writable
    /// by its owner only (mode 0600 or 0400): identity refuses any other. `bazaar up` makes
    /// `<data-dir>/identity.kek` when no key is given.
    #[arg(long, env = "BAZAAR_IDENTITY_KEY_ENCRYPTION_KEY_FILE")]
    pub key_encryption_key_file: Option<PathBuf>,

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

    /// The key-encryption key, from the variable (or flag) or the file.
    pub fn key_encryption_key(&self) -> Result<KeyEncryptionKey, KekError> {
        match (&self.key_encryption_key, &self.key_encryption_key_file) {
            (Some(text), _) => KeyEncryptionKey::from_base64(&text.0),
            (None, Some(path)) => KeyEncryptionKey::from_file(path),
            (None, None) => Err(KekError::Missing),
        }
    }
}

/// The text of a key-encryption key as configured; its `Debug` (which the logged
/// configuration uses) never shows it.
#[derive(Clone)]
pub struct KekText(String);

impl fmt::Debug for KekText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl FromStr for KekText {
    type Err = Infallible;

    /// Any text: it is checked when identity starts, so that a malformed key is never
    /// echoed in an argument error.
    fn from_str(text: &str) -> Result<Self, Infallible> {
        Ok(Self(text.to_owned()))
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

    #[test]
    fn the_key_encryption_key_is_never_logged() {
        let key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
        let config = Config::parse_from(["identity", "--key-encryption-key", key]);
        assert!(!format!("{config:?}").contains("MDEy"));
        config.key_encryption_key().unwrap();
        let missing = Config::parse_from(["identity"]).key_encryption_key();
        assert!(matches!(missing, Err(KekError::Missing)));
        assert!(
            Config::try_parse_from([
                "identity",
                "--key-encryption-key",
                key,
                "--key-encryption-key-file",
                "/k"
            ])
            .is_err()
        );
    }
}
