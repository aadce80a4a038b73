//! The notification service's settings: the shared server flags, where identity is (for
//! the keys that verify shoppers' tokens), its store, its Maildir folder, the sender
//! address, and where orders is.

use std::path::PathBuf;
use std::time::Duration;

use chassis::ServerArgs;
use chassis::config::IdentityArgs;
use clap::Parser;

use crate::domain::MailFrom;

/// Settings of the notification service.
#[derive(Clone, Debug, Parser)]
#[command(
    name = "notification",
    about = "The bazaar notification service: order confirmation emails, written to a Maildir folder."
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
    /// `notification.db` in the data directory.
    #[arg(long, env = "BAZAAR_NOTIFICATION_DATABASE_URL")]
    pub database_url: Option<chassis::config::StoreUrl>,

    /// Maildir folder the emails are written to (its `tmp`, `new` and `cur` directories are
    /// created). Defaults to `maildir` in the data directory.
    #[arg(long, env = "BAZAAR_NOTIFICATION_MAILDIR")]
    pub maildir: Option<PathBuf>,

    /// The `From` of every email, as an RFC 5322 mailbox.
    #[arg(
        long,
        env = "BAZAAR_NOTIFICATION_MAIL_FROM",
        default_value = crate::domain::DEFAULT_MAIL_FROM,
        value_parser = MailFrom::parse
    )]
    pub mail_from: MailFrom,

    /// Address(es) of the orders service, comma-separated, whose event stream is followed.
    #[arg(long, env = "BAZAAR_ORDERS_ADDR", default_value = "127.0.0.1:50058")]
    pub orders_addr: String,

    /// Longest wait, in milliseconds, between two attempts to reconnect to the order event
    /// stream (the wait starts at 100 ms and doubles up to this).
    #[arg(
        long,
        env = "BAZAAR_NOTIFICATION_ORDERS_RECONNECT_MAX_MS",
        default_value_t = 5_000
    )]
    pub orders_reconnect_max_ms: u64,
}

impl Config {
    /// Settings for a test: port 0, data in `data_dir`, orders at `orders_addr`, reconnects
    /// at most 200 ms apart, defaults for the rest.
    pub fn for_tests(data_dir: impl Into<PathBuf>, orders_addr: impl Into<String>) -> Self {
        Self {
            server: ServerArgs::for_tests(data_dir),
            identity: IdentityArgs {
                // Tests give the service a verifier of their own; nothing listens here.
                identity_addr: "127.0.0.1:1".to_owned(),
                signing_keys_refresh_secs: 600,
            },
            database_url: None,
            maildir: None,
            mail_from: MailFrom::default(),
            orders_addr: orders_addr.into(),
            orders_reconnect_max_ms: 200,
        }
    }

    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        self.server
            .store_url(self.database_url.as_ref(), "notification.db")
    }

    /// The Maildir folder in effect.
    pub fn maildir(&self) -> PathBuf {
        self.maildir
            .clone()
            .unwrap_or_else(|| self.server.data_dir.join("maildir"))
    }

    /// The longest wait between two reconnects.
    pub fn orders_reconnect_max(&self) -> Duration {
        Duration::from_millis(self.orders_reconnect_max_ms.max(1))
    }
}
