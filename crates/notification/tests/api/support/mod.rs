//! What every notification test uses: the orders double, a notification service on port 0
//! (started by the chassis's test harness), order events, and a reader for the Maildir
//! messages it writes.

pub(crate) mod mail;

use std::path::{Path, PathBuf};
use std::time::Duration;

use bazaar_contract::notification::v1::notification_service_client::NotificationServiceClient;
use bazaar_contract::notification::v1::*;
use bazaar_contract::orders::v1::*;
use bazaar_contract::types::v1::{Address, Money};
use chassis::testing::{Overrides, Spawned, TestIssuer, eventually};
use notification::{Config, Notifier};
use tonic::transport::Channel;
use tonic_health::pb::health_check_response::ServingStatus;

pub(crate) use bazaar_doubles::free_port;
pub(crate) use bazaar_doubles::orders::OrdersDouble;

/// A notification service running on port 0.
pub(crate) struct Running {
    pub client: NotificationServiceClient<Channel>,
    /// Signs the callers' tokens the service trusts.
    pub issuer: TestIssuer,
    server: Spawned<Notifier>,
    /// Its Maildir folder.
    pub maildir: PathBuf,
}

impl Running {
    /// Starts it with data in `data_dir`, the store at `database_url` (SQLite in the data
    /// directory when `None`) and orders at `orders`.
    pub(crate) async fn start(
        data_dir: &Path,
        database_url: Option<String>,
        orders: std::net::SocketAddr,
    ) -> Self {
        let mut config = Config::for_tests(data_dir, orders.to_string());
        config.database_url = database_url.map(Into::into);
        Self::start_with(config).await
    }

    /// Starts it with `config` and waits until it reports SERVING.
    pub(crate) async fn start_with(config: Config) -> Self {
        let running = Self::launch(config).await;
        running.wait_until_serving().await;
        running
    }

    /// Starts it with `config`, without waiting for it to be ready.
    pub(crate) async fn launch(config: Config) -> Self {
        let maildir = config.maildir();
        let issuer = TestIssuer::new();
        let overrides = Overrides::default().verifier(issuer.verifier());
        let server = chassis::testing::start::<Notifier>(&config, &overrides)
            .await
            .expect("notification starts");
        Self {
            client: NotificationServiceClient::new(server.channel()),
            issuer,
            server,
            maildir,
        }
    }

    /// `message` as a call of `user_id` (a user without roles).
    pub(crate) fn as_user<T>(&self, user_id: &str, message: T) -> tonic::Request<T> {
        self.with_token(&self.issuer.bearer(user_id), message)
    }

    /// `message` as a call of an admin, who sees every notification.
    pub(crate) fn as_admin<T>(&self, message: T) -> tonic::Request<T> {
        let mut claims = self.issuer.claims("the-admin");
        claims.roles = vec!["admin".to_owned()];
        let bearer = format!("Bearer {}", self.issuer.token(&claims));
        self.with_token(&bearer, message)
    }

    fn with_token<T>(&self, bearer: &str, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        request.metadata_mut().insert(
            chassis::auth::AUTHORIZATION,
            bearer.parse().expect("a token is ASCII"),
        );
        request
    }

    /// The health of the notification service.
    pub(crate) async fn health(&self) -> ServingStatus {
        self.server
            .health("bazaar.notification.v1.NotificationService")
            .await
    }

    async fn wait_until_serving(&self) {
        self.server.wait_until_serving().await;
    }

    /// Stops it and waits until it has stopped.
    pub(crate) async fn stop(self) {
        self.server
            .stop()
            .await
            .expect("notification stops cleanly");
    }

    /// Waits until the Maildir holds `count` messages, then returns them (name, text),
    /// ordered by name. Fails if it never does, or if it holds more.
    pub(crate) async fn wait_for_messages(&self, count: usize) -> Vec<(String, String)> {
        let arrived = eventually(Duration::from_secs(20), async || {
            mail::messages(&self.maildir).len() >= count
        })
        .await;
        let messages = mail::messages(&self.maildir);
        assert!(
            arrived,
            "the Maildir never held {count} messages: {messages:?}"
        );
        assert_eq!(messages.len(), count, "more messages than expected");
        messages
    }

