//! The checker itself (`bazaar::invariants`): silent about a shop where every invariant
//! holds, and, once the shop is tampered with behind its ledger's back through the
//! contract, naming each breach with its ids.

use bazaar::invariants::{self, Ledger, Report, ShopperId};
use bazaar_contract::orders::v1::{Order, OrderState};
use bazaar_contract::payment::v1::RefundRequest;
use bazaar_contract::payment::v1::payment_service_client::PaymentServiceClient;
use bazaar_testkit::Shop;
use bazaar_testkit::buyer::{self, DECLINED_CARD, GOOD_CARD, Token};
use chassis::auth::Peer;

use crate::invariants::{SETTLE_WITHIN, clients};
use crate::reads::stock_of;
use crate::{LAMP, MUG};

/// A guest session: its token, and the shopper the ledger knows it as, registered with
/// `access_token` in place of the real one when given (a token that no longer works).
async fn guest(shop: &Shop, ledger: &mut Ledger, access_token: Option<&str>) -> (Token, ShopperId) {
    let session = buyer::guest_session(shop).await;
    let shopper = ledger.shopper(
        access_token.map_or_else(|| session.access_token.clone(), str::to_owned),
        session.refresh_token,
    );
    (Token(session.access_token), shopper)
}

/// `token`'s cart with `quantity` of `product_id`, ordered and paid with `card`.
async fn order(shop: &Shop, token: &Token, product_id: &str, quantity: i32, card: &str) -> Order {
    buyer::add_to_cart(shop, token, product_id, quantity).await;
    buyer::place_order(
        shop,
        token,
        buyer::order_request(&buyer::unique("order"), card, "USD"),
    )
    .await
    .expect("PlaceOrder answers")
}

/// The violations of `report` that mention every one of `words`.
fn mentioning<'a>(report: &'a Report, words: &[&str]) -> Vec<&'a String> {
    report
        .violations
        .iter()
        .filter(|v| words.iter().all(|w| v.contains(w)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_checker_passes_a_sound_shop_and_names_each_tampering() {
    let shop = Shop::builder("invariant checker")
        .start()
        .await
        .expect("a shop on SQLite always starts");
    let clients = clients(&shop);
    let admin = buyer::admin(&shop).await;
    let mut ledger = Ledger::default();
    for product_id in [LAMP, MUG] {
        let (before, _) = stock_of(&shop, product_id).await;
        buyer::restock(&shop, &admin, product_id, 5).await;
        ledger.stocked(product_id, before, 5);
    }

    // Ada's order is placed and acknowledged; Bob's card is declined; Cy's order is placed
    // but its answer never reaches the ledger, and the ledger holds a token of Cy's that
    // no longer works (the checker renews it with the refresh token).
    let (ada_token, ada) = guest(&shop, &mut ledger, None).await;
    let placed = order(&shop, &ada_token, LAMP, 2, GOOD_CARD).await;
    assert_eq!(placed.state(), OrderState::Placed);
    ledger.acknowledged(ada, placed.id.clone());
    let (bob_token, bob) = guest(&shop, &mut ledger, None).await;
    let declined = order(&shop, &bob_token, MUG, 1, DECLINED_CARD).await;
    assert_eq!(declined.state(), OrderState::Failed);
    ledger.acknowledged(bob, declined.id.clone());
    let (cy_token, _) = guest(&shop, &mut ledger, Some("an-expired-token")).await;
    let unacknowledged = order(&shop, &cy_token, MUG, 3, GOOD_CARD).await;
    assert_eq!(unacknowledged.state(), OrderState::Placed);

    let report = invariants::check(&ledger, &clients, SETTLE_WITHIN).await;
    assert!(report.violations.is_empty(), "{report}");
    assert_eq!(
        (report.orders, report.placed, report.failed, report.pending),
        (3, 2, 1, 0),
        "{report}"
    );

    // Behind the ledger's back: two more lamps on the shelf; Ada's charge refunded (by a
    // caller with orders' certificate, as only the checkout may); and an acknowledgement
    // of an order that never was.
    buyer::restock(&shop, &admin, LAMP, 2).await;
    let refunder = shop.channel_as("payment", &Peer::Service("orders".to_owned()));
    PaymentServiceClient::new(refunder)
        .refund(RefundRequest {
            request_id: buyer::unique("refund"),
            charge_id: placed.charge_id.clone(),
        })
        .await
        .expect("the refund is made");
    ledger.acknowledged(ada, "ord_never-placed".to_owned());

    let report = invariants::check(&ledger, &clients, SETTLE_WITHIN).await;
    assert_eq!(report.violations.len(), 3, "{report}");
    assert_eq!(
        mentioning(
            &report,
            &[
                "product",
                LAMP,
                "not conserved",
                "5 added - 2 sold",
                "available"
            ]
        )
        .len(),
        1,
        "{report}"
    );
    assert_eq!(
        mentioning(
            &report,
            &[
                "placed order",
                &placed.id,
                "0 live",
                &placed.charge_id,
                "REFUNDED"
            ]
        )
        .len(),
        1,
        "{report}"
    );
    assert_eq!(
        mentioning(&report, &["acknowledged order ord_never-placed", "lost"]).len(),
        1,
        "{report}"
    );
    shop.shutdown().await;
}
