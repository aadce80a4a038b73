//! Payment: the simulated card network of the contract's test cards, at most one
//! successful charge per order, `request_id` idempotency of Charge and Refund, full
//! refunds, and the ledger listing. Needs nothing but the payment service: every check
//! uses fresh order ids.
//!
//! One file per part of the contract: `charge` (successful charges, idempotency, one per
//! order), `declines` (the declining and failing test cards), `charge_invalid`, `refund`,
//! `get_charge` and `list_charges`. The requests and reads they share are here.

mod charge;
mod charge_invalid;
mod declines;
mod get_charge;
mod list_charges;
mod refund;

use bazaar_contract::payment::v1::payment_service_client::PaymentServiceClient;
use bazaar_contract::payment::v1::*;
use bazaar_contract::types::v1::Money;
use tonic::transport::Channel;

use crate::Runner;
use crate::check::{Checked, fail, ok};
use crate::pages::walk;
use crate::shopper::card;
use crate::suites::money;
use crate::target::{Target, unique};

type Client = PaymentServiceClient<Channel>;

/// Runs every payment check.
pub async fn run(target: &Target, r: &mut Runner<'_>) {
    let c = PaymentServiceClient::new(target.own());
    r.check(
        "Charge with a test card that succeeds: SUCCEEDED, brand and last four, amount as asked",
        charge::charge(c.clone()),
    )
    .await;
    r.check(
        "Charge retried with the same request_id returns the same charge, charged once",
        charge::charge_idempotent(c.clone()),
    )
    .await;
    r.check(
        "Charge: a request_id reused with other parameters is ALREADY_EXISTS REQUEST_ID_REUSED",
        charge::charge_reused(c.clone()),
    )
    .await;
    r.check("Charge of an order already charged is ALREADY_EXISTS ORDER_ALREADY_CHARGED with its charge_id", charge::charged_once(c.clone())).await;
    r.check("declining test cards fail FAILED_PRECONDITION CARD_DECLINED with the decline reason, recorded DECLINED", declines::declines(c.clone())).await;
    r.check("a declined charge does not count: another card may pay the order; its retry repeats the decline", declines::decline_then_pay(c.clone())).await;
    r.check(
        "the processing-error card is UNAVAILABLE and records nothing",
        declines::processing_error(c.clone()),
    )
    .await;
    r.check(
        "Charge: malformed cards, amounts, order ids and request ids are INVALID_ARGUMENT",
        charge_invalid::charge_invalid(c.clone()),
    )
    .await;
    r.check(
        "Refund makes a charge REFUNDED once, whatever the request_id; the order stays charged",
        refund::refund(c.clone()),
    )
    .await;
    r.check("Refund: a declined charge is FAILED_PRECONDITION CHARGE_NOT_REFUNDABLE; empty id INVALID_ARGUMENT; unknown NOT_FOUND", refund::refund_refused(c.clone())).await;
    r.check(
        "GetCharge: empty id INVALID_ARGUMENT, unknown id NOT_FOUND",
        get_charge::get_errors(c.clone()),
    )
    .await;
    r.check("ListCharges lists an order's charges newest first, in pages; bad paging is INVALID_ARGUMENT", list_charges::list(c.clone())).await;
    r.check(
        "the card number is never returned",
        get_charge::no_secrets(c.clone()),
    )
    .await;
}

fn usd(cents: i128) -> Money {
    money("USD", cents * 10_000_000)
}

fn charge_request(order: &str, amount: Money, card_number: &str) -> ChargeRequest {
    ChargeRequest {
        request_id: unique("charge"),
        order_id: order.to_owned(),
        amount: Some(amount),
        card: Some(card(card_number)),
    }
}

async fn charged(c: &mut Client, request: ChargeRequest) -> Checked<Charge> {
    ok(c.charge(request).await, "Charge")?
        .charge
        .map_or_else(|| fail("Charge answered without the charge"), Ok)
}

async fn get(c: &mut Client, id: &str) -> Checked<Charge> {
    ok(
        c.get_charge(GetChargeRequest {
            charge_id: id.to_owned(),
        })
        .await,
        "GetCharge",
    )?
    .charge
    .map_or_else(|| fail("GetCharge answered without the charge"), Ok)
}

async fn of_order(c: &Client, order: &str, page_size: i32) -> Checked<Vec<Charge>> {
    walk(page_size as usize, |page_token| {
        let mut c = c.clone();
        let order_id = order.to_owned();
        async move {
            let page = ok(
                c.list_charges(ListChargesRequest {
                    page_size,
                    page_token,
                    order_id,
                })
                .await,
                "ListCharges",
            )?;
            Ok((page.charges, page.next_page_token))
        }
    })
    .await
}
