//! The invariants of checkout (DESIGN.md, "Checkout"), checked through the contract after a
//! fault: what every acknowledged order became, what payment charged and refunded, what
//! inventory holds.
//!
//! A test records each order PlaceOrder acknowledged (and whose it is) and each product it
//! stocked; [`Ledger::check`] waits until no acknowledged order is still PENDING, then
//! asserts:
//!
//! 1. no acknowledged order is lost: each is still there for its owner, PLACED or FAILED;
//! 2. at most one charge per order went through (SUCCEEDED or later REFUNDED);
//! 3. a PLACED order has exactly one SUCCEEDED charge, the one it names, of its total; and
//!    the SUCCEEDED charges of the whole ledger add up to the totals of the PLACED orders
//!    (nothing charged that no placed order accounts for);
//! 4. every charge of a FAILED order that went through was refunded;
//! 5. stock is never negative, and is conserved: what was stocked minus what PLACED orders
//!    bought is what is available;
//! 6. no reservation is left once every saga has ended (nothing reserved any more).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bazaar_contract::inventory::v1::BatchGetStockRequest;
use bazaar_contract::inventory::v1::inventory_service_client::InventoryServiceClient;
use bazaar_contract::orders::v1::orders_service_client::OrdersServiceClient;
use bazaar_contract::orders::v1::{GetOrderRequest, Order, OrderState};
use bazaar_contract::payment::v1::payment_service_client::PaymentServiceClient;
use bazaar_contract::payment::v1::{Charge, ChargeStatus, ListChargesRequest};
use bazaar_contract::types::v1::Money;
use bazaar_testkit::Shop;
use bazaar_testkit::buyer::Token;

/// How long the sagas of a test may take to end once the fault is gone.
const SETTLE_WITHIN: Duration = Duration::from_secs(60);

