//! What every black-box test of identity shares: a backend (a SQLite file in a temporary
//! directory, or a PostgreSQL database of its own), an identity started on port 0 over it
//! with a clock the test moves (by the chassis's test harness) and a key-encryption key of
//! its own, the operator's side of admin codes, and small helpers to read rich errors.
//!
//! Each scenario is an `async fn(&Backend)`; [`on_every_backend!`] turns a list of them into
//! `sqlite::<name>` and `postgres::<name>` tests. The PostgreSQL ones say SKIPPED and pass
//! when `BAZAAR_TEST_POSTGRES_URL` is not set.

use std::sync::Arc;
use std::time::Duration;

use bazaar_contract::identity::v1::identity_service_client::IdentityServiceClient;
use bazaar_contract::identity::v1::*;
use chassis::ServerArgs;
use chassis::testing::{Overrides, Spawned, TempPostgres, spawn};
use identity::clock::{Clock, ManualClock};
use identity::{Config, Identity};
use tonic::Request;
use tonic::transport::Channel;
use tonic_types::StatusExt;

/// The password every helper signs up with.
pub(crate) const PASSWORD: &str = "correct horse battery";

/// Where a test's identity keeps its data.
pub(crate) struct Backend {
    /// The data directory (the SQLite file lives here).
    pub dir: tempfile::TempDir,
    /// The key-encryption key every start uses unless a test says otherwise (base64).
    pub kek: String,
    postgres: Option<TempPostgres>,
}

/// A new random key-encryption key, as base64.
pub(crate) fn random_kek() -> String {
    use base64::Engine;
    let mut bytes = [0_u8; 32];
    getrandom::fill(&mut bytes).expect("randomness");
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

impl Backend {
    /// A SQLite file in a fresh temporary directory.
    pub(crate) fn sqlite() -> Self {
        Self {
            dir: tempfile::tempdir().expect("a temporary directory"),
            kek: random_kek(),
            postgres: None,
        }
    }

    /// A fresh PostgreSQL database, or `None` (test skipped) without a server to use.
    pub(crate) async fn postgres(test: &str) -> Option<Self> {
        let database = TempPostgres::create(&format!("identity::postgres::{test}"))
            .await
            .expect("PostgreSQL answers")?;
        Some(Self {
            dir: tempfile::tempdir().expect("a temporary directory"),
            kek: random_kek(),
            postgres: Some(database),
        })
    }

    /// The database URL identity uses on this backend.
    pub(crate) fn database_url(&self) -> String {
        self.config(&Settings::default()).database_url()
    }

    /// The store opened (and migrated) as the operator's tools open it: `migrations` are
    /// identity's own, or an older subset of them.
    pub(crate) async fn store_with(
        &self,
        migrations: &chassis::store::Migrations,
    ) -> identity::store::IdentityStore {
        let pool = chassis::store::open(&self.database_url(), migrations)
            .await
            .expect("the identity store opens");
        identity::store::IdentityStore::new(pool)
    }

    /// Issues an admin code as the operator does (`bazaar admin code`), at `now_ms`.
    pub(crate) async fn issue_admin_code(&self, now_ms: i64) -> String {
        let store = self.store_with(&identity::store::MIGRATIONS).await;
        let code = store.issue_admin_code(now_ms).await.expect("a code").code;
        store.pool().close().await;
        code
    }

    /// identity's configuration over this backend with `settings`.
    pub(crate) fn config(&self, settings: &Settings) -> Config {
        Config {
            server: ServerArgs::for_tests(self.dir.path()),
            database_url: self.postgres.as_ref().map(|db| db.url.clone().into()),
            key_encryption_key: Some(
                settings
                    .kek
                    .as_deref()
                    .unwrap_or(&self.kek)
                    .parse()
                    .expect("any text"),
            ),
            key_encryption_key_file: None,
            client_attempts_per_minute: settings.client_attempts_per_minute,
            password_hash_permits: 0,
            guest_retention_days: 30,
            session_retention_days: 7,
            sweep_every_secs: 600,
        }
    }

    /// The store's URL.
    pub(crate) fn url(&self) -> String {
        match &self.postgres {
            Some(database) => database.url.clone(),
            None => format!("sqlite://{}", self.dir.path().join("identity.db").display()),
        }
    }

    /// The SQLite file, when this is the SQLite backend.
    pub(crate) fn sqlite_file(&self) -> Option<std::path::PathBuf> {
        self.postgres
            .is_none()
            .then(|| self.dir.path().join("identity.db"))
    }

    /// Starts identity with the default test settings.
    pub(crate) async fn start(&self) -> Running {
        self.start_with(Settings::default()).await
    }

    /// Starts identity on port 0 over this backend and waits until it is SERVING: its store
    /// open and its signing keys loaded.
    pub(crate) async fn start_with(&self, settings: Settings) -> Running {
        let config = self.config(&settings);
        let clock = ManualClock::new();
        let server = spawn::<Identity>(
            &config,
            &Overrides::default().clock(Arc::new(clock.clone())),
        )
        .await;
        Running {
            // identity's callers are the storefront's: its certificate is what makes identity
            // trust the end user's address in `x-forwarded-for`.
            client: IdentityServiceClient::new(
                server.connect_with(&chassis::testing::client_tls(Some("gateway"))),
            ),
            address: server.addr(),
            clock,
            server,
        }
    }

    /// Drops the PostgreSQL database, if any (after every identity on it stopped).
    pub(crate) async fn finish(self) {
        if let Some(database) = self.postgres {
            database.drop_database().await.expect("database dropped");
        }
    }
}

/// What a test may change in identity's configuration.
pub(crate) struct Settings {
    /// `--client-attempts-per-minute`.
    pub client_attempts_per_minute: u32,
    /// `--key-encryption-key`, when not the backend's own.
    pub kek: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            client_attempts_per_minute: 600,
            kek: None,
        }
    }
}

