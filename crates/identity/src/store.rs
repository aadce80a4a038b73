//! What identity remembers, in SQL (SQLite by default, PostgreSQL at scale): users (with
//! their Argon2id password hashes), sessions (refresh tokens only as SHA-256 hashes),
//! signing keys (sealed, see [`crate::seal`]), failed log-ins, and admin codes (in
//! [`crate::admin`]).
//!
//! Everything goes through sqlx `Any` with `$N` placeholders, so the same SQL runs on both
//! backends; times are BIGINT milliseconds since the Unix epoch, ids are TEXT. Failed
//! log-ins live here rather than in memory so that every replica counts them together.

use sqlx::{AnyPool, Row};

/// The migrations, both backends, same versions.
pub const MIGRATIONS: chassis::store::Migrations = chassis::migrations![
    1 => "identity", "0001_identity",
    2 => "login failures by time", "0002_login_failures_by_time",
    3 => "sealed signing keys", "0003_sealed_signing_keys",
    4 => "admin codes", "0004_admin_codes",
    5 => "throttle per client and retention", "0005_throttle_per_client_and_retention",
];

/// A user as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRecord {
    /// Opaque id.
    pub id: String,
    /// "user" or "guest".
    pub kind: String,
    /// Normalized email; `None` for guests.
    pub email: Option<String>,
    /// Name to greet the user with, 0..=100 characters; may be empty.
    pub display_name: String,
    /// Creation time, ms.
    pub create_ms: i64,
    /// Since when the user is an admin, ms; `None` if not.
    pub admin_since_ms: Option<i64>,
}

/// A session as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRecord {
    /// Opaque id (`sid`).
    pub id: String,
    /// The user or guest it acts for.
    pub user_id: String,
    /// Start, ms.
    pub create_ms: i64,
    /// End of life, ms.
    pub expire_ms: i64,
    /// When it was logged out, if it was.
    pub end_ms: Option<i64>,
}

impl SessionRecord {
    /// Whether the session can still be used at `now`.
    pub fn is_open(&self, now_ms: i64) -> bool {
        self.end_ms.is_none() && now_ms < self.expire_ms
    }
}

/// A signing key as stored.
#[derive(Clone, Debug)]
pub struct KeyRecord {
    /// The `kid` of the tokens signed with it.
    pub key_id: String,
    /// The 32-byte Ed25519 seed as stored: sealed (see [`crate::seal`]) if `sealed`, in
    /// clear otherwise (only in stores from before keys were sealed, until the next start).
    pub private_seed: Vec<u8>,
    /// Whether `private_seed` is sealed.
    pub sealed: bool,
    /// The 32-byte public key.
    pub public_key: Vec<u8>,
    /// Creation time, ms.
    pub create_ms: i64,
}

/// The public half of a signing key, as listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKeyRecord {
    /// The `kid` of the tokens signed with it.
    pub key_id: String,
    /// The 32-byte public key.
    pub public_key: Vec<u8>,
    /// Creation time, ms.
    pub create_ms: i64,
}

/// Adding a user failed because the email is taken.
#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    /// An account with this email exists.
    #[error("email taken")]
    EmailTaken,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] sqlx::Error),
}

/// Users, sessions, signing keys and failed log-ins, on SQLite or PostgreSQL; clones share
/// the pool.
#[derive(Clone, Debug)]
pub struct IdentityStore {
    pool: AnyPool,
}

const USER_COLUMNS: &str = "id, kind, email, display_name, create_ms, admin_since_ms";
const SESSION_COLUMNS: &str = "id, user_id, create_ms, expire_ms, end_ms";

