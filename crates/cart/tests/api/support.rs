//! The cart on port 0 with a temporary store, started by the chassis's test harness, and
//! the small tools the black-box tests share: tokens, error details, Redis keys of one test,
//! and a Redis that is still starting.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use bazaar_contract::cart::v1::cart_service_client::CartServiceClient;
use cart::clock::ManualClock;
use cart::{Carts, Config};
use chassis::ServerArgs;
use chassis::config::IdentityArgs;
use chassis::testing::{Overrides, Spawned, TestIssuer};
use tonic::transport::Channel;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_types::StatusExt;

/// The variable that points tests at a Redis server (`redis://127.0.0.1:6379`).
pub(crate) const REDIS_URL_VAR: &str = "BAZAAR_TEST_REDIS_URL";

/// A cart running on port 0, with the issuer whose tokens it trusts and the clock it reads.
pub(crate) struct Running {
    pub client: CartServiceClient<Channel>,
    pub issuer: TestIssuer,
    pub clock: ManualClock,
    server: Spawned<Carts>,
}

impl Running {
    /// Starts the cart on `database_url` (SQLite in `data_dir` when `None`), without
    /// waiting until it serves.
    pub(crate) async fn start(
        data_dir: &std::path::Path,
        database_url: Option<String>,
        redis_key_prefix: &str,
    ) -> Self {
        Self::try_start(data_dir, database_url, redis_key_prefix)
            .await
            .expect("cart binds")
    }

    /// [`Running::start`], or why the cart did not start.
    pub(crate) async fn try_start(
        data_dir: &std::path::Path,
        database_url: Option<String>,
        redis_key_prefix: &str,
    ) -> Result<Self, chassis::service::StartError> {
        let config = Config {
            server: ServerArgs::for_tests(data_dir),
            identity: IdentityArgs {
                identity_addr: "127.0.0.1:1".to_owned(),
                signing_keys_refresh_secs: 600,
            },
            database_url: database_url.map(Into::into),
            redis_key_prefix: redis_key_prefix.to_owned(),
            request_retention_secs: 86_400,
            request_sweep_interval_ms: 20,
        };
        let issuer = TestIssuer::new();
        let clock = ManualClock::new();
        let server = chassis::testing::start::<Carts>(
            &config,
            &Overrides::default()
                .clock(Arc::new(clock.clone()))
                .verifier(issuer.verifier()),
        )
        .await?;
        Ok(Self {
            client: CartServiceClient::new(server.channel()),
            issuer,
            clock,
            server,
        })
    }

    /// The health of the cart service.
    pub(crate) async fn health(&self) -> ServingStatus {
        self.server.health("bazaar.cart.v1.CartService").await
    }

    /// Waits until the cart answers SERVING.
    pub(crate) async fn wait_until_serving(&self) {
        self.server.wait_until_serving().await;
    }

    /// Stops it and waits until it has stopped.
    pub(crate) async fn stop(self) {
        self.server.stop().await.expect("cart stops cleanly");
    }

    /// `Bearer <token>` of a registered user.
    pub(crate) fn user(&self, user_id: &str) -> String {
        self.issuer.bearer(user_id)
    }

    /// A guest's access token (without "Bearer ").
    pub(crate) fn guest_token(&self, guest_id: &str) -> String {
        let mut claims = self.issuer.claims(guest_id);
        claims.kind = "guest".to_owned();
        self.issuer.token(&claims)
    }
}

/// `message` with `authorization: <bearer>`.
pub(crate) fn authed<T>(bearer: &str, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", bearer.parse().expect("ascii token"));
    request
}

/// The `ErrorInfo` of a status: (domain, reason, metadata).
pub(crate) fn error_info(
    status: &tonic::Status,
) -> (String, String, std::collections::HashMap<String, String>) {
    let info = status
        .get_details_error_info()
        .expect("an ErrorInfo detail");
    (info.domain, info.reason, info.metadata)
}

/// Says on the real stderr that a test did not run.
pub(crate) fn skipped(test: &str) {
    chassis::testing::skipped(test, REDIS_URL_VAR, "Redis");
}

/// A key prefix no other test uses.
pub(crate) fn unique_prefix(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("bazaar-test:{test}:{}:{nanos}:", std::process::id())
}

/// The Redis keys of one test: a prefix no other test uses, and every key under it deleted
/// when this is dropped, even when the test fails half-way.
pub(crate) struct RedisKeys {
    client: redis::Client,
    /// The prefix to give the cart.
    pub prefix: String,
}

impl RedisKeys {
    /// Keys under a fresh prefix on the server at `url`.
    pub(crate) fn new(url: &str, test: &str) -> Self {
        Self {
            client: redis::Client::open(url).expect("redis url"),
            prefix: unique_prefix(test),
        }
    }

    /// The keys under the prefix.
    pub(crate) fn list(&self) -> Vec<String> {
        let mut connection = self.client.get_connection().expect("redis connects");
        redis::cmd("KEYS")
            .arg(format!("{}*", self.prefix))
            .query(&mut connection)
            .expect("KEYS")
    }

    /// Deletes every key under the prefix.
    pub(crate) fn delete(&self) {
        let keys = self.list();
        if !keys.is_empty() {
            let mut connection = self.client.get_connection().expect("redis connects");
            let _: i64 = redis::cmd("DEL")
                .arg(&keys)
                .query(&mut connection)
                .expect("DEL");
        }
    }
}

impl Drop for RedisKeys {
    fn drop(&mut self) {
        // Blocking I/O on a test's runtime thread is fine here; a panic inside a panic
        // would abort, so failures are only reported.
        if let Err(panic) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.delete()))
        {
            eprintln!(
                "cannot delete the test's Redis keys {}*: {panic:?}",
                self.prefix
            );
        }
    }
}

/// A stand-in for a Redis that is still starting: it accepts connections and closes them
/// at once (counting them) until [`Gate::open`], then forwards them to the real server.
pub(crate) struct Gate {
    attempts: Arc<AtomicUsize>,
    open: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Gate {
    /// Starts on `listener`, forwarding (once open) to `target` (host:port).
    pub(crate) fn start(listener: tokio::net::TcpListener, target: String) -> Self {
        let attempts = Arc::new(AtomicUsize::new(0));
        let open = Arc::new(AtomicBool::new(false));
        let (counted, opened) = (attempts.clone(), open.clone());
        let task = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !opened.load(Ordering::SeqCst) {
                    counted.fetch_add(1, Ordering::SeqCst);
                    continue;
                }
                let target = target.clone();
                tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        Self {
            attempts,
            open,
            task,
        }
    }

    /// Connections refused so far.
    pub(crate) fn attempts(&self) -> usize {
        self.attempts.load(Ordering::SeqCst)
    }

    /// From now on, forwards.
    pub(crate) fn open(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The `host:port` of a `redis://[user:password@]host:port[/db]` URL, and the URL with
/// `address` in its place.
pub(crate) fn redis_url_via(url: &str, address: &str) -> (String, String) {
    let rest = url.strip_prefix("redis://").expect("a redis:// URL");
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let (credentials, host) = match authority.rfind('@') {
        Some(at) => authority.split_at(at + 1),
        None => ("", authority),
    };
    let host = if host.contains(':') {
        host.to_owned()
    } else {
        format!("{host}:6379")
    };
    (host, format!("redis://{credentials}{address}{path}"))
}
