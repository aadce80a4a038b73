//! Orders: the checkout saga seen from outside (placed, failed and undone, idempotent on
//! `request_id`), the amounts that must add up, who may see which order, listing, and the
//! order event stream.
//!
//! A checkout needs the whole shop: identity for a caller, catalog for products, cart to
//! fill, inventory and an admin to stock the shelves. The checks that cross-check prices
//! also ask currency and shipping. Stock is never assumed: each check restocks what it
//! buys, and compares stock before and after.

use std::time::Duration;

use bazaar_contract::cart::v1::GetCartRequest;
use bazaar_contract::cart::v1::cart_service_client::CartServiceClient;
use bazaar_contract::catalog::v1::Product;
use bazaar_contract::currency::v1::ConvertRequest;
use bazaar_contract::currency::v1::currency_service_client::CurrencyServiceClient;
use bazaar_contract::orders::v1::orders_service_client::OrdersServiceClient;
use bazaar_contract::orders::v1::*;
use bazaar_contract::types::v1::{Address, Money};
use tonic::Code;
use tonic::transport::Channel;

use super::{money, nanos, pause, show, valid_money};
use crate::check::{Checked, fail, invalid, ok, reason, refused, resource_infos, violation_within};
use crate::pages::walk;
use crate::shopper::{
    Caller, DECLINED_CARD, GOOD_CARD, add_to_cart, guest, order_request, place_order, placed_order,
    products, restock, stock,
};
use crate::target::{Target, authorized, garbage_token, unique};
use crate::{Runner, ensure};

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
        cart_empty(c.clone(), target.clone()),
    )
    .await;
    r.check("PlaceOrder with a product the catalog lacks is FAILED_PRECONDITION PRODUCT_NOT_FOUND with ResourceInfo", product_not_found(c.clone(), target.clone())).await;
    r.check(
        "PlaceOrder: malformed request_id, address, email, card or currency are INVALID_ARGUMENT",
        place_invalid(c.clone(), target.clone()),
    )
    .await;
    r.check("a checkout with stock and a good card is PLACED: catalog prices, amounts add up, stock taken, cart emptied", placed(c.clone(), target.clone())).await;
    r.check(
        "PlaceOrder retried with the same request_id returns the same order and never orders twice",
        place_idempotent(c.clone(), target.clone()),
    )
    .await;
    r.check(
        "an order in EUR carries converted prices and the converted shipping cost",
        in_euros(c.clone(), target.clone()),
    )
    .await;
    r.check(
        "not enough stock: FAILED with OUT_OF_STOCK naming the product; stock and cart unchanged",
        out_of_stock(c.clone(), target.clone()),
    )
    .await;
    r.check(
        "a declined card: FAILED with PAYMENT_DECLINED; nothing stays reserved; cart unchanged",
        declined(c.clone(), target.clone()),
    )
    .await;
    r.check(
        "another caller's order is NOT_FOUND and not listed",
        isolated(c.clone(), target.clone()),
    )
    .await;
    r.check("ListOrders lists the caller's orders newest first, in pages; bad paging is INVALID_ARGUMENT", list(c.clone(), target.clone())).await;
    r.check(
        "GetOrder: empty id INVALID_ARGUMENT, unknown id NOT_FOUND",
        get_errors(c.clone(), target.clone()),
    )
    .await;
    r.check(
        "StreamOrderEvents delivers one final event per order, in sequence order, resumable",
        events(c.clone(), target.clone()),
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

async fn cart_empty(mut c: Client, target: Target) -> Checked {
    let buyer = guest(&target).await?;
    let status = refused(
        c.place_order(authorized(buyer.token(), order_request(GOOD_CARD, "USD")))
            .await,
        Code::FailedPrecondition,
        "PlaceOrder(empty cart)",
    )?;
    reason(&status, "CART_EMPTY", "PlaceOrder(empty cart)")?;
    let listed = ok(
        c.list_orders(authorized(buyer.token(), ListOrdersRequest::default()))
            .await,
        "ListOrders",
    )?;
    ensure!(
        listed.orders.is_empty(),
        "a refused checkout recorded an order"
    );
    Ok(())
}

async fn product_not_found(mut c: Client, target: Target) -> Checked {
    let buyer = guest(&target).await?;
    let missing = unique("no-such-product");
    let product = products(&target, 1).await?.remove(0);
    add_to_cart(&target, &buyer, &product.id, 1).await?;
    add_to_cart(&target, &buyer, &missing, 1).await?;
    let status = refused(
        c.place_order(authorized(buyer.token(), order_request(GOOD_CARD, "USD")))
            .await,
        Code::FailedPrecondition,
        "PlaceOrder(cart with an unknown product)",
    )?;
    reason(
        &status,
        "PRODUCT_NOT_FOUND",
        "PlaceOrder(cart with an unknown product)",
    )?;
    let infos = resource_infos(&status);
    ensure!(
        infos.len() == 1 && infos[0].resource_name == missing,
        "expected one ResourceInfo naming {missing}, got {infos:?}"
    );
    Ok(())
}

async fn place_invalid(mut c: Client, target: Target) -> Checked {
    let buyer = guest(&target).await?;
    let product = products(&target, 1).await?.remove(0);
    add_to_cart(&target, &buyer, &product.id, 1).await?;
    let base = || order_request(GOOD_CARD, "USD");
    let cases: Vec<(PlaceOrderRequest, &str, &str)> = vec![
        (
            PlaceOrderRequest {
                request_id: String::new(),
                ..base()
            },
            "request_id",
            "empty request_id",
        ),
        (
            PlaceOrderRequest {
                request_id: "not valid!".into(),
                ..base()
            },
            "request_id",
            "malformed request_id",
        ),
        (
            PlaceOrderRequest {
                email: "nope".into(),
                ..base()
            },
            "email",
            "email without @",
        ),
        (
            PlaceOrderRequest {
                email: String::new(),
                ..base()
            },
            "email",
            "no email",
        ),
        (
            PlaceOrderRequest {
                shipping_address: None,
                ..base()
            },
            "shipping_address",
            "no address",
        ),
        (
            PlaceOrderRequest {
                shipping_address: Some(Address {
                    country_code: "usa".into(),
                    ..crate::shopper::address()
                }),
                ..base()
            },
            "shipping_address.country_code",
            "country \"usa\"",
        ),
        (
            PlaceOrderRequest {
                shipping_address: Some(Address {
                    street_lines: vec!["1 Main St".into(), String::new()],
                    ..crate::shopper::address()
                }),
                ..base()
            },
            "shipping_address.street_lines",
            "an empty street line",
        ),
        (
            PlaceOrderRequest {
                card: None,
                ..base()
            },
            "card",
            "no card",
        ),
        (
            PlaceOrderRequest {
                card: Some(crate::shopper::card("4242424242424241")),
                ..base()
            },
            "card.number",
            "a card failing the Luhn check",
        ),
        (
            PlaceOrderRequest {
                currency_code: "eu".into(),
                ..base()
            },
            "currency_code",
            "currency \"eu\"",
        ),
    ];
    for (request, field, what) in cases {
        let call = format!("PlaceOrder({what})");
        let status = refused(
            c.place_order(authorized(buyer.token(), request)).await,
            Code::InvalidArgument,
            &call,
        )?;
        violation_within(&status, field, &call)?;
    }
    if target.channel("currency").is_ok() {
        let status = refused(
            c.place_order(authorized(
                buyer.token(),
                PlaceOrderRequest {
                    currency_code: "QQQ".into(),
                    ..base()
                },
            ))
            .await,
            Code::InvalidArgument,
            "PlaceOrder(unsupported currency \"QQQ\")",
        )?;
        violation_within(&status, "currency_code", "PlaceOrder(unsupported currency)")?;
    }
    let listed = ok(
        c.list_orders(authorized(buyer.token(), ListOrdersRequest::default()))
            .await,
        "ListOrders",
    )?;
    ensure!(
        listed.orders.is_empty(),
        "refused checkouts recorded {} orders",
        listed.orders.len()
    );
    Ok(())
}

/// Checks that the order's amounts are in `currency` and add up as the contract says.
fn amounts_add_up(order: &Order, currency: &str) -> Checked {
    let mut subtotal = 0i128;
    for item in &order.items {
        let price = valid_money(
            item.unit_price.as_ref(),
            currency,
            &format!("unit_price of {}", item.product_id),
        )?;
        subtotal += nanos(&price) * i128::from(item.quantity);
    }
    let sub = valid_money(order.subtotal.as_ref(), currency, "subtotal")?;
    let shipping = valid_money(order.shipping_cost.as_ref(), currency, "shipping_cost")?;
    let total = valid_money(order.total.as_ref(), currency, "total")?;
    ensure!(
        nanos(&sub) == subtotal,
        "subtotal is {}, the lines add up to {}",
        show(&sub),
        show(&money(currency, subtotal))
    );
    ensure!(
        nanos(&total) == nanos(&sub) + nanos(&shipping),
        "total {} is not subtotal {} + shipping {}",
        show(&total),
        show(&sub),
        show(&shipping)
    );
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

async fn placed(mut c: Client, target: Target) -> Checked {
    let (buyer, list) = filled_cart(&target).await?;
    let before: Vec<_> = futures_stock(&target, &list).await?;
    let request = order_request(GOOD_CARD, "USD");
    let order = place_order(&target, &buyer, request.clone()).await?;
    ensure!(
        order.state() == OrderState::Placed,
        "the order is {:?} (failure {:?})",
        order.state(),
        order.failure
    );
    ensure!(
        order.failure.is_none(),
        "a placed order has a failure: {:?}",
        order.failure
    );
    ensure!(
        order.user_id == buyer.user.id,
        "the order's user_id is {:?}, the caller is {:?}",
        order.user_id,
        buyer.user.id
    );
    ensure!(
        (1..=64).contains(&order.id.len()),
        "order id of {} characters",
        order.id.len()
    );
    let lines: Vec<(String, i32)> = order
        .items
        .iter()
        .map(|i| (i.product_id.clone(), i.quantity))
        .collect();
    let want = vec![(list[0].id.clone(), 2), (list[1].id.clone(), 1)];
    ensure!(
        lines == want,
        "the order's lines are {lines:?}; the cart held {want:?}"
    );
    for (item, product) in order.items.iter().zip(&list) {
        ensure!(
            item.name == product.name && item.picture_uri == product.picture_uri,
            "line {} has name {:?} / picture {:?}, the catalog {:?} / {:?}",
            item.product_id,
            item.name,
            item.picture_uri,
            product.name,
            product.picture_uri
        );
        ensure!(
            item.unit_price == product.price,
            "line {} costs {:?}, the catalog says {:?}",
            item.product_id,
            item.unit_price.as_ref().map(show),
            product.price.as_ref().map(show)
        );
    }
    amounts_add_up(&order, "USD")?;
    let shipping = order.shipping_cost.as_ref().map(nanos);
    ensure!(
        shipping == Some(7_960_000_000),
        "3 units to the US should ship for 7.96 USD (shipping's formula), the order says {:?}",
        order.shipping_cost.as_ref().map(show)
    );
    ensure!(
        order.estimated_delivery_days == 3,
        "estimated_delivery_days is {}, shipping quotes 3 within the US",
        order.estimated_delivery_days
    );
    ensure!(
        !order.charge_id.is_empty()
            && !order.shipment_id.is_empty()
            && !order.tracking_id.is_empty(),
        "a placed order lacks charge_id {:?}, shipment_id {:?} or tracking_id {:?}",
        order.charge_id,
        order.shipment_id,
        order.tracking_id
    );
    ensure!(
        order.email == request.email && order.shipping_address == request.shipping_address,
        "the order does not keep the email and address given"
    );
    let after = futures_stock(&target, &list).await?;
    for ((b, a), q) in before.iter().zip(&after).zip([2, 1]) {
        ensure!(
            a.0 == b.0 - q && a.1 == b.1,
            "stock went from {b:?} to {a:?} (available, reserved) for {q} units sold"
        );
    }
    let got = ok(
        c.get_order(authorized(
            buyer.token(),
            GetOrderRequest {
                order_id: order.id.clone(),
            },
        ))
        .await,
        "GetOrder",
    )?
    .order;
    ensure!(
        got.as_ref() == Some(&order),
        "GetOrder differs from PlaceOrder: {got:?}"
    );
    let listed = ok(
        c.list_orders(authorized(buyer.token(), ListOrdersRequest::default()))
            .await,
        "ListOrders",
    )?;
    ensure!(
        listed.orders.first().map(|o| &o.id) == Some(&order.id),
        "ListOrders does not list the new order first"
    );
    let mut cart = CartServiceClient::new(target.channel("cart")?);
    for _ in 0..50 {
        let items = ok(
            cart.get_cart(authorized(buyer.token(), GetCartRequest {}))
                .await,
            "GetCart",
        )?
        .cart
        .map(|c| c.items.len())
        .unwrap_or(0);
        if items == 0 {
            return Ok(());
        }
        pause(100).await;
    }
    fail("5 s after the order was placed, the cart is still not empty")
}

async fn futures_stock(target: &Target, list: &[Product]) -> Checked<Vec<(i64, i64)>> {
    let mut levels = Vec::new();
    for product in list {
        let s = stock(target, &product.id).await?;
        levels.push((s.available, s.reserved));
    }
    Ok(levels)
}

async fn place_idempotent(mut c: Client, target: Target) -> Checked {
    let (buyer, list) = filled_cart(&target).await?;
    let request = order_request(GOOD_CARD, "USD");
    let first = place_order(&target, &buyer, request.clone()).await?;
    ensure!(
        first.state() == OrderState::Placed,
        "the order is {:?}",
        first.state()
    );
    let after_first = futures_stock(&target, &list).await?;
    let retry = place_order(&target, &buyer, request.clone()).await?;
    ensure!(
        retry.id == first.id && retry.charge_id == first.charge_id,
        "the retry returned order {} (charge {}), the first call {} (charge {})",
        retry.id,
        retry.charge_id,
        first.id,
        first.charge_id
    );
    ensure!(
        futures_stock(&target, &list).await? == after_first,
        "the retry took stock again"
    );
    let listed = ok(
        c.list_orders(authorized(buyer.token(), ListOrdersRequest::default()))
            .await,
        "ListOrders",
    )?;
    ensure!(
        listed.orders.len() == 1,
        "after a retried checkout the caller has {} orders",
        listed.orders.len()
    );
    let other = PlaceOrderRequest {
        email: "someone.else@conformance.test".into(),
        ..request
    };
    let status = refused(
        c.place_order(authorized(buyer.token(), other)).await,
        Code::AlreadyExists,
        "PlaceOrder(same request_id, other email)",
    )?;
    reason(
        &status,
        "REQUEST_ID_REUSED",
        "PlaceOrder(reused request_id)",
    )?;
    Ok(())
}

async fn convert(
    currency: &mut CurrencyServiceClient<Channel>,
    amount: Money,
    to: &str,
) -> Checked<Money> {
    let response = ok(
        currency
            .convert(ConvertRequest {
                amount: Some(amount),
                to_currency_code: to.to_owned(),
            })
            .await,
        "currency Convert",
    )?;
    response
        .converted
        .map_or_else(|| fail("Convert answered without the amount"), Ok)
}

async fn in_euros(_c: Client, target: Target) -> Checked {
    let mut currency = CurrencyServiceClient::new(target.channel("currency")?);
    let (buyer, list) = filled_cart(&target).await?;
    let order = place_order(&target, &buyer, order_request(GOOD_CARD, "EUR")).await?;
    ensure!(
        order.state() == OrderState::Placed,
        "the order is {:?} (failure {:?})",
        order.state(),
        order.failure
    );
    amounts_add_up(&order, "EUR")?;
    for (item, product) in order.items.iter().zip(&list) {
        let want = convert(
            &mut currency,
            product.price.clone().unwrap_or_default(),
            "EUR",
        )
        .await?;
        ensure!(
            item.unit_price.as_ref() == Some(&want),
            "line {} costs {:?}; {} converts to {}",
            item.product_id,
            item.unit_price.as_ref().map(show),
            product.price.as_ref().map(show).unwrap_or_default(),
            show(&want)
        );
    }
    let shipping = convert(&mut currency, money("USD", 7_960_000_000), "EUR").await?;
    ensure!(
        order.shipping_cost.as_ref() == Some(&shipping),
        "shipping costs {:?}; 7.96 USD converts to {}",
        order.shipping_cost.as_ref().map(show),
        show(&shipping)
    );
    Ok(())
}

/// A product of the catalog with less than 99 units available, and how many it has.
async fn scarce_product(target: &Target) -> Checked<(Product, i64)> {
    let mut catalog =
        bazaar_contract::catalog::v1::catalog_service_client::CatalogServiceClient::new(
            target.channel("catalog")?,
        );
    let all = ok(
        catalog
            .list_products(bazaar_contract::catalog::v1::ListProductsRequest {
                page_size: 100,
                ..Default::default()
            })
            .await,
        "catalog ListProducts",
    )?
    .products;
    for product in all.into_iter().rev() {
        let s = stock(target, &product.id).await?;
        if s.available < 99 {
            return Ok((product, s.available));
        }
    }
    fail("every product has 99 or more units available, so no cart can ask for more")
}

async fn out_of_stock(mut c: Client, target: Target) -> Checked {
    let buyer = guest(&target).await?;
    let (product, available) = scarce_product(&target).await?;
    let wanted = i32::try_from(available + 1).unwrap_or(99);
    add_to_cart(&target, &buyer, &product.id, wanted).await?;
    let before = stock(&target, &product.id).await?;
    let order = place_order(&target, &buyer, order_request(GOOD_CARD, "USD")).await?;
    ensure!(
        order.state() == OrderState::Failed,
        "a cart asking {wanted} of {available} available ended {:?}",
        order.state()
    );
    let Some(failure) = order.failure.as_ref() else {
        return fail("a FAILED order has no failure");
    };
    ensure!(
        failure.reason() == FailureReason::OutOfStock,
        "the failure reason is {:?}",
        failure.reason()
    );
    ensure!(
        failure.product_ids == vec![product.id.clone()],
        "the failure names {:?}, the short product is {}",
        failure.product_ids,
        product.id
    );
    ensure!(
        (1..=500).contains(&failure.message.chars().count()),
        "the failure message has {} characters",
        failure.message.chars().count()
    );
    let after = stock(&target, &product.id).await?;
    ensure!(
        after == before,
        "a failed checkout changed the stock from {before:?} to {after:?}"
    );
    let mut cart = CartServiceClient::new(target.channel("cart")?);
    let items = ok(
        cart.get_cart(authorized(buyer.token(), GetCartRequest {}))
            .await,
        "GetCart",
    )?
    .cart
    .map(|c| c.items)
    .unwrap_or_default();
    ensure!(
        items.len() == 1 && items[0].quantity == wanted,
        "a failed checkout changed the cart: {items:?}"
    );
    let got = ok(
        c.get_order(authorized(
            buyer.token(),
            GetOrderRequest {
                order_id: order.id.clone(),
            },
        ))
        .await,
        "GetOrder",
    )?
    .order;
    ensure!(
        got.as_ref().map(|o| o.state()) == Some(OrderState::Failed),
        "GetOrder says {:?}",
        got.map(|o| o.state())
    );
    Ok(())
}

async fn declined(_c: Client, target: Target) -> Checked {
    let (buyer, list) = filled_cart(&target).await?;
    let before = futures_stock(&target, &list).await?;
    let order = place_order(&target, &buyer, order_request(DECLINED_CARD, "USD")).await?;
    ensure!(
        order.state() == OrderState::Failed,
        "a checkout with a declined card ended {:?}",
        order.state()
    );
    let failure = order.failure.clone().unwrap_or_default();
    ensure!(
        failure.reason() == FailureReason::PaymentDeclined,
        "the failure reason is {:?}",
        failure.reason()
    );
    ensure!(
        (1..=500).contains(&failure.message.chars().count()),
        "the failure message has {} characters",
        failure.message.chars().count()
    );
    let after = futures_stock(&target, &list).await?;
    ensure!(
        after == before,
        "after a declined checkout, stock went from {before:?} to {after:?}: units stayed reserved or sold"
    );
    let mut cart = CartServiceClient::new(target.channel("cart")?);
    let items = ok(
        cart.get_cart(authorized(buyer.token(), GetCartRequest {}))
            .await,
        "GetCart",
    )?
    .cart
    .map(|c| c.items)
    .unwrap_or_default();
    ensure!(
        items.len() == 2,
        "a failed checkout changed the cart: {items:?}"
    );
    Ok(())
}

async fn isolated(mut c: Client, target: Target) -> Checked {
    let product = products(&target, 1).await?.remove(0);
    let (_, order) = placed_order(&target, &[&product.id], 1).await?;
    let stranger = guest(&target).await?;
    refused(
        c.get_order(authorized(
            stranger.token(),
            GetOrderRequest {
                order_id: order.id.clone(),
            },
        ))
        .await,
        Code::NotFound,
        "GetOrder(another caller's order)",
    )?;
    let listed = ok(
        c.list_orders(authorized(stranger.token(), ListOrdersRequest::default()))
            .await,
        "ListOrders(a new caller)",
    )?;
    ensure!(
        listed.orders.is_empty(),
        "a new caller lists {} orders",
        listed.orders.len()
    );
    Ok(())
}

async fn list(mut c: Client, target: Target) -> Checked {
    let product = products(&target, 1).await?.remove(0);
    let (buyer, first) = placed_order(&target, &[&product.id], 1).await?;
    let mut ids = vec![first.id.clone()];
    for _ in 0..2 {
        restock(&target, &product.id, 1).await?;
        add_to_cart(&target, &buyer, &product.id, 1).await?;
        let order = place_order(&target, &buyer, order_request(GOOD_CARD, "USD")).await?;
        ids.push(order.id);
    }
    let listed = walk(1, |page_token| {
        let mut c = c.clone();
        let token = buyer.token().to_owned();
        async move {
            let page = ok(
                c.list_orders(authorized(
                    &token,
                    ListOrdersRequest {
                        page_size: 1,
                        page_token,
                    },
                ))
                .await,
                "ListOrders(page_size 1)",
            )?;
            Ok((page.orders, page.next_page_token))
        }
    })
    .await?;
    let times: Vec<(i64, i32)> = listed
        .iter()
        .map(|o| {
            o.create_time
                .as_ref()
                .map_or((0, 0), |t| (t.seconds, t.nanos))
        })
        .collect();
    ensure!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "ListOrders is not newest first: create times {times:?}"
    );
    let mut listed_ids: Vec<String> = listed.iter().map(|o| o.id.clone()).collect();
    listed_ids.sort();
    ids.sort();
    ensure!(
        listed_ids == ids,
        "ListOrders in pages of 1 lists {listed_ids:?}; the caller's orders are {ids:?}"
    );
    let token = buyer.token();
    invalid(
        c.list_orders(authorized(
            token,
            ListOrdersRequest {
                page_size: -1,
                ..Default::default()
            },
        ))
        .await,
        "page_size",
        "ListOrders(page_size -1)",
    )?;
    invalid(
        c.list_orders(authorized(
            token,
            ListOrdersRequest {
                page_token: "garbage".into(),
                ..Default::default()
            },
        ))
        .await,
        "page_token",
        "ListOrders(page_token \"garbage\")",
    )?;
    let big = ok(
        c.list_orders(authorized(
            token,
            ListOrdersRequest {
                page_size: 100_000,
                ..Default::default()
            },
        ))
        .await,
        "ListOrders(page_size 100000)",
    )?;
    ensure!(
        big.orders.len() == 3,
        "page_size 100000 gave {} of 3 orders",
        big.orders.len()
    );
    let page = ok(
        c.list_orders(authorized(
            token,
            ListOrdersRequest {
                page_size: 1,
                ..Default::default()
            },
        ))
        .await,
        "ListOrders(page_size 1)",
    )?;
    let stranger = guest(&target).await?;
    invalid(
        c.list_orders(authorized(
            stranger.token(),
            ListOrdersRequest {
                page_size: 1,
                page_token: page.next_page_token,
            },
        ))
        .await,
        "page_token",
        "ListOrders(another caller's page token)",
    )
}

async fn get_errors(mut c: Client, target: Target) -> Checked {
    let buyer = guest(&target).await?;
    invalid(
        c.get_order(authorized(buyer.token(), GetOrderRequest::default()))
            .await,
        "order_id",
        "GetOrder(\"\")",
    )?;
    refused(
        c.get_order(authorized(
            buyer.token(),
            GetOrderRequest {
                order_id: unique("no-such-order"),
            },
        ))
        .await,
        Code::NotFound,
        "GetOrder(unknown)",
    )?;
    Ok(())
}

/// Reads the stream from `after` until `wanted` says stop, or fails after `limit`.
async fn read_events(
    c: &mut Client,
    after: i64,
    limit: Duration,
    mut wanted: impl FnMut(&OrderEvent) -> bool,
) -> Checked<Vec<OrderEvent>> {
    let mut stream = ok(
        c.stream_order_events(StreamOrderEventsRequest {
            after_sequence: after,
        })
        .await,
        "StreamOrderEvents",
    )?;
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let next = tokio::time::timeout_at(deadline, stream.message()).await;
        match next {
            Err(_) => {
                return fail(format!(
                    "the stream did not deliver the expected events within {} s ({} read)",
                    limit.as_secs(),
                    seen.len()
                ));
            }
            Ok(Err(status)) => {
                return fail(format!(
                    "the stream failed: {}",
                    crate::check::describe(&status)
                ));
            }
            Ok(Ok(None)) => return fail("the stream ended before the expected events"),
            Ok(Ok(Some(message))) => {
                let Some(event) = message.event else {
                    return fail("a stream message carries no event");
                };
                let stop = wanted(&event);
                seen.push(event);
                if stop {
                    return Ok(seen);
                }
            }
        }
    }
}

