//! Where carts are kept: a SQL database (SQLite or PostgreSQL) or Redis, behind one small
//! trait, [`CartStore`].
//!
//! The store knows nothing of the cart's rules. It reads carts and remembered AddItem
//! calls, and [`CartStore::commit`]s a set of writes atomically, only if every cart and
//! record written still has the version it was read at (optimistic concurrency). The
//! rules live in [`crate::domain`] and the read–decide–commit loop in [`crate::carts`],
//! written once for every backend.
//!
//! The URL picks the backend: `redis://` (or `rediss://`) for Redis, anything else for SQL.
//! Either way the store is opened in the background: the service reports `NOT_SERVING`
//! and keeps retrying until it is reachable.

pub mod redis;
pub mod sql;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::domain::{Cart, Rejection};
use crate::error::CartError;

/// The embedded SQL migrations, the same versions for both backends.
pub const MIGRATIONS: chassis::store::Migrations =
    chassis::migrations![1 => "cart", "0001_cart", 2 => "request expiry", "0002_request_expiry"];

/// What an AddItem call came to: remembered with its `request_id` and replayed to retries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// The item was added; the cart right after.
    Added(Cart),
    /// A limit refused it.
    Rejected(Rejection),
}

/// A remembered AddItem call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// Bumped when an expired record is replaced by a new call with the same id.
    pub version: i64,
    /// The call's parameters, to tell a retry from a reuse of the id.
    pub fingerprint: String,
    /// What came of it.
    pub outcome: Outcome,
    /// When it may be forgotten, in milliseconds since the Unix epoch.
    pub expires_at_ms: i64,
}

/// A cart to write, if it is still at `expected_version` (0: never written).
#[derive(Clone, Debug)]
pub struct CartWrite {
    /// Whose cart.
    pub owner: String,
    /// The version read.
    pub expected_version: i64,
    /// The new cart, with its new version.
    pub cart: Cart,
}

/// An AddItem record to write, if it is still at `expected_version` (0: none).
#[derive(Clone, Debug)]
pub struct RequestWrite {
    /// Whose call.
    pub owner: String,
    /// The `request_id` of the AddItem call; with `owner`, the key of its record.
    pub request_id: String,
    /// The version read.
    pub expected_version: i64,
    /// The new record, with its new version.
    pub record: RequestRecord,
}

/// Writes that happen together or not at all.
#[derive(Clone, Debug, Default)]
pub struct Commit {
    /// Carts to write.
    pub carts: Vec<CartWrite>,
    /// An AddItem record to write.
    pub request: Option<RequestWrite>,
    /// Now, in milliseconds since the Unix epoch (to purge expired records).
    pub now_ms: i64,
}

impl Commit {
    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.carts.is_empty() && self.request.is_none()
    }
}

/// Persistence of carts and AddItem records, with optimistic concurrency.
#[async_trait::async_trait]
pub trait CartStore: Send + Sync + std::fmt::Debug {
    /// The cart of `owner`; an empty one at version 0 if it was never written.
    async fn cart(&self, owner: &str) -> Result<Cart, CartError>;

    /// The AddItem record of `owner` and `request_id`, expired or not.
    async fn request(
        &self,
        owner: &str,
        request_id: &str,
    ) -> Result<Option<RequestRecord>, CartError>;

    /// Writes everything in `commit` atomically if every written cart and record is still
    /// at its expected version; returns `false`, having written nothing, otherwise.
    async fn commit(&self, commit: &Commit) -> Result<bool, CartError>;

    /// Deletes AddItem records that expired before `now_ms`, at most `limit` of them;
    /// returns how many it deleted (fewer than `limit`: none are left). A store whose
    /// records expire by themselves (Redis) deletes nothing.
    async fn sweep_requests(&self, now_ms: i64, limit: u32) -> Result<u64, CartError>;

    /// Whether the store can be used now: SQL takes a write (`chassis::store::check`),
    /// Redis answers `PING`. The service is `NOT_SERVING` while it fails.
    async fn check(&self) -> Result<(), Box<dyn std::error::Error + Send + Sync>>;

    /// Releases connections.
    async fn close(&self);
}

/// The store the service uses, shared by every handler.
pub type SharedStore = Arc<dyn CartStore>;

/// Where carts are kept, as the store URL says; parsed when the service binds, so a URL
/// that names no store fails the start instead of leaving the service `NOT_SERVING`.
#[derive(Clone)]
pub enum Location {
    /// A SQL database (`sqlite:` or `postgres://` URL).
    Sql(String),
    /// A Redis server, every key starting with `prefix`.
    Redis {
        /// The server.
        client: ::redis::Client,
        /// The prefix of every key.
        prefix: String,
    },
}

// By hand: the URL may hold a password, and the location ends up in logs.
impl std::fmt::Debug for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Sql(_) => f.write_str("Sql"),
            Location::Redis { prefix, .. } => {
                f.debug_struct("Redis").field("prefix", prefix).finish()
            }
        }
    }
}

/// A store URL that names no store the cart can use.
#[derive(Debug, thiserror::Error)]
pub enum BadStoreUrl {
    /// A `redis://` URL the Redis client cannot read.
    #[error("bad Redis URL")]
    Redis(#[source] ::redis::RedisError),
    /// Neither Redis nor a supported SQL database.
    #[error(transparent)]
    Sql(#[from] chassis::store::StoreError),
}

impl Location {
    /// The store `url` names: `redis://` (or `rediss://`, `redis+unix:`) for Redis, with
    /// keys under `redis_key_prefix`; `sqlite:` or `postgres://` for SQL.
    pub fn parse(url: &str, redis_key_prefix: &str) -> Result<Self, BadStoreUrl> {
        if redis::is_redis_url(url) {
            let client = ::redis::Client::open(url).map_err(BadStoreUrl::Redis)?;
            Ok(Location::Redis {
                client,
                prefix: redis_key_prefix.to_owned(),
            })
        } else {
            chassis::store::Backend::of(url)?;
            Ok(Location::Sql(url.to_owned()))
        }
    }
}

impl Location {
    /// Opens the store: connects (and migrates, for SQL), once; the service runner retries
    /// with backoff while the server is not reachable.
    pub async fn open(&self) -> Result<SharedStore, Box<dyn std::error::Error + Send + Sync>> {
        Ok(match self {
            Location::Redis { client, prefix } => {
                Arc::new(redis::RedisCartStore::connect(client.clone(), prefix).await?)
            }
            Location::Sql(url) => {
                let pool = chassis::store::open(url, &MIGRATIONS).await?;
                Arc::new(sql::SqlCartStore::new(pool))
            }
        })
    }
}
