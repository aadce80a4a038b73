//! SQL stores behind one URL: SQLite by default, PostgreSQL at scale.
//!
//! Services use sqlx's `Any` driver with one set of queries for both backends, so the rules of
//! the common subset apply everywhere: `$1`-style placeholders, only booleans stored as
//! integers, integers, floats, text and bytes (timestamps as BIGINT milliseconds, ids as TEXT).
//! Each service keeps `migrations/sqlite` and `migrations/postgres` with the same versions and
//! embeds both with [`Migration`]; [`migrate`] applies the set that fits the backend.
//!
//! [`open`] connects and migrates once; the service runner (`crate::service`) retries it with
//! backoff, so a service never gives up on a database that is still starting: it reports
//! `NOT_SERVING` and keeps trying, it does not crash.
//!
//! Once open, [`check`] tells whether the store can still take a write: on SQLite a write
//! transaction is begun and rolled back (`BEGIN IMMEDIATE` waits at most
//! [`CHECK_BUSY_TIMEOUT`] for the lock, so a file another process holds locked fails the
//! check), on PostgreSQL `SELECT 1`. The service runner calls it periodically through
//! [`crate::service::Service::check`] and reports `NOT_SERVING` while it fails.

use std::borrow::Cow;
use std::path::Path;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::{MigrationType, Migrator};
use sqlx::{AnyConnection, AnyPool, Executor};

/// Which database a URL points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file (`sqlite://path/to/file.db`).
    Sqlite,
    /// A PostgreSQL server (`postgres://user@host:port/database`).
    Postgres,
}

