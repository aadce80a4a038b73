//! The shop's own numbers, read the way Prometheus reads them: each scenario drives real
//! checkouts through the test shop (all ten services in this process, on real sockets with
//! mutual TLS, on SQLite files and, when `BAZAAR_TEST_POSTGRES_URL` is set, on
//! PostgreSQL), then GETs `/metrics` from the admin listener of orders and checks that
//! exactly the expected series moved, by exactly the expected amount.
//!
//! The Prometheus recorder is one per process, shared by every service of every shop of
//! this binary, so the scenarios take turns ([`SERIAL`]): each starts its own shop and
//! reads deltas of counters between two scrapes, and gauges that its shop alone sets.

// The fault injector of the checkout scenarios, shared rather than copied.
#[path = "../checkout/faults.rs"]
mod faults;

use std::time::Duration;

use bazaar_contract::orders::v1::orders_service_client::OrdersServiceClient;
use bazaar_contract::orders::v1::{
    FailureReason, GetOrderRequest, OrderFailure, OrderState, StreamOrderEventsRequest,
};
use bazaar_testkit::buyer::{self, DECLINED_CARD, GOOD_CARD, Token};
use bazaar_testkit::{Shop, ShopBuilder};
use chassis::Shutdown;
use chassis::auth::Peer;
use tokio::sync::Mutex;

use crate::faults::ShippingFaults;
use chassis::testing::metrics::Scrape;

const LAMP: &str = "brass-desk-lamp";
const SKILLET: &str = "cast-iron-skillet";

const ORDERS: &str = "bazaar_orders_total";
const ORDER_FAILURES: &str = "bazaar_order_failures_total";
const STEP_SECONDS_COUNT: &str = "bazaar_saga_step_seconds_count";
const STEP_RETRIES: &str = "bazaar_saga_step_retries_total";
const COMPENSATIONS: &str = "bazaar_saga_compensations_total";
const OUTBOX_HEAD: &str = "bazaar_outbox_head";
const SUBSCRIBERS: &str = "bazaar_event_stream_subscribers";
const CONSUMER_POSITION: &str = "bazaar_consumer_position";
const PAYMENTS: &str = "bazaar_payments_total";
const RESERVATIONS_ACTIVE: &str = "bazaar_reservations_active";
const RESERVATIONS_EXPIRED: &str = "bazaar_reservations_expired_total";
const NOTIFICATIONS_SENT: &str = "bazaar_notifications_sent_total";

/// One scenario at a time: they share the process's recorder.
static SERIAL: Mutex<()> = Mutex::const_new(());

/// One test per backend for each scenario, taking turns.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let _turn = super::SERIAL.lock().await;
                    super::$name(false).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    let _turn = super::SERIAL.lock().await;
                    super::$name(true).await
                }
            }
        )*
    };
}

on_both_backends!(
    a_placed_order_counts_once_and_every_consumer_reaches_its_event,
    a_declined_card_counts_a_failed_order_its_reason_and_the_release,
    an_event_stream_counts_as_a_subscriber_while_it_is_open,
    a_charge_held_past_its_reservation_counts_retries_the_expiry_and_the_refund,
    a_saga_finished_after_a_restart_counts_its_order_once,
);

/// The change of one series between two scrapes.
fn delta(before: &Scrape, after: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    after.value(name, labels) - before.value(name, labels)
}

/// The shop for `test`, on PostgreSQL if `postgres`, after `configure`; `None` when the
/// PostgreSQL run is skipped.
async fn shop(
    test: &str,
    postgres: bool,
    configure: impl FnOnce(ShopBuilder) -> ShopBuilder,
) -> Option<Shop> {
    configure(Shop::builder(test).postgres_if(postgres))
        .start()
        .await
}

/// Stocks `quantity` of each product, as the admin.
async fn stock(shop: &Shop, products: &[(&str, i32)]) {
    let admin = buyer::admin(shop).await;
    for (product_id, quantity) in products {
        buyer::restock(shop, &admin, product_id, *quantity).await;
    }
}

