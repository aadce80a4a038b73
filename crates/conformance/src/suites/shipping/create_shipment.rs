//! CreateShipment: a CREATED shipment with a tracking id and the quote, idempotent on
//! `request_id`, one live shipment per order; malformed requests refused.

use std::collections::BTreeSet;

use bazaar_contract::shipping::v1::*;
use bazaar_contract::types::v1::Address;
use tonic::Code;

use super::{Client, abroad, create_request, created, get_shipment, items, quote};
use crate::check::{Checked, reason, refused, violation_within};
use crate::ensure;
use crate::suites::repeat;
use crate::target::unique;

pub(super) async fn create(mut c: Client) -> Checked {
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
        let got = get_shipment(&mut c, &shipment.id).await?;
        ensure!(
            got.as_ref() == Some(&shipment),
            "GetShipment differs from CreateShipment: {got:?}"
        );
    }
    Ok(())
}

pub(super) async fn create_idempotent(mut c: Client) -> Checked {
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

pub(super) async fn one_per_order(mut c: Client) -> Checked {
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

pub(super) async fn create_invalid(mut c: Client) -> Checked {
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