/// What can go wrong with a store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL names no supported database.
    #[error("unsupported database URL {0:?}: use sqlite://FILE or postgres://...")]
    UnsupportedUrl(String),
    /// The database could not be reached or refused the connection.
    #[error("cannot connect to the database")]
    Connect(#[source] sqlx::Error),
    /// A migration failed or the database has migrations this program does not know.
    #[error("cannot migrate the database")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The store cannot take a write now (locked, gone, out of connections).
    #[error("the store fails its check")]
    Check(#[source] sqlx::Error),
    /// Creating the directory of a SQLite file failed.
    #[error("cannot create the data directory {path}")]
    DataDir {
        /// The directory.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// One embedded migration: a version shared by both backends, a description, the SQL.
#[derive(Clone, Copy, Debug)]
pub struct Migration {
    /// The version, the same for the SQLite and the PostgreSQL file.
    pub version: i64,
    /// What it does, in a few words.
    pub description: &'static str,
    /// The SQL, usually `include_str!` of the migration file.
    pub sql: &'static str,
}

/// A service's migrations for both backends, same versions in both.
#[derive(Clone, Copy, Debug)]
pub struct Migrations {
    /// Run on a SQLite database: the crate's `migrations/sqlite/` files.
    pub sqlite: &'static [Migration],
    /// Run on a PostgreSQL database: the crate's `migrations/postgres/` files.
    pub postgres: &'static [Migration],
}

/// The [`Migrations`] of the calling crate, from its `migrations/sqlite/FILE.sql` and
/// `migrations/postgres/FILE.sql`, one `VERSION => "description", "FILE"` per migration:
///
/// ```ignore
/// pub const MIGRATIONS: chassis::store::Migrations =
///     chassis::migrations![1 => "catalog", "0001_catalog"];
/// ```
///
/// Both backends get the same versions by construction; a file missing on either side fails
/// the build.
#[macro_export]
macro_rules! migrations {
    ($($version:literal => $description:literal, $file:literal),+ $(,)?) => {
        $crate::store::Migrations {
            sqlite: &[$($crate::store::Migration {
                version: $version,
                description: $description,
                sql: include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite/", $file, ".sql")),
            }),+],
            postgres: &[$($crate::store::Migration {
                version: $version,
                description: $description,
                sql: include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres/", $file, ".sql")),
            }),+],
        }
    };
}

impl Backend {
    /// The backend of a database URL.
    pub fn of(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::UnsupportedUrl(url.to_owned()))
        }
    }
}

/// `$first, $first+1, ...`, `count` of them: the placeholders of a statement's parameters
/// from the `first`th, in the style both backends take.
pub fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The URL of SQLite file `file_name` in `data_dir`.
pub fn sqlite_url(data_dir: &Path, file_name: &str) -> String {
    format!("sqlite://{}", data_dir.join(file_name).display())
}

/// How long a SQLite statement waits for a lock another connection holds.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// How much of an SQLite file each connection reads through a memory map rather than
/// `read` calls. Every write makes the other connections' page caches stale, so without a
/// map each transaction reads its pages again through the kernel; with one it reads them
/// in place. Pages mapped are the file's, shared by every connection (and counted in the
/// process's resident memory only as far as they are read).
const SQLITE_MMAP_BYTES: u64 = 256 * 1024 * 1024;
/// How long [`check`] waits for SQLite's write lock before it calls the store failing.
pub const CHECK_BUSY_TIMEOUT: Duration = Duration::from_secs(1);

/// Whether the store can take a write now (see the [module](self) docs). Takes one
/// connection of the pool for a moment.
pub async fn check(pool: &AnyPool) -> Result<(), StoreError> {
    let mut connection = pool.acquire().await.map_err(StoreError::Check)?;
    if !connection.backend_name().eq_ignore_ascii_case("sqlite") {
        (&mut *connection)
            .execute("SELECT 1")
            .await
            .map_err(StoreError::Check)?;
        return Ok(());
    }
    match begin_immediate(&mut connection).await {
        Ok(()) => Ok(()),
        Err(error) => {
            // The connection may be left inside the transaction or with the short busy
            // timeout: it goes, rather than back into the pool.
            drop(connection.detach());
            Err(StoreError::Check(error))
        }
    }
}

/// Begins a write transaction on SQLite, waiting at most [`CHECK_BUSY_TIMEOUT`] for the
/// lock, and rolls it back.
async fn begin_immediate(connection: &mut AnyConnection) -> Result<(), sqlx::Error> {
    let busy = |timeout: Duration| format!("PRAGMA busy_timeout = {}", timeout.as_millis());
    connection
        .execute(busy(CHECK_BUSY_TIMEOUT).as_str())
        .await?;
    let began = connection.execute("BEGIN IMMEDIATE").await;
    if began.is_ok() {
        connection.execute("ROLLBACK").await?;
    }
    connection.execute(busy(BUSY_TIMEOUT).as_str()).await?;
    began.map(|_| ())
}

/// [`check`] of the store in `cell` (through `pool`, its pool); a store not open yet is
/// the opener's business and passes.
pub async fn check_cell<T>(
    cell: &StoreCell<T>,
    pool: impl FnOnce(&T) -> &AnyPool,
) -> Result<(), StoreError> {
    match cell.0.store.get() {
        Some(store) => check(pool(store)).await,
        None => Ok(()),
    }
}

/// Connects to the database at `url`, creating a SQLite file (and its directory) if needed.
/// SQLite runs in WAL mode so readers do not wait for the writer.
pub async fn connect(url: &str) -> Result<AnyPool, StoreError> {
    sqlx::any::install_default_drivers();
    let backend = Backend::of(url)?;
    let mut url = url.to_owned();
    if backend == Backend::Sqlite {
        if let Some(path) = sqlite_path(&url)
            && let Some(dir) = Path::new(path)
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
        {
            crate::files::create_private_dir(dir).map_err(|source| StoreError::DataDir {
                path: dir.display().to_string(),
                source,
            })?;
        }
        if !url.contains("mode=") && !url.contains(":memory:") {
            url.push_str(if url.contains('?') {
                "&mode=rwc"
            } else {
                "?mode=rwc"
            });
        }
    }
    let options: AnyConnectOptions = url
        .parse::<AnyConnectOptions>()
        .map_err(StoreError::Connect)?;
    let pool = AnyPoolOptions::new()
        .max_connections(match backend {
            // SQLite takes one writer at a time. With several connections, a writer that
            // finds the file locked sleeps in SQLite's busy handler (1, 2, 5, 10 ms and
            // more) and tries again, long after the lock was freed; with one, the next
            // statement waits in the pool and runs the moment the one before is done. Readers
            // lose little: a statement on a file in this process takes microseconds, and
            // sqlx runs each connection's statements on a thread of its own anyway. Other processes on
            // the same file (replicas) still meet at SQLite's lock, under `busy_timeout`.
            Backend::Sqlite => 1,
            Backend::Postgres => 10,
        })
        .acquire_timeout(Duration::from_secs(5))
        // A ping before every use finds a PostgreSQL connection the server dropped; an
        // SQLite connection is a file in this process and cannot be dropped, so the ping
        // would only be a round trip to its worker thread per transaction.
        .test_before_acquire(backend == Backend::Postgres)
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                if backend == Backend::Sqlite {
                    conn.execute(
                        format!(
                            "PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = {}; \
                             PRAGMA mmap_size = {SQLITE_MMAP_BYTES};",
                            BUSY_TIMEOUT.as_millis()
                        )
                        .as_str(),
                    )
                    .await?;
                }
                Ok(())
            })
        })
        .connect_with(options)
        .await
        .map_err(StoreError::Connect)?;
    if backend == Backend::Sqlite {
        // The file is the store: its owner's only. Before WAL mode, so that SQLite gives the
        // -wal and -shm files it creates the database's mode.
        if let Some(path) = sqlite_path(&url) {
            for suffix in ["", "-wal", "-shm"] {
                crate::files::restrict(Path::new(&format!("{path}{suffix}"))).map_err(
                    |source| StoreError::DataDir {
                        path: path.to_owned(),
                        source,
                    },
                )?;
            }
        }
        pool.execute("PRAGMA journal_mode = WAL")
            .await
            .map_err(StoreError::Connect)?;
    }
    crate::metrics::watch_pool(store_name(&url), &pool);
    Ok(pool)
}

