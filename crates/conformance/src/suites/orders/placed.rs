//! Checkouts that succeed: the order's lines, prices and amounts as the catalog, currency
//! and shipping say, stock taken, the cart emptied, and a retry that never orders twice.

use bazaar_contract::currency::v1::ConvertRequest;
use bazaar_contract::currency::v1::currency_service_client::CurrencyServiceClient;
use bazaar_contract::orders::v1::*;
use bazaar_contract::types::v1::Money;
use tonic::Code;
use tonic::transport::Channel;

use super::{Client, cart_lines, filled_cart, own_order, own_orders, stock_levels};
use crate::check::{Checked, fail, ok, reason, refused};
use crate::ensure;
use crate::shopper::{GOOD_CARD, order_request, place_order};
use crate::suites::{money, nanos, pause, show, valid_money};
use crate::target::{Target, authorized};

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

pub(super) async fn placed(mut c: Client, target: Target) -> Checked {
    let (buyer, list) = filled_cart(&target).await?;
    let before: Vec<_> = stock_levels(&target, &list).await?;
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
    let after = stock_levels(&target, &list).await?;
    for ((b, a), q) in before.iter().zip(&after).zip([2, 1]) {
        ensure!(
            a.0 == b.0 - q && a.1 == b.1,
            "stock went from {b:?} to {a:?} (available, reserved) for {q} units sold"
        );
    }
    let got = own_order(&mut c, &buyer, &order.id).await?;
    ensure!(
        got.as_ref() == Some(&order),
        "GetOrder differs from PlaceOrder: {got:?}"
    );
    let listed = own_orders(&mut c, &buyer, "ListOrders").await?;
    ensure!(
        listed.first().map(|o| &o.id) == Some(&order.id),
        "ListOrders does not list the new order first"
    );
    for _ in 0..50 {
        if cart_lines(&target, &buyer).await?.is_empty() {
            return Ok(());
        }
        pause(100).await;
    }
    fail("5 s after the order was placed, the cart is still not empty")
}

pub(super) async fn place_idempotent(mut c: Client, target: Target) -> Checked {
    let (buyer, list) = filled_cart(&target).await?;
    let request = order_request(GOOD_CARD, "USD");
    let first = place_order(&target, &buyer, request.clone()).await?;
    ensure!(
        first.state() == OrderState::Placed,
        "the order is {:?}",
        first.state()
    );
    let after_first = stock_levels(&target, &list).await?;
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
        stock_levels(&target, &list).await? == after_first,
        "the retry took stock again"
    );
    let listed = own_orders(&mut c, &buyer, "ListOrders").await?;
    ensure!(
        listed.len() == 1,
        "after a retried checkout the caller has {} orders",
        listed.len()
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

pub(super) async fn in_euros(_c: Client, target: Target) -> Checked {
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
