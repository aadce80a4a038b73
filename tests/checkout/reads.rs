//! What the scenarios read back through the contract: a charge, a stock level, an order's
//! state.

use bazaar_contract::inventory::v1::GetStockRequest;
use bazaar_contract::inventory::v1::inventory_service_client::InventoryServiceClient;
use bazaar_contract::orders::v1::orders_service_client::OrdersServiceClient;
use bazaar_contract::orders::v1::{GetOrderRequest, OrderState};
use bazaar_contract::payment::v1::ChargeStatus;
use bazaar_testkit::Shop;
use bazaar_testkit::buyer::Token;

use crate::invariants;

/// Whether payment holds a SUCCEEDED charge for `order_id`.
pub(crate) async fn charged(shop: &Shop, order_id: &str) -> bool {
    invariants::all_charges(shop)
        .await
        .get(order_id)
        .is_some_and(|c| c.iter().any(|c| c.status() == ChargeStatus::Succeeded))
}

/// Available and reserved units of `product_id`.
pub(crate) async fn stock_of(shop: &Shop, product_id: &str) -> (i64, i64) {
    let stock = InventoryServiceClient::new(shop.channel("inventory"))
        .get_stock(GetStockRequest {
            product_id: product_id.to_owned(),
        })
        .await
        .expect("GetStock answers")
        .into_inner()
        .stock
        .expect("GetStock has the stock");
    (stock.available, stock.reserved)
}

/// The state of `order_id`, read by its owner.
pub(crate) async fn order_state(shop: &Shop, owner: &Token, order_id: &str) -> OrderState {
    order_state_at(shop, 0, owner, order_id).await
}

/// The state of `order_id`, read by its owner through replica `replica` of orders.
pub(crate) async fn order_state_at(
    shop: &Shop,
    replica: usize,
    owner: &Token,
    order_id: &str,
) -> OrderState {
    OrdersServiceClient::new(shop.replica_channel("orders", replica))
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
