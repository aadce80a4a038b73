//! Orders: the checkout saga seen from outside (placed, failed and undone, idempotent on
//! `request_id`), the amounts that must add up, who may see which order, listing, and the
//! order event stream.
//!
//! A checkout needs the whole shop: identity for a caller, catalog for products, cart to
//! fill, inventory and an admin to stock the shelves. The checks that cross-check prices
//! also ask currency and shipping. Stock is never assumed: each check restocks what it
//! buys, and compares stock before and after.
//!
//! One file per part of the contract: `place_order` (what PlaceOrder refuses before any
//! saga starts), `placed` (checkouts that succeed), `failed` (checkouts that fail and undo
//! what they did), `get_order`, `list_orders` and `events`. The set-up they share (a
//! caller with a filled cart, stock levels, the caller's own orders and cart) is here.

mod events;
mod failed;
mod get_order;
mod list_orders;
mod place_order;
mod placed;

use bazaar_contract::cart::v1::cart_service_client::CartServiceClient;
use bazaar_contract::cart::v1::{CartItem, GetCartRequest};
use bazaar_contract::catalog::v1::Product;
use bazaar_contract::orders::v1::orders_service_client::OrdersServiceClient;
use bazaar_contract::orders::v1::{GetOrderRequest, ListOrdersRequest, Order};
use tonic::Code;
use tonic::transport::Channel;

use crate::Runner;
use crate::check::{Checked, ok, refused};
use crate::shopper::{
    Caller, GOOD_CARD, add_to_cart, guest, order_request, products, restock, stock,
};
use crate::target::{Target, authorized, garbage_token, unique};

type Client = OrdersServiceClient<Channel>;

/// Runs every orders check.
pub async fn run(target: &Target, r: &mut Runner<'_>) {
    let c = OrdersServiceClient::new(target.own());
    r.check(
        "PlaceOrder, GetOrder and ListOrders without a valid token are UNAUTHENTICATED",
        unauthenticated(c.clone()),
    )
    .await;
    r.check(
        "PlaceOrder with an empty cart is FAILED_PRECONDITION CART_EMPTY",
        place_order::cart_empty(c.clone(), target.clone()),
    )
    .await;
    r.check("PlaceOrder with a product the catalog lacks is FAILED_PRECONDITION PRODUCT_NOT_FOUND with ResourceInfo", place_order::product_not_found(c.clone(), target.clone())).await;
    r.check(
        "PlaceOrder: malformed request_id, address, email, card or currency are INVALID_ARGUMENT",
        place_order::place_invalid(c.clone(), target.clone()),
    )
    .await;
    r.check("a checkout with stock and a good card is PLACED: catalog prices, amounts add up, stock taken, cart emptied", placed::placed(c.clone(), target.clone())).await;
    r.check(
        "PlaceOrder retried with the same request_id returns the same order and never orders twice",
        placed::place_idempotent(c.clone(), target.clone()),
    )
    .await;
    r.check(
        "an order in EUR carries converted prices and the converted shipping cost",
        placed::in_euros(c.clone(), target.clone()),
    )
    .await;
    r.check(
        "not enough stock: FAILED with OUT_OF_STOCK naming the product; stock and cart unchanged",
        failed::out_of_stock(c.clone(), target.clone()),
    )
    .await;
    r.check(
        "a declined card: FAILED with PAYMENT_DECLINED; nothing stays reserved; cart unchanged",
        failed::declined(c.clone(), target.clone()),
    )
    .await;
    r.check(
        "another caller's order is NOT_FOUND and not listed",
        get_order::isolated(c.clone(), target.clone()),
    )
    .await;
    r.check("ListOrders lists the caller's orders newest first, in pages; bad paging is INVALID_ARGUMENT", list_orders::list(c.clone(), target.clone())).await;
    r.check(
        "GetOrder: empty id INVALID_ARGUMENT, unknown id NOT_FOUND",
        get_order::get_errors(c.clone(), target.clone()),
    )
    .await;
    r.check(
        "StreamOrderEvents delivers one final event per order, in sequence order, resumable",
        events::events(c.clone(), target.clone()),
    )
    .await;
}

async fn unauthenticated(mut c: Client) -> Checked {
    refused(
        c.place_order(order_request(GOOD_CARD, "USD")).await,
        Code::Unauthenticated,
        "PlaceOrder(no token)",
    )?;
    refused(
        c.place_order(garbage_token(order_request(GOOD_CARD, "USD")))
            .await,
        Code::Unauthenticated,
        "PlaceOrder(malformed token)",
    )?;
    refused(
        c.get_order(GetOrderRequest {
            order_id: unique("order"),
        })
        .await,
        Code::Unauthenticated,
        "GetOrder(no token)",
    )?;
    refused(
        c.list_orders(ListOrdersRequest::default()).await,
        Code::Unauthenticated,
        "ListOrders(no token)",
    )?;
    refused(
        c.list_orders(garbage_token(ListOrdersRequest::default()))
            .await,
        Code::Unauthenticated,
        "ListOrders(malformed token)",
    )?;
    Ok(())
}

/// The two cheapest-to-find products of the catalog, restocked, in a new guest's cart:
/// 2 of the first, 1 of the second.
async fn filled_cart(target: &Target) -> Checked<(Caller, Vec<Product>)> {
    let buyer = guest(target).await?;
    let list = products(target, 2).await?;
    for (product, quantity) in list.iter().zip([2, 1]) {
        restock(target, &product.id, quantity).await?;
        add_to_cart(target, &buyer, &product.id, quantity).await?;
    }
    Ok((buyer, list))
}

/// Each product's stock as (available, reserved), in the order of `list`.
async fn stock_levels(target: &Target, list: &[Product]) -> Checked<Vec<(i64, i64)>> {
    let mut levels = Vec::new();
    for product in list {
        let s = stock(target, &product.id).await?;
        levels.push((s.available, s.reserved));
    }
    Ok(levels)
}

/// The caller's orders, first page of the default size (newest first).
async fn own_orders(c: &mut Client, caller: &Caller, call: &str) -> Checked<Vec<Order>> {
    Ok(ok(
        c.list_orders(authorized(caller.token(), ListOrdersRequest::default()))
            .await,
        call,
    )?
    .orders)
}

/// The caller's order `order_id`, as GetOrder answers it.
async fn own_order(c: &mut Client, caller: &Caller, order_id: &str) -> Checked<Option<Order>> {
    Ok(ok(
        c.get_order(authorized(
            caller.token(),
            GetOrderRequest {
                order_id: order_id.to_owned(),
            },
        ))
        .await,
        "GetOrder",
    )?
    .order)
}

/// The lines of the caller's cart, from cart.
async fn cart_lines(target: &Target, caller: &Caller) -> Checked<Vec<CartItem>> {
    let mut cart = CartServiceClient::new(target.channel("cart")?);
    Ok(ok(
        cart.get_cart(authorized(caller.token(), GetCartRequest {}))
            .await,
        "GetCart",
    )?
    .cart
    .map(|c| c.items)
    .unwrap_or_default())
}