/// A guest with `items` in the cart.
async fn shopper(shop: &Shop, items: &[(&str, i32)]) -> Token {
    let token = buyer::guest(shop).await;
    for (product_id, quantity) in items {
        buyer::add_to_cart(shop, &token, product_id, *quantity).await;
    }
    token
}

/// Waits until `condition` holds on a fresh scrape of orders' `/metrics`; panics with
/// `what` and the last scrape after 30 s.
async fn until(shop: &Shop, what: &str, condition: impl Fn(&Scrape) -> bool) -> Scrape {
    let admin = shop.admin_addr("orders");
    let mut last = None;
    let happened = chassis::testing::eventually(Duration::from_secs(30), async || {
        let scrape = Scrape::of(admin).await;
        let holds = condition(&scrape);
        last = Some(scrape);
        holds
    })
    .await;
    assert!(happened, "never happened: {what}; last scrape: {last:?}");
    last.expect("scraped at least once")
}

/// The state of `order_id`, read by its owner.
async fn order_state(shop: &Shop, owner: &Token, order_id: &str) -> OrderState {
    OrdersServiceClient::new(shop.channel("orders"))
        .get_order(owner.request(GetOrderRequest {
            order_id: order_id.to_owned(),
        }))
        .await
        .expect("GetOrder answers")
        .into_inner()
        .order
        .expect("GetOrder has the order")
        .state()
}

async fn a_placed_order_counts_once_and_every_consumer_reaches_its_event(postgres: bool) {
    let Some(shop) = shop("placed order metrics", postgres, |b| b).await else {
        return;
    };
    let metrics = shop.admin_addr("orders");
    stock(&shop, &[(LAMP, 3)]).await;
    let ada = shopper(&shop, &[(LAMP, 1)]).await;
    let before = Scrape::of(metrics).await;
    assert!(
        before.has(OUTBOX_HEAD),
        "the outbox head is shown from the store's opening"
    );
    assert_eq!(
        before.value(OUTBOX_HEAD, &[]),
        0.0,
        "a new store has no event"
    );

    let request = buyer::order_request(&buyer::unique("order"), GOOD_CARD, "USD");
    let placed = buyer::place_order(&shop, &ada, request.clone())
        .await
        .expect("the order is placed");
    assert_eq!(placed.state(), OrderState::Placed);
    // The caller retries: the same order answers, and nothing counts again.
    let again = buyer::place_order(&shop, &ada, request)
        .await
        .expect("the retry answers");
    assert_eq!(again.id, placed.id);

    let after = Scrape::of(metrics).await;
    assert_eq!(delta(&before, &after, ORDERS, &[("state", "placed")]), 1.0);
    assert_eq!(delta(&before, &after, ORDERS, &[("state", "failed")]), 0.0);
    for step in ["reserve", "charge", "ship", "commit", "empty_cart"] {
        assert_eq!(
            delta(&before, &after, STEP_SECONDS_COUNT, &[("step", step)]),
            1.0,
            "step {step} ran once"
        );
    }
    for step in ["cancel_shipment", "refund", "release"] {
        assert_eq!(
            delta(&before, &after, COMPENSATIONS, &[("step", step)]),
            0.0
        );
    }
    assert_eq!(
        delta(&before, &after, PAYMENTS, &[("outcome", "succeeded")]),
        1.0
    );
    assert_eq!(
        delta(&before, &after, PAYMENTS, &[("outcome", "declined")]),
        0.0
    );
    assert_eq!(after.value(OUTBOX_HEAD, &[]), 1.0, "OrderPlaced is event 1");

    // Both consumers handle the event: their positions reach the head, and the
    // confirmation is sent once.
    let caught_up = until(&shop, "both consumers reach the outbox head", |s| {
        let head = s.value(OUTBOX_HEAD, &[]);
        s.value(CONSUMER_POSITION, &[("consumer", "notification")]) == head
            && s.value(CONSUMER_POSITION, &[("consumer", "recommendation")]) == head
    })
    .await;
    assert_eq!(caught_up.value(OUTBOX_HEAD, &[]), 1.0);
    let sent = until(&shop, "the confirmation is counted", |s| {
        delta(
            &before,
            s,
            NOTIFICATIONS_SENT,
            &[("kind", "order_confirmation")],
        ) >= 1.0
    })
    .await;
    assert_eq!(
        delta(
            &before,
            &sent,
            NOTIFICATIONS_SENT,
            &[("kind", "order_confirmation")]
        ),
        1.0
    );
    shop.shutdown().await;
}

