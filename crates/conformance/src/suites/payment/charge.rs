//! Charge with cards that succeed: the charge as asked, idempotent on `request_id`, and at
//! most one successful charge per order.

use bazaar_contract::payment::v1::*;
use tonic::Code;

use super::{Client, charge_request, charged, get, of_order, usd};
use crate::check::{Checked, reason, refused};
use crate::ensure;
use crate::shopper::GOOD_CARD;
use crate::suites::{from_now, money};
use crate::target::unique;

pub(super) async fn charge(mut c: Client) -> Checked {
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
    let most = charged(
        &mut c,
        charge_request(
            &unique("order"),
            money("USD", 1_000_000_000_000_000),
            GOOD_CARD,
        ),
    )
    .await?;
    ensure!(
        most.amount == Some(money("USD", 1_000_000_000_000_000)),
        "a charge of 1000000 USD (the maximum) records {:?}",
        most.amount
    );
    // The cap is a value, not a number of units: about 40 USD in dong is more than a
    // million units, and is charged.
    let dong = charged(
        &mut c,
        charge_request(
            &unique("order"),
            money("VND", 1_054_000_000_000_000),
            GOOD_CARD,
        ),
    )
    .await?;
    ensure!(
        dong.amount == Some(money("VND", 1_054_000_000_000_000)),
        "a charge of 1054000 VND (about 40 USD) records {:?}",
        dong.amount
    );
    Ok(())
}

pub(super) async fn charge_idempotent(mut c: Client) -> Checked {
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

pub(super) async fn charge_reused(mut c: Client) -> Checked {
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

pub(super) async fn charged_once(mut c: Client) -> Checked {
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
