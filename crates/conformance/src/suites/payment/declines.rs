//! The test cards that fail: declines are recorded with their reason and do not count
//! against the order; a processing error records nothing.

use bazaar_contract::payment::v1::*;
use tonic::Code;

use super::{Client, charge_request, charged, get, of_order, usd};
use crate::check::{Checked, fail, reason, refused};
use crate::ensure;
use crate::shopper::{DECLINED_CARD, GOOD_CARD, card};
use crate::target::unique;

pub(super) async fn declines(mut c: Client) -> Checked {
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

pub(super) async fn decline_then_pay(mut c: Client) -> Checked {
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

pub(super) async fn processing_error(mut c: Client) -> Checked {
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