async fn a_declined_card_counts_a_failed_order_its_reason_and_the_release(postgres: bool) {
    let Some(shop) = shop("declined order metrics", postgres, |b| b).await else {
        return;
    };
    let metrics = shop.admin_addr("orders");
    stock(&shop, &[(LAMP, 3)]).await;
    let ada = shopper(&shop, &[(LAMP, 2)]).await;
    let before = Scrape::of(metrics).await;

    let declined = buyer::place_order(
        &shop,
        &ada,
        buyer::order_request(&buyer::unique("order"), DECLINED_CARD, "USD"),
    )
    .await
    .expect("a decline is an answer");
    assert_eq!(declined.state(), OrderState::Failed);
    assert_eq!(
        declined.failure.as_ref().map(OrderFailure::reason),
        Some(FailureReason::PaymentDeclined)
    );

    let after = Scrape::of(metrics).await;
    assert_eq!(delta(&before, &after, ORDERS, &[("state", "failed")]), 1.0);
    assert_eq!(delta(&before, &after, ORDERS, &[("state", "placed")]), 0.0);
    assert_eq!(
        delta(
            &before,
            &after,
            ORDER_FAILURES,
            &[("reason", "payment_declined")]
        ),
        1.0
    );
    for reason in ["out_of_stock", "payment_unavailable", "other"] {
        assert_eq!(
            delta(&before, &after, ORDER_FAILURES, &[("reason", reason)]),
            0.0
        );
    }
    // The stock was reserved, nothing was charged or shipped: only the release undid
    // anything.
    assert_eq!(
        delta(&before, &after, COMPENSATIONS, &[("step", "release")]),
        1.0
    );
    assert_eq!(
        delta(&before, &after, COMPENSATIONS, &[("step", "refund")]),
        0.0
    );
    assert_eq!(
        delta(&before, &after, PAYMENTS, &[("outcome", "declined")]),
        1.0
    );
    assert_eq!(
        delta(&before, &after, PAYMENTS, &[("outcome", "succeeded")]),
        0.0
    );
    assert_eq!(after.value(OUTBOX_HEAD, &[]), 1.0, "OrderFailed is event 1");
    // Every label value is one of the fixed lists.
    let bounded = [
        (ORDERS, "state", &["placed", "failed"][..]),
        (
            ORDER_FAILURES,
            "reason",
            &[
                "out_of_stock",
                "payment_declined",
                "payment_unavailable",
                "other",
            ][..],
        ),
        (
            COMPENSATIONS,
            "step",
            &["cancel_shipment", "refund", "release"][..],
        ),
        (
            PAYMENTS,
            "outcome",
            &["succeeded", "declined", "refunded", "processing_error"][..],
        ),
    ];
    for (name, label, values) in bounded {
        let seen = after.label_values(name, label);
        assert!(!seen.is_empty(), "{name} has samples");
        for value in seen {
            assert!(
                values.contains(&value.as_str()),
                "{name}{{{label}={value:?}}}"
            );
        }
    }
    // notification sends nothing for a failed order, but moves past its event.
    until(&shop, "notification passes the failed order's event", |s| {
        s.value(CONSUMER_POSITION, &[("consumer", "notification")]) == 1.0
    })
    .await;
    shop.shutdown().await;
}

