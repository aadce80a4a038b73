//! The invariants of checkout for the scenarios: the one checker, `bazaar::invariants` (also
//! behind `bazaar load --check`), over the test shop's channels, and what the scenarios read
//! back for their own assertions once it found nothing wrong.
//!
//! A scenario records each order PlaceOrder acknowledged (and whose it is) and each product
//! it stocked; [`Ledger::check`] asserts that the checker reports no violation (its report
//! says which invariant broke and with which ids), then returns every acknowledged order as
//! it ended and every charge payment holds.

use std::collections::BTreeMap;
use std::time::Duration;

use bazaar::invariants::{self, Clients, ShopperId};
use bazaar_contract::orders::v1::orders_service_client::OrdersServiceClient;
use bazaar_contract::orders::v1::{GetOrderRequest, Order, OrderState};
use bazaar_contract::payment::v1::payment_service_client::PaymentServiceClient;
use bazaar_contract::payment::v1::{Charge, ListChargesRequest};
use bazaar_testkit::Shop;
use bazaar_testkit::buyer::Token;

/// How long the sagas of a test may take to end once the fault is gone.
pub(crate) const SETTLE_WITHIN: Duration = Duration::from_secs(60);

/// What a test did that the invariants are about.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    ledger: invariants::Ledger,
    /// Each shopper the checker knows, by access token.
    shoppers: BTreeMap<String, ShopperId>,
    /// Orders PlaceOrder acknowledged, by id, with their owner's token.
    acknowledged: BTreeMap<String, Token>,
}

/// What the checker saw, for the test's own assertions.
#[derive(Debug)]
pub(crate) struct Settled {
    /// Every acknowledged order, as it ended.
    pub orders: BTreeMap<String, Order>,
    /// Every charge payment knows, by order id.
    pub charges: BTreeMap<String, Vec<Charge>>,
}

impl Settled {
    /// The orders that ended in `state`.
    pub(crate) fn in_state(&self, state: OrderState) -> usize {
        self.orders.values().filter(|o| o.state() == state).count()
    }
}

impl Ledger {
    /// Records that `added` units of `product_id` were stocked when `available_before`
    /// stood on the shelf.
    pub(crate) fn stocked(&mut self, product_id: &str, available_before: i64, added: i64) {
        self.ledger.stocked(product_id, available_before, added);
    }

    /// Records an order PlaceOrder acknowledged for the caller `owner`.
    pub(crate) fn acknowledged(&mut self, order: &Order, owner: &Token) {
        let shopper = match self.shoppers.get(&owner.0) {
            Some(shopper) => *shopper,
            None => {
                // The scenarios' sessions are short: nothing to renew.
                let shopper = self.ledger.shopper(owner.0.clone(), String::new());
                self.shoppers.insert(owner.0.clone(), shopper);
                shopper
            }
        };
        self.ledger.acknowledged(shopper, order.id.clone());
        self.acknowledged.insert(order.id.clone(), owner.clone());
    }

    /// Waits for every order to end, then asserts that every invariant holds; returns what
    /// it saw.
    ///
    /// # Panics
    /// When the checker reports a violation, with its report.
    pub(crate) async fn check(&self, shop: &Shop) -> Settled {
        let report = invariants::check(&self.ledger, &clients(shop), SETTLE_WITHIN).await;
        assert!(report.violations.is_empty(), "{report}");
        let mut client = OrdersServiceClient::new(shop.channel("orders"));
        let mut orders = BTreeMap::new();
        for (id, owner) in &self.acknowledged {
            let order = client
                .get_order(owner.request(GetOrderRequest {
                    order_id: id.clone(),
                }))
                .await
                .unwrap_or_else(|status| panic!("GetOrder {id} after the check: {status:?}"))
                .into_inner()
                .order
                .expect("GetOrder has the order");
            orders.insert(id.clone(), order);
        }
        Settled {
            orders,
            charges: all_charges(shop).await,
        }
    }
}

/// The checker's clients for `shop`: payment's ledger read with the certificate its access
/// rules expect (orders'), the rest as any caller.
pub(crate) fn clients(shop: &Shop) -> Clients {
    Clients::over(
        shop.channel("identity"),
        shop.channel("inventory"),
        shop.channel("orders"),
        shop.channel("payment"),
    )
}

/// Every charge payment knows, by order id, all pages.
pub(crate) async fn all_charges(shop: &Shop) -> BTreeMap<String, Vec<Charge>> {
    let mut client = PaymentServiceClient::new(shop.channel("payment"));
    let mut by_order: BTreeMap<String, Vec<Charge>> = BTreeMap::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .list_charges(ListChargesRequest {
                page_size: 100,
                page_token: page_token.clone(),
                order_id: String::new(),
            })
            .await
            .expect("ListCharges answers")
            .into_inner();
        for charge in page.charges {
            by_order
                .entry(charge.order_id.clone())
                .or_default()
                .push(charge);
        }
        if page.next_page_token.is_empty() {
            return by_order;
        }
        page_token = page.next_page_token;
    }
}
