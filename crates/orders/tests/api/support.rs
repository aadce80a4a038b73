//! One helper that starts orders on port 0 (by the chassis's test harness) against the
//! doubles of `bazaar_doubles::checkout`, with a real SQLite file in a temporary directory
//! or a PostgreSQL database of its own, and stops and restarts it on the same store.

use std::sync::Arc;
use std::time::Duration;

use bazaar_contract::orders::v1::orders_service_client::OrdersServiceClient;
use bazaar_contract::orders::v1::*;
use bazaar_contract::payment::v1::Card;
use bazaar_contract::types::v1::Address;
use bazaar_doubles::checkout::Doubles;
use chassis::testing::{Overrides, Spawned, TempPostgres, TestIssuer, spawn};
use orders::clock::{Clock, SystemClock};
use orders::{Config, Orders};
use tonic::transport::Channel;
use tonic::{Request, Status};
use tonic_types::StatusExt;

/// How long a checkout may take to settle, or a condition to come true.
const WITHIN: Duration = Duration::from_secs(20);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

/// An orders process running on port 0.
pub(crate) struct Replica {
    pub client: OrdersServiceClient<Channel>,
    server: Spawned<Orders>,
}

impl Replica {
    /// Stops it (as SIGTERM would) and waits until it has stopped.
    pub(crate) async fn stop(self) {
        self.server.stop().await.expect("orders stops cleanly");
    }
}

/// The doubles, a store, and orders on top.
pub(crate) struct World {
    pub issuer: TestIssuer,
    pub doubles: Doubles,
    pub dir: tempfile::TempDir,
    database: Option<TempPostgres>,
    running: Option<Replica>,
}

impl World {
    /// Starts the doubles and orders; `None` when `backend` is PostgreSQL and no server is
    /// configured (the test then says SKIPPED).
    pub(crate) async fn new(backend: Backend, test: &str) -> Option<Self> {
        Self::new_with(backend, test, |_| {}, Arc::new(SystemClock)).await
    }

    /// Same, with changed settings and a clock.
    pub(crate) async fn new_with(
        backend: Backend,
        test: &str,
        configure: impl Fn(&mut Config),
        clock: Arc<dyn Clock>,
    ) -> Option<Self> {
        let database = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(
                TempPostgres::create(&format!("orders::{test}"))
                    .await
                    .expect("PostgreSQL answers")?,
            ),
        };
        let dir = tempfile::tempdir().unwrap();
        let issuer = TestIssuer::new();
        let doubles = Doubles::start(dir.path(), issuer.verifier()).await;
        doubles.inventory.stock("lamp", 10);
        doubles.inventory.stock("mug", 10);
        doubles.inventory.stock("rug", 10);
        let mut world = Self {
            issuer,
            doubles,
            dir,
            database,
            running: None,
        };
        world.start(configure, clock).await;
        Some(world)
    }

    fn config(&self) -> Config {
        let mut config = Config::for_tests(self.dir.path(), self.doubles.addresses.clone());
        config.database_url = self.database.as_ref().map(|d| d.url.clone().into());
        config
    }

    /// Starts orders on the world's store and waits until it is SERVING.
    pub(crate) async fn start(&mut self, configure: impl Fn(&mut Config), clock: Arc<dyn Clock>) {
        assert!(self.running.is_none());
        self.running = Some(self.replica(configure, clock).await);
    }

    /// Starts one more orders process on the same store (another replica), SERVING.
    pub(crate) async fn replica(
        &self,
        configure: impl Fn(&mut Config),
        clock: Arc<dyn Clock>,
    ) -> Replica {
        let mut config = self.config();
        configure(&mut config);
        let server = spawn::<Orders>(
            &config,
            &Overrides::default()
                .clock(clock)
                .verifier(self.issuer.verifier()),
        )
        .await;
        Replica {
            client: OrdersServiceClient::new(server.channel()),
            server,
        }
    }

    /// Stops orders (as SIGTERM would) and waits until it has stopped.
    pub(crate) async fn stop(&mut self) {
        self.running.take().expect("orders runs").stop().await;
    }

    /// The orders service itself, for tests that look inside.
    pub(crate) fn orders(&self) -> &Orders {
        self.running.as_ref().expect("orders runs").server.service()
    }

    pub(crate) fn client(&self) -> OrdersServiceClient<Channel> {
        self.running.as_ref().expect("orders runs").client.clone()
    }

    pub(crate) fn bearer(&self, user: &str) -> String {
        self.issuer.bearer(user)
    }

    /// Stops everything and drops the test's database.
    pub(crate) async fn finish(mut self) {
        if self.running.is_some() {
            self.stop().await;
        }
        self.doubles.stop();
        if let Some(database) = self.database.take() {
            database.drop_database().await.unwrap();
        }
    }

    /// Places an order for `user` and returns its answer.
    pub(crate) async fn place(
        &self,
        user: &str,
        request: PlaceOrderRequest,
    ) -> Result<Order, Status> {
        self.client()
            .place_order(authed(request, &self.bearer(user)))
            .await
            .map(|r| r.into_inner().order.expect("an order"))
    }

    pub(crate) async fn get(&self, user: &str, order_id: &str) -> Result<Order, Status> {
        self.client()
            .get_order(authed(
                GetOrderRequest {
                    order_id: order_id.to_owned(),
                },
                &self.bearer(user),
            ))
            .await
            .map(|r| r.into_inner().order.expect("an order"))
    }

    /// Polls GetOrder until the order is no longer PENDING.
    pub(crate) async fn settled(&self, user: &str, order_id: &str) -> Order {
        let mut order = None;
        let settled = chassis::testing::eventually(WITHIN, async || {
            let found = self.get(user, order_id).await.expect("GetOrder");
            let pending = found.state == OrderState::Pending as i32;
            order = Some(found);
            !pending
        })
        .await;
        assert!(settled, "order {order_id} stayed PENDING");
        order.expect("GetOrder answered")
    }
}

