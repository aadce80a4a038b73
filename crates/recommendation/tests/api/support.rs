//! What every recommendation test uses: doubles of orders and catalog (from
//! `bazaar_doubles`), a recommendation service on port 0 (started by the chassis's test
//! harness), order events, and a shorthand for ListRecommendations.

use std::net::SocketAddr;
use std::time::Duration;

use bazaar_contract::orders::v1::*;
use bazaar_contract::recommendation::v1::recommendation_service_client::RecommendationServiceClient;
use bazaar_contract::recommendation::v1::*;
use chassis::testing::{Overrides, Spawned, eventually};
use recommendation::{Config, Recommender};
use tonic::transport::Channel;
use tonic_health::pb::health_check_response::ServingStatus;

pub(crate) use bazaar_doubles::catalog::CatalogDouble;
pub(crate) use bazaar_doubles::free_port;
pub(crate) use bazaar_doubles::orders::OrdersDouble;

/// The shop the catalog double sells: (product, categories).
pub(crate) const SHOP: &[(&str, &[&str])] = &[
    ("kettle", &["kitchen"]),
    ("mug", &["kitchen", "office"]),
    ("teapot", &["kitchen"]),
    ("pan", &["kitchen"]),
    ("lamp", &["office"]),
    ("stapler", &["office"]),
    ("pen", &["office"]),
    ("tent", &["outdoor"]),
];

/// A recommendation service running on port 0.
pub(crate) struct Running {
    pub client: RecommendationServiceClient<Channel>,
    server: Spawned<Recommender>,
}

impl Running {
    /// Starts it with orders and catalog at the given addresses.
    pub(crate) async fn start(orders: SocketAddr, catalog: SocketAddr) -> Self {
        let config = Config::for_tests(orders.to_string(), catalog.to_string());
        let server = chassis::testing::start::<Recommender>(&config, &Overrides::default())
            .await
            .expect("recommendation starts");
        Self {
            client: RecommendationServiceClient::new(server.channel()),
            server,
        }
    }

    /// The health of the recommendation service.
    pub(crate) async fn health(&self) -> ServingStatus {
        self.server
            .health("bazaar.recommendation.v1.RecommendationService")
            .await
    }

    /// Stops it and waits until it has stopped.
    pub(crate) async fn stop(self) {
        self.server
            .stop()
            .await
            .expect("recommendation stops cleanly");
    }

    /// ListRecommendations.
    pub(crate) async fn list(
        &self,
        product_ids: &[&str],
        page_size: i32,
        page_token: &str,
    ) -> Result<ListRecommendationsResponse, tonic::Status> {
        self.client
            .clone()
            .list_recommendations(ListRecommendationsRequest {
                product_ids: product_ids.iter().map(|s| (*s).to_owned()).collect(),
                page_size,
                page_token: page_token.to_owned(),
            })
            .await
            .map(tonic::Response::into_inner)
    }

    /// Every recommendation for `product_ids`, page after page of `page_size`.
    pub(crate) async fn all(&self, product_ids: &[&str], page_size: i32) -> Vec<(String, Reason)> {
        let mut all = Vec::new();
        let mut token = String::new();
        loop {
            let page = self
                .list(product_ids, page_size, &token)
                .await
                .expect("list");
            assert!(page.recommendations.len() <= page_size.max(1) as usize);
            all.extend(listed(&page));
            if page.next_page_token.is_empty() {
                return all;
            }
            token = page.next_page_token;
        }
    }

    /// Waits until `product` is among the best sellers: every event before the one that
    /// first sold it has been learnt by then (events are learnt in order).
    pub(crate) async fn wait_until_sold(&self, product: &str) {
        let sold = eventually(Duration::from_secs(20), async || {
            self.all(&[], 20).await.iter().any(|(p, _)| p == product)
        })
        .await;
        assert!(sold, "{product} never became a best seller");
    }
}

/// The (product, reason) pairs of a page.
pub(crate) fn listed(page: &ListRecommendationsResponse) -> Vec<(String, Reason)> {
    page.recommendations
        .iter()
        .map(|r| {
            (
                r.product_id.clone(),
                RecommendationReason::try_from(r.reason).expect("a known reason"),
            )
        })
        .collect()
}

/// Short names for the reasons.
pub(crate) type Reason = RecommendationReason;
pub(crate) const TOGETHER: Reason = RecommendationReason::BoughtTogether;
pub(crate) const CATEGORY: Reason = RecommendationReason::SameCategory;
pub(crate) const POPULAR: Reason = RecommendationReason::Popular;

/// `(product, reason)` pairs, for comparisons.
pub(crate) fn expect(pairs: &[(&str, Reason)]) -> Vec<(String, Reason)> {
    pairs.iter().map(|(p, r)| ((*p).to_owned(), *r)).collect()
}

/// An event of `kind` with `items` (product, quantity), at the double's next sequence.
pub(crate) fn order_event(
    orders: &OrdersDouble,
    kind: OrderEventType,
    event_id: &str,
    items: &[(&str, i32)],
) -> OrderEvent {
    OrderEvent {
        event_id: event_id.to_owned(),
        sequence: orders.next_sequence(),
        order_id: format!("order-{event_id}"),
        r#type: kind as i32,
        occur_time: None,
        order: Some(Order {
            id: format!("order-{event_id}"),
            items: items
                .iter()
                .map(|(product, quantity)| OrderItem {
                    product_id: (*product).to_owned(),
                    name: (*product).to_owned(),
                    quantity: *quantity,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }),
        traceparent: String::new(),
    }
}

/// The history every ranking test uses. Bought with a kettle: mug in 3 orders, stapler in
/// 2. Units sold: tent 5, kettle 4, mug 3, stapler 2. The traps: a failed order and two
/// redeliveries that would change the ranking if they counted. The tent is sold last.
pub(crate) fn history(orders: &OrdersDouble) {
    use OrderEventType::{Failed, Placed};
    orders.push(order_event(
        orders,
        Placed,
        "e1",
        &[("kettle", 1), ("mug", 1)],
    ));
    orders.push(order_event(
        orders,
        Placed,
        "e2",
        &[("kettle", 1), ("mug", 1), ("stapler", 1)],
    ));
    orders.push(order_event(
        orders,
        Failed,
        "f1",
        &[("kettle", 1), ("teapot", 10)],
    ));
    orders.push(order_event(
        orders,
        Placed,
        "e3",
        &[("kettle", 1), ("mug", 1)],
    ));
    let fourth = order_event(orders, Placed, "e4", &[("kettle", 1), ("stapler", 1)]);
    orders.push(fourth.clone());
    for _ in 0..2 {
        let mut again = fourth.clone();
        again.sequence = orders.next_sequence();
        orders.push(again);
    }
    orders.push(order_event(orders, Placed, "e5", &[("tent", 5)]));
}
