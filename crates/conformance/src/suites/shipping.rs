//! Shipping: the published quote formula, address and item validation with field paths,
//! `request_id` idempotency of CreateShipment, one live shipment per order, and
//! cancellation. Needs nothing but the shipping service: every check uses fresh order ids.

use std::collections::BTreeSet;

use bazaar_contract::shipping::v1::shipping_service_client::ShippingServiceClient;
use bazaar_contract::shipping::v1::*;
use bazaar_contract::types::v1::Address;
use tonic::Code;
use tonic::transport::Channel;

use super::{nanos, repeat, show};
use crate::check::{Checked, fail, invalid, ok, reason, refused, violation_within};
use crate::shopper::address;
use crate::target::{Target, unique};
use crate::{Runner, ensure};

type Client = ShippingServiceClient<Channel>;

/// Runs every shipping check.
pub async fn run(target: &Target, r: &mut Runner<'_>) {
    let c = ShippingServiceClient::new(target.own());
    r.check("GetQuote follows the formula: 4.99 + 0.99 x units, free from 10, +10.00 abroad; 3 or 7 days", quotes(c.clone())).await;
    r.check(
        "GetQuote adds up the quantities of a product listed twice",
        quote_duplicates(c.clone()),
    )
    .await;
    r.check(
        "GetQuote: incomplete or malformed address is INVALID_ARGUMENT naming the address field",
        quote_bad_address(c.clone()),
    )
    .await;
    r.check("GetQuote: 0 or 101 items, malformed product_id, quantity outside 1..=99 are INVALID_ARGUMENT", quote_bad_items(c.clone())).await;
    r.check(
        "CreateShipment creates a CREATED shipment with a tracking id and the quote",
        create(c.clone()),
    )
    .await;
    r.check("CreateShipment retried with the same request_id returns the same shipment; other parameters REQUEST_ID_REUSED", create_idempotent(c.clone())).await;
    r.check(
        "CreateShipment for an order with a live shipment is ALREADY_EXISTS ORDER_ALREADY_SHIPPED",
        one_per_order(c.clone()),
    )
    .await;
    r.check("CreateShipment: malformed request_id, empty or long order_id, bad address are INVALID_ARGUMENT", create_invalid(c.clone())).await;
    r.check(
        "CancelShipment cancels once and is idempotent; the order may then ship again",
        cancel(c.clone()),
    )
    .await;
    r.check(
        "Get/CancelShipment: empty id INVALID_ARGUMENT, unknown id NOT_FOUND",
        shipment_errors(c.clone()),
    )
    .await;
}

fn items(list: &[(&str, i32)]) -> Vec<ShipmentItem> {
    list.iter()
        .map(|(p, q)| ShipmentItem {
            product_id: (*p).to_owned(),
            quantity: *q,
        })
        .collect()
}

fn abroad() -> Address {
    Address {
        country_code: "DE".into(),
        region: String::new(),
        postal_code: "10115".into(),
        city: "Berlin".into(),
        ..address()
    }
}

async fn quote(c: &mut Client, to: Address, list: &[(&str, i32)]) -> Checked<Quote> {
    ok(
        c.get_quote(GetQuoteRequest {
            address: Some(to),
            items: items(list),
        })
        .await,
        "GetQuote",
    )?
    .quote
    .map_or_else(|| fail("GetQuote answered without the quote"), Ok)
}

/// The contract's formula, in cents.
fn expected_cents(units: i64, domestic: bool) -> i64 {
    let base = if units >= 10 { 0 } else { 499 + 99 * units };
    if domestic { base } else { base + 1_000 }
}

async fn quotes(mut c: Client) -> Checked {
    for units in [1, 2, 9, 10, 12, 99] {
        for (to, domestic, days) in [(address(), true, 3), (abroad(), false, 7)] {
            let q = quote(&mut c, to.clone(), &[("lamp", units)]).await?;
            let cost = q.cost.clone().unwrap_or_default();
            let want = i128::from(expected_cents(i64::from(units), domestic)) * 10_000_000;
            ensure!(
                cost.currency_code == "USD" && nanos(&cost) == want,
                "{units} units to {}: {} ({} days), expected {want} nanos USD",
                to.country_code,
                show(&cost),
                q.estimated_delivery_days
            );
            ensure!(
                q.estimated_delivery_days == days,
                "{units} units to {}: {} days, expected {days}",
                to.country_code,
                q.estimated_delivery_days
            );
            let again = quote(&mut c, to.clone(), &[("lamp", units)]).await?;
            ensure!(again == q, "the same input gave another quote: {again:?}");
        }
    }
    let q = quote(&mut c, address(), &[("lamp", 1), ("mug", 1)]).await?;
    ensure!(
        q.cost.as_ref().map(nanos) == Some(6_970_000_000),
        "2 units to US cost {:?}, the contract says 6.97 USD",
        q.cost.as_ref().map(show)
    );
    Ok(())
}