    /// Every notification, through ListNotifications with an admin's token.
    pub(crate) async fn all_notifications(&self, order_id: &str) -> Vec<Notification> {
        let mut all = Vec::new();
        let mut token = String::new();
        loop {
            let page = self
                .client
                .clone()
                .list_notifications(self.as_admin(ListNotificationsRequest {
                    page_size: 100,
                    page_token: token,
                    order_id: order_id.to_owned(),
                }))
                .await
                .expect("list")
                .into_inner();
            all.extend(page.notifications);
            if page.next_page_token.is_empty() {
                return all;
            }
            token = page.next_page_token;
        }
    }
}

fn usd(units: i64, nanos: i32) -> Option<Money> {
    Some(Money {
        currency_code: "USD".to_owned(),
        units,
        nanos,
    })
}

/// An item: `quantity` × a product at `units`.`cents` USD.
pub(crate) fn item(
    product_id: &str,
    name: &str,
    quantity: i32,
    units: i64,
    cents: i32,
) -> OrderItem {
    OrderItem {
        product_id: product_id.to_owned(),
        name: name.to_owned(),
        picture_uri: format!("/pictures/{product_id}.svg"),
        quantity,
        unit_price: usd(units, cents * 10_000_000),
    }
}

/// An event of `kind` for order `order_id`, sent to `email`, with `items`; shipping is
/// USD 5.00 and the amounts add up.
pub(crate) fn event(
    kind: OrderEventType,
    event_id: &str,
    sequence: i64,
    order_id: &str,
    email: &str,
    items: Vec<OrderItem>,
) -> OrderEvent {
    let subtotal_cents: i64 = items
        .iter()
        .map(|i| {
            let price = i.unit_price.as_ref().unwrap();
            (price.units * 100 + i64::from(price.nanos / 10_000_000)) * i64::from(i.quantity)
        })
        .sum();
    let total_cents = subtotal_cents + 500;
    let cents = |c: i64| usd(c / 100, (c % 100) as i32 * 10_000_000);
    let placed = kind == OrderEventType::Placed;
    OrderEvent {
        event_id: event_id.to_owned(),
        sequence,
        order_id: order_id.to_owned(),
        r#type: kind as i32,
        occur_time: None,
        order: Some(Order {
            id: order_id.to_owned(),
            user_id: "user-a".to_owned(),
            state: if placed {
                OrderState::Placed
            } else {
                OrderState::Failed
            } as i32,
            failure: None,
            items,
            subtotal: cents(subtotal_cents),
            shipping_cost: cents(500),
            total: cents(total_cents),
            charge_id: "ch-1".to_owned(),
            shipment_id: "sh-1".to_owned(),
            tracking_id: if placed {
                format!("TRACK-{order_id}")
            } else {
                String::new()
            },
            shipping_address: Some(Address {
                recipient_name: "Ada Lovelace".to_owned(),
                street_lines: vec!["12 St James's Square".to_owned()],
                city: "London".to_owned(),
                region: String::new(),
                postal_code: "SW1Y 4JH".to_owned(),
                country_code: "GB".to_owned(),
            }),
            email: email.to_owned(),
            estimated_delivery_days: 3,
            create_time: None,
            update_time: None,
        }),
        traceparent: String::new(),
    }
}

/// A placed order with one lamp, the next sequence of `orders`.
pub(crate) fn placed(orders: &OrdersDouble, event_id: &str, order_id: &str) -> OrderEvent {
    event(
        OrderEventType::Placed,
        event_id,
        orders.next_sequence(),
        order_id,
        &format!("{order_id}@example.com"),
        vec![item("brass-desk-lamp", "Brass desk lamp", 1, 49, 0)],
    )
}