/// The name a store's metrics carry: the SQLite file's stem (`orders`), or the PostgreSQL
/// database's name; both are fixed by the process's configuration.
fn store_name(url: &str) -> String {
    let path = url.split('?').next().unwrap_or(url);
    if path.ends_with(":memory:") {
        return "memory".to_owned();
    }
    let last = path.rsplit('/').next().unwrap_or(path);
    let stem = last.rsplit_once('.').map_or(last, |(stem, _)| stem);
    if stem.is_empty() {
        "memory".to_owned()
    } else {
        stem.to_owned()
    }
}

/// Connects and migrates, once: the service runner retries with backoff while this fails.
pub async fn open(url: &str, migrations: &Migrations) -> Result<AnyPool, StoreError> {
    let pool = connect(url).await?;
    migrate(&pool, Backend::of(url)?, migrations).await?;
    Ok(pool)
}

/// Applies the migrations for `backend` that the database does not have yet.
pub async fn migrate(
    pool: &AnyPool,
    backend: Backend,
    migrations: &Migrations,
) -> Result<(), StoreError> {
    let files = match backend {
        Backend::Sqlite => migrations.sqlite,
        Backend::Postgres => migrations.postgres,
    };
    let migrator = Migrator {
        migrations: Cow::Owned(
            files
                .iter()
                .map(|m| {
                    sqlx::migrate::Migration::new(
                        m.version,
                        Cow::Borrowed(m.description),
                        MigrationType::Simple,
                        Cow::Borrowed(m.sql),
                        false,
                    )
                })
                .collect(),
        ),
        ..Migrator::DEFAULT
    };
    migrator.run(pool).await?;
    Ok(())
}

/// A store that a service opens in the background: empty until the database is reachable
/// and migrated, then set once. Handlers ask [`StoreCell::get`], which answers
/// `UNAVAILABLE` until then, so the service answers health checks (as `NOT_SERVING`) while
/// its database is still starting instead of crashing.
#[derive(Debug)]
pub struct StoreCell<T>(std::sync::Arc<Slot<T>>);

#[derive(Debug)]
struct Slot<T> {
    store: std::sync::OnceLock<T>,
    opened: tokio::sync::Notify,
}

impl<T> Clone for StoreCell<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T> Default for StoreCell<T> {
    fn default() -> Self {
        Self(std::sync::Arc::new(Slot {
            store: std::sync::OnceLock::new(),
            opened: tokio::sync::Notify::new(),
        }))
    }
}

impl<T> StoreCell<T> {
    /// An empty cell.
    pub fn new() -> Self {
        Self::default()
    }