async fn quote_duplicates(mut c: Client) -> Checked {
    let split = quote(&mut c, address(), &[("lamp", 4), ("mug", 1), ("lamp", 5)]).await?;
    ensure!(
        split.cost.as_ref().map(nanos) == Some(0),
        "lamp 4 + mug 1 + lamp 5 (10 units) to US cost {:?}, expected free",
        split.cost.as_ref().map(show)
    );
    Ok(())
}

async fn quote_bad_address(mut c: Client) -> Checked {
    let with = |f: &dyn Fn(&mut Address)| {
        let mut a = address();
        f(&mut a);
        a
    };
    let cases: Vec<(Address, &str, &str)> = vec![
        (
            with(&|a| a.recipient_name = String::new()),
            "address.recipient_name",
            "no recipient",
        ),
        (
            with(&|a| a.recipient_name = "   ".into()),
            "address.recipient_name",
            "a blank recipient",
        ),
        (
            with(&|a| a.recipient_name = repeat('r', 101)),
            "address.recipient_name",
            "a recipient of 101 characters",
        ),
        (
            with(&|a| a.street_lines = vec![]),
            "address.street_lines",
            "no street line",
        ),
        (
            with(&|a| a.street_lines = vec!["a".into(); 4]),
            "address.street_lines",
            "4 street lines",
        ),
        (
            with(&|a| a.street_lines = vec!["1 Main St".into(), repeat('s', 101)]),
            "address.street_lines[1]",
            "a street line of 101 characters",
        ),
        (
            with(&|a| a.street_lines = vec!["1 Main St".into(), String::new()]),
            "address.street_lines[1]",
            "an empty street line",
        ),
        (with(&|a| a.city = String::new()), "address.city", "no city"),
        (
            with(&|a| a.region = repeat('g', 101)),
            "address.region",
            "a region of 101 characters",
        ),
        (
            with(&|a| a.postal_code = repeat('9', 21)),
            "address.postal_code",
            "a postal code of 21 characters",
        ),
        (
            with(&|a| a.country_code = "us".into()),
            "address.country_code",
            "country \"us\"",
        ),
        (
            with(&|a| a.country_code = "USA".into()),
            "address.country_code",
            "country \"USA\"",
        ),
        (
            with(&|a| a.country_code = String::new()),
            "address.country_code",
            "no country",
        ),
    ];
    for (to, field, what) in cases {
        let call = format!("GetQuote({what})");
        let status = refused(
            c.get_quote(GetQuoteRequest {
                address: Some(to),
                items: items(&[("lamp", 1)]),
            })
            .await,
            Code::InvalidArgument,
            &call,
        )?;
        if field.ends_with(']') {
            crate::check::violation(&status, field, &call)?;
        } else {
            violation_within(&status, field, &call)?;
        }
    }
    let status = refused(
        c.get_quote(GetQuoteRequest {
            address: None,
            items: items(&[("lamp", 1)]),
        })
        .await,
        Code::InvalidArgument,
        "GetQuote(no address)",
    )?;
    violation_within(&status, "address", "GetQuote(no address)")?;
    let padded = Address {
        recipient_name: "  Ada  ".into(),
        region: String::new(),
        ..with(&|a| a.street_lines = vec![format!(" {} ", repeat('s', 100))])
    };
    quote(&mut c, padded, &[("lamp", 1)]).await.map_err(|p| crate::check::Problem::Failed(format!("an address valid once trimmed (100-character line between spaces, no region) was refused: {p}")))?;
    Ok(())
}

