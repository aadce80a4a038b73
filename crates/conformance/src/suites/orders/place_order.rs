//! PlaceOrder's refusals before any saga starts: no caller, an empty cart, a product the
//! catalog lacks, malformed fields. None of them may record an order.

use bazaar_contract::orders::v1::*;
use bazaar_contract::types::v1::Address;
use tonic::Code;

use super::{Client, own_orders};
use crate::check::{Checked, reason, refused, resource_infos, violation_within};
use crate::ensure;
use crate::shopper::{GOOD_CARD, add_to_cart, guest, order_request, products};
use crate::target::{Target, authorized, unique};

pub(super) async fn cart_empty(mut c: Client, target: Target) -> Checked {
    let buyer = guest(&target).await?;
    let status = refused(
        c.place_order(authorized(buyer.token(), order_request(GOOD_CARD, "USD")))
            .await,
        Code::FailedPrecondition,
        "PlaceOrder(empty cart)",
    )?;
    reason(&status, "CART_EMPTY", "PlaceOrder(empty cart)")?;
    let listed = own_orders(&mut c, &buyer, "ListOrders").await?;
    ensure!(listed.is_empty(), "a refused checkout recorded an order");
    Ok(())
}

pub(super) async fn product_not_found(mut c: Client, target: Target) -> Checked {
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

pub(super) async fn place_invalid(mut c: Client, target: Target) -> Checked {
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
    let listed = own_orders(&mut c, &buyer, "ListOrders").await?;
    ensure!(
        listed.is_empty(),
        "refused checkouts recorded {} orders",
        listed.len()
    );
    Ok(())
}
