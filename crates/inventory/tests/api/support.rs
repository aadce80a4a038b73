//! The real inventory on port 0 with a temporary store, started by the chassis's test
//! harness, and the small tools the black-box tests share.

use std::sync::Arc;

use bazaar_contract::inventory::v1::inventory_service_client::InventoryServiceClient;
use bazaar_contract::inventory::v1::*;
use chassis::ServerArgs;
use chassis::config::IdentityArgs;
use chassis::testing::{Overrides, Spawned, TestIssuer};
use inventory::clock::ManualClock;
use inventory::{Config, Inventory};
use tonic::transport::Channel;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_types::StatusExt;

/// The inventory, with the issuer whose tokens it trusts and the clock it reads.
pub(crate) struct Running {
    pub client: InventoryServiceClient<Channel>,
    pub issuer: TestIssuer,
    pub clock: ManualClock,
    pub(crate) server: Spawned<Inventory>,
}

impl Running {
    /// Starts on `database_url` (SQLite in `data_dir` when `None`), with the sweeper in
    /// effect off (once an hour), so that what the tests see of expiry is what the calls
    /// themselves do.
    pub(crate) async fn start(data_dir: &std::path::Path, database_url: Option<String>) -> Self {
        Self::start_with(data_dir, database_url, 3_600_000).await
    }

    /// Starts with the sweeper running every `sweep_interval_ms` of real time (it reads
    /// the test clock, so it expires what the test has moved the clock past).
    pub(crate) async fn start_with(
        data_dir: &std::path::Path,
        database_url: Option<String>,
        sweep_interval_ms: u64,
    ) -> Self {
        let issuer = TestIssuer::new();
        let clock = ManualClock::new();
        let config = Config {
            // The concurrency tests fire tens of reservations at once from plain clients that
            // do not retry, to see that none oversells; the adaptive limit would rightly refuse
            // part of such a burst (its own tests are the chassis's), so it is off here and
            // every call reaches the stock.
            server: ServerArgs {
                adaptive_limit: false,
                ..ServerArgs::for_tests(data_dir)
            },
            identity: IdentityArgs {
                identity_addr: "127.0.0.1:1".to_owned(),
                signing_keys_refresh_secs: 600,
            },
            database_url: database_url.map(Into::into),
            sweep_interval_ms,
        };
        let server = chassis::testing::start::<Inventory>(
            &config,
            &Overrides::default()
                .clock(Arc::new(clock.clone()))
                .verifier(issuer.verifier()),
        )
        .await
        .expect("inventory starts");
        Self {
            client: InventoryServiceClient::new(server.channel()),
            issuer,
            clock,
            server,
        }
    }

    /// A client on a connection of its own.
    pub(crate) async fn new_client(&self) -> InventoryServiceClient<Channel> {
        InventoryServiceClient::new(self.server.connect())
    }

    /// The health of the inventory service.
    pub(crate) async fn health(&self) -> ServingStatus {
        self.server
            .health("bazaar.inventory.v1.InventoryService")
            .await
    }

    /// Waits until it answers SERVING.
    pub(crate) async fn wait_until_serving(&self) {
        self.server.wait_until_serving().await;
    }

    /// Stops it and waits until it has stopped.
    pub(crate) async fn stop(self) {
        self.server.stop().await.expect("inventory stops cleanly");
    }

    /// The test clock's time, ms since the epoch.
    pub(crate) fn clock_ms(&self) -> i64 {
        use inventory::clock::Clock;
        self.clock.now_ms()
    }

    /// `Bearer <token>` of an admin.
    pub(crate) fn admin(&self) -> String {
        let mut claims = self.issuer.claims("admin-1");
        claims.roles = vec!["admin".to_owned()];
        format!("Bearer {}", self.issuer.token(&claims))
    }

    /// Adds `quantity` units of `product_id` as an admin.
    pub(crate) async fn restock(&self, product_id: &str, quantity: i32) -> Stock {
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
    pub(crate) async fn stock(&self, product_id: &str) -> Stock {
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

/// A request id no other call of this process uses.
pub(crate) fn unique() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A ReserveStock request with a fresh request id.
pub(crate) fn reserve_request(lines: &[(&str, i32)]) -> ReserveStockRequest {
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
pub(crate) fn authed<T>(bearer: &str, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", bearer.parse().expect("ascii token"));
    request
}

/// The `ErrorInfo` of a status: (domain, reason).
pub(crate) fn error_info(status: &tonic::Status) -> (String, String) {
    let info = status
        .get_details_error_info()
        .expect("an ErrorInfo detail");
    (info.domain, info.reason)
}

/// The `PreconditionFailure` violations of a status: (type, subject, description).
pub(crate) fn shortages(status: &tonic::Status) -> Vec<(String, String, String)> {
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
pub(crate) fn counts(stock: &Stock) -> (i64, i64) {
    (stock.available, stock.reserved)
}
