//! Shipping: the published quote formula, address and item validation with field paths,
//! `request_id` idempotency of CreateShipment, one live shipment per order, and
//! cancellation. Needs nothing but the shipping service: every check uses fresh order ids.
//!
//! One file per part of the contract: `get_quote`, `create_shipment` and `cancel_shipment`
//! (with GetShipment). The addresses, items and requests they share are here.

mod cancel_shipment;
mod create_shipment;
mod get_quote;

use bazaar_contract::shipping::v1::shipping_service_client::ShippingServiceClient;
use bazaar_contract::shipping::v1::*;
use bazaar_contract::types::v1::Address;
use tonic::transport::Channel;

use crate::Runner;
use crate::check::{Checked, fail, ok};
use crate::shopper::address;
use crate::target::{Target, unique};

type Client = ShippingServiceClient<Channel>;

/// Runs every shipping check.
pub async fn run(target: &Target, r: &mut Runner<'_>) {
    let c = ShippingServiceClient::new(target.own());
    r.check("GetQuote follows the formula: 4.99 + 0.99 x units, free from 10, +10.00 abroad; 3 or 7 days", get_quote::quotes(c.clone())).await;
    r.check(
        "GetQuote adds up the quantities of a product listed twice",
        get_quote::quote_duplicates(c.clone()),
    )
    .await;
    r.check(
        "GetQuote: incomplete or malformed address is INVALID_ARGUMENT naming the address field",
        get_quote::quote_bad_address(c.clone()),
    )
    .await;
    r.check("GetQuote: 0 or 101 items, malformed product_id, quantity outside 1..=99 are INVALID_ARGUMENT", get_quote::quote_bad_items(c.clone())).await;
    r.check(
        "CreateShipment creates a CREATED shipment with a tracking id and the quote",
        create_shipment::create(c.clone()),
    )
    .await;
    r.check("CreateShipment retried with the same request_id returns the same shipment; other parameters REQUEST_ID_REUSED", create_shipment::create_idempotent(c.clone())).await;
    r.check(
        "CreateShipment for an order with a live shipment is ALREADY_EXISTS ORDER_ALREADY_SHIPPED",
        create_shipment::one_per_order(c.clone()),
    )
    .await;
    r.check("CreateShipment: malformed request_id, empty or long order_id, bad address are INVALID_ARGUMENT", create_shipment::create_invalid(c.clone())).await;
    r.check(
        "CancelShipment cancels once and is idempotent; the order may then ship again",
        cancel_shipment::cancel(c.clone()),
    )
    .await;
    r.check(
        "Get/CancelShipment: empty id INVALID_ARGUMENT, unknown id NOT_FOUND",
        cancel_shipment::shipment_errors(c.clone()),
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

/// Shipment `id` as GetShipment answers it.
async fn get_shipment(c: &mut Client, id: &str) -> Checked<Option<Shipment>> {
    Ok(ok(
        c.get_shipment(GetShipmentRequest {
            shipment_id: id.to_owned(),
        })
        .await,
        "GetShipment",
    )?
    .shipment)
}