/// Polls `condition` until it holds (at most 20 s).
pub(crate) async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let happened = chassis::testing::eventually(WITHIN, async || condition()).await;
    assert!(happened, "never happened: {what}");
}

/// A request carrying `bearer` and a deadline, as a storefront sends it.
pub(crate) fn authed<T>(message: T, bearer: &str) -> Request<T> {
    let mut request = Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", bearer.parse().unwrap());
    request.set_timeout(Duration::from_secs(15));
    request
}

pub(crate) fn address() -> Address {
    Address {
        recipient_name: "Ada Lovelace".to_owned(),
        street_lines: vec!["12 Analytical Row".to_owned()],
        city: "Springfield".to_owned(),
        region: "IL".to_owned(),
        postal_code: "62701".to_owned(),
        country_code: "US".to_owned(),
    }
}

pub(crate) fn card(number: &str) -> Card {
    Card {
        number: number.to_owned(),
        expiry_month: 12,
        expiry_year: 2040,
        cvv: "123".to_owned(),
        holder_name: "Ada Lovelace".to_owned(),
    }
}

pub(crate) const GOOD_CARD: &str = "4242424242424242";

/// A well-formed PlaceOrder request.
pub(crate) fn place_request(
    request_id: &str,
    card_number: &str,
    currency: &str,
) -> PlaceOrderRequest {
    PlaceOrderRequest {
        request_id: request_id.to_owned(),
        shipping_address: Some(address()),
        email: "ada@example.com".to_owned(),
        card: Some(card(card_number)),
        currency_code: currency.to_owned(),
    }
}

pub(crate) fn reason(status: &Status) -> Option<(String, String)> {
    status
        .get_details_error_info()
        .map(|info| (info.domain, info.reason))
}

pub(crate) fn money_text(money: &Option<bazaar_contract::types::v1::Money>) -> String {
    let money = money.as_ref().expect("an amount");
    format!("{} {}.{:09}", money.currency_code, money.units, money.nanos)
        .trim_end_matches('0')
        .trim_end_matches('.')
        .to_owned()
}