/// What a test did that the invariants are about.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    /// Orders PlaceOrder acknowledged, by id, with their owner's token.
    acknowledged: BTreeMap<String, Token>,
    /// Units put on the shelves, by product.
    stocked: BTreeMap<String, i64>,
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
    /// Records that `quantity` units of `product_id` were stocked.
    pub(crate) fn stocked(&mut self, product_id: &str, quantity: i64) {
        *self.stocked.entry(product_id.to_owned()).or_default() += quantity;
    }

    /// Records an order PlaceOrder acknowledged for the caller `owner`.
    pub(crate) fn acknowledged(&mut self, order: &Order, owner: &Token) {
        self.acknowledged.insert(order.id.clone(), owner.clone());
    }

    /// Waits for every acknowledged order to end, then asserts every invariant; returns
    /// what it saw.
    ///
    /// # Panics
    /// On the first invariant that does not hold, saying which and why.
    pub(crate) async fn check(&self, shop: &Shop) -> Settled {
        let orders = self.settled_orders(shop).await;
        let charges = all_charges(shop).await;

        for (id, order) in &orders {
            let of_order = charges.get(id).map(Vec::as_slice).unwrap_or_default();
            let went_through: Vec<&Charge> = of_order
                .iter()
                .filter(|c| matches!(c.status(), ChargeStatus::Succeeded | ChargeStatus::Refunded))
                .collect();
            assert!(
                went_through.len() <= 1,
                "order {id} was charged {} times: {went_through:?}",
                went_through.len()
            );
            match order.state() {
                OrderState::Placed => {
                    let [charge] = went_through.as_slice() else {
                        panic!("placed order {id} has no charge that went through");
                    };
                    assert_eq!(
                        charge.status(),
                        ChargeStatus::Succeeded,
                        "placed order {id}'s charge is not SUCCEEDED"
                    );
                    assert_eq!(
                        order.charge_id, charge.id,
                        "order {id} names another charge"
                    );
                    assert_eq!(
                        charge.amount, order.total,
                        "order {id} was charged something else than its total"
                    );
                    assert!(
                        !order.shipment_id.is_empty(),
                        "placed order {id} has no shipment"
                    );
                }
                OrderState::Failed => {
                    for charge in went_through {
                        assert_eq!(
                            charge.status(),
                            ChargeStatus::Refunded,
                            "failed order {id} kept its charge {charge:?}"
                        );
                    }
                }
                other => panic!("order {id} ended {other:?}"),
            }
        }

        let charged = sum(charges
            .values()
            .flatten()
            .filter(|c| c.status() == ChargeStatus::Succeeded)
            .filter_map(|c| c.amount.as_ref()));
        let placed = sum(orders
            .values()
            .filter(|o| o.state() == OrderState::Placed)
            .filter_map(|o| o.total.as_ref()));
        assert_eq!(
            charged, placed,
            "the SUCCEEDED charges do not add up to the placed orders' totals"
        );

        self.check_stock(shop, &orders).await;
        Settled { orders, charges }
    }

    /// Every acknowledged order once it is no longer PENDING, read back by its owner.
    async fn settled_orders(&self, shop: &Shop) -> BTreeMap<String, Order> {
        let mut client = OrdersServiceClient::new(shop.channel("orders"));
        let deadline = Instant::now() + SETTLE_WITHIN;
        let mut settled = BTreeMap::new();
        for (id, owner) in &self.acknowledged {
            loop {
                let answer = client
                    .get_order(owner.request(GetOrderRequest {
                        order_id: id.clone(),
                    }))
                    .await;
                match answer {
                    Ok(response) => {
                        let order = response.into_inner().order.expect("GetOrder has the order");
                        if order.state() != OrderState::Pending {
                            settled.insert(id.clone(), order);
                            break;
                        }
                    }
                    Err(status) => assert!(
                        status.code() != tonic::Code::NotFound,
                        "acknowledged order {id} is lost: {status:?}"
                    ),
                }
                assert!(
                    Instant::now() < deadline,
                    "order {id} is still not settled after {SETTLE_WITHIN:?}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        settled
    }

    /// Stock never negative, conserved, and nothing left reserved.
    async fn check_stock(&self, shop: &Shop, orders: &BTreeMap<String, Order>) {
        let mut bought: BTreeMap<&str, i64> = BTreeMap::new();
        for order in orders.values().filter(|o| o.state() == OrderState::Placed) {
            for item in &order.items {
                *bought.entry(item.product_id.as_str()).or_default() += i64::from(item.quantity);
            }
        }
        let product_ids: Vec<String> = self.stocked.keys().cloned().collect();
        let deadline = Instant::now() + SETTLE_WITHIN;
        loop {
            let stocks = InventoryServiceClient::new(shop.channel("inventory"))
                .batch_get_stock(BatchGetStockRequest {
                    product_ids: product_ids.clone(),
                })
                .await
                .expect("BatchGetStock answers")
                .into_inner()
                .stocks;
            let mut still_reserved = Vec::new();
            for stock in &stocks {
                assert!(
                    stock.available >= 0 && stock.reserved >= 0,
                    "negative stock: {stock:?}"
                );
                let stocked = self.stocked[&stock.product_id];
                let sold = bought.get(stock.product_id.as_str()).copied().unwrap_or(0);
                assert!(
                    sold <= stocked,
                    "{sold} of {stock:?} sold, only {stocked} stocked"
                );
                if stock.reserved > 0 {
                    still_reserved.push(stock.clone());
                    continue;
                }
                assert_eq!(
                    stock.available,
                    stocked - sold,
                    "{stocked} stocked, {sold} sold by placed orders, but {stock:?}"
                );
            }
            if still_reserved.is_empty() {
                return;
            }
            // A reservation of a failed saga is released just after the order is marked; an
            // expired one is swept. Either way it must go.
            assert!(
                Instant::now() < deadline,
                "reservations left after every saga ended: {still_reserved:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
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

/// Amounts added up per currency, in nanos of a unit.
fn sum<'a>(amounts: impl Iterator<Item = &'a Money>) -> BTreeMap<String, i128> {
    let mut totals = BTreeMap::new();
    for money in amounts {
        *totals.entry(money.currency_code.clone()).or_default() +=
            i128::from(money.units) * 1_000_000_000 + i128::from(money.nanos);
    }
    totals
}
