//! Payment: the simulated card network of the contract's test cards, at most one
//! successful charge per order, `request_id` idempotency of Charge and Refund, full
//! refunds, and the ledger listing. Needs nothing but the payment service: every check
//! uses fresh order ids.

use bazaar_contract::payment::v1::payment_service_client::PaymentServiceClient;
use bazaar_contract::payment::v1::*;
use bazaar_contract::types::v1::Money;
use tonic::Code;
use tonic::transport::Channel;

use super::{from_now, money, repeat};
use crate::check::{Checked, fail, invalid, ok, reason, refused, violation_within};
use crate::pages::walk;
use crate::shopper::{DECLINED_CARD, GOOD_CARD, card};
use crate::target::{Target, unique};
use crate::{Runner, ensure};

type Client = PaymentServiceClient<Channel>;

/// Runs every payment check.
pub async fn run(target: &Target, r: &mut Runner<'_>) {
    let c = PaymentServiceClient::new(target.own());
    r.check(
        "Charge with a test card that succeeds: SUCCEEDED, brand and last four, amount as asked",
        charge(c.clone()),
    )
    .await;
    r.check(
        "Charge retried with the same request_id returns the same charge, charged once",
        charge_idempotent(c.clone()),
    )
    .await;
    r.check(
        "Charge: a request_id reused with other parameters is ALREADY_EXISTS REQUEST_ID_REUSED",
        charge_reused(c.clone()),
    )
    .await;
    r.check("Charge of an order already charged is ALREADY_EXISTS ORDER_ALREADY_CHARGED with its charge_id", charged_once(c.clone())).await;
    r.check("declining test cards fail FAILED_PRECONDITION CARD_DECLINED with the decline reason, recorded DECLINED", declines(c.clone())).await;
    r.check("a declined charge does not count: another card may pay the order; its retry repeats the decline", decline_then_pay(c.clone())).await;
    r.check(
        "the processing-error card is UNAVAILABLE and records nothing",
        processing_error(c.clone()),
    )
    .await;
    r.check(
        "Charge: malformed cards, amounts, order ids and request ids are INVALID_ARGUMENT",
        charge_invalid(c.clone()),
    )
    .await;
    r.check(
        "Refund makes a charge REFUNDED once, whatever the request_id; the order stays charged",
        refund(c.clone()),
    )
    .await;
    r.check("Refund: a declined charge is FAILED_PRECONDITION CHARGE_NOT_REFUNDABLE; empty id INVALID_ARGUMENT; unknown NOT_FOUND", refund_refused(c.clone())).await;
    r.check(
        "GetCharge: empty id INVALID_ARGUMENT, unknown id NOT_FOUND",
        get_errors(c.clone()),
    )
    .await;
    r.check("ListCharges lists an order's charges newest first, in pages; bad paging is INVALID_ARGUMENT", list(c.clone())).await;
    r.check("the card number is never returned", no_secrets(c.clone()))
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

async fn charge(mut c: Client) -> Checked {
    for (number, brand, last4, cvv) in [
        (GOOD_CARD, CardBrand::Visa, "4242", "123"),
        ("5555555555554444", CardBrand::Mastercard, "4444", "123"),
        (
            "378282246310005",
            CardBrand::AmericanExpress,
            "0005",
            "1234",
        ),
        ("4242 4242-4242 4242", CardBrand::Visa, "4242", "123"),
    ] {
        let order = unique("order");
        let mut request = charge_request(&order, usd(12_345), number);
        if let Some(card) = request.card.as_mut() {
            card.cvv = cvv.to_owned();
        }
        let charge = charged(&mut c, request).await?;
        ensure!(
            charge.status() == ChargeStatus::Succeeded,
            "card {number} gave a {:?} charge",
            charge.status()
        );
        ensure!(
            charge.card_brand() == brand,
            "card {number} has brand {:?}, expected {brand:?}",
            charge.card_brand()
        );
        ensure!(
            charge.card_last4 == last4,
            "card {number} has last four {:?}",
            charge.card_last4
        );
        ensure!(
            charge.amount == Some(usd(12_345)) && charge.order_id == order,
            "the charge records {:?} for {:?}",
            charge.amount,
            charge.order_id
        );
        ensure!(
            charge.decline_reason() == DeclineReason::Unspecified && charge.refund_time.is_none(),
            "a successful charge has decline reason {:?} / refund_time {:?}",
            charge.decline_reason(),
            charge.refund_time
        );
        ensure!(
            (1..=64).contains(&charge.id.len()),
            "charge id of {} characters",
            charge.id.len()
        );
        ensure!(
            from_now(charge.create_time.as_ref()).is_some_and(|s| s.abs() < 300.0),
            "create_time is not now: {:?}",
            charge.create_time
        );
        ensure!(
            get(&mut c, &charge.id).await? == charge,
            "GetCharge differs from Charge"
        );
    }
    let euros = charged(
        &mut c,
        charge_request(
            &unique("order"),
            money("EUR", 1_000_000_000_000_000),
            GOOD_CARD,
        ),
    )
    .await?;
    ensure!(
        euros.amount == Some(money("EUR", 1_000_000_000_000_000)),
        "a charge of 1000000 EUR (the maximum) records {:?}",
        euros.amount
    );
    Ok(())
}

async fn charge_idempotent(mut c: Client) -> Checked {
    let order = unique("order");
    let request = charge_request(&order, usd(500), GOOD_CARD);
    let first = charged(&mut c, request.clone()).await?;
    let retry = charged(&mut c, request).await?;
    ensure!(
        retry == first,
        "the retry answered {retry:?}, the first call {first:?}"
    );
    let listed = of_order(&c, &order, 0).await?;
    ensure!(
        listed.len() == 1,
        "after a retried Charge the order has {} charges",
        listed.len()
    );
    Ok(())
}

async fn charge_reused(mut c: Client) -> Checked {
    let order = unique("order");
    let request = charge_request(&order, usd(500), GOOD_CARD);
    charged(&mut c, request.clone()).await?;
    let other = ChargeRequest {
        amount: Some(usd(501)),
        ..request
    };
    let status = refused(
        c.charge(other).await,
        Code::AlreadyExists,
        "Charge(same request_id, other amount)",
    )?;
    reason(&status, "REQUEST_ID_REUSED", "Charge(reused request_id)")?;
    Ok(())
}

async fn charged_once(mut c: Client) -> Checked {
    let order = unique("order");
    let first = charged(&mut c, charge_request(&order, usd(500), GOOD_CARD)).await?;
    let status = refused(
        c.charge(charge_request(&order, usd(500), "5555555555554444"))
            .await,
        Code::AlreadyExists,
        "Charge(an order already charged, new request_id)",
    )?;
    let info = reason(
        &status,
        "ORDER_ALREADY_CHARGED",
        "Charge(an order already charged)",
    )?;
    ensure!(
        info.metadata.get("charge_id") == Some(&first.id),
        "ORDER_ALREADY_CHARGED metadata is {:?}, expected charge_id = {}",
        info.metadata,
        first.id
    );
    ensure!(
        of_order(&c, &order, 0).await?.len() == 1,
        "a refused second charge was recorded"
    );
    Ok(())
}

async fn declines(mut c: Client) -> Checked {
    let mut expired = card(GOOD_CARD);
    expired.expiry_month = 1;
    expired.expiry_year = 2020;
    for (what, card, decline) in [
        (
            "4000000000000002",
            card(DECLINED_CARD),
            DeclineReason::Generic,
        ),
        (
            "4000000000009995",
            card("4000000000009995"),
            DeclineReason::InsufficientFunds,
        ),
        (
            "4000000000000069",
            card("4000000000000069"),
            DeclineReason::ExpiredCard,
        ),
        (
            "4000000000000127",
            card("4000000000000127"),
            DeclineReason::IncorrectCvv,
        ),
        (
            "a card that expired in January 2020",
            expired,
            DeclineReason::ExpiredCard,
        ),
    ] {
        let order = unique("order");
        let request = ChargeRequest {
            card: Some(card),
            ..charge_request(&order, usd(700), GOOD_CARD)
        };
        let call = format!("Charge({what})");
        let status = refused(c.charge(request).await, Code::FailedPrecondition, &call)?;
        let info = reason(&status, "CARD_DECLINED", &call)?;
        ensure!(
            info.metadata.get("decline_reason").map(String::as_str) == Some(decline.as_str_name()),
            "{call}: decline_reason metadata is {:?}, expected {:?}",
            info.metadata.get("decline_reason"),
            decline.as_str_name()
        );
        let Some(id) = info.metadata.get("charge_id") else {
            return fail(format!("{call}: CARD_DECLINED has no charge_id metadata"));
        };
        let charge = get(&mut c, id).await?;
        ensure!(
            charge.status() == ChargeStatus::Declined && charge.decline_reason() == decline,
            "{call}: the ledger has {:?} / {:?}",
            charge.status(),
            charge.decline_reason()
        );
        ensure!(
            !status.message().is_empty(),
            "{call}: the decline has no message to show"
        );
    }
    Ok(())
}

async fn decline_then_pay(mut c: Client) -> Checked {
    let order = unique("order");
    let declined = charge_request(&order, usd(900), DECLINED_CARD);
    let first = refused(
        c.charge(declined.clone()).await,
        Code::FailedPrecondition,
        "Charge(declined card)",
    )?;
    let retry = refused(
        c.charge(declined).await,
        Code::FailedPrecondition,
        "Charge(declined card, retried)",
    )?;
    let ids = |s: &tonic::Status| {
        reason(s, "CARD_DECLINED", "Charge(declined)").map(|i| i.metadata.get("charge_id").cloned())
    };
    ensure!(
        ids(&first)? == ids(&retry)?,
        "the retried decline names charge {:?}, the first {:?}",
        ids(&retry)?,
        ids(&first)?
    );
    let paid = charged(&mut c, charge_request(&order, usd(900), GOOD_CARD)).await?;
    ensure!(
        paid.status() == ChargeStatus::Succeeded,
        "the second card's charge is {:?}",
        paid.status()
    );
    let listed = of_order(&c, &order, 0).await?;
    ensure!(
        listed.len() == 2,
        "the order has {} charges in the ledger, expected the declined and the paid one",
        listed.len()
    );
    Ok(())
}

async fn processing_error(mut c: Client) -> Checked {
    let order = unique("order");
    let request = charge_request(&order, usd(100), "4000000000000119");
    refused(
        c.charge(request.clone()).await,
        Code::Unavailable,
        "Charge(processing-error card)",
    )?;
    refused(
        c.charge(request).await,
        Code::Unavailable,
        "Charge(processing-error card, retried)",
    )?;
    let listed = of_order(&c, &order, 0).await?;
    ensure!(
        listed.is_empty(),
        "a processing error recorded {} charges",
        listed.len()
    );
    charged(&mut c, charge_request(&order, usd(100), GOOD_CARD)).await?;
    Ok(())
}

async fn charge_invalid(mut c: Client) -> Checked {
    let base = || charge_request(&unique("order"), usd(100), GOOD_CARD);
    let with_card = |f: &dyn Fn(&mut Card)| {
        let mut request = base();
        if let Some(card) = request.card.as_mut() {
            f(card);
        }
        request
    };
    let cases: Vec<(ChargeRequest, &str, &str)> = vec![
        (
            with_card(&|c| c.number = "4242424242424241".into()),
            "card.number",
            "a number failing the Luhn check",
        ),
        (
            with_card(&|c| c.number = "42424242424".into()),
            "card.number",
            "an 11-digit number",
        ),
        (
            with_card(&|c| c.number = "4242x42424242424".into()),
            "card.number",
            "a number with a letter",
        ),
        (
            with_card(&|c| c.expiry_month = 13),
            "card.expiry_month",
            "expiry month 13",
        ),
        (
            with_card(&|c| c.expiry_month = 0),
            "card.expiry_month",
            "expiry month 0",
        ),
        (
            with_card(&|c| c.expiry_year = 1999),
            "card.expiry_year",
            "expiry year 1999",
        ),
        (
            with_card(&|c| c.expiry_year = 2100),
            "card.expiry_year",
            "expiry year 2100",
        ),
        (
            with_card(&|c| c.cvv = "12".into()),
            "card.cvv",
            "a 2-digit CVV",
        ),
        (
            with_card(&|c| c.cvv = "12a".into()),
            "card.cvv",
            "a CVV with a letter",
        ),
        (
            with_card(&|c| {
                c.number = "378282246310005".into();
                c.cvv = "123".into()
            }),
            "card.cvv",
            "an American Express card with a 3-digit CVV",
        ),
        (
            with_card(&|c| c.holder_name = String::new()),
            "card.holder_name",
            "an empty holder name",
        ),
        (
            with_card(&|c| c.holder_name = repeat('h', 101)),
            "card.holder_name",
            "a holder name of 101 characters",
        ),
        (
            ChargeRequest {
                card: None,
                ..base()
            },
            "card",
            "no card",
        ),
        (
            ChargeRequest {
                amount: Some(usd(0)),
                ..base()
            },
            "amount",
            "amount 0",
        ),
        (
            ChargeRequest {
                amount: Some(usd(-100)),
                ..base()
            },
            "amount",
            "a negative amount",
        ),
        (
            ChargeRequest {
                amount: Some(money("USD", 1_000_000_010_000_000)),
                ..base()
            },
            "amount",
            "1000000.01 USD",
        ),
        (
            ChargeRequest {
                amount: Some(Money {
                    currency_code: "USD".into(),
                    units: 1,
                    nanos: -1,
                }),
                ..base()
            },
            "amount",
            "units and nanos of different signs",
        ),
        (
            ChargeRequest {
                amount: Some(money("usd", 100)),
                ..base()
            },
            "amount",
            "currency code \"usd\"",
        ),
        (
            ChargeRequest {
                amount: None,
                ..base()
            },
            "amount",
            "no amount",
        ),
        (
            ChargeRequest {
                order_id: String::new(),
                ..base()
            },
            "order_id",
            "an empty order_id",
        ),
        (
            ChargeRequest {
                order_id: repeat('o', 65),
                ..base()
            },
            "order_id",
            "an order_id of 65 characters",
        ),
        (
            ChargeRequest {
                request_id: String::new(),
                ..base()
            },
            "request_id",
            "an empty request_id",
        ),
        (
            ChargeRequest {
                request_id: "not valid!".into(),
                ..base()
            },
            "request_id",
            "a malformed request_id",
        ),
    ];
    for (request, field, what) in cases {
        let call = format!("Charge({what})");
        let status = refused(c.charge(request).await, Code::InvalidArgument, &call)?;
        violation_within(&status, field, &call)?;
    }
    Ok(())
}

async fn refund(mut c: Client) -> Checked {
    let order = unique("order");
    let charge = charged(&mut c, charge_request(&order, usd(2_500), GOOD_CARD)).await?;
    let request = RefundRequest {
        request_id: unique("refund"),
        charge_id: charge.id.clone(),
    };
    let refunded = ok(c.refund(request.clone()).await, "Refund")?
        .charge
        .unwrap_or_default();
    ensure!(
        refunded.status() == ChargeStatus::Refunded,
        "a refunded charge is {:?}",
        refunded.status()
    );
    ensure!(
        refunded.refund_time.is_some(),
        "a refunded charge has no refund_time"
    );
    ensure!(
        refunded.amount == charge.amount && refunded.id == charge.id,
        "Refund changed the charge's amount or id"
    );
    let retry = ok(c.refund(request).await, "Refund(retry)")?
        .charge
        .unwrap_or_default();
    ensure!(retry == refunded, "the retried Refund answered {retry:?}");
    let other = ok(
        c.refund(RefundRequest {
            request_id: unique("refund"),
            charge_id: charge.id.clone(),
        })
        .await,
        "Refund(new request_id)",
    )?
    .charge
    .unwrap_or_default();
    ensure!(
        other == refunded,
        "refunding a REFUNDED charge with a new request_id changed it: {other:?}"
    );
    ensure!(
        get(&mut c, &charge.id).await? == refunded,
        "GetCharge differs from Refund"
    );
    let status = refused(
        c.charge(charge_request(&order, usd(2_500), GOOD_CARD))
            .await,
        Code::AlreadyExists,
        "Charge(an order whose charge was refunded)",
    )?;
    reason(&status, "ORDER_ALREADY_CHARGED", "Charge(a refunded order)")?;
    let reused = RefundRequest {
        request_id: refund_id_of(&mut c).await?,
        charge_id: charge.id,
    };
    let status = refused(
        c.refund(reused).await,
        Code::AlreadyExists,
        "Refund(a request_id used for another charge)",
    )?;
    reason(&status, "REQUEST_ID_REUSED", "Refund(reused request_id)")?;
    Ok(())
}

/// A refund request id already used for another charge.
async fn refund_id_of(c: &mut Client) -> Checked<String> {
    let charge = charged(c, charge_request(&unique("order"), usd(100), GOOD_CARD)).await?;
    let id = unique("refund");
    ok(
        c.refund(RefundRequest {
            request_id: id.clone(),
            charge_id: charge.id,
        })
        .await,
        "Refund",
    )?;
    Ok(id)
}

async fn refund_refused(mut c: Client) -> Checked {
    let status = refused(
        c.charge(charge_request(&unique("order"), usd(100), DECLINED_CARD))
            .await,
        Code::FailedPrecondition,
        "Charge(declined card)",
    )?;
    let info = reason(&status, "CARD_DECLINED", "Charge(declined card)")?;
    let declined = info.metadata.get("charge_id").cloned().unwrap_or_default();
    let status = refused(
        c.refund(RefundRequest {
            request_id: unique("refund"),
            charge_id: declined,
        })
        .await,
        Code::FailedPrecondition,
        "Refund(a declined charge)",
    )?;
    reason(
        &status,
        "CHARGE_NOT_REFUNDABLE",
        "Refund(a declined charge)",
    )?;
    invalid(
        c.refund(RefundRequest {
            request_id: unique("refund"),
            charge_id: String::new(),
        })
        .await,
        "charge_id",
        "Refund(empty charge_id)",
    )?;
    invalid(
        c.refund(RefundRequest {
            request_id: "bad id!".into(),
            charge_id: unique("x"),
        })
        .await,
        "request_id",
        "Refund(malformed request_id)",
    )?;
    refused(
        c.refund(RefundRequest {
            request_id: unique("refund"),
            charge_id: unique("no-such-charge"),
        })
        .await,
        Code::NotFound,
        "Refund(unknown charge)",
    )?;
    Ok(())
}

async fn get_errors(mut c: Client) -> Checked {
    invalid(
        c.get_charge(GetChargeRequest::default()).await,
        "charge_id",
        "GetCharge(\"\")",
    )?;
    refused(
        c.get_charge(GetChargeRequest {
            charge_id: unique("no-such-charge"),
        })
        .await,
        Code::NotFound,
        "GetCharge(unknown)",
    )?;
    Ok(())
}

async fn list(mut c: Client) -> Checked {
    let order = unique("order");
    let mut ids = Vec::new();
    for card in [DECLINED_CARD, "4000000000009995", GOOD_CARD] {
        match c.charge(charge_request(&order, usd(300), card)).await {
            Ok(response) => ids.push(response.into_inner().charge.unwrap_or_default().id),
            Err(status) => ids.push(
                reason(&status, "CARD_DECLINED", "Charge")?
                    .metadata
                    .get("charge_id")
                    .cloned()
                    .unwrap_or_default(),
            ),
        }
    }
    let listed = of_order(&c, &order, 1).await?;
    let mut listed_ids: Vec<String> = listed.iter().map(|c| c.id.clone()).collect();
    let order_times: Vec<(i64, i32)> = listed
        .iter()
        .map(|c| {
            c.create_time
                .as_ref()
                .map_or((0, 0), |t| (t.seconds, t.nanos))
        })
        .collect();
    ensure!(
        order_times.windows(2).all(|w| w[0] >= w[1]),
        "ListCharges(order, pages of 1) is not newest first: create times {order_times:?}"
    );
    listed_ids.sort();
    ids.sort();
    ensure!(
        listed_ids == ids,
        "ListCharges(order, pages of 1) lists {listed_ids:?}; the order's charges are {ids:?}"
    );
    ensure!(
        listed.iter().all(|ch| ch.order_id == order),
        "ListCharges(order) lists a charge of another order"
    );
    let none = of_order(&c, &unique("order"), 0).await?;
    ensure!(
        none.is_empty(),
        "an order with no charges lists {}",
        none.len()
    );
    let all = ok(
        c.list_charges(ListChargesRequest {
            page_size: 100_000,
            ..Default::default()
        })
        .await,
        "ListCharges(page_size 100000)",
    )?;
    ensure!(
        all.charges.len() <= 100,
        "page_size 100000 gave {} charges, more than 100",
        all.charges.len()
    );
    let default = ok(
        c.list_charges(ListChargesRequest::default()).await,
        "ListCharges(page_size 0)",
    )?;
    ensure!(
        default.charges.len() <= 20,
        "page_size 0 gave {} charges, more than the default 20",
        default.charges.len()
    );
    let times: Vec<(i64, i32)> = all
        .charges
        .iter()
        .map(|c| {
            c.create_time
                .as_ref()
                .map_or((0, 0), |t| (t.seconds, t.nanos))
        })
        .collect();
    ensure!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "ListCharges is not newest first by create_time"
    );
    invalid(
        c.list_charges(ListChargesRequest {
            page_size: -1,
            ..Default::default()
        })
        .await,
        "page_size",
        "ListCharges(page_size -1)",
    )?;
    invalid(
        c.list_charges(ListChargesRequest {
            page_token: "garbage".into(),
            ..Default::default()
        })
        .await,
        "page_token",
        "ListCharges(page_token \"garbage\")",
    )?;
    let first = ok(
        c.list_charges(ListChargesRequest {
            page_size: 1,
            page_token: String::new(),
            order_id: order.clone(),
        })
        .await,
        "ListCharges(order, page_size 1)",
    )?;
    invalid(
        c.list_charges(ListChargesRequest {
            page_size: 1,
            page_token: first.next_page_token,
            order_id: unique("order"),
        })
        .await,
        "page_token",
        "ListCharges(token of another order_id)",
    )
}

async fn no_secrets(mut c: Client) -> Checked {
    let request = charge_request(&unique("order"), usd(100), "5555555555554444");
    let charge = charged(&mut c, request).await?;
    let text = format!("{charge:?} {:?}", get(&mut c, &charge.id).await?);
    ensure!(
        !text.contains("5555555555554444") && !text.contains("555555555555"),
        "a charge carries the card number: {text}"
    );
    Ok(())
}
