//! Refund: full refunds, once per charge whatever the `request_id`; declined charges and
//! bad ids refused.

use bazaar_contract::payment::v1::*;
use tonic::Code;

use super::{Client, charge_request, charged, get, usd};
use crate::check::{Checked, invalid, ok, reason, refused};
use crate::ensure;
use crate::shopper::{DECLINED_CARD, GOOD_CARD};
use crate::target::unique;

pub(super) async fn refund(mut c: Client) -> Checked {
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

pub(super) async fn refund_refused(mut c: Client) -> Checked {
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
