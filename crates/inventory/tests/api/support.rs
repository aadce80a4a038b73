//! One helper that starts the real inventory on port 0 with a temporary store, and the
//! small tools the black-box tests share.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bazaar_contract::inventory::v1::inventory_service_client::InventoryServiceClient;
use bazaar_contract::inventory::v1::*;
use chassis::auth::testing::TestIssuer;
use chassis::config::IdentityArgs;
use chassis::{ServerArgs, Shutdown};
use inventory::clock::ManualClock;
use inventory::{Config, Inventory};
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_types::StatusExt;

/// The inventory, with the issuer whose tokens it trusts and the clock it reads.
pub struct Running {
    pub client: InventoryServiceClient<Channel>,
    pub channel: Channel,
    pub address: SocketAddr,
    pub issuer: TestIssuer,
    pub clock: ManualClock,
    shutdown: Shutdown,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Starts on `database_url` (SQLite in `data_dir` when `None`), with the sweeper in
    /// effect off (once an hour), so that what the tests see of expiry is what the calls
    /// themselves do.
    pub async fn start(data_dir: &std::path::Path, database_url: Option<String>) -> Self {
        Self::start_with(data_dir, database_url, 3_600_000).await
    }

    /// Starts with the sweeper running every `sweep_interval_ms` of real time (it reads
    /// the test clock, so it expires what the test has moved the clock past).
    pub async fn start_with(
        data_dir: &std::path::Path,
        database_url: Option<String>,
        sweep_interval_ms: u64,
    ) -> Self {
        let issuer = TestIssuer::new();
        let clock = ManualClock::new();
        let config = Config {
            server: ServerArgs::for_tests(data_dir),
            identity: IdentityArgs {
                identity_addr: "127.0.0.1:1".to_owned(),
                signing_keys_refresh_secs: 600,
            },
            database_url: database_url.map(Into::into),
            sweep_interval_ms,
        };
        let inventory = chassis::Bound::<Inventory>::bind_with(
            &config,
            &chassis::service::Overrides::default()
                .clock(Arc::new(clock.clone()))
                .verifier(issuer.verifier()),
        )
        .await
        .expect("inventory binds");
        let address = inventory.local_addr();
        let shutdown = Shutdown::new();
        let stop = shutdown.clone();
        let task = tokio::spawn(async move {
            inventory.run(stop).await.expect("inventory runs");
        });
        let channel = connect(address).await;
        Self {
            client: InventoryServiceClient::new(channel.clone()),
            channel,
            address,
            issuer,
            clock,
            shutdown,
            task,
        }
    }

    /// A client on a connection of its own.
    pub async fn new_client(&self) -> InventoryServiceClient<Channel> {
        InventoryServiceClient::new(connect(self.address).await)
    }

    pub async fn health(&self) -> ServingStatus {
        let response = HealthClient::new(self.channel.clone())
            .check(HealthCheckRequest {
                service: "bazaar.inventory.v1.InventoryService".to_owned(),
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
        panic!("inventory never became SERVING");
    }

    pub async fn stop(self) {
        self.shutdown.trigger();
        self.task.await.expect("inventory task ends cleanly");
    }

    /// The test clock's time, ms since the epoch.
    pub fn clock_ms(&self) -> i64 {
        use inventory::clock::Clock;
        self.clock.now_ms()
    }

    /// `Bearer <token>` of an admin.
    pub fn admin(&self) -> String {
        let mut claims = self.issuer.claims("admin-1");
        claims.roles = vec!["admin".to_owned()];
        format!("Bearer {}", self.issuer.token(&claims))
    }

    /// Adds `quantity` units of `product_id` as an admin.
    pub async fn restock(&self, product_id: &str, quantity: i32) -> Stock {
        let request_id = format!("restock-{product_id}-{}", unique());
        self.client
            .clone()
            .restock(authed(
                &self.admin(),
                RestockRequest {
                    request_id,
                    product_id: product_id.to_owned(),
                    quantity,
                },
            ))
            .await
            .expect("restock")
            .into_inner()
            .stock
            .expect("a stock")
    }

    /// The stock of `product_id`.
    pub async fn stock(&self, product_id: &str) -> Stock {
        self.client
            .clone()
            .get_stock(GetStockRequest {
                product_id: product_id.to_owned(),
            })
            .await
            .expect("get stock")
            .into_inner()
            .stock
            .expect("a stock")
    }
}

async fn connect(address: SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{address}"))
        .expect("a valid URI")
        .connect()
        .await
        .expect("connects")
}

/// A request id no other call of this process uses.
pub fn unique() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A ReserveStock request with a fresh request id.
pub fn reserve_request(lines: &[(&str, i32)]) -> ReserveStockRequest {
    ReserveStockRequest {
        request_id: format!("reserve-{}", unique()),
        lines: lines
            .iter()
            .map(|(product_id, quantity)| ReservationLine {
                product_id: (*product_id).to_owned(),
                quantity: *quantity,
            })
            .collect(),
        ttl: None,
        reference: String::new(),
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

/// The `ErrorInfo` of a status: (domain, reason).
pub fn error_info(status: &tonic::Status) -> (String, String) {
    let info = status
        .get_details_error_info()
        .expect("an ErrorInfo detail");
    (info.domain, info.reason)
}

/// The `PreconditionFailure` violations of a status: (type, subject, description).
pub fn shortages(status: &tonic::Status) -> Vec<(String, String, String)> {
    status
        .get_details_precondition_failure()
        .map(|p| {
            p.violations
                .into_iter()
                .map(|v| (v.r#type, v.subject, v.description))
                .collect()
        })
        .unwrap_or_default()
}

/// (available, reserved) of a stock.
pub fn counts(stock: &Stock) -> (i64, i64) {
    (stock.available, stock.reserved)
}