/// identity running on port 0, with a connected client and the clock it reads.
pub(crate) struct Running {
    /// A client on it.
    pub client: IdentityServiceClient<Channel>,
    /// Where it listens.
    pub address: std::net::SocketAddr,
    /// Its clock: frozen unless the test moves it.
    pub clock: ManualClock,
    server: Spawned<Identity>,
}

impl Running {
    /// A client of its own.
    pub(crate) fn client(&self) -> IdentityServiceClient<Channel> {
        self.client.clone()
    }

    /// Now, by identity's clock, in ms.
    pub(crate) fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Signs up `email` with [`PASSWORD`].
    pub(crate) async fn sign_up(&self, email: &str) -> SignUpResponse {
        self.client()
            .sign_up(SignUpRequest {
                email: email.to_owned(),
                password: PASSWORD.to_owned(),
                display_name: "Ada".to_owned(),
            })
            .await
            .expect("sign-up")
            .into_inner()
    }

    /// Logs in.
    pub(crate) async fn log_in(
        &self,
        email: &str,
        password: &str,
    ) -> Result<LogInResponse, tonic::Status> {
        self.client()
            .log_in(LogInRequest {
                email: email.to_owned(),
                password: password.to_owned(),
            })
            .await
            .map(tonic::Response::into_inner)
    }

    /// ClaimAdmin with `code`, as the caller of `token`.
    pub(crate) async fn claim_admin(&self, token: &str, code: &str) -> Result<User, tonic::Status> {
        self.client()
            .claim_admin(authorized(
                ClaimAdminRequest {
                    code: code.to_owned(),
                },
                token,
            ))
            .await
            .map(|r| r.into_inner().user.expect("a user"))
    }

    /// Logs in as the gateway does for the shopper at `client` (`x-forwarded-for`).
    pub(crate) async fn log_in_from(
        &self,
        client: &str,
        email: &str,
        password: &str,
    ) -> Result<LogInResponse, tonic::Status> {
        self.client()
            .log_in(forwarded_for(
                LogInRequest {
                    email: email.to_owned(),
                    password: password.to_owned(),
                },
                client,
            ))
            .await
            .map(tonic::Response::into_inner)
    }