async fn events(mut c: Client, target: Target) -> Checked {
    invalid(
        c.stream_order_events(StreamOrderEventsRequest { after_sequence: -1 })
            .await
            .map(|r| r.map(|_| ())),
        "after_sequence",
        "StreamOrderEvents(after_sequence -1)",
    )?;
    let product = products(&target, 1).await?.remove(0);
    let (buyer, placed) = placed_order(&target, &[&product.id], 1).await?;
    add_to_cart(&target, &buyer, &product.id, 1).await?;
    let failed = place_order(&target, &buyer, order_request(DECLINED_CARD, "USD")).await?;
    ensure!(
        failed.state() == OrderState::Failed,
        "a checkout with a declined card ended {:?}",
        failed.state()
    );
    let mut found_placed = None;
    let mut found_failed = None;
    let seen = read_events(&mut c, 0, Duration::from_secs(30), |e| {
        if e.order_id == placed.id {
            found_placed.get_or_insert_with(|| e.clone());
        }
        if e.order_id == failed.id {
            found_failed.get_or_insert_with(|| e.clone());
        }
        found_placed.is_some() && found_failed.is_some()
    })
    .await?;
    let sequences: Vec<i64> = seen.iter().map(|e| e.sequence).collect();
    ensure!(
        sequences.windows(2).all(|w| w[0] < w[1]) && sequences.first().is_some_and(|s| *s >= 1),
        "sequences are not strictly increasing from 1 or more: {:?}",
        &sequences[..sequences.len().min(20)]
    );
    for (event, order, kind, state) in [
        (
            &found_placed,
            &placed,
            OrderEventType::Placed,
            OrderState::Placed,
        ),
        (
            &found_failed,
            &failed,
            OrderEventType::Failed,
            OrderState::Failed,
        ),
    ] {
        let Some(event) = event else {
            return fail("an order's event was not found");
        };
        ensure!(
            event.r#type() == kind,
            "the first event of order {} is {:?}, expected {kind:?}",
            order.id,
            event.r#type()
        );
        ensure!(
            event.order.as_ref().map(|o| o.state()) == Some(state),
            "the {kind:?} event carries the order in state {:?}",
            event.order.as_ref().map(|o| o.state())
        );
        ensure!(
            (1..=64).contains(&event.event_id.len()),
            "event id of {} characters",
            event.event_id.len()
        );
        let finals = seen.iter().filter(|e| e.order_id == order.id).count();
        ensure!(
            finals == 1,
            "order {} has {finals} final events in one stream",
            order.id
        );
    }
    let Some(target_event) = found_placed else {
        return fail("the placed order's event was not found");
    };
    let resumed = read_events(
        &mut c,
        target_event.sequence - 1,
        Duration::from_secs(10),
        |_| true,
    )
    .await?;
    ensure!(
        resumed[0].event_id == target_event.event_id,
        "resuming after sequence {} delivered {} (sequence {}), not the event with sequence {}",
        target_event.sequence - 1,
        resumed[0].event_id,
        resumed[0].sequence,
        target_event.sequence
    );
    let later = read_events(
        &mut c,
        target_event.sequence,
        Duration::from_secs(10),
        |_| true,
    )
    .await?;
    ensure!(
        later[0].sequence > target_event.sequence,
        "resuming after sequence {} delivered sequence {}",
        target_event.sequence,
        later[0].sequence
    );
    Ok(())
}