impl IdentityStore {
    /// Wraps a migrated pool.
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    /// The pool, for closing.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Adds a user (with its password hash, for registered users).
    pub async fn create_user(
        &self,
        user: &UserRecord,
        password_hash: Option<&str>,
    ) -> Result<(), CreateUserError> {
        let result = sqlx::query(
            "INSERT INTO users (id, kind, email, password_hash, display_name, create_ms) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&user.id)
        .bind(&user.kind)
        .bind(user.email.as_deref())
        .bind(password_hash)
        .bind(&user.display_name)
        .bind(user.create_ms)
        .execute(&self.pool)
        .await;
        match result {
            Ok(_) => Ok(()),
            Err(sqlx::Error::Database(error)) if error.is_unique_violation() => {
                Err(CreateUserError::EmailTaken)
            }
            Err(error) => Err(error.into()),
        }
    }

    /// A registered user and its password hash, by normalized email.
    pub async fn user_by_email(
        &self,
        email: &str,
    ) -> Result<Option<(UserRecord, String)>, sqlx::Error> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS}, password_hash FROM users WHERE email = $1"
        ))
        .bind(email)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| Ok((user_from_row(&row)?, row.try_get("password_hash")?)))
            .transpose()
    }

    /// A user by id.
    pub async fn user(&self, id: &str) -> Result<Option<UserRecord>, sqlx::Error> {
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// Opens a session; `refresh_hash` is the SHA-256 of its refresh token.
    pub async fn create_session(
        &self,
        session: &SessionRecord,
        refresh_hash: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO sessions (id, user_id, refresh_hash, create_ms, expire_ms, end_ms) \
             VALUES ($1, $2, $3, $4, $5, NULL)",
        )
        .bind(&session.id)
        .bind(&session.user_id)
        .bind(refresh_hash)
        .bind(session.create_ms)
        .bind(session.expire_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A session by id.
    pub async fn session(&self, id: &str) -> Result<Option<SessionRecord>, sqlx::Error> {
        let row = sqlx::query(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(session_from_row).transpose()
    }

    /// A session by the hash of its refresh token.
    pub async fn session_by_refresh(
        &self,
        refresh_hash: &str,
    ) -> Result<Option<SessionRecord>, sqlx::Error> {
        let row = sqlx::query(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE refresh_hash = $1"
        ))
        .bind(refresh_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(session_from_row).transpose()
    }

    /// Ends a session (no-op if it has ended already).
    pub async fn end_session(&self, id: &str, now_ms: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE sessions SET end_ms = $1 WHERE id = $2 AND end_ms IS NULL")
            .bind(now_ms)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records a failed log-in of `client` for `email`, and forgets every failure (of any
    /// email) older than `forget_before`, so the table holds only what can still count.
    pub async fn record_failure(
        &self,
        email: &str,
        client: &str,
        now_ms: i64,
        forget_before: i64,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM login_failures WHERE at_ms < $1")
            .bind(forget_before)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO login_failures (email, client, at_ms) VALUES ($1, $2, $3)")
            .bind(email)
            .bind(client)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    }

    /// The times of failed log-ins of `client` for `email` since `since`, oldest first.
    pub async fn failures_since(
        &self,
        email: &str,
        client: &str,
        since: i64,
    ) -> Result<Vec<i64>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT at_ms FROM login_failures WHERE email = $1 AND client = $2 AND at_ms >= $3 \
             ORDER BY at_ms",
        )
        .bind(email)
        .bind(client)
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|row| row.try_get("at_ms")).collect()
    }

    /// Forgets the failed log-ins of `client` for `email` (after it logged in).
    pub async fn clear_failures(&self, email: &str, client: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM login_failures WHERE email = $1 AND client = $2")
            .bind(email)
            .bind(client)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Every signing key, newest first.
    pub async fn keys(&self) -> Result<Vec<KeyRecord>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT key_id, private_seed, sealed, public_key, create_ms FROM signing_keys \
             ORDER BY create_ms DESC, key_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(KeyRecord {
                    key_id: row.try_get("key_id")?,
                    private_seed: row.try_get("private_seed")?,
                    sealed: row.try_get::<i64, _>("sealed")? != 0,
                    public_key: row.try_get("public_key")?,
                    create_ms: row.try_get("create_ms")?,
                })
            })
            .collect()
    }

    /// Up to `limit` public keys, newest first (then by id), after the key at `after`
    /// (its creation time and id) when given.
    pub async fn public_keys(
        &self,
        after: Option<(i64, &str)>,
        limit: u32,
    ) -> Result<Vec<PublicKeyRecord>, sqlx::Error> {
        let query = match after {
            None => sqlx::query(
                "SELECT key_id, public_key, create_ms FROM signing_keys \
                 ORDER BY create_ms DESC, key_id LIMIT $1",
            )
            .bind(i64::from(limit)),
            Some((create_ms, key_id)) => sqlx::query(
                "SELECT key_id, public_key, create_ms FROM signing_keys \
                 WHERE create_ms < $1 OR (create_ms = $1 AND key_id > $2) \
                 ORDER BY create_ms DESC, key_id LIMIT $3",
            )
            .bind(create_ms)
            .bind(key_id.to_owned())
            .bind(i64::from(limit)),
        };
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                Ok(PublicKeyRecord {
                    key_id: row.try_get("key_id")?,
                    public_key: row.try_get("public_key")?,
                    create_ms: row.try_get("create_ms")?,
                })
            })
            .collect()
    }

    /// Stores a new signing key.
    pub async fn add_key(&self, key: &KeyRecord) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO signing_keys (key_id, private_seed, sealed, public_key, create_ms) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&key.key_id)
        .bind(key.private_seed.clone())
        .bind(i64::from(key.sealed))
        .bind(key.public_key.clone())
        .bind(key.create_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Replaces the seed of key `key_id`, stored in clear, with its sealed form; false when
    /// it was sealed already (by another replica).
    ///
    /// On SQLite the old bytes must not linger in the file's free space or its write-ahead
    /// log: the update runs with `secure_delete` (freed space is zeroed) and is then
    /// checkpointed into the database file. PostgreSQL keeps the old row version until it
    /// is vacuumed (docs/security.md says what to do about it).
    pub async fn seal_key(&self, key_id: &str, sealed_seed: &[u8]) -> Result<bool, sqlx::Error> {
        let mut connection = self.pool.acquire().await?;
        let sqlite = connection.backend_name() == "SQLite";
        if sqlite {
            sqlx::query("PRAGMA secure_delete = ON")
                .execute(&mut *connection)
                .await?;
        }
        let done = sqlx::query(
            "UPDATE signing_keys SET private_seed = $1, sealed = 1 \
             WHERE key_id = $2 AND sealed = 0",
        )
        .bind(sealed_seed.to_vec())
        .bind(key_id)
        .execute(&mut *connection)
        .await?;
        if sqlite {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&mut *connection)
                .await?;
            sqlx::query("PRAGMA secure_delete = OFF")
                .execute(&mut *connection)
                .await?;
        }
        Ok(done.rows_affected() == 1)
    }
}

fn user_from_row(row: &sqlx::any::AnyRow) -> Result<UserRecord, sqlx::Error> {
    Ok(UserRecord {
        id: row.try_get("id")?,
        kind: row.try_get("kind")?,
        email: row.try_get("email")?,
        display_name: row.try_get("display_name")?,
        create_ms: row.try_get("create_ms")?,
        admin_since_ms: row.try_get("admin_since_ms")?,
    })
}

fn session_from_row(row: &sqlx::any::AnyRow) -> Result<SessionRecord, sqlx::Error> {
    Ok(SessionRecord {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        create_ms: row.try_get("create_ms")?,
        expire_ms: row.try_get("expire_ms")?,
        end_ms: row.try_get("end_ms")?,
    })
}
