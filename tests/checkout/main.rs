//! Checkout under faults, through the real services: all ten started in this process by
//! `bazaar-testkit`, each on its own runtime and socket, on SQLite files and (when
//! `BAZAAR_TEST_POSTGRES_URL` is set) on PostgreSQL, once with one replica of every service
//! and once with two replicas of every service sharing its database (callers balancing over
//! both, sagas leased to one replica, both notification replicas following one stream into
//! one store). Each scenario injects one fault of
//! DESIGN.md's list (a declined card, stock gone between cart and checkout, shipping down
//! after the charge, orders killed mid-saga, notification down, one PlaceOrder sent twice
//! at once), then lets [`invariants::Ledger::check`] assert every checkout invariant
//! (`bazaar::invariants`, the checker of `bazaar load --check`, whose own test is
//! [`checker`]).

mod checker;
mod faults;
mod invariants;
mod reads;

use std::time::Duration;

use bazaar_contract::notification::v1::ListNotificationsRequest;
use bazaar_contract::notification::v1::notification_service_client::NotificationServiceClient;
use bazaar_contract::orders::v1::{FailureReason, OrderFailure, OrderState};
use bazaar_contract::payment::v1::ChargeStatus;
use bazaar_testkit::buyer::{self, DECLINED_CARD, GOOD_CARD, Token};
use bazaar_testkit::{Shop, ShopBuilder};
use chassis::Shutdown;

use crate::faults::ShippingFaults;
use crate::invariants::Ledger;
use crate::reads::{charged, order_state, order_state_at, stock_of};

const LAMP: &str = "brass-desk-lamp";
const MUG: &str = "ceramic-coffee-mug";
const SKILLET: &str = "cast-iron-skillet";

/// How a scenario's shop runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Run {
    /// One replica of every service, on SQLite files.
    Sqlite,
    /// One replica of every service, on PostgreSQL.
    Postgres,
    /// Two replicas of every service, each service's two on one PostgreSQL database.
    PostgresTwoReplicas,
}

impl Run {
    fn postgres(self) -> bool {
        self != Self::Sqlite
    }

    fn replicas(self) -> usize {
        if self == Self::PostgresTwoReplicas {
            2
        } else {
            1
        }
    }
}

/// Held for writing by each scenario run with two replicas, and for reading by those on one
/// PostgreSQL shop: a shop of two replicas of every service holds some 40 PostgreSQL
/// connections, and more on a slow machine (each pool opens more while its calls queue, up
/// to 10), so it runs without another PostgreSQL shop beside it, clear of the server's
/// default limit of 100.
static TWO_REPLICA_SHOPS: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// One test per backend for each scenario, and one with two replicas of every service.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                use super::Run;

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name(Run::Sqlite).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    let _beside_others = super::TWO_REPLICA_SHOPS.read().await;
                    super::$name(Run::Postgres).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres_two_replicas() {
                    let _alone = super::TWO_REPLICA_SHOPS.write().await;
                    super::$name(Run::PostgresTwoReplicas).await
                }
            }
        )*
    };
}

on_both_backends!(
    a_declined_card_fails_the_order_and_charges_nothing,
    stock_gone_between_cart_and_checkout_fails_only_the_late_order,
    shipping_down_after_the_charge_is_retried_until_placed,
    orders_killed_after_the_charge_finishes_the_saga_when_back,
    stock_lost_after_the_charge_is_refunded,
    confirmations_missed_while_notification_is_down_are_sent_once,
    one_place_order_sent_twice_at_once_orders_once,
);

/// The shop for `test`, as `run` says, after `configure`; `None` when the PostgreSQL run
/// is skipped.
async fn shop(
    test: &str,
    run: Run,
    configure: impl FnOnce(ShopBuilder) -> ShopBuilder,
) -> Option<Shop> {
    let test = match run.replicas() {
        1 => test.to_owned(),
        n => format!("{test}, {n} replicas"),
    };
    let builder = Shop::builder(&test)
        .postgres_if(run.postgres())
        .replicas(run.replicas());
    configure(builder).start().await
}