    /// The store, or `UNAVAILABLE` while it is not open yet. A handler asks for its store
    /// before it does anything, so that answer carries a pushback: the call was not
    /// processed, and the caller's chassis may retry it (see [`crate::retry`]).
    pub fn get(&self) -> Result<&T, tonic::Status> {
        self.0.store.get().ok_or_else(|| {
            crate::retry::refused(
                tonic::Status::unavailable("the service's store is not ready yet; retry shortly"),
                NOT_READY_PUSHBACK,
            )
        })
    }

    /// Sets the store; later calls are ignored (the first store stays).
    pub fn set(&self, store: T) {
        let _ = self.0.store.set(store);
        self.0.opened.notify_waiters();
    }

    /// The store, once it is open (at once if it already is).
    pub async fn opened(&self) -> &T {
        loop {
            let notified = self.0.opened.notified();
            tokio::pin!(notified);
            // Registered before the check, so a `set` in between still wakes us.
            notified.as_mut().enable();
            if let Some(store) = self.0.store.get() {
                return store;
            }
            notified.await;
        }
    }
}

/// How long a caller of a service whose store is not open yet is asked to wait.
const NOT_READY_PUSHBACK: Duration = Duration::from_millis(250);

fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && path != ":memory:").then_some(path)
}

/// The URL of database `name` on the PostgreSQL server of `server_url` (same user, host,
/// port and parameters), created there unless it exists: how `bazaar up --postgres` gives
/// each service a database of its own. `name` is a plain identifier (letters, digits, `_`).
///
/// # Errors
///
/// When `name` is not a plain identifier, the server cannot be reached, or the database
/// cannot be created.
pub async fn ensure_postgres_database(server_url: &str, name: &str) -> Result<String, StoreError> {
    let plain = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !plain || Backend::of(server_url)? != Backend::Postgres {
        return Err(StoreError::Connect(sqlx::Error::Configuration(
            format!("cannot make database {name:?} on {server_url:?}").into(),
        )));
    }
    let server = connect(server_url).await?;
    let exists = sqlx::query("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(name)
        .fetch_optional(&server)
        .await
        .map_err(StoreError::Connect)?
        .is_some();
    if !exists {
        let created = server
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await;
        // Another process may have made it meanwhile.
        if let Err(error) = created {
            let raced = error
                .as_database_error()
                .and_then(sqlx::error::DatabaseError::code)
                .is_some_and(|code| code == "42P04");
            if !raced {
                return Err(StoreError::Connect(error));
            }
        }
    }
    server.close().await;
    Ok(with_database(server_url, name))
}

/// `url` naming database `name` instead of its own.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let authority_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut named = format!("{}/{name}", &base[..authority_end]);
    if let Some(query) = query {
        named.push('?');
        named.push_str(query);
    }
    named
}

/// Helpers for tests that need a real database (feature `testing`; also
/// `chassis::testing`).
#[cfg(feature = "testing")]
pub mod testing {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::{SystemTime, UNIX_EPOCH};

    use sqlx::{AnyPool, Executor};

    use super::{StoreError, connect};

    /// The variable that points tests at a PostgreSQL server
    /// (`postgres://postgres@127.0.0.1:5432/test`). Without it, PostgreSQL tests are skipped.
    pub const POSTGRES_URL_VAR: &str = "BAZAAR_TEST_POSTGRES_URL";