async fn an_event_stream_counts_as_a_subscriber_while_it_is_open(postgres: bool) {
    let Some(shop) = shop("subscriber metrics", postgres, |b| b).await else {
        return;
    };
    let subscribers = |s: &Scrape| s.value(SUBSCRIBERS, &[("stream", "order_events")]);
    until(&shop, "notification and recommendation subscribe", |s| {
        subscribers(s) == 2.0
    })
    .await;

    let mut orders =
        OrdersServiceClient::new(shop.channel_as("orders", &Peer::Operator("operator".to_owned())));
    let stream = orders
        .stream_order_events(StreamOrderEventsRequest { after_sequence: 0 })
        .await
        .expect("an operator may follow the events")
        .into_inner();
    until(&shop, "the operator's stream counts", |s| {
        subscribers(s) == 3.0
    })
    .await;

    // The client goes away.
    drop(stream);
    drop(orders);
    until(&shop, "the closed stream no longer counts", |s| {
        subscribers(s) == 2.0
    })
    .await;

    // A consumer stops: its stream ends with it.
    shop.stop("notification").await;
    until(
        &shop,
        "the stopped consumer's stream no longer counts",
        |s| subscribers(s) == 1.0,
    )
    .await;
    shop.shutdown().await;
}

/// A shop whose orders reaches shipping through a [`ShippingFaults`] injector, with
/// `configure` applied; `None` when the PostgreSQL run is skipped.
async fn shop_with_shipping_faults(
    test: &str,
    postgres: bool,
    configure: impl FnOnce(ShopBuilder) -> ShopBuilder,
) -> Option<(Shop, ShippingFaults, Shutdown, tempfile::TempDir)> {
    let faults = ShippingFaults::default();
    let stop = Shutdown::new();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let injector = faults.serve(dir.path(), stop.clone()).await;
    let shop = shop(test, postgres, |b| {
        configure(b)
            .arg("orders", &format!("--shipping-addr={injector}"))
            .arg("orders", "--place-order-wait-ms=300")
    })
    .await?;
    faults.forward_to(shop.channel_with("shipping", &chassis::testing::client_tls(Some("orders"))));
    Some((shop, faults, stop, dir))
}

async fn a_charge_held_past_its_reservation_counts_retries_the_expiry_and_the_refund(
    postgres: bool,
) {
    let Some((shop, faults, stop, _dir)) =
        shop_with_shipping_faults("expiry metrics", postgres, |b| {
            b.arg("orders", "--reservation-ttl-secs=1")
                .arg("inventory", "--sweep-interval-ms=50")
        })
        .await
    else {
        return;
    };
    let metrics = shop.admin_addr("orders");
    stock(&shop, &[(SKILLET, 1)]).await;
    let ada = shopper(&shop, &[(SKILLET, 1)]).await;
    let bob = shopper(&shop, &[(SKILLET, 1)]).await;
    let before = until(&shop, "no reservation is active yet", |s| {
        s.has(RESERVATIONS_ACTIVE) && s.value(RESERVATIONS_ACTIVE, &[]) == 0.0
    })
    .await;

    // Ada is charged; her shipment cannot be made, so her reservation stays active while
    // the saga retries, then expires.
    faults.fail_shipments(true);
    let ada_order = buyer::place_order(
        &shop,
        &ada,
        buyer::order_request(&buyer::unique("order"), GOOD_CARD, "USD"),
    )
    .await
    .expect("PlaceOrder acknowledges the order");
    faults.fail_shipments_of(&ada_order.id);
    until(&shop, "Ada's reservation counts as active", |s| {
        s.value(RESERVATIONS_ACTIVE, &[]) == 1.0
    })
    .await;
    until(&shop, "the shipment is retried", |s| {
        delta(&before, s, STEP_RETRIES, &[("step", "ship")]) >= 2.0
    })
    .await;
    let expired = until(&shop, "Ada's reservation expires", |s| {
        delta(&before, s, RESERVATIONS_EXPIRED, &[]) >= 1.0
    })
    .await;
    assert_eq!(delta(&before, &expired, RESERVATIONS_EXPIRED, &[]), 1.0);
    until(&shop, "no reservation is active after the expiry", |s| {
        s.value(RESERVATIONS_ACTIVE, &[]) == 0.0
    })
    .await;

    // Bob buys the last skillet meanwhile.
    let bob_order = buyer::place_order(
        &shop,
        &bob,
        buyer::order_request(&buyer::unique("order"), GOOD_CARD, "USD"),
    )
    .await
    .expect("Bob's order");
    let settled = chassis::testing::eventually(Duration::from_secs(30), async || {
        order_state(&shop, &bob, &bob_order.id).await == OrderState::Placed
    })
    .await;
    assert!(settled, "Bob's order is never placed");

    // Shipping is back: Ada's saga cannot get her stock again and undoes the charge.
    faults.fail_shipments(false);
    let settled = chassis::testing::eventually(Duration::from_secs(30), async || {
        order_state(&shop, &ada, &ada_order.id).await == OrderState::Failed
    })
    .await;
    assert!(settled, "Ada's order never fails");

    let after = Scrape::of(metrics).await;
    assert_eq!(delta(&before, &after, ORDERS, &[("state", "placed")]), 1.0);
    assert_eq!(delta(&before, &after, ORDERS, &[("state", "failed")]), 1.0);
    assert_eq!(
        delta(
            &before,
            &after,
            ORDER_FAILURES,
            &[("reason", "out_of_stock")]
        ),
        1.0
    );
    assert_eq!(
        delta(&before, &after, COMPENSATIONS, &[("step", "refund")]),
        1.0
    );
    assert_eq!(
        delta(&before, &after, PAYMENTS, &[("outcome", "succeeded")]),
        2.0
    );
    assert_eq!(
        delta(&before, &after, PAYMENTS, &[("outcome", "refunded")]),
        1.0
    );
    assert_eq!(
        delta(&before, &after, RESERVATIONS_EXPIRED, &[]),
        1.0,
        "each expiry counts once"
    );
    assert_eq!(after.value(OUTBOX_HEAD, &[]), 2.0);
    stop.trigger();
    shop.shutdown().await;
}