/// Stocks `quantity` of each product, as the admin, and records it with what stood on the
/// shelf before.
async fn stock(shop: &Shop, ledger: &mut Ledger, products: &[(&str, i32)]) {
    let admin = buyer::admin(shop).await;
    for (product_id, quantity) in products {
        let (available_before, _) = stock_of(shop, product_id).await;
        buyer::restock(shop, &admin, product_id, *quantity).await;
        ledger.stocked(product_id, available_before, i64::from(*quantity));
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

async fn a_declined_card_fails_the_order_and_charges_nothing(run: Run) {
    let Some(shop) = shop("declined card", run, |b| b).await else {
        return;
    };
    let mut ledger = Ledger::default();
    stock(&shop, &mut ledger, &[(LAMP, 5)]).await;
    let ada = shopper(&shop, &[(LAMP, 2)]).await;

    let declined = buyer::place_order(
        &shop,
        &ada,
        buyer::order_request(&buyer::unique("order"), DECLINED_CARD, "USD"),
    )
    .await
    .expect("a decline is an answer, not an error");
    ledger.acknowledged(&declined, &ada);
    assert_eq!(declined.state(), OrderState::Failed);
    let failure = declined.failure.clone().expect("a failed order says why");
    assert_eq!(failure.reason(), FailureReason::PaymentDeclined);

    // The cart was kept: the same buyer pays with another card.
    let placed = buyer::place_order(
        &shop,
        &ada,
        buyer::order_request(&buyer::unique("order"), GOOD_CARD, "USD"),
    )
    .await
    .expect("the second try is placed");
    ledger.acknowledged(&placed, &ada);
    assert_eq!(placed.state(), OrderState::Placed);

    let settled = ledger.check(&shop).await;
    assert_eq!(settled.in_state(OrderState::Failed), 1);
    assert_eq!(settled.in_state(OrderState::Placed), 1);
    let charges = &settled.charges[&declined.id];
    assert!(
        charges.iter().all(|c| c.status() == ChargeStatus::Declined),
        "{charges:?}"
    );
    shop.shutdown().await;
}

async fn stock_gone_between_cart_and_checkout_fails_only_the_late_order(run: Run) {
    let Some(shop) = shop("stock gone", run, |b| b).await else {
        return;
    };
    let mut ledger = Ledger::default();
    stock(&shop, &mut ledger, &[(SKILLET, 1), (MUG, 10)]).await;
    // Both carts hold the last skillet; the first to check out gets it.
    let first = shopper(&shop, &[(SKILLET, 1), (MUG, 1)]).await;
    let late = shopper(&shop, &[(SKILLET, 1), (MUG, 2)]).await;

    let placed = buyer::place_order(
        &shop,
        &first,
        buyer::order_request(&buyer::unique("order"), GOOD_CARD, "USD"),
    )
    .await
    .expect("the first order");
    ledger.acknowledged(&placed, &first);
    assert_eq!(placed.state(), OrderState::Placed);

    let failed = buyer::place_order(
        &shop,
        &late,
        buyer::order_request(&buyer::unique("order"), GOOD_CARD, "USD"),
    )
    .await
    .expect("running out of stock is an answer, not an error");
    ledger.acknowledged(&failed, &late);
    assert_eq!(failed.state(), OrderState::Failed);
    let failure = failed.failure.clone().expect("a failed order says why");
    assert_eq!(failure.reason(), FailureReason::OutOfStock);
    assert_eq!(failure.product_ids, vec![SKILLET.to_owned()]);

    let settled = ledger.check(&shop).await;
    assert!(
        !settled.charges.contains_key(&failed.id),
        "an order without stock reached payment: {:?}",
        settled.charges.get(&failed.id)
    );
    shop.shutdown().await;
}

/// A shop whose orders reaches shipping through a [`ShippingFaults`] injector.
async fn shop_with_shipping_faults(
    test: &str,
    run: Run,
) -> Option<(Shop, ShippingFaults, Shutdown)> {
    shop_with_shipping_faults_and(test, run, |b| b).await
}

/// [`shop_with_shipping_faults`], after `configure`.
async fn shop_with_shipping_faults_and(
    test: &str,
    run: Run,
    configure: impl FnOnce(ShopBuilder) -> ShopBuilder,
) -> Option<(Shop, ShippingFaults, Shutdown)> {
    let faults = ShippingFaults::default();
    let stop = Shutdown::new();
    let dir = tempfile_dir();
    let injector = faults.serve(dir.path(), stop.clone()).await;
    let shop = shop(test, run, |b| {
        configure(b)
            .arg("orders", &format!("--shipping-addr={injector}"))
            // Answer PENDING soon: the test watches the saga go on without the caller.
            .arg("orders", "--place-order-wait-ms=300")
    })
    .await?;
    // The calls it forwards are orders', so it presents orders' certificate.
    faults.forward_to(shop.channel_with("shipping", &chassis::testing::client_tls(Some("orders"))));
    Some((shop, faults, stop))
}

fn tempfile_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary directory")
}

/// Waits until `condition` holds, polling; panics with `what` after 30 s.
async fn eventually(what: &str, condition: impl AsyncFnMut() -> bool) {
    let happened = chassis::testing::eventually(Duration::from_secs(30), condition).await;
    assert!(happened, "never happened: {what}");
}

async fn shipping_down_after_the_charge_is_retried_until_placed(run: Run) {
    let Some((shop, faults, stop)) = shop_with_shipping_faults("shipping down", run).await else {
        return;
    };
    let mut ledger = Ledger::default();
    stock(&shop, &mut ledger, &[(LAMP, 3)]).await;
    let ada = shopper(&shop, &[(LAMP, 1)]).await;

    faults.fail_shipments(true);
    let pending = buyer::place_order(
        &shop,
        &ada,
        buyer::order_request(&buyer::unique("order"), GOOD_CARD, "USD"),
    )
    .await
    .expect("PlaceOrder acknowledges the order");
    ledger.acknowledged(&pending, &ada);
    assert_eq!(pending.state(), OrderState::Pending);
    eventually("shipment tried three times", async || {
        faults.create_calls() >= 3
    })
    .await;
    assert!(charged(&shop, &pending.id).await, "the charge came first");

    faults.fail_shipments(false);
    let settled = ledger.check(&shop).await;
    assert_eq!(settled.orders[&pending.id].state(), OrderState::Placed);
    stop.trigger();
    shop.shutdown().await;
}

async fn orders_killed_after_the_charge_finishes_the_saga_when_back(run: Run) {
    let Some((shop, faults, stop)) = shop_with_shipping_faults("orders killed", run).await else {
        return;
    };
    let mut ledger = Ledger::default();
    stock(&shop, &mut ledger, &[(LAMP, 3), (MUG, 3)]).await;
    let ada = shopper(&shop, &[(LAMP, 1), (MUG, 2)]).await;

    faults.fail_shipments(true);
    let request = buyer::order_request(&buyer::unique("order"), GOOD_CARD, "EUR");
    let pending = buyer::place_order(&shop, &ada, request.clone())
        .await
        .expect("PlaceOrder acknowledges the order");
    ledger.acknowledged(&pending, &ada);
    eventually("the saga reaches the shipment", async || {
        faults.create_calls() >= 1
    })
    .await;
    assert!(charged(&shop, &pending.id).await, "the charge came first");

    // Charged, not shipped: the process that runs the saga (the replica PlaceOrder
    // reached) dies where it stands.
    shop.kill_replica("orders", 0).await;
    faults.fail_shipments(false);
    if shop.replicas() > 1 {
        // Another replica takes the saga over once its lease has run out, and finishes it
        // while the one that ran it is still down.
        eventually("another replica finishes the saga", async || {
            order_state_at(&shop, 1, &ada, &pending.id).await == OrderState::Placed
        })
        .await;
    }
    shop.restart("orders").await;

    let settled = ledger.check(&shop).await;
    let order = &settled.orders[&pending.id];
    assert_eq!(order.state(), OrderState::Placed);
    // A retry by the caller, through any replica, finds the same order.
    for replica in 0..shop.replicas() {
        let again = buyer::place_order_at(&shop, replica, &ada, request.clone())
            .await
            .expect("the retry answers");
        assert_eq!(again.id, pending.id);
        assert_eq!(again.charge_id, order.charge_id);
    }
    stop.trigger();
    shop.shutdown().await;
}

async fn stock_lost_after_the_charge_is_refunded(run: Run) {
    let Some((shop, faults, stop)) =
        shop_with_shipping_faults_and("stock lost after the charge", run, |b| {
            b.arg("orders", "--reservation-ttl-secs=1")
        })
        .await
    else {
        return;
    };
    let mut ledger = Ledger::default();
    stock(&shop, &mut ledger, &[(SKILLET, 1)]).await;
    let ada = shopper(&shop, &[(SKILLET, 1)]).await;
    let bob = shopper(&shop, &[(SKILLET, 1)]).await;

    // Ada is charged, then her shipment cannot be made for longer than the reservation
    // lasts; the reservation expires and Bob buys the last skillet meanwhile.
    faults.fail_shipments(true);
    let ada_order = buyer::place_order(
        &shop,
        &ada,
        buyer::order_request(&buyer::unique("order"), GOOD_CARD, "USD"),
    )
    .await
    .expect("PlaceOrder acknowledges the order");
    ledger.acknowledged(&ada_order, &ada);
    faults.fail_shipments_of(&ada_order.id);
    eventually("Ada is charged", async || {
        charged(&shop, &ada_order.id).await
    })
    .await;
    eventually("Ada's reservation expires", async || {
        stock_of(&shop, SKILLET).await == (1, 0)
    })
    .await;
    let bob_order = buyer::place_order(
        &shop,
        &bob,
        buyer::order_request(&buyer::unique("order"), GOOD_CARD, "USD"),
    )
    .await
    .expect("Bob's order");
    ledger.acknowledged(&bob_order, &bob);
    eventually("Bob's order is placed", async || {
        order_state(&shop, &bob, &bob_order.id).await == OrderState::Placed
    })
    .await;

    // Shipping is back: Ada's saga cannot get her stock again, so it undoes the charge.
    faults.fail_shipments(false);
    let settled = ledger.check(&shop).await;
    let ada_order = &settled.orders[&ada_order.id];
    assert_eq!(ada_order.state(), OrderState::Failed);
    assert_eq!(
        ada_order.failure.as_ref().map(OrderFailure::reason),
        Some(FailureReason::OutOfStock)
    );
    let refunded = &settled.charges[&ada_order.id];
    assert!(
        refunded
            .iter()
            .any(|c| c.status() == ChargeStatus::Refunded),
        "Ada's charge was not refunded: {refunded:?}"
    );
    stop.trigger();
    shop.shutdown().await;
}

async fn confirmations_missed_while_notification_is_down_are_sent_once(run: Run) {
    let Some(shop) = shop("notification down", run, |b| b).await else {
        return;
    };
    let mut ledger = Ledger::default();
    stock(&shop, &mut ledger, &[(MUG, 20)]).await;

    shop.stop("notification").await;
    let mut placed = Vec::new();
    for _ in 0..3 {
        let buyer = shopper(&shop, &[(MUG, 1)]).await;
        let order = buyer::place_order(
            &shop,
            &buyer,
            buyer::order_request(&buyer::unique("order"), GOOD_CARD, "USD"),
        )
        .await
        .expect("checkout does not need notification");
        assert_eq!(order.state(), OrderState::Placed);
        ledger.acknowledged(&order, &buyer);
        placed.push((order.id, buyer));
    }

    shop.restart("notification").await;
    for (id, buyer) in &placed {
        eventually("the missed confirmation is sent", async || {
            sent_for(&shop, buyer, id).await == 1
        })
        .await;
    }

    // Once more down and up, then one more order: it is confirmed after everything
    // before it (events are handled in order), and nothing was sent twice.
    shop.kill("notification").await;
    shop.restart("notification").await;
    let last_buyer = shopper(&shop, &[(MUG, 1)]).await;
    let last = buyer::place_order(
        &shop,
        &last_buyer,
        buyer::order_request(&buyer::unique("order"), GOOD_CARD, "USD"),
    )
    .await
    .expect("the last order");
    ledger.acknowledged(&last, &last_buyer);
    placed.push((last.id.clone(), last_buyer.clone()));
    eventually("the last confirmation is sent", async || {
        sent_for(&shop, &last_buyer, &last.id).await == 1
    })
    .await;
    for (id, buyer) in &placed {
        assert_eq!(sent_for(&shop, buyer, id).await, 1, "order {id}");
    }
    let messages = std::fs::read_dir(shop.data_dir().join("maildir/new"))
        .expect("the Maildir exists")
        .count();
    assert_eq!(
        messages,
        placed.len(),
        "one message per order in the Maildir"
    );

    ledger.check(&shop).await;
    shop.shutdown().await;
}

/// How many notifications were sent for `order_id`, as its buyer sees them.
async fn sent_for(shop: &Shop, buyer: &Token, order_id: &str) -> usize {
    NotificationServiceClient::new(shop.channel("notification"))
        .list_notifications(buyer.request(ListNotificationsRequest {
            page_size: 100,
            page_token: String::new(),
            order_id: order_id.to_owned(),
        }))
        .await
        .map_or(0, |r| r.into_inner().notifications.len())
}

async fn one_place_order_sent_twice_at_once_orders_once(run: Run) {
    let Some(shop) = shop("twice at once", run, |b| b).await else {
        return;
    };
    let mut ledger = Ledger::default();
    stock(&shop, &mut ledger, &[(LAMP, 5)]).await;
    let ada = shopper(&shop, &[(LAMP, 2)]).await;

    let request = buyer::order_request(&buyer::unique("order"), GOOD_CARD, "USD");
    // With replicas, the two calls reach two of them.
    let other = 1 % shop.replicas();
    let (one, two) = tokio::join!(
        buyer::place_order_at(&shop, 0, &ada, request.clone()),
        buyer::place_order_at(&shop, other, &ada, request.clone()),
    );
    // The contract lets the second of two overlapping calls answer ABORTED ("still in
    // progress"); a client then retries with the same request id, and gets the order.
    let mut answers = Vec::new();
    for answer in [one, two] {
        let order = match answer {
            Ok(order) => order,
            Err(status) if status.code() == tonic::Code::Aborted => {
                buyer::place_order(&shop, &ada, request.clone())
                    .await
                    .expect("the retry answers")
            }
            Err(status) => panic!("PlaceOrder failed: {status:?}"),
        };
        answers.push(order);
    }
    let [one, two] = answers.try_into().expect("two answers");
    assert_eq!(one.id, two.id, "one request id, one order");
    ledger.acknowledged(&one, &ada);

    let settled = ledger.check(&shop).await;
    assert_eq!(settled.orders[&one.id].state(), OrderState::Placed);
    assert_eq!(settled.charges.len(), 1, "{:?}", settled.charges);
    shop.shutdown().await;
}