    /// Says plainly, on the real standard error, that a test did not run. (The test
    /// harness captures `eprintln!` of passing tests; a direct write shows up in the
    /// output of `cargo test`.)
    pub fn skipped(test: &str, variable: &str, what: &str) {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED {test}: set {variable} to run it against {what}"
        );
    }

    /// A database of its own for one test, created on a PostgreSQL server and dropped by
    /// [`TempPostgres::drop_database`].
    #[derive(Debug)]
    pub struct TempPostgres {
        admin_url: String,
        name: String,
        /// The URL of the test's own database.
        pub url: String,
    }

    impl TempPostgres {
        /// Creates a fresh database, or returns `None` (and says so on stderr) when
        /// [`POSTGRES_URL_VAR`] is not set.
        pub async fn create(test: &str) -> Result<Option<Self>, StoreError> {
            let Ok(admin_url) = std::env::var(POSTGRES_URL_VAR) else {
                skipped(test, POSTGRES_URL_VAR, "PostgreSQL");
                return Ok(None);
            };
            static COUNTER: AtomicU32 = AtomicU32::new(0);
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            let name = format!(
                "bazaar_test_{}_{}_{}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed),
                nanos
            );
            let admin = connect(&admin_url).await?;
            admin
                .execute(format!("CREATE DATABASE {name}").as_str())
                .await
                .map_err(StoreError::Connect)?;
            admin.close().await;
            let base = admin_url
                .rsplit_once('/')
                .map_or(admin_url.as_str(), |(base, _)| base);
            let url = format!("{base}/{name}");
            Ok(Some(Self {
                admin_url,
                name,
                url,
            }))
        }

        /// Drops the database; every pool on it must be closed first.
        pub async fn drop_database(self) -> Result<(), StoreError> {
            let admin: AnyPool = connect(&self.admin_url).await?;
            admin
                .execute(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name).as_str())
                .await
                .map_err(StoreError::Connect)?;
            admin.close().await;
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backends_are_told_apart_by_scheme() {
        assert_eq!(Backend::of("sqlite://data/x.db").unwrap(), Backend::Sqlite);
        assert_eq!(Backend::of("sqlite::memory:").unwrap(), Backend::Sqlite);
        assert_eq!(Backend::of("postgres://u@h/db").unwrap(), Backend::Postgres);
        assert!(Backend::of("mysql://u@h/db").is_err());
    }

    #[test]
    fn a_database_of_its_own_keeps_the_servers_url() {
        assert_eq!(
            with_database(
                "postgres://u:p@h:5432/test?sslmode=require",
                "bazaar_orders"
            ),
            "postgres://u:p@h:5432/bazaar_orders?sslmode=require"
        );
        assert_eq!(
            with_database("postgres://u@h", "bazaar_cart"),
            "postgres://u@h/bazaar_cart"
        );
    }

    #[test]
    fn stores_are_named_by_file_or_database() {
        assert_eq!(store_name("sqlite:///data/orders.db?mode=rwc"), "orders");
        assert_eq!(store_name("postgres://u@h:5432/bazaar_cart"), "bazaar_cart");
        assert_eq!(store_name("sqlite::memory:"), "memory");
    }

    #[test]
    fn sqlite_paths_are_found_in_urls() {
        assert_eq!(
            sqlite_path("sqlite://data/c.db?mode=rwc"),
            Some("data/c.db")
        );
        assert_eq!(sqlite_path("sqlite:///tmp/c.db"), Some("/tmp/c.db"));
        assert_eq!(sqlite_path("sqlite::memory:"), None);
    }

    #[tokio::test]
    async fn a_sqlite_file_and_its_directory_are_created_and_migrated() {
        let dir = tempfile::tempdir().unwrap();
        let url = sqlite_url(&dir.path().join("nested"), "t.db");
        const SQLITE: &[Migration] = &[Migration {
            version: 1,
            description: "things",
            sql: "CREATE TABLE things (id TEXT PRIMARY KEY, n BIGINT NOT NULL)",
        }];
        let migrations = Migrations {
            sqlite: SQLITE,
            postgres: &[],
        };
        let pool = open(&url, &migrations).await.unwrap();
        sqlx::query("INSERT INTO things (id, n) VALUES ($1, $2)")
            .bind("a")
            .bind(7_i64)
            .execute(&pool)
            .await
            .unwrap();
        // Migrating again is a no-op.
        migrate(&pool, Backend::Sqlite, &migrations).await.unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |name: &str| {
                std::fs::metadata(dir.path().join(name))
                    .map(|m| m.permissions().mode() & 0o777)
                    .ok()
            };
            assert_eq!(mode("nested"), Some(0o700), "the data folder");
            assert_eq!(mode("nested/t.db"), Some(0o600), "the database");
            for side in ["nested/t.db-wal", "nested/t.db-shm"] {
                assert_eq!(mode(side), Some(0o600), "{side}, while the pool is open");
            }
        }
        pool.close().await;
        assert!(dir.path().join("nested/t.db").exists());
    }
}