async fn a_saga_finished_after_a_restart_counts_its_order_once(postgres: bool) {
    let Some((shop, faults, stop, _dir)) =
        shop_with_shipping_faults("restart metrics", postgres, |b| b).await
    else {
        return;
    };
    let metrics = shop.admin_addr("orders");
    stock(&shop, &[(LAMP, 3)]).await;
    let ada = shopper(&shop, &[(LAMP, 1)]).await;
    let first = shopper(&shop, &[(LAMP, 1)]).await;
    let placed_first = buyer::place_order(
        &shop,
        &first,
        buyer::order_request(&buyer::unique("order"), GOOD_CARD, "USD"),
    )
    .await
    .expect("the first order");
    assert_eq!(placed_first.state(), OrderState::Placed);
    let before = Scrape::of(metrics).await;
    assert_eq!(before.value(OUTBOX_HEAD, &[]), 1.0);

    // Charged, not shipped: orders dies where it stands.
    faults.fail_shipments(true);
    let pending = buyer::place_order(
        &shop,
        &ada,
        buyer::order_request(&buyer::unique("order"), GOOD_CARD, "USD"),
    )
    .await
    .expect("PlaceOrder acknowledges the order");
    assert_eq!(pending.state(), OrderState::Pending);
    let stuck =
        chassis::testing::eventually(Duration::from_secs(30), async || faults.create_calls() >= 2)
            .await;
    assert!(stuck, "the saga never reaches the shipment");
    shop.kill("orders").await;
    faults.fail_shipments(false);
    shop.restart("orders").await;

    let settled = chassis::testing::eventually(Duration::from_secs(30), async || {
        order_state(&shop, &ada, &pending.id).await == OrderState::Placed
    })
    .await;
    assert!(settled, "the resumed saga never places the order");
    let after = until(&shop, "the restarted orders shows the new head", |s| {
        s.value(OUTBOX_HEAD, &[]) == 2.0
    })
    .await;
    assert_eq!(delta(&before, &after, ORDERS, &[("state", "placed")]), 1.0);
    assert_eq!(delta(&before, &after, ORDERS, &[("state", "failed")]), 0.0);
    assert_eq!(
        delta(&before, &after, PAYMENTS, &[("outcome", "succeeded")]),
        1.0,
        "the resumed saga did not charge again"
    );
    stop.trigger();
    shop.shutdown().await;
}
