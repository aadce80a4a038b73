//! One helper that starts the real cart on port 0 with a temporary store, and the small
//! tools the black-box tests share.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use bazaar_contract::cart::v1::cart_service_client::CartServiceClient;
use cart::clock::ManualClock;
use cart::{CartServer, Config};
use chassis::auth::testing::TestIssuer;
use chassis::config::IdentityArgs;
use chassis::{ServerArgs, Shutdown};
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_types::StatusExt;

/// The variable that points tests at a Redis server (`redis://127.0.0.1:6379`).
pub const REDIS_URL_VAR: &str = "BAZAAR_TEST_REDIS_URL";

/// A cart running on port 0, with the issuer whose tokens it trusts and the clock it reads.
pub struct Running {
    pub client: CartServiceClient<Channel>,
    pub channel: Channel,
    pub issuer: TestIssuer,
    pub clock: ManualClock,
    shutdown: Shutdown,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    pub async fn start(
        data_dir: &std::path::Path,
        database_url: Option<String>,
        redis_key_prefix: &str,
    ) -> Self {
        let config = Config {
            server: ServerArgs::for_tests(data_dir),
            identity: IdentityArgs {
                identity_addr: "127.0.0.1:1".to_owned(),
                signing_keys_refresh_secs: 600,
            },
            database_url,
            redis_key_prefix: redis_key_prefix.to_owned(),
        };
        let issuer = TestIssuer::new();
        let clock = ManualClock::new();
        let server = CartServer::bind_with(&config, issuer.verifier(), Arc::new(clock.clone()))
            .await
            .expect("cart binds");
        let address = server.local_addr();
        let shutdown = Shutdown::new();
        let stop = shutdown.clone();
        let task = tokio::spawn(async move {
            server.run(stop).await.expect("cart runs");
        });
        let channel = Channel::from_shared(format!("http://{address}"))
            .unwrap()
            .connect()
            .await
            .expect("connects");
        Self {
            client: CartServiceClient::new(channel.clone()),
            channel,
            issuer,
            clock,
            shutdown,
            task,
        }
    }

    pub async fn health(&self) -> ServingStatus {
        let response = HealthClient::new(self.channel.clone())
            .check(HealthCheckRequest {
                service: "bazaar.cart.v1.CartService".to_owned(),
            })
            .await
            .expect("health answers");
        ServingStatus::try_from(response.into_inner().status).expect("known status")
    }

    pub async fn wait_until_serving(&self) {
        for _ in 0..200 {
            if self.health().await == ServingStatus::Serving {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("cart never became SERVING");
    }

    pub async fn stop(self) {
        self.shutdown.trigger();
        self.task.await.expect("cart task ends cleanly");
    }

    /// `Bearer <token>` of a registered user.
    pub fn user(&self, user_id: &str) -> String {
        self.issuer.bearer(user_id)
    }

    /// A guest's access token (without "Bearer ").
    pub fn guest_token(&self, guest_id: &str) -> String {
        let mut claims = self.issuer.claims(guest_id);
        claims.kind = "guest".to_owned();
        self.issuer.token(&claims)
    }
}

/// `message` with `authorization: <bearer>`.
pub fn authed<T>(bearer: &str, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", bearer.parse().expect("ascii token"));
    request
}

/// The field paths of a status's `BadRequest` detail.
pub fn field_violations(status: &tonic::Status) -> Vec<String> {
    status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}

/// The `ErrorInfo` of a status: (domain, reason, metadata).
pub fn error_info(
    status: &tonic::Status,
) -> (String, String, std::collections::HashMap<String, String>) {
    let info = status
        .get_details_error_info()
        .expect("an ErrorInfo detail");
    (info.domain, info.reason, info.metadata)
}

/// Says on the real stderr that a test did not run.
pub fn skipped(test: &str) {
    chassis::store::testing::skipped(test, REDIS_URL_VAR, "Redis");
}

/// A key prefix no other test uses.
pub fn unique_prefix(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("bazaar-test:{test}:{}:{nanos}:", std::process::id())
}

/// Deletes every key that starts with `prefix`.
pub async fn delete_redis_keys(url: &str, prefix: &str) {
    let client = redis::Client::open(url).expect("redis url");
    let mut connection = client
        .get_multiplexed_async_connection()
        .await
        .expect("redis connects");
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut connection)
        .await
        .expect("KEYS");
    if !keys.is_empty() {
        let _: i64 = redis::cmd("DEL")
            .arg(&keys)
            .query_async(&mut connection)
            .await
            .expect("DEL");
    }
}

/// How many keys start with `prefix`.
pub async fn count_redis_keys(url: &str, prefix: &str) -> usize {
    let client = redis::Client::open(url).expect("redis url");
    let mut connection = client
        .get_multiplexed_async_connection()
        .await
        .expect("redis connects");
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut connection)
        .await
        .expect("KEYS");
    keys.len()
}