async fn quote_bad_items(mut c: Client) -> Checked {
    let call = |list: Vec<ShipmentItem>| GetQuoteRequest {
        address: Some(address()),
        items: list,
    };
    let status = refused(
        c.get_quote(call(vec![])).await,
        Code::InvalidArgument,
        "GetQuote(no items)",
    )?;
    violation_within(&status, "items", "GetQuote(no items)")?;
    let status = refused(
        c.get_quote(call(items(&[("lamp", 1); 101]))).await,
        Code::InvalidArgument,
        "GetQuote(101 items)",
    )?;
    violation_within(&status, "items", "GetQuote(101 items)")?;
    ok(
        c.get_quote(call(items(&[("lamp", 1); 100]))).await,
        "GetQuote(100 items)",
    )?;
    invalid(
        c.get_quote(call(items(&[("lamp", 1), ("mug", 100)]))).await,
        "items[1].quantity",
        "GetQuote(quantity 100 in the second item)",
    )?;
    invalid(
        c.get_quote(call(items(&[("lamp", 0)]))).await,
        "items[0].quantity",
        "GetQuote(quantity 0)",
    )?;
    invalid(
        c.get_quote(call(items(&[("Not A Slug", 1)]))).await,
        "items[0].product_id",
        "GetQuote(malformed product_id)",
    )
}

fn create_request(order: &str, list: &[(&str, i32)]) -> CreateShipmentRequest {
    CreateShipmentRequest {
        request_id: unique("ship"),
        order_id: order.to_owned(),
        address: Some(abroad()),
        items: items(list),
    }
}

async fn created(c: &mut Client, request: CreateShipmentRequest) -> Checked<Shipment> {
    ok(c.create_shipment(request).await, "CreateShipment")?
        .shipment
        .map_or_else(|| fail("CreateShipment answered without the shipment"), Ok)
}

async fn create(mut c: Client) -> Checked {
    let mut tracking = BTreeSet::new();
    for _ in 0..3 {
        let order = unique("order");
        let list = [("lamp", 2), ("mug", 1)];
        let shipment = created(&mut c, create_request(&order, &list)).await?;
        ensure!(
            shipment.state() == ShipmentState::Created,
            "a new shipment is {:?}",
            shipment.state()
        );
        ensure!(
            shipment.order_id == order
                && shipment.items == items(&list)
                && shipment.address == Some(abroad()),
            "the shipment does not record the order, items and address as given: {shipment:?}"
        );
        let t = &shipment.tracking_id;
        ensure!(
            (8..=32).contains(&t.len())
                && t.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()),
            "tracking id {t:?} is not 8..=32 upper-case letters and digits"
        );
        ensure!(
            tracking.insert(t.clone()),
            "tracking id {t} was given twice"
        );
        ensure!(
            (1..=64).contains(&shipment.id.len()),
            "shipment id of {} characters",
            shipment.id.len()
        );
        let q = quote(&mut c, abroad(), &list).await?;
        ensure!(
            shipment.quote.as_ref() == Some(&q),
            "the shipment's quote {:?} differs from GetQuote's {q:?}",
            shipment.quote
        );
        ensure!(
            shipment.update_time == shipment.create_time,
            "a new shipment has update_time {:?} != create_time {:?}",
            shipment.update_time,
            shipment.create_time
        );
        let got = ok(
            c.get_shipment(GetShipmentRequest {
                shipment_id: shipment.id.clone(),
            })
            .await,
            "GetShipment",
        )?
        .shipment;
        ensure!(
            got.as_ref() == Some(&shipment),
            "GetShipment differs from CreateShipment: {got:?}"
        );
    }
    Ok(())
}

async fn create_idempotent(mut c: Client) -> Checked {
    let order = unique("order");
    let request = create_request(&order, &[("lamp", 1)]);
    let first = created(&mut c, request.clone()).await?;
    let retry = created(&mut c, request.clone()).await?;
    ensure!(
        retry == first,
        "the retry answered {retry:?}, the first call {first:?}"
    );
    let other = CreateShipmentRequest {
        items: items(&[("lamp", 2)]),
        ..request
    };
    let status = refused(
        c.create_shipment(other).await,
        Code::AlreadyExists,
        "CreateShipment(same request_id, other items)",
    )?;
    reason(
        &status,
        "REQUEST_ID_REUSED",
        "CreateShipment(reused request_id)",
    )?;
    Ok(())
}

async fn one_per_order(mut c: Client) -> Checked {
    let order = unique("order");
    let first = created(&mut c, create_request(&order, &[("lamp", 1)])).await?;
    let status = refused(
        c.create_shipment(create_request(&order, &[("lamp", 1)]))
            .await,
        Code::AlreadyExists,
        "CreateShipment(an order already shipped, new request_id)",
    )?;
    let info = reason(
        &status,
        "ORDER_ALREADY_SHIPPED",
        "CreateShipment(an order already shipped)",
    )?;
    ensure!(
        info.metadata.get("shipment_id") == Some(&first.id),
        "ORDER_ALREADY_SHIPPED metadata is {:?}, expected shipment_id = {}",
        info.metadata,
        first.id
    );
    Ok(())
}