    /// GetCurrentUser with `token`.
    pub(crate) async fn me(&self, token: &str) -> Result<User, tonic::Status> {
        self.client()
            .get_current_user(authorized(GetCurrentUserRequest {}, token))
            .await
            .map(|r| r.into_inner().user.expect("a user"))
    }

    /// RefreshSession with `refresh_token`.
    pub(crate) async fn refresh(&self, refresh_token: &str) -> Result<Session, tonic::Status> {
        self.client()
            .refresh_session(RefreshSessionRequest {
                refresh_token: refresh_token.to_owned(),
            })
            .await
            .map(|r| r.into_inner().session.expect("a session"))
    }

    /// Every signing key, following page tokens, `page_size` at a time.
    pub(crate) async fn all_keys(&self, page_size: i32) -> Vec<SigningKey> {
        let mut keys = Vec::new();
        let mut page_token = String::new();
        loop {
            let page = self
                .client()
                .list_signing_keys(ListSigningKeysRequest {
                    page_size,
                    page_token,
                })
                .await
                .expect("keys")
                .into_inner();
            assert_eq!(page.cache_ttl.expect("a cache_ttl").seconds, 600);
            keys.extend(page.signing_keys);
            if page.next_page_token.is_empty() {
                return keys;
            }
            page_token = page.next_page_token;
        }
    }

    /// A verifier built the way other services build theirs: from ListSigningKeys.
    pub(crate) async fn verifier(&self) -> chassis::auth::Verifier {
        let keys = self.all_keys(0).await;
        chassis::auth::Verifier::with_keys(keys.into_iter().map(|key| {
            let bytes: [u8; 32] = key.public_key.as_slice().try_into().expect("32 bytes");
            (
                key.key_id,
                ed25519_dalek::VerifyingKey::from_bytes(&bytes).expect("an Ed25519 key"),
            )
        }))
    }

    /// Stops it and waits until it has (its pool closed).
    pub(crate) async fn stop(self) {
        self.server.stop().await.expect("identity stops cleanly");
    }
}

/// Every byte the SQLite backend keeps on disk: the database file and its write-ahead log
/// or rollback journal, if any.
pub(crate) fn sqlite_bytes(backend: &Backend) -> Vec<u8> {
    let file = backend.sqlite_file().expect("the SQLite backend");
    let mut bytes = std::fs::read(&file).expect("the database file");
    for suffix in ["-wal", "-journal"] {
        let mut side = file.clone().into_os_string();
        side.push(suffix);
        if let Ok(more) = std::fs::read(side) {
            bytes.extend(more);
        }
    }
    bytes
}

/// `message` with `authorization: Bearer <token>`.
pub(crate) fn authorized<T>(message: T, token: &str) -> Request<T> {
    let mut request = Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("ASCII"),
    );
    request
}

/// `message` with `x-forwarded-for: <client>`, as the gateway sends it.
pub(crate) fn forwarded_for<T>(message: T, client: &str) -> Request<T> {
    let mut request = Request::new(message);
    request
        .metadata_mut()
        .insert("x-forwarded-for", client.parse().expect("ASCII"));
    request
}

/// The reason of a status's ErrorInfo, checking it is in identity's domain.
pub(crate) fn reason(status: &tonic::Status) -> String {
    match status.get_details_error_info() {
        Some(info) => {
            assert_eq!(info.domain, "bazaar.identity");
            info.reason
        }
        None => String::new(),
    }
}

/// The RetryInfo delay of a status.
pub(crate) fn retry_delay(status: &tonic::Status) -> Duration {
    status
        .get_details_retry_info()
        .and_then(|r| r.retry_delay)
        .expect("a RetryInfo with a delay")
}

/// Runs each scenario (an `async fn(&Backend)`) as a SQLite test and a PostgreSQL test.
macro_rules! on_every_backend {
    ($($scenario:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $scenario() {
                    let backend = crate::support::Backend::sqlite();
                    super::$scenario(&backend).await;
                    backend.finish().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $scenario() {
                    let Some(backend) =
                        crate::support::Backend::postgres(stringify!($scenario)).await
                    else {
                        return;
                    };
                    super::$scenario(&backend).await;
                    backend.finish().await;
                }
            )*
        }
    };
}