async fn create_invalid(mut c: Client) -> Checked {
    let base = || create_request(&unique("order"), &[("lamp", 1)]);
    let cases: Vec<(CreateShipmentRequest, &str, &str)> = vec![
        (
            CreateShipmentRequest {
                request_id: String::new(),
                ..base()
            },
            "request_id",
            "empty request_id",
        ),
        (
            CreateShipmentRequest {
                request_id: "no spaces allowed".into(),
                ..base()
            },
            "request_id",
            "malformed request_id",
        ),
        (
            CreateShipmentRequest {
                order_id: String::new(),
                ..base()
            },
            "order_id",
            "empty order_id",
        ),
        (
            CreateShipmentRequest {
                order_id: repeat('o', 65),
                ..base()
            },
            "order_id",
            "order_id of 65 characters",
        ),
        (
            CreateShipmentRequest {
                address: Some(Address {
                    country_code: "xx".into(),
                    ..abroad()
                }),
                ..base()
            },
            "address.country_code",
            "country \"xx\"",
        ),
        (
            CreateShipmentRequest {
                address: None,
                ..base()
            },
            "address",
            "no address",
        ),
        (
            CreateShipmentRequest {
                items: vec![],
                ..base()
            },
            "items",
            "no items",
        ),
        (
            CreateShipmentRequest {
                items: items(&[("lamp", 100)]),
                ..base()
            },
            "items[0].quantity",
            "quantity 100",
        ),
    ];
    for (request, field, what) in cases {
        let call = format!("CreateShipment({what})");
        let status = refused(
            c.create_shipment(request).await,
            Code::InvalidArgument,
            &call,
        )?;
        violation_within(&status, field, &call)?;
    }
    Ok(())
}

async fn cancel(mut c: Client) -> Checked {
    let order = unique("order");
    let shipment = created(&mut c, create_request(&order, &[("lamp", 1)])).await?;
    let cancelled = ok(
        c.cancel_shipment(CancelShipmentRequest {
            shipment_id: shipment.id.clone(),
        })
        .await,
        "CancelShipment",
    )?
    .shipment
    .unwrap_or_default();
    ensure!(
        cancelled.state() == ShipmentState::Cancelled,
        "a cancelled shipment is {:?}",
        cancelled.state()
    );
    ensure!(
        cancelled.tracking_id == shipment.tracking_id
            && cancelled.create_time == shipment.create_time,
        "cancelling changed the tracking id or create_time"
    );
    let again = ok(
        c.cancel_shipment(CancelShipmentRequest {
            shipment_id: shipment.id.clone(),
        })
        .await,
        "CancelShipment again",
    )?
    .shipment
    .unwrap_or_default();
    ensure!(
        again == cancelled,
        "cancelling again changed the shipment: {again:?}"
    );
    let got = ok(
        c.get_shipment(GetShipmentRequest {
            shipment_id: shipment.id.clone(),
        })
        .await,
        "GetShipment",
    )?
    .shipment;
    ensure!(
        got.as_ref() == Some(&cancelled),
        "GetShipment differs from CancelShipment: {got:?}"
    );
    let next = created(&mut c, create_request(&order, &[("lamp", 1)])).await?;
    ensure!(
        next.id != shipment.id && next.state() == ShipmentState::Created,
        "after a cancel, a new shipment of the order was not created: {next:?}"
    );
    Ok(())
}

async fn shipment_errors(mut c: Client) -> Checked {
    invalid(
        c.get_shipment(GetShipmentRequest::default()).await,
        "shipment_id",
        "GetShipment(\"\")",
    )?;
    invalid(
        c.cancel_shipment(CancelShipmentRequest::default()).await,
        "shipment_id",
        "CancelShipment(\"\")",
    )?;
    refused(
        c.get_shipment(GetShipmentRequest {
            shipment_id: unique("no-such-shipment"),
        })
        .await,
        Code::NotFound,
        "GetShipment(unknown)",
    )?;
    refused(
        c.cancel_shipment(CancelShipmentRequest {
            shipment_id: unique("no-such-shipment"),
        })
        .await,
        Code::NotFound,
        "CancelShipment(unknown)",
    )?;
    Ok(())
}
